/// Worker protocols: the worker-supervisor, the execution actors it supervises and
/// the step runners they use.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/console.hpp"
#include "messages/execution.hpp"

namespace stagee {

using poll_atom = caf::atom_constant<caf::atom("poll")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using isolated_atom = caf::atom_constant<caf::atom("isolated")>;

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

/// Sent by an execution actor that stopped between two runs because its node is
/// draining: its last snapshot is committed and its lease may be handed on.
struct execution_released {
  std::string execution_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_released& x) {
  return f(caf::meta::type_name("execution_released"), x.execution_id);
}

/// How stop_execution ends an execution.
enum class stop_kind : uint8_t {
  fail,    // fail with error_class (renewal cap, execution deadline)
  cancel,  // cancelled on request (R-SAFE-6): the running run is cancelled, later ones skipped
  abandon, // renewal overdue: stop the step, quit, write nothing (the next owner resumes)
};

/// Sent to an execution that must end now: the running step's process group is
/// stopped (TERM, grace, KILL), no further run starts, and the execution ends as
/// `kind` says once the stopped run's result (or the write in flight) is committed.
struct stop_execution {
  stop_kind kind = stop_kind::fail;
  std::string error_class; // fail
  std::string message;     // fail: error message; cancel: the reason given
  std::string by;          // cancel: who asked ("principal:NAME"); else this node
  bool timed_out = false;  // fail: the running run ends timed_out (execution deadline)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stop_execution& x) {
  return f(caf::meta::type_name("stop_execution"), x.kind, x.error_class, x.message, x.by,
           x.timed_out);
}

/// Outcome of a drain: executions that ended, and ones handed back to the queue.
struct drained {
  int32_t finished = 0;
  int32_t released = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drained& x) {
  return f(caf::meta::type_name("drained"), x.finished, x.released);
}

using worker_supervisor_actor = caf::typed_actor<
  // Run an immediate execution now; replies with its terminal status.
  caf::replies_to<run_request>::with<execution_done>,
  // An execution actor finished (sent by the child itself).
  caf::reacts_to<execution_done>,
  // Work was enqueued: claim now instead of at the next tick.
  caf::reacts_to<poll_atom>,
  // Graceful shutdown: stop claiming, let running step runs finish, hand the
  // executions back to the queue; replies when every child ended or was released.
  caf::replies_to<drain_atom>::with<drained>,
  // An execution actor stopped between runs while draining (sent by the child).
  caf::reacts_to<execution_released>,
  // Cancellations were requested: look for them now (also on a timer).
  caf::reacts_to<cancel_atom>,
  // Background executions running now (the membership gossips it).
  caf::replies_to<load_atom>::with<int32_t>,
  // The membership found this node cut off from every peer and the database:
  // stop claiming (true) or resume (false).
  caf::reacts_to<isolated_atom, bool>,
  // Internal timer: periodic claim and lease renewal.
  caf::reacts_to<caf::tick_atom>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

using execution_actor = caf::typed_actor<
  // Current in-memory snapshot (inspection).
  caf::replies_to<caf::get_atom>::with<execution_snapshot>,
  // Node draining: finish the running step run, then stop before the next one.
  caf::reacts_to<drain_atom>,
  // End now: stop the running step, fail the execution (see stop_execution).
  caf::reacts_to<stop_execution>,
  // Internal timer: retry a journal write that failed (database unavailable).
  caf::reacts_to<caf::tick_atom>,
  // Internal timer: the backoff of a failed run is over; run it again.
  caf::reacts_to<retry_atom>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

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
  std::string lock_key;   // the target's lock (empty: none), STAGEE_LOCK_KEY
  int64_t lock_fence = 0; // its fencing token, STAGEE_LOCK_FENCE
  // The step's environment, secret references already replaced by their values
  // (as argv's "{{secret:NAME}}"), and those values, which the runner masks in the
  // captured output. Sent only to a local runner: never serialized, never stored.
  std::map<std::string, std::string> env;
  std::vector<std::string> secret_values;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_step& x) {
  return f(caf::meta::type_name("run_step"), x.execution_id, x.run_index, x.step_name,
           x.target, x.attempt, x.argv, x.idempotency_key, x.timeout_ms,
           x.output_cap_bytes, x.request_id, x.fence, x.lock_key, x.lock_fence, x.env,
           x.secret_values);
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
