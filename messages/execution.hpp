/// Execution state as it travels between actors and into the journal.
///
/// Execution status FSM (R-FSM-1/2; transitions implemented in actors/execution_fsm):
///
///            enqueue            start
///   pending ---------> queued -------> running --all runs ok--> succeeded
///     |                   ^              |
///     | require_approval  | approve      +--a run failed / fail--> failed
///     v                   |              |
///   awaiting_approval ----+--reject--> rejected
///     |                                  |
///   pending --start (immediate)--> running  +--cancel--> cancelled
///   cancel/fail are legal from every non-terminal status; terminal statuses
///   (succeeded, failed, cancelled, rejected) never change.
///
/// Step-run status (one run = one step on one target):
///   pending -> running -> succeeded | failed | timed_out
///   pending -> skipped (an earlier run failed) ; running|pending -> cancelled
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/optional.hpp"
#include "messages/plan.hpp"

namespace stagee {

enum class execution_status : uint8_t {
  pending,
  awaiting_approval,
  queued,
  running,
  succeeded,
  failed,
  cancelled,
  rejected,
};
constexpr int execution_status_count = 8;

enum class step_status : uint8_t {
  pending,
  running,
  succeeded,
  failed,
  skipped,
  cancelled,
  timed_out,
};

enum class execution_mode : uint8_t { immediate, background };

/// What the journal records; one per FSM output (see docs/protocols.md).
enum class event_kind : uint8_t {
  submitted,
  queued,
  awaiting_approval,
  approved,
  started,
  resumed,
  step_started,
  step_finished,
  succeeded,
  failed,
  cancelled,
  rejected,
  retry_scheduled, // a failed run will run again after a backoff
  rbac_violation,  // the submitter lost the permission the next step needs (R-SAFE-3)
};

std::string to_string(execution_status x);
std::string to_string(step_status x);
std::string to_string(execution_mode x);
std::string to_string(event_kind x);
bool from_string(const std::string& s, execution_status& out);
bool from_string(const std::string& s, step_status& out);
bool from_string(const std::string& s, execution_mode& out);
bool from_string(const std::string& s, event_kind& out);

bool is_terminal(execution_status x);
bool is_terminal(step_status x);

/// True for a canonical lowercase or uppercase 8-4-4-4-12 hex UUID (execution ids).
bool valid_uuid(const std::string& s);

/// One step on one target.
struct step_run {
  int32_t step_index = 0;
  std::string step_name;
  std::string target;
  bool idempotent = false;
  step_status status = step_status::pending;
  int32_t attempt = 0; // attempts started so far
  std::optional<int32_t> exit_code;
  int32_t failures = 0; // failed or timed-out attempts (the retry budget; crashes do not count)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_run& x) {
  auto ec = as_opt(x.exit_code);
  return f(caf::meta::type_name("step_run"), x.step_index, x.step_name, x.target,
           x.idempotent, x.status, x.attempt, ec, x.failures);
}

/// The execution's whole FSM state: what is snapshotted before and after every
/// step and what a new owner resumes from (R-FSM-4).
struct execution_snapshot {
  std::string execution_id;
  execution_status status = execution_status::pending;
  execution_status last_transition_from = execution_status::pending;
  std::string last_transition_by;
  int64_t last_seq = 0;      // sequence number of the last journaled event
  int32_t cursor = 0;        // index of the first run that has not finished
  std::string error_class;   // set when the execution failed
  std::string error_message;
  std::vector<step_run> runs;
  int32_t max_attempts = 1;  // per run, for idempotent steps (by SLA class)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_snapshot& x) {
  return f(caf::meta::type_name("execution_snapshot"), x.execution_id, x.status,
           x.last_transition_from, x.last_transition_by, x.last_seq, x.cursor,
           x.error_class, x.error_message, x.runs, x.max_attempts);
}

/// One journaled event (execution_events row); also what subscribers receive.
struct execution_event {
  std::string execution_id;
  int64_t seq = 0;
  event_kind kind = event_kind::submitted;
  execution_status status = execution_status::pending; // status after the event
  execution_status from = execution_status::pending;   // status before the event
  int32_t run_index = -1;                               // -1: not about a step run
  std::string step_name;
  std::string target;
  int32_t attempt = 0;
  std::optional<int32_t> exit_code;
  std::string error_class;
  std::string message;
  std::string by;     // principal or node that caused it
  int64_t at_us = 0;  // node wall clock, microseconds since the epoch (informational)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_event& x) {
  auto ec = as_opt(x.exit_code);
  return f(caf::meta::type_name("execution_event"), x.execution_id, x.seq, x.kind,
           x.status, x.from, x.run_index, x.step_name, x.target, x.attempt, ec,
           x.error_class, x.message, x.by, x.at_us);
}

/// Captured output of a finished run (stored in execution_steps, never in events).
struct step_output {
  int32_t run_index = 0;
  std::string stdout_text;
  std::string stderr_text;
  bool truncated = false;
  std::string error; // e.g. "executable not found: foo"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_output& x) {
  return f(caf::meta::type_name("step_output"), x.run_index, x.stdout_text,
           x.stderr_text, x.truncated, x.error);
}

/// A granted per-asset lock (messages/locks.hpp): its key, target and the fencing
/// token of this grant (passed to the step as STAGEE_LOCK_FENCE).
struct lock_grant {
  std::string key;
  std::string target;
  int64_t fence = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_grant& x) {
  return f(caf::meta::type_name("lock_grant"), x.key, x.target, x.fence);
}

/// Identity and frozen plan of an execution; everything a worker needs to run it.
struct execution_record {
  std::string execution_id;
  std::string tenant_id;
  std::string actor_id;
  std::string plan_hash;
  std::string idempotency_key;
  execution_mode mode = execution_mode::immediate;
  int64_t step_timeout_ms = 0; // policy default for steps without timeout_ms
  plan frozen_plan;
  execution_snapshot snapshot;
  std::string request_id;      // correlation id of the submit (logs, step processes)
  int64_t fence = 0;           // fencing token of this owner's queue lease
  int64_t queue_wait_ms = -1;  // enqueue -> this claim (claims only; -1 otherwise)
  int64_t lease_ms = 0;        // length of this owner's queue lease (0: unknown)
  int64_t execution_timeout_ms = 0; // SLA budget from start to end (timeout policy)
  int64_t deadline_in_ms = -1; // time left to the stored deadline when loaded (-1: not started)
  std::vector<lock_grant> locks; // held by this owner (empty: none yet, or none needed)
  std::string cancel_requested_by; // when loaded: a pending cancellation request (R-SAFE-6)
  std::string cancel_reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_record& x) {
  return f(caf::meta::type_name("execution_record"), x.execution_id, x.tenant_id,
           x.actor_id, x.plan_hash, x.idempotency_key, x.mode, x.step_timeout_ms,
           x.frozen_plan, x.snapshot, x.request_id, x.fence, x.queue_wait_ms, x.lease_ms,
           x.execution_timeout_ms, x.deadline_in_ms, x.locks, x.cancel_requested_by,
           x.cancel_reason);
}

/// An execution as loaded from PostgreSQL: the record without its parsed plan
/// (record.frozen_plan is empty) plus the stored canonical plan JSON, which the
/// worker re-parses before running it.
struct stored_execution {
  execution_record record;
  std::string plan_json;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_execution& x) {
  return f(caf::meta::type_name("stored_execution"), x.record, x.plan_json);
}

} // namespace stagee
