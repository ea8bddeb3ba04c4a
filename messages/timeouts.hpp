/// Timeout-scheduler protocol: execution deadlines (R-SAFE-7).
///
/// The deadline itself is stored with the execution (executions.deadline_at, set
/// when it starts: started_at + the policy's execution_timeout_ms), so a new owner
/// re-arms it from the database. In memory the scheduler keeps its deadlines sorted
/// and one CAF delayed message for the earliest. Such a message cannot be cancelled
/// in CAF 0.17: each one carries a generation, and one whose generation is no longer
/// current (an earlier deadline was armed since) is ignored.
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/console.hpp"
#include "messages/worker.hpp"

namespace stagee {

/// Arm (or re-arm) the deadline of an execution: after in_ms, `owner` receives
/// stop_execution (fail, execution_timeout, timed_out) unless disarmed first.
struct arm_deadline {
  std::string execution_id;
  int64_t in_ms = 0;
  std::string policy_id; // for the message
  int64_t budget_ms = 0; // the policy's execution timeout, for the message
  execution_actor owner;
  std::string tenant_id;  // the console shows a timer only to its tenant
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, arm_deadline& x) {
  return f(caf::meta::type_name("arm_deadline"), x.execution_id, x.in_ms, x.policy_id,
           x.budget_ms, x.owner, x.tenant_id);
}

/// Forget an execution's deadline (it ended or left this node). Only the actor that
/// armed it disarms it: a late disarm from a replaced actor changes nothing.
struct disarm_deadline {
  std::string execution_id;
  execution_actor owner;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, disarm_deadline& x) {
  return f(caf::meta::type_name("disarm_deadline"), x.execution_id, x.owner);
}

/// Internal: the scheduler's timer, a delayed message to itself.
struct deadline_tick {
  uint64_t generation = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deadline_tick& x) {
  return f(caf::meta::type_name("deadline_tick"), x.generation);
}

using timeout_scheduler_actor = caf::typed_actor<
  caf::reacts_to<arm_deadline>,
  caf::reacts_to<disarm_deadline>,
  caf::reacts_to<deadline_tick>,
  // Number of armed deadlines (inspection, tests).
  caf::replies_to<caf::get_atom>::with<int32_t>,
  // The armed deadlines, soonest first (the console's `timers`).
  caf::replies_to<timers_request>::with<timer_list>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

} // namespace stagee
