/// Approvals (R-SAFE-8). An execution whose policy level is 1..3 waits in
/// awaiting_approval; `stagee approve|reject` (through the gateway) decide it.
///
///   level 0  runs at once
///   level 1  one approval (anyone with `approve`, the submitter too)
///   level 2  one approval by someone other than the submitter; the plan needs a
///            runbook_url
///   level 3  an approval before every step (by someone other than the submitter),
///            naming the step; the execution waits again before each one
///
/// Every decision states the plan_hash the approver reviewed: another hash than the
/// execution's is refused (approval_invalidated) and recorded as invalidated.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/console.hpp"
#include "messages/auth.hpp"
#include "messages/execution.hpp"

namespace stagee {

enum class decision : uint8_t { approve, reject, cancel };
std::string to_string(decision x);

/// A decision on an execution that waits for approval. The gateway fills `tenant_id`
/// and `who` from the caller. `cancel` is the gateway's own (a cancel request for an
/// execution that waits: nobody holds it, so the approver closes it).
struct approve_request {
  std::string tenant_id;
  std::string execution_id;
  std::string plan_hash; // what the approver reviewed
  std::string step;      // level 3: the step this approval is for
  std::string reason;
  decision kind = decision::approve;
  caller who;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, approve_request& x) {
  return f(caf::meta::type_name("approve_request"), x.tenant_id, x.execution_id, x.plan_hash,
           x.step, x.reason, x.kind, x.who);
}

struct approve_reply {
  std::string execution_id;
  execution_status status = execution_status::pending; // after the decision
  int32_t level = 0;
  std::string step;        // level 3: the step approved
  std::string decided_by;
  std::string plan_hash;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, approve_reply& x) {
  return f(caf::meta::type_name("approve_reply"), x.execution_id, x.status, x.level, x.step,
           x.decided_by, x.plan_hash);
}

/// Detached (PostgreSQL). Errors: not_found, invalid_state (not waiting for
/// approval: names the status), approval_invalidated (stale plan_hash),
/// permission_denied (self-approval at level >= 2), invalid_request (field step),
/// db_unavailable.
using approver_actor = caf::typed_actor<
  caf::replies_to<approve_request>::with<approve_reply>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

} // namespace stagee
