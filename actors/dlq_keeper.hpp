/// DLQ keeper: answers dead-letter queue reads and archive/requeue bookkeeping.
/// Spawned detached (it blocks on its own connection).
#pragma once

#include <memory>
#include <string>

#include "messages/dlq.hpp"
#include "persistence/db_session.hpp"
#include "persistence/dlq_store.hpp"

namespace stagee {

struct dlq_keeper_state {
  static inline const char* name = "dlq-keeper";
  std::unique_ptr<db_session> db;
  std::unique_ptr<dlq_store> store;
};

/// @param db_url database holding execution_dlq
dlq_actor::behavior_type dlq_keeper(dlq_actor::stateful_pointer<dlq_keeper_state> self,
                                    std::string db_url);

} // namespace stagee
