/// Event bus: the durable journal of every execution on this node, plus live fan-out.
///
/// Execution actors send journal_append (one FSM transition: snapshot, step rows,
/// events); the bus commits whole batches in one transaction, answers each writer
/// after COMMIT, then forwards the committed events to subscribers in seq order.
/// Spawned detached: it owns a database connection and blocks on it.
///
/// Across nodes (R-CL-4): a subscription here for an execution that runs on another
/// node is announced to every peer's bus (remote_interest); the bus that commits
/// its events forwards them. Each local subscriber gets events in seq order without
/// gaps: an event past a gap, or a quiet subscription, is caught up from the
/// journal, so a lost or late forward costs time, never an event.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/batch_queue.hpp"
#include "messages/event_bus.hpp"
#include "persistence/db_session.hpp"
#include "persistence/journal_store.hpp"

namespace stagee {

struct event_bus_settings {
  size_t max_batch = 1024;      // journal entries per transaction
  int32_t replay_page = 1000;   // events per query when replaying to a subscriber
  int64_t catchup_ms = 1000;    // a subscription quiet this long reads the journal
  int64_t interest_renew_ms = 30000; // re-announce subscriptions to peers this often
  int64_t interest_ttl_ms = 90000;   // forget a peer's interest not renewed this long
};

/// One subscriber of one execution.
struct bus_subscription {
  event_subscriber_actor who;
  int64_t last_seq = -1;  // last event delivered; -1: live only, no ordering (waiters)
  bool remote = false;    // a peer's bus (forward as committed; it orders for its own)
  std::chrono::steady_clock::time_point touched; // last event (local) or renewal (remote)
};

struct event_bus_state {
  static inline const char* name = "event-bus";
  std::unique_ptr<db_session> db;
  std::unique_ptr<journal_store> store;
  batch_queue<journal_append, journal_committed> pending;
  /// Live subscribers per execution id.
  std::map<std::string, std::vector<bus_subscription>> subscribers;
  std::vector<event_bus_actor> peers; // connected peers' buses
  std::chrono::steady_clock::time_point last_renewal;
  event_bus_settings settings;
};

/// @param db_url   database holding the journal
/// @param settings batch and replay sizes
event_bus_actor::behavior_type event_bus(event_bus_actor::stateful_pointer<event_bus_state> self,
                                         std::string db_url, event_bus_settings settings);

} // namespace stagee
