/// Event bus: the durable journal of every execution on this node, plus live fan-out.
///
/// Execution actors send journal_append (one FSM transition: snapshot, step rows,
/// events); the bus commits whole batches in one transaction, answers each writer
/// after COMMIT, then forwards the committed events to subscribers in seq order.
/// Spawned detached: it owns a database connection and blocks on it.
#pragma once

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
};

struct event_bus_state {
  static inline const char* name = "event-bus";
  std::unique_ptr<db_session> db;
  std::unique_ptr<journal_store> store;
  batch_queue<journal_append, journal_committed> pending;
  /// Live subscribers per execution id.
  std::map<std::string, std::vector<event_subscriber_actor>> subscribers;
  event_bus_settings settings;
};

/// @param db_url   database holding the journal
/// @param settings batch and replay sizes
event_bus_actor::behavior_type event_bus(event_bus_actor::stateful_pointer<event_bus_state> self,
                                         std::string db_url, event_bus_settings settings);

} // namespace stagee
