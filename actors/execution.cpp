#include "actors/execution.hpp"

#include <algorithm>

#include "actors/lock_manager.hpp"
#include "actors/plan_codec.hpp"
#include "actors/probe.hpp"
#include "actors/secret_box.hpp"
#include "actors/utf8.hpp"
#include "messages/errors.hpp"

namespace stagee {

namespace {

using self_ptr = execution_actor::stateful_pointer<execution_state>;

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

spdlog::logger& lg() {
  static auto l = logging::get("exec");
  return *l;
}

void journal(self_ptr self);

/// A `fail` trigger from this node.
trigger failure(self_ptr self, std::string error_class, std::string message) {
  trigger t;
  t.kind = trigger_kind::fail;
  t.by = self->state.settings.node;
  t.now_us = now_us();
  t.error_class = std::move(error_class);
  t.message = std::move(message);
  return t;
}

/// Leaves: forgets the deadline, tells the supervisor (execution_done with the last
/// committed status, or `msg`), stops.
template <class Message>
void leave_with(self_ptr self, Message msg) {
  auto& st = self->state;
  if (st.deadline_armed)
    self->send(st.peers.timeouts, disarm_deadline{st.record.execution_id,
                                                  caf::actor_cast<execution_actor>(self)});
  self->send(st.peers.supervisor, std::move(msg));
  self->quit();
}

void leave(self_ptr self) {
  leave_with(self, execution_done{self->state.record.execution_id, self->state.snapshot.status});
}

void finish(self_ptr self) {
  auto& st = self->state;
  st.log.status = to_string(st.snapshot.status);
  st.log.error_class = st.snapshot.error_class;
  st.log.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - st.started).count();
  st.log.step.clear();
  st.log.target.clear();
  logging::write(lg(), spdlog::level::info, "execution finished", st.log);
  leave(self);
}

/// Applies a trigger and journals the resulting transition.
void fire(self_ptr self, const trigger& t, std::vector<step_output> outputs = {}) {
  auto& st = self->state;
  auto r = apply(st.snapshot, t);
  if (r.error) {
    logging::write(lg(), spdlog::level::err, "illegal transition refused", st.log,
                   {{"trigger", to_string(r.error->kind)}, {"reason", r.error->reason}});
    if (t.kind != trigger_kind::fail && !is_terminal(st.snapshot.status)) {
      // A bug in the shell, not in the plan: fail the execution visibly rather
      // than leave it running until its lease expires.
      fire(self, failure(self, "illegal_transition",
                         to_string(t.kind) + " refused in status "
                           + to_string(st.snapshot.status) + ": " + r.error->reason));
      return;
    }
    finish(self);
    return;
  }
  auto& tr = *r.ok;
  journal_append a;
  a.node = st.settings.node;
  a.fence = st.record.fence;
  a.expected_seq = st.snapshot.last_seq;
  a.snapshot = std::move(tr.next);
  a.changed_runs = std::move(tr.changed_runs);
  a.outputs = std::move(outputs);
  a.events = std::move(tr.events);
  a.cancel_check = tr.run_next.has_value(); // the check before a run starts
  if (tr.run_next)
    a.starting_step = a.snapshot.runs[static_cast<size_t>(*tr.run_next)].step_name;
  a.locking = !st.lock_specs.empty();
  st.in_flight = std::move(a);
  st.run_after_commit = tr.run_next;
  st.retry_after_commit = tr.retry_scheduled;
  journal(self);
}

void on_step_result(self_ptr self, step_result res) {
  auto& st = self->state;
  st.run_stop.reset();
  auto& run = st.snapshot.runs[static_cast<size_t>(res.run_index)];
  logging::write(lg(), res.status == step_status::succeeded ? spdlog::level::info
                                                            : spdlog::level::warn,
                 "step run finished", st.log,
                 {{"step", run.step_name}, {"target", run.target},
                  {"outcome", to_string(res.status)},
                  {"exit_code", res.exit_code ? nlohmann::json(*res.exit_code) : nlohmann::json()},
                  {"step_duration_ms", res.duration_ms}});
  if (st.abandoning) { // the lease is going: write nothing, leave it to the next owner
    leave(self);
    return;
  }
  if (st.stop && res.status != step_status::succeeded) {
    // Stopped on purpose: the run's output goes with the failure. (A run that
    // succeeded before the stop reached it is recorded as such, then the stop
    // fires from committed(): it must not run again after a requeue.)
    if (!st.stop->message.empty()) // a cancel may come without a reason
      res.output.error += (res.output.error.empty() ? "" : ": ") + st.stop->message;
    fire(self, *st.stop, {std::move(res.output)});
    return;
  }
  trigger t;
  t.kind = trigger_kind::run_finished;
  t.by = st.settings.node;
  t.now_us = now_us();
  t.run_index = res.run_index;
  t.outcome = res.status;
  t.exit_code = res.exit_code;
  t.hold = st.draining || st.stop.has_value();
  fire(self, t, {std::move(res.output)});
}

/// A run whose secrets cannot be had fails without starting (R-SAFE-4).
void secrets_failed(self_ptr self, int32_t idx, const std::string& why) {
  step_result res;
  res.run_index = idx;
  res.status = step_status::failed;
  res.output.run_index = idx;
  // (worded so that the masker's key=value rule leaves it readable)
  res.output.error = "the step's secrets could not be resolved (" + why + ")";
  on_step_result(self, std::move(res));
}

/// Starts the shell runner for a run; `values` are the resolved secrets its step
/// references (empty: none).
void launch_shell(self_ptr self, const step_run& run, const plan_step& step, int32_t idx,
                  std::map<std::string, std::string> values) {
  auto& st = self->state;
  run_step req;
  req.execution_id = st.record.execution_id;
  req.run_index = idx;
  req.step_name = run.step_name;
  req.target = run.target;
  req.attempt = run.attempt;
  req.argv = expand_argv(step.command, run.target);
  req.env = step.env;
  if (!values.empty()) {
    std::vector<std::pair<std::string, std::string>> env(req.env.begin(), req.env.end());
    try {
      secrets::substitute(env, req.argv, values);
    } catch (const std::exception& e) { // names only in the message, never values
      secrets_failed(self, idx, e.what());
      return;
    }
    req.env = std::map<std::string, std::string>(env.begin(), env.end());
    for (auto& kv : values)
      req.secret_values.push_back(kv.second);
  }
  req.idempotency_key = st.record.execution_id + "/" + run.step_name + "/" + run.target;
  req.request_id = st.record.request_id;
  req.fence = st.record.fence;
  req.timeout_ms = step.timeout_ms > 0 ? step.timeout_ms
                   : st.record.step_timeout_ms > 0 ? st.record.step_timeout_ms
                                                   : st.settings.default_step_timeout_ms;
  req.output_cap_bytes = st.settings.output_cap_bytes;
  for (auto& l : st.record.locks)
    if (l.target == run.target) {
      req.lock_key = l.key;
      req.lock_fence = l.fence;
    }
  st.run_stop = std::make_shared<std::atomic<bool>>(false);
  auto runner = self->spawn<caf::detached>(shell_runner, st.settings.shell, st.run_stop);
  auto deadline = std::chrono::milliseconds{req.timeout_ms + st.settings.shell.kill_grace_ms
                                            + 5000};
  self->request(runner, deadline, std::move(req))
    .then([=](step_result& res) { on_step_result(self, std::move(res)); },
          [=](caf::error& err) {
            step_result res;
            res.run_index = idx;
            res.status = step_status::failed;
            res.output.run_index = idx;
            res.output.error = "step runner failed: " + self->system().render(err);
            on_step_result(self, std::move(res));
          });
}

/// Runs a shell step: resolves the secrets it references just before it starts
/// (never earlier, never stored), keeps them masked in every sink while this
/// execution lives, then launches the runner.
void run_shell(self_ptr self, const step_run& run, const plan_step& step, int32_t idx) {
  auto& st = self->state;
  std::vector<std::string> names;
  try {
    names = secrets::refs_in(std::vector<std::pair<std::string, std::string>>(step.env.begin(),
                                                                            step.env.end()),
                             step.command);
  } catch (const std::exception& e) { // validated at submit; a stored plan could predate it
    secrets_failed(self, idx, e.what());
    return;
  }
  if (names.empty()) {
    launch_shell(self, run, step, idx, {});
    return;
  }
  resolve_secrets req{st.record.tenant_id, st.record.execution_id, names};
  self->request(st.peers.secrets, std::chrono::seconds(30), std::move(req))
    .then(
      [=](resolved_secrets& r) {
        auto& st = self->state;
        std::vector<std::string> values;
        for (auto& kv : r.values)
          values.push_back(kv.second);
        st.live_secrets.push_back(masking::add_live_secrets(std::move(values)));
        auto& run_now = st.snapshot.runs[static_cast<size_t>(idx)];
        auto& step_now = st.record.frozen_plan.steps[static_cast<size_t>(run_now.step_index)];
        launch_shell(self, run_now, step_now, idx, std::move(r.values));
      },
      [=](caf::error& err) { secrets_failed(self, idx, describe(err).message); });
}

/// Runs one step run whose step_started snapshot is committed.
void dispatch(self_ptr self, int32_t idx) {
  auto& st = self->state;
  auto& run = st.snapshot.runs[static_cast<size_t>(idx)];
  auto& step = st.record.frozen_plan.steps[static_cast<size_t>(run.step_index)];
  st.log.step = run.step_name;
  st.log.target = run.target;
  logging::write(lg(), spdlog::level::debug, "step run starting", st.log,
                 {{"attempt", run.attempt}, {"executor", to_string(step.executor)}});
  switch (step.executor) {
    case executor_kind::noop: {
      step_result res;
      res.run_index = idx;
      res.status = step_status::succeeded;
      res.exit_code = 0;
      res.output.run_index = idx;
      on_step_result(self, std::move(res));
      return;
    }
    case executor_kind::shell:
      run_shell(self, run, step, idx);
      return;
  }
}

/// Draining node: the committed snapshot is complete, let the next owner continue.
void hand_back(self_ptr self) {
  auto& st = self->state;
  logging::write(lg(), spdlog::level::info, "execution handed back (node draining)", st.log);
  leave_with(self, execution_released{self->state.record.execution_id});
}

/// Backoff before a failed run runs again: base x 2^failures, +-10 % jitter, capped.
void arm_retry(self_ptr self) {
  auto& st = self->state;
  auto& run = st.snapshot.runs[static_cast<size_t>(st.snapshot.cursor)];
  auto delay = std::min<int64_t>(st.settings.retry_base_ms << std::min(run.failures, 20),
                                 st.settings.retry_cap_ms);
  std::uniform_real_distribution<double> jitter{0.9, 1.1};
  delay = static_cast<int64_t>(static_cast<double>(delay) * jitter(st.rng));
  st.retry_pending = true;
  logging::write(lg(), spdlog::level::warn, "step run failed; retrying after backoff", st.log,
                 {{"failures", run.failures}, {"max_attempts", st.snapshot.max_attempts},
                  {"retry_in_ms", delay}});
  self->delayed_send(self, std::chrono::milliseconds{delay}, retry_atom::value);
}

void on_retry_timer(self_ptr self) {
  auto& st = self->state;
  if (!std::exchange(st.retry_pending, false))
    return;
  if (st.draining) {
    hand_back(self);
    return;
  }
  trigger t;
  t.kind = trigger_kind::retry;
  t.by = st.settings.node;
  t.now_us = now_us();
  fire(self, t);
}

/// Arms the SLA deadline once the execution runs: what is left of the stored
/// deadline when a new owner resumes it, the whole budget when it just started.
void arm_deadline_once(self_ptr self) {
  auto& st = self->state;
  if (st.deadline_armed || st.snapshot.status != execution_status::running
      || st.record.execution_timeout_ms <= 0)
    return;
  auto in_ms = st.record.execution_timeout_ms;
  if (st.record.deadline_in_ms >= 0) {
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - st.started).count();
    in_ms = std::max<int64_t>(st.record.deadline_in_ms - since, 0);
  }
  st.deadline_armed = true;
  self->send(st.peers.timeouts,
             arm_deadline{st.record.execution_id, in_ms, timeout_policy_id(st.record.frozen_plan),
                          st.record.execution_timeout_ms,
                          caf::actor_cast<execution_actor>(self), st.record.tenant_id});
}

