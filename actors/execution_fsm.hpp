/// The execution step FSM as a pure function: (snapshot, trigger) -> (snapshot,
/// events, next run) or a typed error that changes nothing (R-FSM-1..4).
///
/// No CAF, no I/O, no clock: the caller passes `now_us` and `by` in the trigger. The
/// status diagram is in messages/execution.hpp. The execution actor is a thin shell
/// that journals the result and then performs `run_next`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "messages/execution.hpp"
#include "messages/plan.hpp"

namespace stagee {

enum class trigger_kind : uint8_t {
  enqueue,          // pending -> queued (background admission)
  require_approval, // pending -> awaiting_approval
  approve,          // awaiting_approval -> queued
  reject,           // awaiting_approval -> rejected
  start,            // pending|queued -> running, first run starts
  run_finished,     // running: the running run ended (outcome in trigger)
  resume,           // pending|queued|running: a new owner continues from the snapshot
  cancel,           // any non-terminal -> cancelled (running run cancelled, later ones skipped)
  fail,             // any non-terminal -> failed (error_class in trigger)
  retry,            // running: the failed run at the cursor runs again (backoff over)
  await_approval,   // running -> awaiting_approval: level 3, the run at the cursor (marked
                    // running, never started) goes back to pending until its step is approved
};
constexpr int trigger_kind_count = 11;
std::string to_string(trigger_kind x);

struct trigger {
  trigger_kind kind = trigger_kind::start;
  std::string by;       // principal or node causing it (last_transition_by)
  int64_t now_us = 0;   // event timestamps
  // run_finished:
  int32_t run_index = -1;
  step_status outcome = step_status::failed; // succeeded | failed | timed_out
  std::optional<int32_t> exit_code;
  bool hold = false; // record the result but do not start the next run (node draining)
  // fail / cancel:
  std::string error_class;
  std::string message;
  bool timed_out = false; // fail: the running run ends timed_out (execution deadline)
};

/// Result of a legal transition.
struct transition {
  execution_snapshot next;
  std::vector<execution_event> events; // seq already assigned, contiguous
  std::vector<int32_t> changed_runs;   // run indices whose rows changed
  std::optional<int32_t> run_next;     // start this run once the journal committed
  bool retry_scheduled = false;        // arm the backoff, then send trigger retry
};

/// Why a trigger was refused. The snapshot is unchanged.
struct fsm_error {
  execution_status from = execution_status::pending;
  trigger_kind kind = trigger_kind::start;
  std::string reason;
};

struct fsm_result {
  std::optional<transition> ok;
  std::optional<fsm_error> error;
};

/// Builds the first snapshot of an execution: status pending, one run per
/// (step, effective target) in plan order, last_seq 0.
execution_snapshot initial_snapshot(const std::string& execution_id, const plan& p);

/// The admission journal of a new execution: `submitted` (seq 1) and then the move
/// to awaiting_approval (needs_approval, R-SAFE-8) or, in background mode, to queued
/// (seq 2).
transition admit(const execution_snapshot& initial, execution_mode mode,
                 const std::string& by, int64_t now_us, bool needs_approval = false);

/// Applies one trigger. Never throws; illegal triggers return an fsm_error.
fsm_result apply(const execution_snapshot& current, const trigger& t);

/// Whether a trigger kind is accepted in a status at all (the legality table; run
/// details such as a mismatched run index can still refuse a legal pair).
bool is_legal(execution_status from, trigger_kind kind);

} // namespace stagee
