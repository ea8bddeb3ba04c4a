/// Worker protocols: the worker-supervisor, the execution actors it supervises and
/// the step runners they use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/execution.hpp"

namespace stagee {

using poll_atom = caf::atom_constant<caf::atom("poll")>;

/// Run an admitted immediate execution on this node; the reply comes when it is
/// terminal.
struct run_request {
  execution_record record;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_request& x) {
  return f(caf::meta::type_name("run_request"), x.record);
}

/// Sent by an execution actor to its supervisor just before it stops.
struct execution_done {
  std::string execution_id;
  execution_status status = execution_status::pending;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_done& x) {
  return f(caf::meta::type_name("execution_done"), x.execution_id, x.status);
}

using worker_supervisor_actor = caf::typed_actor<
  // Run an immediate execution now; replies with its terminal status.
  caf::replies_to<run_request>::with<execution_done>,
  // An execution actor finished (sent by the child itself).
  caf::reacts_to<execution_done>,
  // Work was enqueued: claim now instead of at the next tick.
  caf::reacts_to<poll_atom>,
  // Internal timer: periodic claim and lease renewal.
  caf::reacts_to<caf::tick_atom>>;

using execution_actor = caf::typed_actor<
  // Current in-memory snapshot (inspection).
  caf::replies_to<caf::get_atom>::with<execution_snapshot>,
  // Internal timer: retry a journal write that failed (database unavailable).
  caf::reacts_to<caf::tick_atom>>;

/// Run one step on one target.
struct run_step {
  std::string execution_id;
  int32_t run_index = 0;
  std::string step_name;
  std::string target;
  int32_t attempt = 0;
  std::vector<std::string> argv;
  std::string idempotency_key;
  int64_t timeout_ms = 0;
  int64_t output_cap_bytes = 0;
  std::string request_id; // correlation id, passed to the process as STAGEE_REQUEST_ID
  int64_t fence = 0;      // owner's fencing token, passed as STAGEE_FENCE
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_step& x) {
  return f(caf::meta::type_name("run_step"), x.execution_id, x.run_index, x.step_name,
           x.target, x.attempt, x.argv, x.idempotency_key, x.timeout_ms,
           x.output_cap_bytes, x.request_id, x.fence);
}

struct step_result {
  int32_t run_index = 0;
  step_status status = step_status::failed; // succeeded | failed | timed_out
  std::optional<int32_t> exit_code;
  int64_t duration_ms = 0;
  step_output output;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_result& x) {
  auto ec = as_opt(x.exit_code);
  return f(caf::meta::type_name("step_result"), x.run_index, x.status, ec,
           x.duration_ms, x.output);
}

using step_runner_actor = caf::typed_actor<caf::replies_to<run_step>::with<step_result>>;

} // namespace stagee
