/// Member recorder: the membership actor's database work (heartbeat row, early
/// expiry of dead members, graceful leave). Spawned detached: it blocks on its own
/// connection, never on a scheduler thread.
#pragma once

#include <memory>
#include <string>

#include "messages/cluster.hpp"
#include "persistence/db_session.hpp"
#include "persistence/member_store.hpp"

namespace stagee {

struct member_recorder_state {
  static inline const char* name = "member-recorder";
  std::unique_ptr<db_session> db;
  std::unique_ptr<member_store> store;
};

member_recorder_actor::behavior_type
member_recorder(member_recorder_actor::stateful_pointer<member_recorder_state> self,
                std::string db_url);

} // namespace stagee
