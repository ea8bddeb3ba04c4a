#include "actors/execution_fsm.hpp"

#include <array>

namespace stagee {

namespace {

using es = execution_status;
using tk = trigger_kind;

constexpr std::array<const char*, trigger_kind_count> trigger_names{
  "enqueue", "require_approval", "approve", "reject", "start",
  "run_finished", "resume", "cancel", "fail", "retry", "await_approval"};

/// Appends an event with the next sequence number.
execution_event& emit(transition& tr, event_kind kind, const trigger& t) {
  auto& ev = tr.events.emplace_back();
  ev.execution_id = tr.next.execution_id;
  ev.seq = ++tr.next.last_seq;
  ev.kind = kind;
  ev.status = tr.next.status;
  ev.from = tr.next.last_transition_from;
  ev.by = t.by;
  ev.at_us = t.now_us;
  return ev;
}

execution_event& emit_run(transition& tr, event_kind kind, const trigger& t, int32_t idx) {
  auto& run = tr.next.runs[static_cast<size_t>(idx)];
  auto& ev = emit(tr, kind, t);
  ev.from = ev.status; // a step event does not change the execution status
  ev.run_index = idx;
  ev.step_name = run.step_name;
  ev.target = run.target;
  ev.attempt = run.attempt;
  ev.exit_code = run.exit_code;
  ev.message = kind == event_kind::step_finished ? to_string(run.status) : "";
  return ev;
}

/// Moves the execution to a new status, recording who and from where.
void move_to(transition& tr, es to, const trigger& t) {
  tr.next.last_transition_from = tr.next.status;
  tr.next.last_transition_by = t.by;
  tr.next.status = to;
}

void mark_run(transition& tr, int32_t idx, step_status st) {
  tr.next.runs[static_cast<size_t>(idx)].status = st;
  tr.changed_runs.push_back(idx);
}

/// Starts the run at the cursor (attempt + 1) and asks the shell to execute it.
void start_run(transition& tr, const trigger& t) {
  auto idx = tr.next.cursor;
  auto& run = tr.next.runs[static_cast<size_t>(idx)];
  run.attempt += 1;
  run.exit_code.reset();
  mark_run(tr, idx, step_status::running);
  emit_run(tr, event_kind::step_started, t, idx);
  tr.run_next = idx;
}

/// Marks every unfinished run: the running one `running_to`, pending ones `pending_to`.
void close_remaining(transition& tr, step_status running_to, step_status pending_to) {
  for (size_t i = 0; i < tr.next.runs.size(); ++i) {
    auto s = tr.next.runs[i].status;
    if (s == step_status::running)
      mark_run(tr, static_cast<int32_t>(i), running_to);
    else if (s == step_status::pending)
      mark_run(tr, static_cast<int32_t>(i), pending_to);
  }
}

void finish_failed(transition& tr, const trigger& t, std::string error_class,
                   std::string message) {
  close_remaining(tr, t.timed_out ? step_status::timed_out : step_status::failed,
                  step_status::skipped);
  move_to(tr, es::failed, t);
  tr.next.error_class = std::move(error_class);
  tr.next.error_message = std::move(message);
  auto& ev = emit(tr, event_kind::failed, t);
  ev.error_class = tr.next.error_class;
  ev.message = tr.next.error_message;
}

/// After a run succeeded: start the next one or finish.
void advance(transition& tr, const trigger& t) {
  tr.next.cursor += 1;
  if (static_cast<size_t>(tr.next.cursor) < tr.next.runs.size()) {
    if (!t.hold) // held: the run at the cursor stays pending for the next owner
      start_run(tr, t);
    return;
  }
  move_to(tr, es::succeeded, t);
  emit(tr, event_kind::succeeded, t);
}

fsm_result refuse(const execution_snapshot& s, const trigger& t, std::string reason) {
  return {std::nullopt, fsm_error{s.status, t.kind, std::move(reason)}};
}

fsm_result on_start(transition tr, const trigger& t) {
  move_to(tr, es::running, t);
  emit(tr, event_kind::started, t);
  start_run(tr, t);
  return {std::move(tr), std::nullopt};
}

fsm_result on_run_finished(transition tr, const execution_snapshot& s, const trigger& t) {
  if (t.run_index < 0 || static_cast<size_t>(t.run_index) >= s.runs.size())
    return refuse(s, t, "run index out of range");
  auto idx = t.run_index;
  if (idx != s.cursor || s.runs[static_cast<size_t>(idx)].status != step_status::running)
    return refuse(s, t, "run " + std::to_string(idx) + " is not the running run");
  if (t.outcome != step_status::succeeded && t.outcome != step_status::failed
      && t.outcome != step_status::timed_out)
    return refuse(s, t, "outcome must be succeeded, failed or timed_out");
  auto& run = tr.next.runs[static_cast<size_t>(idx)];
  run.exit_code = t.exit_code;
  mark_run(tr, idx, t.outcome);
  emit_run(tr, event_kind::step_finished, t, idx);
  if (t.outcome == step_status::succeeded) {
    advance(tr, t);
    return {std::move(tr), std::nullopt};
  }
  run.failures += 1;
  // Only idempotent steps are retried: running a non-idempotent one again could
  // repeat a side effect that already happened.
  if (run.idempotent && run.failures < tr.next.max_attempts) {
    emit_run(tr, event_kind::retry_scheduled, t, idx).message
      = "failure " + std::to_string(run.failures) + " of at most "
        + std::to_string(tr.next.max_attempts);
    tr.retry_scheduled = true;
    return {std::move(tr), std::nullopt};
  }
  auto cls = t.outcome == step_status::timed_out ? "step_timed_out" : "step_failed";
  finish_failed(tr, t, cls,
                "step " + run.step_name + " on " + run.target + " " + to_string(t.outcome)
                  + (t.exit_code ? " (exit code " + std::to_string(*t.exit_code) + ")"
                                 : std::string{})
                  + " after " + std::to_string(run.failures) + " failed attempt"
                  + (run.failures == 1 ? "" : "s"));
  return {std::move(tr), std::nullopt};
}

/// A new owner continues: re-run an interrupted idempotent run, fail on an
/// interrupted non-idempotent one (its side effect may have happened), or start the
/// run at the cursor.
fsm_result on_resume(transition tr, const trigger& t) {
  if (tr.next.status != es::running)
    return on_start(std::move(tr), t);
  auto& ev = emit(tr, event_kind::resumed, t);
  ev.message = "resumed from snapshot at seq " + std::to_string(tr.next.last_seq - 1);
  auto idx = tr.next.cursor;
  if (static_cast<size_t>(idx) >= tr.next.runs.size()) {
    move_to(tr, es::succeeded, t);
    emit(tr, event_kind::succeeded, t);
    return {std::move(tr), std::nullopt};
  }
  auto& run = tr.next.runs[static_cast<size_t>(idx)];
  if (run.status == step_status::running && !run.idempotent) {
    finish_failed(tr, t, "interrupted_non_idempotent",
                  "step " + run.step_name + " on " + run.target
                    + " was interrupted and is not idempotent; it was not re-run");
    return {std::move(tr), std::nullopt};
  }
  start_run(tr, t);
  return {std::move(tr), std::nullopt};
}

} // namespace

std::string to_string(trigger_kind x) {
  auto i = static_cast<size_t>(x);
  return i < trigger_names.size() ? trigger_names[i] : "unknown";
}

execution_snapshot initial_snapshot(const std::string& execution_id, const plan& p) {
  execution_snapshot s;
  s.execution_id = execution_id;
  int32_t idx = 0;
  for (auto& step : p.steps) {
    for (auto& target : step.targets) {
      step_run r;
      r.step_index = idx;
      r.step_name = step.name;
      r.target = target;
      r.idempotent = step.idempotent;
      s.runs.push_back(std::move(r));
    }
    ++idx;
  }
  return s;
}

transition admit(const execution_snapshot& initial, execution_mode mode,
                 const std::string& by, int64_t now_us, bool needs_approval) {
  trigger t;
  t.kind = tk::enqueue;
  t.by = by;
  t.now_us = now_us;
  transition tr;
  tr.next = initial;
  tr.next.last_transition_by = by;
  emit(tr, event_kind::submitted, t);
  if (needs_approval) { // R-SAFE-8: waits for `stagee approve` (queued once approved)
    move_to(tr, es::awaiting_approval, t);
    emit(tr, event_kind::awaiting_approval, t);
  } else if (mode == execution_mode::background) {
    move_to(tr, es::queued, t);
    emit(tr, event_kind::queued, t);
  }
  return tr;
}

bool is_legal(execution_status from, trigger_kind kind) {
  if (is_terminal(from))
    return false;
  switch (kind) {
    case tk::enqueue:
    case tk::require_approval:
      return from == es::pending;
    case tk::approve:
    case tk::reject:
      return from == es::awaiting_approval;
    case tk::start:
      return from == es::pending || from == es::queued;
    case tk::run_finished:
      return from == es::running;
    case tk::resume:
      return from == es::pending || from == es::queued || from == es::running;
    case tk::cancel:
    case tk::fail:
      return true;
    case tk::retry:
    case tk::await_approval:
      return from == es::running;
  }
  return false;
}

fsm_result apply(const execution_snapshot& s, const trigger& t) {
  if (!is_legal(s.status, t.kind))
    return refuse(s, t, "illegal transition: " + to_string(t.kind) + " in status "
                          + to_string(s.status));
  if (s.runs.empty() && (t.kind == tk::start || t.kind == tk::resume))
    return refuse(s, t, "execution has no step runs");
  transition tr;
  tr.next = s;
  switch (t.kind) {
    case tk::enqueue:
      move_to(tr, es::queued, t);
      emit(tr, event_kind::queued, t);
      break;
    case tk::require_approval:
      move_to(tr, es::awaiting_approval, t);
      emit(tr, event_kind::awaiting_approval, t);
      break;
    case tk::approve:
      move_to(tr, es::queued, t);
      emit(tr, event_kind::approved, t);
      break;
    case tk::reject:
      move_to(tr, es::rejected, t);
      emit(tr, event_kind::rejected, t).message = t.message;
      break;
    case tk::start:
      return on_start(std::move(tr), t);
    case tk::run_finished:
      return on_run_finished(std::move(tr), s, t);
    case tk::resume:
      return on_resume(std::move(tr), t);
    case tk::cancel: {
      close_remaining(tr, step_status::cancelled, step_status::skipped);
      move_to(tr, es::cancelled, t);
      emit(tr, event_kind::cancelled, t).message = t.message;
      break;
    }
    case tk::fail:
      if (t.error_class == "rbac_violation") { // recorded as such first (R-SAFE-3)
        auto& ev = emit(tr, event_kind::rbac_violation, t);
        ev.from = ev.status;
        ev.error_class = t.error_class;
        ev.message = t.message;
      }
      finish_failed(tr, t, t.error_class.empty() ? "failed" : t.error_class, t.message);
      break;
    case tk::await_approval: {
      auto idx = s.cursor;
      if (static_cast<size_t>(idx) >= s.runs.size()
          || s.runs[static_cast<size_t>(idx)].status != step_status::running)
        return refuse(s, t, "no run is about to start");
      auto& run = tr.next.runs[static_cast<size_t>(idx)];
      run.attempt -= 1; // it never started
      mark_run(tr, idx, step_status::pending);
      move_to(tr, es::awaiting_approval, t);
      emit(tr, event_kind::awaiting_approval, t).message = t.message;
      break;
    }
    case tk::retry: {
      auto idx = s.cursor;
      if (static_cast<size_t>(idx) >= s.runs.size()
          || s.runs[static_cast<size_t>(idx)].status == step_status::running
          || s.runs[static_cast<size_t>(idx)].failures == 0)
        return refuse(s, t, "no failed run awaits a retry");
      start_run(tr, t);
      break;
    }
  }
  return {std::move(tr), std::nullopt};
}

} // namespace stagee
