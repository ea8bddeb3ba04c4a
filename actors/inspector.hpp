/// Inspector: this node's registry of live actors, and what `stagee console` asks
/// about them (R-IF-4). CAF 0.17 cannot list the actors of a system, so actors are
/// registered here when they are spawned (the node's long-lived actors by the
/// node, execution actors by the worker-supervisor); the inspector monitors each
/// and forgets it when it goes down.
///
/// A query probes the registered actors concurrently (inspect_atom: each answers
/// about itself, mailbox size included) and waits at most probe_timeout_ms: an
/// actor that is busy for longer (a detached actor inside a slow query) is listed
/// as not answering, so a query never hangs on one actor. The gateway authorizes
/// every query and sets its tenant; executions of other tenants are listed without
/// anything that identifies them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "messages/console.hpp"
#include "messages/store.hpp"
#include "messages/timeouts.hpp"
#include "messages/worker.hpp"

namespace stagee {

struct inspector_settings {
  std::string node;
  int32_t capacity = 0;
  int64_t probe_timeout_ms = 1000; // an actor busy for longer is listed as not answering
};

/// The actors the inspector asks for more than a probe.
struct inspector_peers {
  timeout_scheduler_actor timeouts; // `timers`
  reader_actor reader;              // `stats`: queue depth and locks held (database)
};

struct inspector_entry {
  std::string kind;
  std::string name;
  inspectable_actor handle;
  std::chrono::steady_clock::time_point since;
  std::string tenant_id; // an execution's; empty for the node's own actors
};

struct inspector_state {
  static inline const char* name = "inspector";
  inspector_settings settings;
  inspector_peers peers;
  std::map<caf::actor_id, inspector_entry> actors;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

inspector_actor::behavior_type inspector(inspector_actor::stateful_pointer<inspector_state> self,
                                         inspector_settings settings, inspector_peers peers);

/// Withholds what identifies another tenant's executions in `v` (ids, steps,
/// targets, the actor's name and details when it is one).
void redact_for_tenant(actor_view& v, const std::string& tenant_id);

} // namespace stagee
