// The execution FSM over its whole (status, trigger) table, plus the run-level
// behaviours: sequencing, failure, resume of interrupted runs, immutability of
// terminal states.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "actors/execution_fsm.hpp"

using namespace stagee;

namespace {

plan two_step_plan(bool idempotent_second = false) {
  plan p;
  p.name = "p";
  p.targets = {"a", "b"};
  plan_step s1;
  s1.name = "one";
  s1.targets = {"a", "b"};
  plan_step s2;
  s2.name = "two";
  s2.targets = {"a"};
  s2.idempotent = idempotent_second;
  p.steps = {s1, s2};
  return p;
}

/// A snapshot in the given status, with run 0 running when the status is running.
execution_snapshot in_status(execution_status st) {
  auto s = initial_snapshot("e1", two_step_plan());
  s.status = st;
  s.last_seq = 5;
  if (st == execution_status::running) {
    s.runs[0].status = step_status::running;
    s.runs[0].attempt = 1;
    s.runs[0].idempotent = true; // so resume re-runs it instead of failing
  }
  return s;
}

trigger make(trigger_kind k) {
  trigger t;
  t.kind = k;
  t.by = "test";
  t.now_us = 42;
  if (k == trigger_kind::run_finished) {
    t.run_index = 0;
    t.outcome = step_status::succeeded;
    t.exit_code = 0;
  }
  return t;
}

/// Expected target status for each legal pair (the table under test).
std::optional<execution_status> expected(execution_status from, trigger_kind k) {
  using es = execution_status;
  using tk = trigger_kind;
  if (is_terminal(from))
    return std::nullopt;
  switch (k) {
    case tk::enqueue:
      return from == es::pending ? std::optional{es::queued} : std::nullopt;
    case tk::require_approval:
      return from == es::pending ? std::optional{es::awaiting_approval} : std::nullopt;
    case tk::approve:
      return from == es::awaiting_approval ? std::optional{es::queued} : std::nullopt;
    case tk::reject:
      return from == es::awaiting_approval ? std::optional{es::rejected} : std::nullopt;
    case tk::start:
      return from == es::pending || from == es::queued ? std::optional{es::running}
                                                       : std::nullopt;
    case tk::run_finished:
      return from == es::running ? std::optional{es::running} : std::nullopt;
    case tk::resume:
      return from == es::pending || from == es::queued || from == es::running
               ? std::optional{es::running}
               : std::nullopt;
    case tk::cancel:
      return es::cancelled;
    case tk::fail:
      return es::failed;
    case tk::retry: // legal in running, but only with a failed run at the cursor
      return std::nullopt;
    case tk::await_approval: // level 3: the run at the cursor waits for its approval
      return from == es::running ? std::optional{es::awaiting_approval} : std::nullopt;
  }
  return std::nullopt;
}

/// Pairs the table allows whose run-level precondition the fixture state lacks.
bool refused_by_run_state(execution_status from, trigger_kind k) {
  return k == trigger_kind::retry && from == execution_status::running;
}

std::vector<int> all_statuses() {
  std::vector<int> v;
  for (int i = 0; i < execution_status_count; ++i)
    v.push_back(i);
  return v;
}

std::vector<int> all_triggers() {
  std::vector<int> v;
  for (int i = 0; i < trigger_kind_count; ++i)
    v.push_back(i);
  return v;
}

bool same(const execution_snapshot& a, const execution_snapshot& b) {
  if (a.status != b.status || a.last_seq != b.last_seq || a.cursor != b.cursor
      || a.runs.size() != b.runs.size())
    return false;
  for (size_t i = 0; i < a.runs.size(); ++i)
    if (a.runs[i].status != b.runs[i].status || a.runs[i].attempt != b.runs[i].attempt)
      return false;
  return true;
}

} // namespace

BOOST_AUTO_TEST_SUITE(execution_fsm)