void committed(self_ptr self, const journal_committed& c) {
  auto& st = self->state;
  auto from = st.snapshot.status;
  st.snapshot = std::move(st.in_flight->snapshot);
  st.in_flight.reset();
  st.journal_failures = 0;
  if (st.snapshot.status != from) {
    st.log.status = to_string(st.snapshot.status);
    logging::write(lg(), spdlog::level::info, "execution transition", st.log,
                   {{"from", to_string(from)}, {"to", to_string(st.snapshot.status)}});
  }
  if (is_terminal(st.snapshot.status)) {
    finish(self);
    return;
  }
  if (st.snapshot.status == execution_status::awaiting_approval) {
    // Level 3 pause committed: its lease and locks went with it; an approval
    // queues it again and whichever node claims it continues at this step.
    logging::write(lg(), spdlog::level::info, "waiting for the approval of the next step",
                   st.log, {{"step", st.snapshot.runs[static_cast<size_t>(st.snapshot.cursor)]
                                       .step_name}});
    leave(self);
    return;
  }
  arm_deadline_once(self);
  if (!c.cancel_requested_by.empty() && !st.stop) {
    // The check between steps: a run marked running here has not started.
    logging::write(lg(), spdlog::level::info, "cancellation requested; cancelling", st.log,
                   {{"cancel_requested_by", c.cancel_requested_by}});
    st.stop = cancellation(c.cancel_requested_by, c.cancel_reason);
  }
  if (!c.approval_needed.empty() && !st.stop && c.rbac_denied.empty()) {
    // Level 3: this step has no approval of this plan yet; the run marked running
    // here has not started. Pause (lease and locks released in the same write).
    st.run_after_commit.reset();
    st.retry_after_commit = false;
    trigger t;
    t.kind = trigger_kind::await_approval;
    t.by = st.settings.node;
    t.now_us = now_us();
    t.message = "step " + c.approval_needed + " needs approval (level 3)";
    fire(self, t);
    return;
  }
  if (!c.rbac_denied.empty() && !st.stop) {
    // The worker's own RBAC check before every step (R-SAFE-3): the run marked
    // running here has not started and never will.
    logging::write(lg(), spdlog::level::warn, "rbac_violation: submitter lost the permission; "
                   "stopping before the next step", st.log, {{"reason", c.rbac_denied}});
    st.stop = failure(self, "rbac_violation", c.rbac_denied);
  }
  if (st.stop) { // a run marked running here never started: it ends with the rest
    st.run_after_commit.reset();
    st.retry_after_commit = false;
    fire(self, *st.stop);
    return;
  }
  if (auto idx = st.run_after_commit) {
    // Marked running in the committed snapshot: run it even when draining, so the
    // next owner never finds a run it cannot tell was started or not.
    st.run_after_commit.reset();
    dispatch(self, *idx);
    return;
  }
  if (std::exchange(st.retry_after_commit, false) && !st.draining) {
    arm_retry(self);
    return;
  }
  if (st.draining)
    hand_back(self);
}

