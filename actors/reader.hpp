/// Reader: answers status reads and snapshot loads from PostgreSQL, the console's
/// listings (executions, queue, transitions, node counts), and records cancellation
/// requests (one small write, answered with the state it reads back). Spawned
/// detached (it blocks on its own connection); the node runs a few of them.
#pragma once

#include <memory>
#include <string>

#include "messages/store.hpp"
#include "persistence/db_session.hpp"
#include "persistence/read_store.hpp"

namespace stagee {

struct reader_state {
  static inline const char* name = "reader";
  std::unique_ptr<db_session> db;
  std::unique_ptr<read_store> store;
};

/// @param db_url database to read from
reader_actor::behavior_type reader(reader_actor::stateful_pointer<reader_state> self,
                                   std::string db_url);

} // namespace stagee