BOOST_DATA_TEST_CASE(every_status_trigger_pair_follows_the_table,
                     boost::unit_test::data::make(all_statuses())
                       * boost::unit_test::data::make(all_triggers()),
                     status_i, trigger_i) {
  auto from = static_cast<execution_status>(status_i);
  auto kind = static_cast<trigger_kind>(trigger_i);
  auto before = in_status(from);
  auto copy = before;
  auto r = apply(before, make(kind));
  auto want = expected(from, kind);
  BOOST_TEST_CONTEXT(to_string(from) << " + " << to_string(kind)) {
    BOOST_CHECK(same(before, copy)); // input never modified
    BOOST_CHECK_EQUAL(is_legal(from, kind), want.has_value() || refused_by_run_state(from, kind));
    if (!want) {
      BOOST_REQUIRE(r.error);
      BOOST_CHECK(!r.ok);
      BOOST_CHECK(r.error->from == from);
      BOOST_CHECK(r.error->kind == kind);
      BOOST_CHECK(!r.error->reason.empty());
      return;
    }
    BOOST_REQUIRE(r.ok);
    BOOST_CHECK(!r.error);
    BOOST_CHECK_EQUAL(to_string(r.ok->next.status), to_string(*want));
    // Every legal transition journals at least one event, numbered after last_seq
    // without gaps.
    BOOST_REQUIRE(!r.ok->events.empty());
    for (size_t i = 0; i < r.ok->events.size(); ++i)
      BOOST_CHECK_EQUAL(r.ok->events[i].seq, before.last_seq + 1 + static_cast<int64_t>(i));
    BOOST_CHECK_EQUAL(r.ok->next.last_seq, r.ok->events.back().seq);
    if (r.ok->next.status != from) {
      BOOST_CHECK(r.ok->next.last_transition_from == from);
      BOOST_CHECK_EQUAL(r.ok->next.last_transition_by, "test");
    }
  }
}

BOOST_AUTO_TEST_CASE(pending_to_succeeded_is_impossible_in_one_step) {
  auto s = in_status(execution_status::pending);
  for (int k = 0; k < trigger_kind_count; ++k) {
    auto r = apply(s, make(static_cast<trigger_kind>(k)));
    if (r.ok)
      BOOST_CHECK(r.ok->next.status != execution_status::succeeded);
  }
}

BOOST_AUTO_TEST_CASE(runs_execute_in_order_and_the_last_success_succeeds) {
  auto s = initial_snapshot("e1", two_step_plan());
  BOOST_REQUIRE_EQUAL(s.runs.size(), 3u); // one(a), one(b), two(a)
  auto r = apply(s, make(trigger_kind::start));
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK_EQUAL(*r.ok->run_next, 0);
  s = r.ok->next;
  for (int32_t idx = 0; idx < 3; ++idx) {
    auto t = make(trigger_kind::run_finished);
    t.run_index = idx;
    auto step = apply(s, t);
    BOOST_REQUIRE(step.ok);
    s = step.ok->next;
    BOOST_CHECK(s.runs[static_cast<size_t>(idx)].status == step_status::succeeded);
    if (idx < 2)
      BOOST_CHECK_EQUAL(*step.ok->run_next, idx + 1);
    else
      BOOST_CHECK(!step.ok->run_next);
  }
  BOOST_CHECK(s.status == execution_status::succeeded);
  // submitted is seq 1..; start gives started+step_started, each run finished gives
  // step_finished + (step_started | succeeded): 2 + 3*2 = 8 events.
  BOOST_CHECK_EQUAL(s.last_seq, 8);
}

BOOST_AUTO_TEST_CASE(a_failed_run_fails_the_execution_and_skips_the_rest) {
  auto s = apply(initial_snapshot("e1", two_step_plan()), make(trigger_kind::start)).ok->next;
  auto t = make(trigger_kind::run_finished);
  t.outcome = step_status::failed;
  t.exit_code = 3;
  auto r = apply(s, t);
  BOOST_REQUIRE(r.ok);
  auto& n = r.ok->next;
  BOOST_CHECK(n.status == execution_status::failed);
  BOOST_CHECK_EQUAL(n.error_class, "step_failed");
  BOOST_CHECK(n.runs[0].status == step_status::failed);
  BOOST_CHECK_EQUAL(*n.runs[0].exit_code, 3);
  BOOST_CHECK(n.runs[1].status == step_status::skipped);
  BOOST_CHECK(n.runs[2].status == step_status::skipped);
  BOOST_CHECK(!r.ok->run_next);
}

BOOST_AUTO_TEST_CASE(a_timed_out_run_fails_with_step_timed_out) {
  auto s = apply(initial_snapshot("e1", two_step_plan()), make(trigger_kind::start)).ok->next;
  auto t = make(trigger_kind::run_finished);
  t.outcome = step_status::timed_out;
  t.exit_code.reset();
  auto r = apply(s, t);
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK_EQUAL(r.ok->next.error_class, "step_timed_out");
  BOOST_CHECK(r.ok->next.runs[0].status == step_status::timed_out);
}