/// The trigger a stop_execution fires (fail or cancel).
trigger stop_trigger(self_ptr self, const stop_execution& req) {
  if (req.kind == stop_kind::cancel)
    return cancellation(req.by, req.message);
  auto t = failure(self, req.error_class, req.message);
  t.timed_out = req.timed_out;
  return t;
}

/// stop_execution: stop what runs now, or end at once when nothing does. `abandon`
/// stops the running step and quits without writing anything (the lease is about
/// to lapse).
void on_stop(self_ptr self, const stop_execution& req) {
  auto& st = self->state;
  if (st.stop || st.abandoning || is_terminal(st.snapshot.status))
    return;
  if (req.kind == stop_kind::abandon) {
    st.abandoning = true;
    logging::write(lg(), spdlog::level::warn, "abandoning execution", st.log,
                   {{"reason", req.message}});
    if (st.run_stop) {
      st.run_stop->store(true); // on_step_result quits
      return;
    }
    if (!st.acquiring) // otherwise the lock reply quits
      leave(self);
    return;
  }
  auto t = stop_trigger(self, req);
  st.stop = t;
  if (req.kind == stop_kind::cancel)
    logging::write(lg(), spdlog::level::warn, "cancelling execution", st.log,
                   {{"cancel_requested_by", req.by}, {"reason", req.message}});
  else
    logging::write(lg(), spdlog::level::warn, "stopping execution", st.log,
                   {{"error_class", req.error_class}, {"reason", req.message}});
  if (st.run_stop) {
    st.run_stop->store(true); // on_step_result fires the stop
    return;
  }
  if (st.in_flight || st.acquiring)
    return; // committed() or the lock reply fires the stop
  st.waiting_for_locks.reset(); // between two lock attempts: the stop needs no locks
  st.retry_pending = false; // a pending backoff timer finds nothing to do
  fire(self, t);
}

