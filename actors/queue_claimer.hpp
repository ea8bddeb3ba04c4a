/// Queue claimer: claims runnable executions for this node and renews its leases.
/// Spawned detached (it blocks on its own connection).
#pragma once

#include <memory>
#include <string>

#include "messages/store.hpp"
#include "persistence/db_session.hpp"
#include "persistence/queue_store.hpp"

namespace stagee {

struct queue_claimer_state {
  static inline const char* name = "queue-claimer";
  std::unique_ptr<db_session> db;
  std::unique_ptr<queue_store> store;
};

/// @param db_url database holding execution_queue
queue_actor::behavior_type queue_claimer(queue_actor::stateful_pointer<queue_claimer_state> self,
                                         std::string db_url);

} // namespace stagee