BOOST_AUTO_TEST_CASE(a_result_for_a_run_that_is_not_running_is_refused) {
  auto s = apply(initial_snapshot("e1", two_step_plan()), make(trigger_kind::start)).ok->next;
  for (int32_t idx : {-1, 1, 2, 99}) {
    auto t = make(trigger_kind::run_finished);
    t.run_index = idx;
    auto r = apply(s, t);
    BOOST_CHECK(r.error);
    BOOST_CHECK(!r.ok);
  }
  auto t = make(trigger_kind::run_finished);
  t.outcome = step_status::skipped; // not an outcome a runner may report
  BOOST_CHECK(apply(s, t).error);
}

BOOST_AUTO_TEST_CASE(resume_reruns_an_interrupted_idempotent_run) {
  auto p = two_step_plan(true);
  auto s = apply(initial_snapshot("e1", p), make(trigger_kind::start)).ok->next;
  for (int32_t idx : {0, 1}) {
    auto t = make(trigger_kind::run_finished);
    t.run_index = idx;
    s = apply(s, t).ok->next;
  }
  // Run 2 (idempotent) is running with attempt 1 when the owner dies.
  BOOST_REQUIRE(s.runs[2].status == step_status::running);
  auto r = apply(s, make(trigger_kind::resume));
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK_EQUAL(*r.ok->run_next, 2);
  BOOST_CHECK_EQUAL(r.ok->next.runs[2].attempt, 2);
  BOOST_CHECK(r.ok->events.front().kind == event_kind::resumed);
  // Completed runs are never run again.
  BOOST_CHECK(r.ok->next.runs[0].status == step_status::succeeded);
  BOOST_CHECK_EQUAL(r.ok->next.runs[0].attempt, 1);
}

BOOST_AUTO_TEST_CASE(resume_fails_an_interrupted_non_idempotent_run_without_rerunning) {
  auto s = apply(initial_snapshot("e1", two_step_plan(false)), make(trigger_kind::start)).ok->next;
  auto r = apply(s, make(trigger_kind::resume));
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK(!r.ok->run_next);
  BOOST_CHECK(r.ok->next.status == execution_status::failed);
  BOOST_CHECK_EQUAL(r.ok->next.error_class, "interrupted_non_idempotent");
  BOOST_CHECK_EQUAL(r.ok->next.runs[0].attempt, 1);
}

BOOST_AUTO_TEST_CASE(resume_of_a_queued_execution_starts_it) {
  auto s = initial_snapshot("e1", two_step_plan());
  s = admit(s, execution_mode::background, "p", 1).next;
  BOOST_CHECK(s.status == execution_status::queued);
  auto r = apply(s, make(trigger_kind::resume));
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK(r.ok->next.status == execution_status::running);
  BOOST_CHECK_EQUAL(*r.ok->run_next, 0);
}

BOOST_AUTO_TEST_CASE(admission_journals_submitted_then_queued_for_background) {
  auto s = initial_snapshot("e1", two_step_plan());
  auto bg = admit(s, execution_mode::background, "principal:p", 1);
  BOOST_REQUIRE_EQUAL(bg.events.size(), 2u);
  BOOST_CHECK(bg.events[0].kind == event_kind::submitted);
  BOOST_CHECK_EQUAL(bg.events[0].seq, 1);
  BOOST_CHECK(bg.events[1].kind == event_kind::queued);
  BOOST_CHECK_EQUAL(bg.events[1].seq, 2);
  auto im = admit(s, execution_mode::immediate, "principal:p", 1);
  BOOST_REQUIRE_EQUAL(im.events.size(), 1u);
  BOOST_CHECK(im.next.status == execution_status::pending);
}

BOOST_AUTO_TEST_CASE(a_held_result_leaves_the_next_run_pending_for_the_next_owner) {
  auto s = apply(initial_snapshot("e1", two_step_plan()), make(trigger_kind::start)).ok->next;
  auto t = make(trigger_kind::run_finished);
  t.hold = true;
  auto r = apply(s, t);
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK(!r.ok->run_next);
  BOOST_CHECK(r.ok->next.status == execution_status::running);
  BOOST_CHECK_EQUAL(r.ok->next.cursor, 1);
  BOOST_CHECK(r.ok->next.runs[1].status == step_status::pending);
  BOOST_CHECK_EQUAL(r.ok->next.runs[1].attempt, 0);
  // The next owner resumes with the pending run as a first attempt, even though the
  // step is not idempotent.
  auto resumed = apply(r.ok->next, make(trigger_kind::resume));
  BOOST_REQUIRE(resumed.ok);
  BOOST_CHECK_EQUAL(*resumed.ok->run_next, 1);
  BOOST_CHECK_EQUAL(resumed.ok->next.runs[1].attempt, 1);
  BOOST_CHECK(resumed.ok->next.status == execution_status::running);
}