/// The database refused a write for a reason other than being away (a constraint,
/// a value it cannot store): retrying the same write would fail forever. Fail the
/// execution visibly from its last committed snapshot instead; if even that write
/// is refused, stop without it (the lease expires and the execution is resumed
/// elsewhere from the same committed snapshot).
void journal_rejected(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  auto reason = self->system().render(err);
  if (st.in_flight->snapshot.error_class == "journal_rejected") {
    logging::write(lg(), spdlog::level::critical,
                   "database refused even the failure of the execution; stopping its actor, "
                   "the lease will expire",
                   st.log, {{"error", reason}});
    leave_with(self, execution_done{st.record.execution_id, execution_status::failed});
    return;
  }
  logging::write(lg(), spdlog::level::err, "database refused a journal write; failing execution",
                 st.log, {{"error", reason}});
  st.in_flight.reset();
  st.run_after_commit.reset();
  st.retry_after_commit = false;
  fire(self, failure(self, "journal_rejected",
                     storable_text("the database refused to record a transition: "
                                   + reason.substr(0, 1000))));
}

/// The database is away: try again (the tick handler retries whatever is pending,
/// the journal write or the lock request) after a backoff doubling from
/// journal_retry_ms up to 5 s.
void retry_later(self_ptr self, const char* what, const caf::error& err) {
  auto& st = self->state;
  auto backoff = std::min<int64_t>(st.settings.journal_retry_ms << std::min(st.journal_failures, 5),
                                   5000);
  ++st.journal_failures;
  logging::write(lg(), spdlog::level::warn, what, st.log,
                 {{"error", self->system().render(err)}, {"retry_in_ms", backoff}});
  self->delayed_send(self, std::chrono::milliseconds{backoff}, caf::tick_atom::value);
}

