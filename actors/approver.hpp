/// Approver: decides executions that wait for approval (R-SAFE-8): approve (then
/// queued: any node claims it), reject (rejected), or the gateway's cancel of a
/// waiting execution (nobody holds it, so nobody else would). Checks, in order: the
/// execution waits for approval (else invalid_state naming its status), the stated
/// plan_hash is the execution's (else approval_invalidated, recorded), no
/// self-approval at level >= 2, and at level 3 the step named is the one waiting.
///
/// Spawned detached: it owns a database connection.
#pragma once

#include <memory>
#include <string>

#include "messages/approvals.hpp"
#include "persistence/approval_store.hpp"
#include "persistence/db_session.hpp"
#include "persistence/read_store.hpp"

namespace stagee {

struct approver_state {
  static inline const char* name = "approver";
  std::string node;
  std::unique_ptr<db_session> db;
  std::unique_ptr<read_store> reads;
  std::unique_ptr<approval_store> approvals;
};

approver_actor::behavior_type approver(approver_actor::stateful_pointer<approver_state> self,
                                       std::string node, std::string db_url);

} // namespace stagee