/// Reports a failure of the running run and returns the transition.
transition fail_run(execution_snapshot& s, int32_t code = 1) {
  auto t = make(trigger_kind::run_finished);
  t.run_index = s.cursor;
  t.outcome = step_status::failed;
  t.exit_code = code;
  auto r = apply(s, t);
  BOOST_REQUIRE(r.ok);
  s = r.ok->next;
  return *r.ok;
}

/// A started execution whose first step is idempotent, with 3 attempts per run.
execution_snapshot started_with_retries() {
  auto p = two_step_plan();
  p.steps[0].idempotent = true;
  auto s = initial_snapshot("e1", p);
  s.max_attempts = 3;
  return apply(s, make(trigger_kind::start)).ok->next;
}

BOOST_AUTO_TEST_CASE(a_failing_idempotent_run_is_retried_up_to_max_attempts) {
  auto s = started_with_retries();
  for (int failure = 1; failure <= 2; ++failure) {
    auto tr = fail_run(s);
    BOOST_CHECK(tr.retry_scheduled);
    BOOST_CHECK(!tr.run_next);
    BOOST_CHECK(s.status == execution_status::running);
    BOOST_CHECK_EQUAL(s.runs[0].failures, failure);
    BOOST_CHECK(tr.events.back().kind == event_kind::retry_scheduled);
    auto r = apply(s, make(trigger_kind::retry));
    BOOST_REQUIRE(r.ok);
    BOOST_CHECK_EQUAL(*r.ok->run_next, 0);
    s = r.ok->next;
    BOOST_CHECK_EQUAL(s.runs[0].attempt, failure + 1);
  }
  auto last = fail_run(s, 9);
  BOOST_CHECK(!last.retry_scheduled);
  BOOST_CHECK(s.status == execution_status::failed);
  BOOST_CHECK_EQUAL(s.runs[0].attempt, 3);
  BOOST_CHECK_EQUAL(s.error_class, "step_failed");
  BOOST_CHECK(s.error_message.find("after 3 failed attempts") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_failing_non_idempotent_run_is_not_retried) {
  auto s = initial_snapshot("e1", two_step_plan(false));
  s.max_attempts = 5;
  s = apply(s, make(trigger_kind::start)).ok->next;
  auto tr = fail_run(s);
  BOOST_CHECK(!tr.retry_scheduled);
  BOOST_CHECK(s.status == execution_status::failed);
}

BOOST_AUTO_TEST_CASE(retry_without_a_failed_run_is_refused) {
  auto s = apply(initial_snapshot("e1", two_step_plan()), make(trigger_kind::start)).ok->next;
  auto r = apply(s, make(trigger_kind::retry));
  BOOST_CHECK(r.error);
}

BOOST_AUTO_TEST_CASE(a_new_owner_runs_a_run_waiting_for_its_retry_at_once) {
  auto s = started_with_retries();
  fail_run(s);
  auto r = apply(s, make(trigger_kind::resume));
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK_EQUAL(*r.ok->run_next, 0);
  BOOST_CHECK_EQUAL(r.ok->next.runs[0].attempt, 2);
  BOOST_CHECK_EQUAL(r.ok->next.runs[0].failures, 1); // the crash did not cost an attempt
}

BOOST_AUTO_TEST_CASE(cancel_cancels_the_running_run_and_skips_the_rest) {
  auto s = apply(initial_snapshot("e1", two_step_plan()), make(trigger_kind::start)).ok->next;
  auto t = make(trigger_kind::cancel);
  t.by = "principal:alice";
  t.message = "wrong window";
  auto r = apply(s, t);
  BOOST_REQUIRE(r.ok);
  auto& next = r.ok->next;
  BOOST_CHECK(next.status == execution_status::cancelled);
  BOOST_CHECK(next.runs[0].status == step_status::cancelled);
  BOOST_CHECK(next.runs[1].status == step_status::skipped);
  BOOST_CHECK(next.runs[2].status == step_status::skipped);
  BOOST_CHECK_EQUAL(r.ok->changed_runs.size(), 3u);
  BOOST_CHECK(!r.ok->run_next);
  BOOST_CHECK(r.ok->events.back().kind == event_kind::cancelled);
  BOOST_CHECK_EQUAL(r.ok->events.back().by, "principal:alice");
  BOOST_CHECK_EQUAL(r.ok->events.back().message, "wrong window");
}

BOOST_AUTO_TEST_CASE(cancel_of_a_queued_execution_skips_every_run) {
  auto s = in_status(execution_status::queued);
  auto r = apply(s, make(trigger_kind::cancel));
  BOOST_REQUIRE(r.ok);
  for (auto& run : r.ok->next.runs)
    BOOST_CHECK(run.status == step_status::skipped);
}

BOOST_AUTO_TEST_CASE(a_deadline_failure_marks_the_running_run_timed_out) {
  auto s = apply(initial_snapshot("e1", two_step_plan()), make(trigger_kind::start)).ok->next;
  auto t = make(trigger_kind::fail);
  t.error_class = "execution_timeout";
  t.timed_out = true;
  auto r = apply(s, t);
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK(r.ok->next.status == execution_status::failed);
  BOOST_CHECK_EQUAL(r.ok->next.error_class, "execution_timeout");
  BOOST_CHECK(r.ok->next.runs[0].status == step_status::timed_out);
  BOOST_CHECK(r.ok->next.runs[1].status == step_status::skipped);
  auto plain = make(trigger_kind::fail);
  BOOST_CHECK(apply(s, plain).ok->next.runs[0].status == step_status::failed);
}

BOOST_AUTO_TEST_CASE(an_rbac_failure_is_recorded_as_an_rbac_violation_event_first) {
  auto s = apply(initial_snapshot("e1", two_step_plan()), make(trigger_kind::start)).ok->next;
  auto t = make(trigger_kind::fail);
  t.error_class = "rbac_violation";
  t.message = "principal 'p' no longer holds 'execute:modify'";
  auto r = apply(s, t);
  BOOST_REQUIRE(r.ok);
  BOOST_REQUIRE_EQUAL(r.ok->events.size(), 2u);
  BOOST_CHECK(r.ok->events[0].kind == event_kind::rbac_violation);
  BOOST_CHECK_EQUAL(r.ok->events[0].message, t.message);
  BOOST_CHECK(r.ok->events[0].status == execution_status::running); // not a transition
  BOOST_CHECK(r.ok->events[1].kind == event_kind::failed);
  BOOST_CHECK_EQUAL(r.ok->events[1].seq, r.ok->events[0].seq + 1);
  BOOST_CHECK_EQUAL(r.ok->next.error_class, "rbac_violation");
  // Other failures carry no such event.
  BOOST_CHECK_EQUAL(apply(s, make(trigger_kind::fail)).ok->events.size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_level_3_pause_puts_the_unstarted_run_back_and_waits) {
  auto s = apply(initial_snapshot("e1", two_step_plan()), make(trigger_kind::start)).ok->next;
  auto done = make(trigger_kind::run_finished);
  done.run_index = 0;
  done.outcome = step_status::succeeded;
  done.exit_code = 0;
  s = apply(s, done).ok->next; // run 1 marked running (attempt 1), not started
  BOOST_REQUIRE(s.runs[1].status == step_status::running);
  auto t = make(trigger_kind::await_approval);
  t.message = "step b needs approval (level 3)";
  auto r = apply(s, t);
  BOOST_REQUIRE(r.ok);
  BOOST_CHECK(r.ok->next.status == execution_status::awaiting_approval);
  BOOST_CHECK(r.ok->next.runs[1].status == step_status::pending);
  BOOST_CHECK_EQUAL(r.ok->next.runs[1].attempt, 0);
  BOOST_CHECK(r.ok->events.back().kind == event_kind::awaiting_approval);
  // Approved: queued; a claim resumes at the same run.
  auto q = apply(r.ok->next, make(trigger_kind::approve));
  BOOST_REQUIRE(q.ok);
  BOOST_CHECK(q.ok->next.status == execution_status::queued);
  auto resumed = apply(q.ok->next, make(trigger_kind::resume));
  BOOST_REQUIRE(resumed.ok);
  BOOST_CHECK(resumed.ok->run_next && *resumed.ok->run_next == 1);
  BOOST_CHECK_EQUAL(resumed.ok->next.runs[1].attempt, 1);
  // Only from running.
  BOOST_CHECK(!apply(q.ok->next, t).ok);
}

BOOST_AUTO_TEST_SUITE_END()