void journal_failed(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  if (err == stagee_errc::owner_lost) {
    logging::write(lg(), spdlog::level::warn,
                   "execution journaled by another owner; stopping here", st.log);
    leave(self);
    return;
  }
  if (!(err == stagee_errc::db_unavailable)) {
    journal_rejected(self, err);
    return;
  }
  retry_later(self, "journal write failed; retrying", err);
}

void journal(self_ptr self) {
  auto& st = self->state;
  self->request(st.peers.bus, caf::infinite, *st.in_flight)
    .then([=](journal_committed& c) { committed(self, c); },
          [=](caf::error& err) { journal_failed(self, err); });
}

/// Takes the execution's locks, then fires the waiting first trigger. Busy: the
/// lock-manager deferred the queue row; leave it to a later claim.
void acquire_locks_then_fire(self_ptr self) {
  auto& st = self->state;
  acquire_locks req{st.record.execution_id, st.settings.node, st.record.fence, st.lock_specs,
                    st.settings.lock_wait_base_ms, st.settings.lock_wait_cap_ms};
  st.acquiring = true;
  self->request(st.peers.locks, std::chrono::seconds(30), std::move(req))
    .then(
      [=](locks_outcome& o) {
        auto& st = self->state;
        st.acquiring = false;
        auto first = std::move(*st.waiting_for_locks);
        st.waiting_for_locks.reset();
        if (st.abandoning) {
          leave(self);
          return;
        }
        if (!o.granted) {
          // The queue row is deferred (free again after the backoff) and this owner's
          // lease is gone with it: a stop received meanwhile cannot be written here.
          // A cancel is carried out by whichever node polls it next; a deadline is
          // re-armed by the next owner.
          st.log.status = "waiting_for_lock";
          logging::write(lg(), spdlog::level::info, "target locked; waiting in the queue", st.log,
                         {{"lock", o.holder.key}, {"holder", o.holder.execution_id},
                          {"retry_in_ms", o.deferred_ms}});
          leave(self);
          return;
        }
        st.record.locks = std::move(o.grants);
        if (st.draining && !st.stop) { // nothing started: the next owner takes it over
          hand_back(self);
          return;
        }
        fire(self, st.stop ? *st.stop : first);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        st.acquiring = false;
        if (err == stagee_errc::owner_lost || st.abandoning) {
          logging::write(lg(), spdlog::level::warn,
                         st.abandoning ? "abandoned before the locks were taken"
                                       : "lease lost before the locks were taken",
                         st.log, {{"error", self->system().render(err)}});
          st.waiting_for_locks.reset();
          leave(self);
          return;
        }
        retry_later(self, "taking locks failed; retrying", err);
      });
}

/// Fires the first trigger, after taking the locks when it starts or resumes runs
/// and this owner holds none yet (admission took those of immediate executions).
void begin(self_ptr self, trigger first) {
  auto& st = self->state;
  auto runs = first.kind == trigger_kind::start || first.kind == trigger_kind::resume;
  if (!runs || !st.record.locks.empty() || st.lock_specs.empty()) {
    fire(self, first);
    return;
  }
  st.waiting_for_locks = std::move(first);
  acquire_locks_then_fire(self);
}

/// The console's view of this execution (docs/console.md).
actor_probe probe(self_ptr self) {
  auto& st = self->state;
  std::string state = "running";
  if (st.abandoning)
    state = "abandoning";
  else if (st.stop)
    state = "stopping";
  else if (st.acquiring || st.waiting_for_locks)
    state = "waiting for locks";
  else if (st.retry_pending)
    state = "retry backoff";
  else if (st.in_flight)
    state = "journaling";
  else if (st.draining)
    state = "draining";
  auto p = probe_of(self, state,
                    {{"plan", st.record.frozen_plan.name},
                     {"mode", to_string(st.record.mode)},
                     {"last_seq", std::to_string(st.snapshot.last_seq)},
                     {"locks_held", std::to_string(st.record.locks.size())},
                     {"journal_failures", std::to_string(st.journal_failures)}});
  execution_probe e;
  e.execution_id = st.record.execution_id;
  e.tenant_id = st.record.tenant_id;
  e.status = st.snapshot.status;
  e.fence = st.record.fence;
  e.immediate = st.record.mode == execution_mode::immediate;
  auto cursor = static_cast<size_t>(std::max(st.snapshot.cursor, 0));
  if (cursor < st.snapshot.runs.size()) {
    auto& run = st.snapshot.runs[cursor];
    e.step = run.step_name;
    e.step_index = run.step_index;
    e.target = run.target;
    e.attempt = run.attempt;
  }
  p.executions.push_back(std::move(e));
  return p;
}


} // namespace

trigger cancellation(const std::string& principal, const std::string& reason) {
  trigger t;
  t.kind = trigger_kind::cancel;
  t.by = "principal:" + (principal.empty() ? std::string{"unknown"} : principal);
  t.now_us = now_us();
  t.message = reason;
  return t;
}

execution_actor::behavior_type execution(self_ptr self, execution_record record,
                                         trigger first, execution_settings settings,
                                         execution_peers peers) {
  auto& st = self->state;
  st.snapshot = record.snapshot;
  st.record = std::move(record);
  st.settings = std::move(settings);
  st.peers = std::move(peers);
  auto& p = st.record.frozen_plan;
  st.log.request_id = st.record.request_id;
  st.log.exec_id = st.record.execution_id;
  st.log.tenant_id = st.record.tenant_id;
  st.log.actor_id = st.record.actor_id;
  st.log.plan_hash = st.record.plan_hash;
  st.log.action = p.action;
  st.log.targets = p.targets;
  st.log.worker_id = st.settings.node;
  st.log.queue_wait_ms = st.record.queue_wait_ms;
  st.lock_specs = locks_for(st.record.tenant_id, p);
  if (first.by.empty())
    first.by = st.settings.node;
  first.now_us = now_us();
  begin(self, std::move(first));
  return {
    [=](caf::get_atom) { return self->state.snapshot; },
    [=](inspect_atom) { return probe(self); },
    [=](drain_atom) {
      self->state.draining = true;
      if (self->state.retry_pending && !self->state.in_flight) { // idle in a backoff
        self->state.retry_pending = false;
        hand_back(self);
      }
    },
    [=](const stop_execution& req) { on_stop(self, req); },
    [=](retry_atom) { on_retry_timer(self); },
    [=](caf::tick_atom) {
      if (self->state.in_flight && self->state.journal_failures > 0)
        journal(self);
      else if (self->state.waiting_for_locks && !self->state.acquiring)
        acquire_locks_then_fire(self);
    },
  };
}

} // namespace stagee
