// Admission, journal and queue stores against a real PostgreSQL.
#include <thread>

#include <boost/test/unit_test.hpp>

#include "actors/execution_fsm.hpp"
#include "messages/errors.hpp"
#include "persistence/admission_store.hpp"
#include "actors/execution.hpp"
#include "actors/lock_manager.hpp"
#include "actors/plan_codec.hpp"
#include "persistence/journal_store.hpp"
#include "persistence/lock_store.hpp"
#include "persistence/queue_store.hpp"
#include "persistence/read_store.hpp"
#include "tests/support/factories.hpp"
#include "tests/support/test_db.hpp"

using namespace stagee;

namespace {

struct stores {
  test::test_db db;
  std::unique_ptr<db_session> session = db.session();
  admission_store admission{*session, admission_settings{}};
  journal_store journal{*session};
  queue_store queue{*session};
  read_store reads{*session};
  const lease_sizing fixed{60000, 0}; // every lease 60 s, whatever the plan
  lock_store locks{*session};
  journal_outcome last_outcome; // of the last journal_trigger

  admit_reply admit_one(const admit_request& r) {
    auto res = admission.admit({r});
    BOOST_REQUIRE_MESSAGE(res, test::error_text(res));
    BOOST_REQUIRE_EQUAL(res->size(), 1u);
    BOOST_REQUIRE_MESSAGE((*res)[0], test::error_text((*res)[0]));
    return *(*res)[0];
  }

  std::string count(const std::string& table) {
    return db.scalar("SELECT count(*) FROM " + table);
  }
};

/// Journals one FSM trigger for a stored execution; returns whether it applied.
/// Journals as the lease holder `node` with `fence` (immediate admissions of the
/// factory are pre-claimed by "test-node" with fence 1).
bool journal_trigger(stores& s, execution_snapshot& snap, trigger t,
                     std::vector<step_output> outputs = {},
                     const std::string& node = "test-node", int64_t fence = 1) {
  auto r = apply(snap, t);
  BOOST_REQUIRE(r.ok);
  journal_append a{node, fence, snap.last_seq, r.ok->next, r.ok->changed_runs, std::move(outputs),
                   r.ok->events, r.ok->run_next.has_value(), true};
  auto res = s.journal.append({a});
  BOOST_REQUIRE_MESSAGE(res, test::error_text(res));
  s.last_outcome = (*res)[0];
  if ((*res)[0].applied)
    snap = r.ok->next;
  return (*res)[0].applied;
}

trigger started_by(const std::string& node) {
  trigger t;
  t.kind = trigger_kind::start;
  t.by = node;
  return t;
}

trigger finished(int32_t idx, step_status st = step_status::succeeded, int32_t code = 0) {
  trigger t;
  t.kind = trigger_kind::run_finished;
  t.by = "node-a";
  t.run_index = idx;
  t.outcome = st;
  t.exit_code = code;
  return t;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(admission, stores)

BOOST_AUTO_TEST_CASE(a_new_plan_is_stored_with_snapshot_hash_steps_events_and_queue_row) {
  auto ar = test::admission(test::plan_json(), "acme");
  auto rep = admit_one(ar);
  BOOST_CHECK(!rep.duplicate);
  BOOST_CHECK_EQUAL(rep.execution_id, ar.record.execution_id);
  BOOST_CHECK(rep.status == execution_status::queued);
  auto id = "'" + rep.execution_id + "'";
  BOOST_CHECK_EQUAL(db.scalar("SELECT plan_hash FROM executions WHERE id=" + id), ar.record.plan_hash);
  BOOST_CHECK_EQUAL(db.scalar("SELECT plan_snapshot::text = '" + ar.canonical_json
                              + "'::jsonb::text FROM executions WHERE id=" + id), "t");
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM execution_steps WHERE execution_id=" + id), "4");
  BOOST_CHECK_EQUAL(db.scalar("SELECT string_agg(kind, ',' ORDER BY seq) FROM execution_events "
                              "WHERE execution_id=" + id), "submitted,queued");
  BOOST_CHECK_EQUAL(db.scalar("SELECT lease_owner IS NULL FROM execution_queue WHERE execution_id=" + id), "t");
  BOOST_CHECK_EQUAL(db.scalar("SELECT last_transition_from FROM executions WHERE id=" + id), "pending");
  BOOST_CHECK_EQUAL(db.scalar("SELECT timeout_policy_id FROM executions WHERE id=" + id), "fast_read");
}

BOOST_AUTO_TEST_CASE(the_same_plan_in_another_key_and_target_order_is_a_duplicate) {
  auto first = admit_one(test::admission(test::plan_json("p", R"(["web-1","web-2"])"), "acme"));
  auto reordered = R"({"steps":[{"executor":"noop","name":"s1","command":["true"]},)"
                   R"({"command":["true"],"executor":"noop","name":"s2"}],)"
                   R"("targets":["web-2","web-1"],"sla_class":"fast","environment":"staging",)"
                   R"("action_class":"read","action":"check","name":"p"})";
  auto again = admit_one(test::admission(reordered, "acme"));
  BOOST_CHECK(again.duplicate);
  BOOST_CHECK_EQUAL(again.execution_id, first.execution_id);
  BOOST_CHECK_EQUAL(count("executions"), "1");
  BOOST_CHECK_EQUAL(count("execution_events"), "2"); // no second journal
}

BOOST_AUTO_TEST_CASE(the_same_plan_from_another_tenant_is_a_new_execution) {
  auto a = admit_one(test::admission(test::plan_json(), "acme"));
  auto b = admit_one(test::admission(test::plan_json(), "globex"));
  BOOST_CHECK(!b.duplicate);
  BOOST_CHECK_NE(a.execution_id, b.execution_id);
  BOOST_CHECK_EQUAL(count("executions"), "2");
}

BOOST_AUTO_TEST_CASE(identical_submits_in_one_batch_create_one_row) {
  std::vector<admit_request> batch;
  for (int i = 0; i < 8; ++i)
    batch.push_back(test::admission(test::plan_json(), "acme"));
  auto res = admission.admit(batch);
  BOOST_REQUIRE(res);
  std::set<std::string> ids;
  int duplicates = 0;
  for (auto& r : *res) {
    BOOST_REQUIRE(r);
    ids.insert(r->execution_id);
    duplicates += r->duplicate ? 1 : 0;
  }
  BOOST_CHECK_EQUAL(ids.size(), 1u);
  BOOST_CHECK_EQUAL(duplicates, 7);
  BOOST_CHECK_EQUAL(count("executions"), "1");
}

BOOST_AUTO_TEST_CASE(eight_concurrent_connections_submitting_one_plan_create_one_row) {
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      auto session = db.session();
      admission_store store{*session, admission_settings{}};
      auto res = store.admit({test::admission(test::plan_json("race"), "acme")});
      if (res && (*res)[0])
        ids[i] = (*res)[0]->execution_id;
    });
  for (auto& t : threads)
    t.join();
  std::set<std::string> distinct(ids.begin(), ids.end());
  BOOST_CHECK_EQUAL(distinct.size(), 1u);
  BOOST_CHECK(!ids[0].empty());
  BOOST_CHECK_EQUAL(count("executions"), "1");
}

BOOST_AUTO_TEST_CASE(a_client_key_reused_with_another_plan_is_a_conflict) {
  admit_one(test::admission(test::plan_json("one"), "acme", "alice",
                            execution_mode::background, "key-1"));
  auto res = admission.admit({test::admission(test::plan_json("two"), "acme", "alice",
                                              execution_mode::background, "key-1")});
  BOOST_REQUIRE(res);
  BOOST_REQUIRE(!(*res)[0]);
  BOOST_CHECK((*res)[0].error() == stagee_errc::idempotency_conflict);
  BOOST_CHECK_EQUAL(count("executions"), "1");
}

BOOST_AUTO_TEST_CASE(a_key_older_than_the_dedup_window_admits_a_new_execution) {
  auto first = admit_one(test::admission(test::plan_json(), "acme"));
  db.scalar("UPDATE executions SET created_at = now() - interval '23 hours 59 minutes'");
  BOOST_CHECK(admit_one(test::admission(test::plan_json(), "acme")).duplicate);
  db.scalar("UPDATE executions SET created_at = now() - interval '24 hours 1 minute'");
  auto again = admit_one(test::admission(test::plan_json(), "acme"));
  BOOST_CHECK(!again.duplicate);
  BOOST_CHECK_NE(again.execution_id, first.execution_id);
  BOOST_CHECK_EQUAL(db.scalar("SELECT idempotency_key LIKE '%:expired:%' FROM executions WHERE id='"
                              + first.execution_id + "'"), "t");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(journal, stores)

BOOST_AUTO_TEST_CASE(transitions_persist_status_steps_outputs_and_gapless_events) {
  auto ar = test::admission(test::plan_json(), "acme", "alice", execution_mode::immediate);
  admit_one(ar);
  auto snap = ar.record.snapshot;
  BOOST_REQUIRE(journal_trigger(*this, snap, started_by("node-a")));
  for (int32_t i = 0; i < 4; ++i)
    BOOST_REQUIRE(journal_trigger(*this, snap, finished(i),
                                  {step_output{i, "out" + std::to_string(i), "", false, ""}}));
  auto id = "'" + ar.record.execution_id + "'";
  BOOST_CHECK_EQUAL(db.scalar("SELECT status FROM executions WHERE id=" + id), "succeeded");
  BOOST_CHECK_EQUAL(db.scalar("SELECT last_transition_from FROM executions WHERE id=" + id), "running");
  BOOST_CHECK_EQUAL(db.scalar("SELECT last_transition_by FROM executions WHERE id=" + id), "node-a");
  BOOST_CHECK_EQUAL(db.scalar("SELECT last_transition_at IS NOT NULL AND ended_at >= started_at "
                              "FROM executions WHERE id=" + id), "t");
  BOOST_CHECK_EQUAL(db.scalar("SELECT string_agg(stdout, ',' ORDER BY run_index) FROM execution_steps "
                              "WHERE execution_id=" + id), "out0,out1,out2,out3");
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM execution_steps WHERE status='succeeded' "
                              "AND exit_code = 0 AND attempt = 1 AND execution_id=" + id), "4");
  // seq 1..n without gaps
  BOOST_CHECK_EQUAL(db.scalar("SELECT max(seq) = count(*) AND min(seq) = 1 FROM execution_events "
                              "WHERE execution_id=" + id), "t");
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM execution_queue WHERE execution_id=" + id), "0");
  auto events = journal.events_after(ar.record.execution_id, 0, 1000);
  BOOST_REQUIRE(events);
  BOOST_CHECK_EQUAL(events->size(), static_cast<size_t>(snap.last_seq));
  BOOST_CHECK(events->back().kind == event_kind::succeeded);
}

BOOST_AUTO_TEST_CASE(a_write_with_a_stale_seq_changes_nothing) {
  auto ar = test::admission(test::plan_json(), "acme", "alice", execution_mode::immediate);
  admit_one(ar);
  auto snap = ar.record.snapshot;
  auto stale = snap;
  BOOST_REQUIRE(journal_trigger(*this, snap, started_by("node-a")));
  auto events_before = count("execution_events");
  // A second owner still holding the old snapshot tries to journal.
  BOOST_CHECK(!journal_trigger(*this, stale, started_by("node-b")));
  BOOST_CHECK_EQUAL(count("execution_events"), events_before);
  BOOST_CHECK_EQUAL(db.scalar("SELECT last_transition_by FROM executions"), "node-a");
}

BOOST_AUTO_TEST_CASE(the_stored_snapshot_loads_back_identically) {
  auto ar = test::admission(test::plan_json(), "acme", "alice", execution_mode::immediate);
  admit_one(ar);
  auto snap = ar.record.snapshot;
  BOOST_REQUIRE(journal_trigger(*this, snap, started_by("node-a")));
  auto loaded = reads.load(ar.record.execution_id);
  BOOST_REQUIRE_MESSAGE(loaded, test::error_text(loaded));
  BOOST_CHECK_EQUAL(caf::deep_to_string(loaded->record.snapshot), caf::deep_to_string(snap));
  BOOST_CHECK_EQUAL(loaded->record.plan_hash, ar.record.plan_hash);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(queue, stores)

BOOST_AUTO_TEST_CASE(concurrent_claimers_take_each_queued_execution_exactly_once) {
  constexpr int total = 10000;
  constexpr int claimers = 16;
  for (int chunk = 0; chunk < total; chunk += 1000) {
    std::vector<admit_request> batch;
    for (int i = chunk; i < chunk + 1000; ++i)
      batch.push_back(test::admission(test::plan_json("p" + std::to_string(i)), "acme"));
    BOOST_REQUIRE(admission.admit(batch));
  }
  std::vector<std::vector<std::string>> claimed(claimers);
  std::vector<std::thread> threads;
  for (int w = 0; w < claimers; ++w)
    threads.emplace_back([&, w] {
      auto session = db.session();
      queue_store q{*session};
      for (;;) {
        auto got = q.claim("node-" + std::to_string(w), 25, fixed, nullptr);
        if (!got || got->empty())
          return;
        for (auto& e : *got)
          claimed[w].push_back(e.record.execution_id);
      }
    });
  for (auto& t : threads)
    t.join();
  std::multiset<std::string> all;
  for (auto& v : claimed)
    all.insert(v.begin(), v.end());
  std::set<std::string> distinct(all.begin(), all.end());
  BOOST_CHECK_EQUAL(all.size(), static_cast<size_t>(total));
  BOOST_CHECK_EQUAL(distinct.size(), static_cast<size_t>(total));
}

BOOST_AUTO_TEST_CASE(urgent_work_queued_behind_bulk_work_is_dispatched_first) {
  auto with_priority = [](std::string json, int prio) {
    return json.insert(1, "\"priority\":" + std::to_string(prio) + ",");
  };
  std::vector<admit_request> bulk, urgent;
  for (int i = 0; i < 1000; ++i)
    bulk.push_back(test::admission(with_priority(test::plan_json("b" + std::to_string(i)), 100), "acme"));
  for (int i = 0; i < 100; ++i)
    urgent.push_back(test::admission(with_priority(test::plan_json("u" + std::to_string(i)), 0), "acme"));
  BOOST_REQUIRE(admission.admit(bulk));   // queued first
  BOOST_REQUIRE(admission.admit(urgent)); // queued later
  for (int i = 0; i < 100; ++i) { // the next 100 dispatches, one free slot at a time
    auto got = queue.claim("node-a", 1, fixed, nullptr);
    BOOST_REQUIRE(got && got->size() == 1u);
  }
  // All 100 dispatched were the urgent ones; every bulk row still waits.
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM execution_queue WHERE lease_owner='node-a' AND priority=0"),
                    "100");
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM execution_queue WHERE lease_owner IS NULL AND priority=100"),
                    "1000");
}

BOOST_AUTO_TEST_CASE(an_expired_lease_makes_the_execution_claimable_again) {
  admit_one(test::admission(test::plan_json(), "acme"));
  auto first = queue.claim("node-a", 10, fixed, nullptr);
  BOOST_REQUIRE(first && first->size() == 1u);
  BOOST_CHECK(queue.claim("node-b", 10, fixed, nullptr)->empty());
  BOOST_CHECK(queue.reap()->execution_ids.empty()); // not expired yet: nothing to reap
  db.scalar("UPDATE execution_queue SET lease_expires_at = now() - interval '1 second'");
  BOOST_CHECK(queue.claim("node-b", 10, fixed, nullptr)->empty()); // expired, not reaped
  auto reaped = queue.reap();
  BOOST_REQUIRE(reaped && reaped->execution_ids.size() == 1u);
  BOOST_CHECK_EQUAL(reaped->previous_owners[0], "node-a");
  auto second = queue.claim("node-b", 10, fixed, nullptr);
  BOOST_REQUIRE(second && second->size() == 1u);
  BOOST_CHECK_EQUAL(db.scalar("SELECT lease_owner || ':' || fence FROM execution_queue"), "node-b:2");
  // Only the owner renews.
  auto id = (*second)[0].record.execution_id;
  BOOST_CHECK_EQUAL((*second)[0].record.fence, 2);
  // Only the owner with the current fence renews.
  BOOST_CHECK(queue.renew("node-a", {lease_ref{id, 1, 60000}})->renewed_ids.empty());
  auto stale = queue.renew("node-b", {lease_ref{id, 1, 60000}});
  BOOST_CHECK(stale->renewed_ids.empty());
  BOOST_CHECK(stale->ended_ids.empty()); // its row is there: lost, not ended
  BOOST_CHECK_EQUAL(queue.renew("node-b", {lease_ref{id, 2, 60000}})->renewed_ids.size(), 1u);
  BOOST_CHECK_EQUAL(db.scalar("SELECT lease_renewals FROM execution_queue"), "1");
  // The next journal write of the owner copies the count into the execution.
  auto snap = (*second)[0].record.snapshot;
  BOOST_REQUIRE(journal_trigger(*this, snap, started_by("node-b"), {}, "node-b", 2));
  BOOST_CHECK_EQUAL(db.scalar("SELECT lease_renewals FROM executions"), "1");
  // A renewal that crosses the execution's end (its queue row deleted) says so:
  // the lease is not lost to another owner.
  db.scalar("DELETE FROM execution_queue");
  auto ended = queue.renew("node-b", {lease_ref{id, 2, 60000}});
  BOOST_REQUIRE(ended);
  BOOST_CHECK(ended->renewed_ids.empty());
  BOOST_REQUIRE_EQUAL(ended->ended_ids.size(), 1u);
  BOOST_CHECK_EQUAL(ended->ended_ids[0], id);
}

BOOST_AUTO_TEST_CASE(lease_length_is_the_longest_step_timeout_plus_buffer_or_twice_the_p95) {
  const lease_sizing derived{0, 30000};
  auto claim_one = [&] {
    auto got = queue.claim("node-a", 1, derived, nullptr);
    BOOST_REQUIRE(got && got->size() == 1u);
    return (*got)[0].record;
  };
  // fast_read policy: steps without timeout_ms run under its 5 s step timeout.
  admit_one(test::admission(test::plan_json("a"), "acme"));
  auto a = claim_one();
  BOOST_CHECK_EQUAL(a.lease_ms, 5000 + 30000);
  // The database clock sets the expiry from the same length.
  BOOST_CHECK_EQUAL(db.scalar("SELECT round(extract(epoch FROM lease_expires_at - now()))::int "
                              "FROM execution_queue WHERE execution_id = '" + a.execution_id + "'"),
                    "35");
  // A step's own timeout_ms counts when it is the longest.
  auto own = test::plan_json("b");
  own.insert(own.find("\"command\":[\"true\"]}]"), "\"timeout_ms\":9000,");
  admit_one(test::admission(own, "acme"));
  BOOST_CHECK_EQUAL(claim_one().lease_ms, 9000 + 30000);
  // Twice the p95 step duration of the action wins when it is longer; the p95 is
  // capped at the longest step timeout (5 s here), so bogus durations (runs
  // interrupted by a crash) cannot grow leases without bound.
  db.scalar("INSERT INTO step_duration_stats (action, p95_ms, samples) VALUES ('check', 4000, 50)");
  auto short_buffer = lease_sizing{0, 1000};
  admit_one(test::admission(test::plan_json("c"), "acme"));
  auto c = queue.claim("node-a", 1, short_buffer, nullptr);
  BOOST_REQUIRE(c && c->size() == 1u);
  BOOST_CHECK_EQUAL((*c)[0].record.lease_ms, 8000);
  db.scalar("UPDATE step_duration_stats SET p95_ms = 400000");
  admit_one(test::admission(test::plan_json("c2"), "acme"));
  c = queue.claim("node-a", 1, short_buffer, nullptr);
  BOOST_REQUIRE(c && c->size() == 1u);
  BOOST_CHECK_EQUAL((*c)[0].record.lease_ms, 10000);
  // A fixed lease (test configurations) overrides the formula.
  admit_one(test::admission(test::plan_json("d"), "acme"));
  auto got = queue.claim("node-a", 1, lease_sizing{1234, 30000}, nullptr);
  BOOST_REQUIRE(got && got->size() == 1u);
  BOOST_CHECK_EQUAL((*got)[0].record.lease_ms, 1234);
  // An immediate admission pre-claims with the same formula and says how long.
  auto imm = test::admission(test::plan_json("e"), "acme", "alice", execution_mode::immediate);
  imm.lease = short_buffer;
  BOOST_CHECK_EQUAL(admit_one(imm).lease_ms, 10000);
  // Renewals extend each lease by its own length.
  BOOST_REQUIRE(queue.renew("node-a", {lease_ref{a.execution_id, a.fence, 2000}})->renewed_ids.size() == 1u);
  BOOST_CHECK_EQUAL(db.scalar("SELECT round(extract(epoch FROM lease_expires_at - now()))::int "
                              "FROM execution_queue WHERE execution_id = '" + a.execution_id + "'"),
                    "2");
}

BOOST_AUTO_TEST_CASE(step_statistics_hold_the_p95_of_recent_finished_runs_per_action) {
  std::vector<admit_request> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(test::admission(test::plan_json("s" + std::to_string(i)), "acme"));
  BOOST_REQUIRE(admission.admit(batch)); // 5 executions x 2 steps x 2 targets of action "check"
  // Durations 100, 200, ..., 2000 ms; one old run and one unfinished run are ignored.
  db.scalar("WITH r AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM execution_steps) "
            "UPDATE execution_steps s SET status = 'succeeded', started_at = now() - interval '1 hour', "
            "ended_at = now() - interval '1 hour' + r.n * interval '100 milliseconds' "
            "FROM r WHERE r.id = s.id");
  admit_one(test::admission(test::plan_json("old"), "acme"));
  db.scalar("UPDATE execution_steps SET status = 'succeeded', started_at = now() - interval '3 days', "
            "ended_at = now() - interval '2 days' WHERE started_at IS NULL");
  BOOST_CHECK_EQUAL(*queue.refresh_step_stats(21), 0); // 20 recent samples: too few
  BOOST_CHECK_EQUAL(count("step_duration_stats"), "0");
  BOOST_CHECK_EQUAL(*queue.refresh_step_stats(20), 1);
  BOOST_CHECK_EQUAL(db.scalar("SELECT action || ':' || p95_ms || ':' || samples FROM step_duration_stats"),
                    "check:1900:20");
}

BOOST_AUTO_TEST_CASE(a_stale_owner_cannot_write_after_a_takeover) {
  admit_one(test::admission(test::plan_json(), "acme"));
  auto a = queue.claim("node-a", 1, fixed, nullptr);
  BOOST_REQUIRE(a && a->size() == 1u);
  auto snap_a = (*a)[0].record.snapshot;
  // node-a starts the execution with fence 1.
  BOOST_REQUIRE(journal_trigger(*this, snap_a, started_by("node-a"), {}, "node-a", 1));
  // node-a pauses past its lease; node-b takes over with fence 2.
  db.scalar("UPDATE execution_queue SET lease_expires_at = now() - interval '1 second'");
  BOOST_REQUIRE(queue.reap());
  auto b = queue.claim("node-b", 1, fixed, nullptr);
  BOOST_REQUIRE(b && b->size() == 1u);
  BOOST_CHECK_EQUAL((*b)[0].record.fence, 2);
  auto events_before = count("execution_events");
  // node-a wakes up and reports its step: refused (0 rows), nothing written.
  auto stale = snap_a;
  BOOST_CHECK(!journal_trigger(*this, stale, finished(0), {}, "node-a", 1));
  BOOST_CHECK_EQUAL(count("execution_events"), events_before);
  // A stale fence from the right node is refused as well.
  BOOST_CHECK(!journal_trigger(*this, stale, finished(0), {}, "node-b", 1));
  // The new owner resumes from the stored snapshot and writes with fence 2.
  auto snap_b = (*b)[0].record.snapshot;
  trigger resume;
  resume.kind = trigger_kind::resume;
  resume.by = "node-b";
  BOOST_CHECK(journal_trigger(*this, snap_b, resume, {}, "node-b", 2));
  BOOST_CHECK_EQUAL(db.scalar("SELECT worker_id FROM executions"), "node-b");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// A modify plan (it takes locks) on the given targets (JSON array text).
std::string modify_plan(const std::string& name, const std::string& targets) {
  return R"({"name":")" + name + R"(","action":"patch","action_class":"modify",)"
         R"("sla_class":"fast","environment":"staging","targets":)" + targets
         + R"(,"steps":[{"name":"s1","executor":"noop","command":["true"]}]})";
}

plan parse_plan_or_throw(const std::string& json) {
  auto parsed = parse_plan(json, plan_limits{64u << 20, 100000, 100000, 100000, 1u << 20});
  if (auto err = std::get_if<plan_error>(&parsed))
    throw std::invalid_argument("stored plan does not parse: " + err->message);
  return std::get<parsed_plan>(parsed).value;
}

trigger failure_trigger(const std::string& error_class) {
  trigger t;
  t.kind = trigger_kind::fail;
  t.by = "test-node";
  t.error_class = error_class;
  t.timed_out = true;
  return t;
}

admit_request with_locks(admit_request ar) {
  ar.locks = locks_for(ar.record.tenant_id, ar.record.frozen_plan);
  return ar;
}

acquire_locks acquiring(const stored_execution& s, const std::string& node) {
  return acquire_locks{s.record.execution_id, node, s.record.fence,
                       locks_for(s.record.tenant_id, parse_plan_or_throw(s.plan_json)), 100, 2000};
}

trigger cancel_by(const std::string& who) {
  trigger t = cancellation(who, "test");
  return t;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(locks_and_cancel, stores)

BOOST_AUTO_TEST_CASE(lock_keys_escape_the_tenant_so_tenants_never_collide) {
  BOOST_CHECK_EQUAL(lock_key("acme", "web-1", "patch"), "lock:v1:acme:web-1:patch");
  BOOST_CHECK_NE(lock_key("a:b", "c", "x"), lock_key("a", "b:c", "x"));
  auto p = std::get<parsed_plan>(parse_plan(modify_plan("p", R"(["web-2","web-1"])"))).value;
  auto specs = locks_for("acme", p);
  BOOST_REQUIRE_EQUAL(specs.size(), 2u);
  BOOST_CHECK_EQUAL(specs[0].key, "lock:v1:acme:web-1:patch"); // key order
  p.action_cls = action_class::read;
  BOOST_CHECK(locks_for("acme", p).empty()); // reads change nothing: no locks
}

BOOST_AUTO_TEST_CASE(a_busy_lock_defers_the_waiter_without_an_attempt_and_fences_grow) {
  admit_one(test::admission(modify_plan("a", R"(["web-1"])"), "acme"));
  admit_one(test::admission(modify_plan("b", R"(["web-1"])"), "acme"));
  auto got = queue.claim("node-a", 2, fixed, nullptr);
  BOOST_REQUIRE(got && got->size() == 2u);
  auto& a = (*got)[0];
  auto& b = (*got)[1];
  auto ga = locks.acquire(acquiring(a, "node-a"));
  BOOST_REQUIRE_MESSAGE(ga, test::error_text(ga));
  BOOST_REQUIRE(ga->granted);
  BOOST_CHECK_EQUAL(ga->grants.at(0).fence, 1);
  BOOST_CHECK_EQUAL(ga->grants.at(0).target, "web-1");
  auto gb = locks.acquire(acquiring(b, "node-a"));
  BOOST_REQUIRE(gb);
  BOOST_CHECK(!gb->granted);
  BOOST_CHECK_EQUAL(gb->holder.execution_id, a.record.execution_id);
  BOOST_CHECK_EQUAL(gb->holder.node, "node-a");
  BOOST_CHECK(gb->holder.expires_in_ms > 50000);
  BOOST_CHECK(gb->deferred_ms >= 85 && gb->deferred_ms <= 115); // 100 ms +- 10 %
  auto bq = "FROM execution_queue WHERE execution_id='" + b.record.execution_id + "'";
  BOOST_CHECK_EQUAL(db.scalar("SELECT (lease_owner IS NULL)::text || attempts || lock_waits || blocked_by "
                              + bq), "true01lock:v1:acme:web-1:patch");
  // The holder ends: its lock goes in the same transaction as its final status.
  auto snap = a.record.snapshot;
  BOOST_REQUIRE(journal_trigger(*this, snap, started_by("node-a"), {}, "node-a", a.record.fence));
  BOOST_CHECK_EQUAL(db.scalar("SELECT owner_execution_id::text FROM execution_locks"), a.record.execution_id);
  BOOST_REQUIRE(journal_trigger(*this, snap, finished(0), {}, "node-a", a.record.fence));
  BOOST_CHECK_EQUAL(db.scalar("SELECT (owner_execution_id IS NULL)::text || fence FROM execution_locks"), "true1");
  // The waiter comes back after its backoff and gets the lock with the next fence.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  auto again = queue.claim("node-b", 2, fixed, nullptr);
  BOOST_REQUIRE(again && again->size() == 1u);
  auto gb2 = locks.acquire(acquiring((*again)[0], "node-b"));
  BOOST_REQUIRE(gb2 && gb2->granted);
  BOOST_CHECK_EQUAL(gb2->grants.at(0).fence, 2);
  BOOST_CHECK_EQUAL(db.scalar("SELECT attempts || ':' || (blocked_by IS NULL)::text " + bq), "1:true");
  // Taken again by the same execution (a new owner resuming it): the fence grows.
  auto gb3 = locks.acquire(acquiring((*again)[0], "node-b"));
  BOOST_REQUIRE(gb3 && gb3->granted);
  BOOST_CHECK_EQUAL(gb3->grants.at(0).fence, 3);
}

BOOST_AUTO_TEST_CASE(an_expired_lease_can_neither_renew_nor_write_once_its_lock_is_taken) {
  admit_one(test::admission(modify_plan("a", R"(["web-1"])"), "acme"));
  admit_one(test::admission(modify_plan("b", R"(["web-1"])"), "acme"));
  auto got = queue.claim("node-a", 1, fixed, nullptr);
  BOOST_REQUIRE(got && got->size() == 1u);
  auto a = (*got)[0];
  BOOST_REQUIRE(locks.acquire(acquiring(a, "node-a"))->granted);
  auto snap = a.record.snapshot;
  BOOST_REQUIRE(journal_trigger(*this, snap, started_by("node-a"), {}, "node-a", a.record.fence));
  // node-a freezes past its lease; nothing has reaped its queue row yet.
  db.scalar("UPDATE execution_queue SET lease_expires_at = now() - interval '1 second' "
            "WHERE execution_id = '" + a.record.execution_id + "'");
  db.scalar("UPDATE execution_locks SET lease_expires_at = now() - interval '1 second'");
  auto b = queue.claim("node-b", 1, fixed, nullptr);
  BOOST_REQUIRE(b && b->size() == 1u);
  auto gb = locks.acquire(acquiring((*b)[0], "node-b"));
  BOOST_REQUIRE(gb && gb->granted); // expired by the database clock: free
  BOOST_CHECK_EQUAL(gb->grants.at(0).fence, 2);
  // node-a wakes up: its late renewal and its next write are both refused.
  BOOST_CHECK(queue.renew("node-a", {lease_ref{a.record.execution_id, a.record.fence, 60000}})
                ->renewed_ids.empty());
  BOOST_CHECK(!journal_trigger(*this, snap, finished(0), {}, "node-a", a.record.fence));
  BOOST_CHECK(!locks.acquire(acquiring(a, "node-a")));
  BOOST_CHECK_EQUAL(db.scalar("SELECT owner_execution_id::text FROM execution_locks"),
                    (*b)[0].record.execution_id);
}

BOOST_AUTO_TEST_CASE(only_the_queue_lease_holder_takes_locks) {
  admit_one(test::admission(modify_plan("a", R"(["web-1"])"), "acme"));
  auto got = queue.claim("node-a", 1, fixed, nullptr);
  BOOST_REQUIRE(got && got->size() == 1u);
  auto req = acquiring((*got)[0], "node-b");
  auto r = locks.acquire(req);
  BOOST_CHECK(!r && r.error() == stagee_errc::owner_lost);
  req.node = "node-a";
  req.fence += 1;
  r = locks.acquire(req);
  BOOST_CHECK(!r && r.error() == stagee_errc::owner_lost);
  BOOST_CHECK_EQUAL(count("execution_locks WHERE owner_execution_id IS NOT NULL"), "0");
}

BOOST_AUTO_TEST_CASE(an_immediate_submit_against_a_held_lock_is_refused_and_leaves_nothing) {
  auto a = with_locks(test::admission(modify_plan("a", R"(["web-1","web-2"])"), "acme", "alice",
                                      execution_mode::immediate));
  auto ra = admit_one(a);
  BOOST_REQUIRE_EQUAL(ra.locks.size(), 2u);
  BOOST_CHECK_EQUAL(ra.locks[1].key, "lock:v1:acme:web-2:patch");
  auto b = with_locks(test::admission(modify_plan("b", R"(["web-2"])"), "acme", "alice",
                                      execution_mode::immediate));
  auto rb = admission.admit({b});
  BOOST_REQUIRE(rb && rb->size() == 1u);
  BOOST_REQUIRE(!(*rb)[0]);
  BOOST_CHECK((*rb)[0].error() == stagee_errc::resource_busy);
  auto d = describe((*rb)[0].error());
  BOOST_CHECK_MESSAGE(d.message.find(a.record.execution_id) != std::string::npos, d.message);
  BOOST_CHECK_MESSAGE(d.message.find("lock:v1:acme:web-2:patch") != std::string::npos, d.message);
  BOOST_CHECK_EQUAL(count("executions"), "1"); // nothing of b remains
  // The same refused submit twice in one batch: both answers are resource_busy.
  auto b2 = b;
  b2.record.execution_id = test::random_uuid();
  auto twice = admission.admit({b, b2});
  BOOST_REQUIRE(twice && twice->size() == 2u);
  BOOST_CHECK(!(*twice)[0] && (*twice)[0].error() == stagee_errc::resource_busy);
  BOOST_CHECK(!(*twice)[1] && (*twice)[1].error() == stagee_errc::resource_busy);
  BOOST_CHECK_EQUAL(count("executions"), "1");
  // Another tenant's same target is another lock.
  auto c = with_locks(test::admission(modify_plan("b", R"(["web-2"])"), "globex", "alice",
                                      execution_mode::immediate));
  BOOST_CHECK(admit_one(c).locks.size() == 1u);
  // Once a ends, b's key is free to use.
  auto snap = a.record.snapshot;
  BOOST_REQUIRE(journal_trigger(*this, snap, cancel_by("alice")));
  auto rb2 = admit_one(b);
  BOOST_CHECK(!rb2.duplicate);
  BOOST_CHECK_EQUAL(rb2.locks.at(0).fence, 2);
}

BOOST_AUTO_TEST_CASE(renewals_extend_locks_and_the_reaper_frees_only_expired_ones) {
  admit_one(test::admission(modify_plan("a", R"(["web-1"])"), "acme"));
  admit_one(test::admission(modify_plan("b", R"(["web-2"])"), "acme"));
  auto got = queue.claim("node-a", 2, fixed, nullptr);
  BOOST_REQUIRE(got && got->size() == 2u);
  for (auto& s : *got)
    BOOST_REQUIRE(locks.acquire(acquiring(s, "node-a"))->granted);
  auto a = (*got)[0].record;
  db.scalar("UPDATE execution_queue SET lease_expires_at = now() + interval '1 second'");
  db.scalar("UPDATE execution_locks SET lease_expires_at = now() + interval '1 second'");
  BOOST_REQUIRE(queue.renew("node-a", {lease_ref{a.execution_id, a.fence, 90000}}));
  BOOST_CHECK_EQUAL(db.scalar("SELECT bool_and(l.lease_expires_at = q.lease_expires_at)::text "
                              "FROM execution_locks l JOIN execution_queue q "
                              "ON q.execution_id = l.owner_execution_id WHERE q.execution_id = '"
                              + a.execution_id + "'"), "true");
  BOOST_CHECK(locks.reap()->empty()); // nothing expired by the database clock
  db.scalar("UPDATE execution_locks SET lease_expires_at = now() - interval '1 second' "
            "WHERE target_ref = 'web-2'");
  auto reaped = locks.reap();
  BOOST_REQUIRE(reaped && reaped->size() == 1u);
  BOOST_CHECK_EQUAL((*reaped)[0].key, "lock:v1:acme:web-2:patch");
  BOOST_CHECK_EQUAL((*reaped)[0].execution_id, (*got)[1].record.execution_id);
  auto held = locks.list(locks_request{});
  BOOST_REQUIRE(held && held->locks.size() == 1u);
  BOOST_CHECK_EQUAL(held->locks[0].execution_id, a.execution_id);
  BOOST_CHECK_EQUAL(held->locks[0].node, "node-a");
  BOOST_CHECK(held->locks[0].expires_in_ms > 80000);
  BOOST_CHECK(locks.list(locks_request{"globex", ""})->locks.empty());
  BOOST_CHECK_EQUAL(locks.list(locks_request{"acme", "web-1"})->locks.size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_cancel_request_is_recorded_once_and_reaches_owner_or_any_node) {
  auto x = admit_one(test::admission(modify_plan("x", R"(["web-1"])"), "acme"));
  auto y = admit_one(test::admission(modify_plan("y", R"(["web-2"])"), "acme"));
  auto got = queue.claim("node-a", 1, fixed, nullptr);
  BOOST_REQUIRE(got && got->size() == 1u);
  BOOST_REQUIRE_EQUAL((*got)[0].record.execution_id, x.execution_id);
  auto first = reads.cancel(cancel_request{"", x.execution_id, "alice", "wrong window", 0});
  BOOST_REQUIRE_MESSAGE(first, test::error_text(first));
  auto repeat = reads.cancel(cancel_request{"", x.execution_id, "bob", "", 0});
  BOOST_REQUIRE(repeat);
  BOOST_CHECK_EQUAL(repeat->requested_by, "alice");
  BOOST_CHECK_EQUAL(repeat->requested_at, first->requested_at);
  BOOST_CHECK_EQUAL(repeat->reason, "wrong window");
  BOOST_CHECK(reads.cancel(cancel_request{"globex", x.execution_id, "eve", "", 0}).error()
              == stagee_errc::not_found);
  BOOST_REQUIRE(reads.cancel(cancel_request{"", y.execution_id, "carol", "", 0}));
  auto polled = queue.cancel_poll("node-a", fixed, nullptr);
  BOOST_REQUIRE(polled);
  BOOST_REQUIRE_EQUAL(polled->owned.size(), 1u);
  BOOST_CHECK_EQUAL(polled->owned[0].execution_id, x.execution_id);
  BOOST_CHECK_EQUAL(polled->owned[0].by, "alice");
  BOOST_REQUIRE_EQUAL(polled->claimed.size(), 1u); // y was free: claimed to cancel it
  BOOST_CHECK_EQUAL(polled->claimed[0].record.execution_id, y.execution_id);
  BOOST_CHECK_EQUAL(polled->claimed[0].record.cancel_requested_by, "carol");
  auto other = queue.cancel_poll("node-b", fixed, nullptr);
  BOOST_CHECK(other->owned.empty() && other->claimed.empty());
  // The owner cancels: cancelled_by and cancelled_at are set together; repeats read it.
  auto snap = (*got)[0].record.snapshot;
  BOOST_REQUIRE(journal_trigger(*this, snap, cancel_by("alice"), {}, "node-a", 1));
  auto done = reads.cancel(cancel_request{"", x.execution_id, "bob", "", 0});
  BOOST_REQUIRE(done);
  BOOST_CHECK(done->status == execution_status::cancelled);
  BOOST_CHECK_EQUAL(done->cancelled_by, "alice");
  BOOST_CHECK(!done->cancelled_at.empty());
  BOOST_CHECK_EQUAL(db.scalar("SELECT string_agg(status::text, ',') FROM execution_steps WHERE execution_id='"
                              + x.execution_id + "'"), "skipped");
  auto after = queue.cancel_poll("node-a", fixed, nullptr); // y is node-a's now, x is gone
  BOOST_REQUIRE(after && after->owned.size() == 1u);
  BOOST_CHECK_EQUAL(after->owned[0].execution_id, y.execution_id);
}

BOOST_AUTO_TEST_CASE(journal_writes_check_for_cancellation_and_start_the_deadline) {
  auto ar = test::admission(test::plan_json(), "acme", "alice", execution_mode::immediate);
  admit_one(ar);
  auto id = ar.record.execution_id;
  auto snap = ar.record.snapshot;
  BOOST_REQUIRE(journal_trigger(*this, snap, started_by("test-node")));
  BOOST_CHECK(last_outcome.cancel_requested_by.empty());
  BOOST_CHECK_EQUAL(db.scalar("SELECT (abs(extract(epoch FROM deadline_at - started_at) - 10) < 0.1)::text "
                              "FROM executions WHERE id='" + id + "'"), "true");
  auto loaded = reads.load(id);
  BOOST_REQUIRE(loaded);
  BOOST_CHECK(loaded->record.deadline_in_ms > 9000 && loaded->record.deadline_in_ms <= 10000);
  BOOST_CHECK_EQUAL(loaded->record.execution_timeout_ms, 10000);
  BOOST_REQUIRE(reads.cancel(cancel_request{"", id, "alice", "stop", 0}));
  BOOST_REQUIRE(journal_trigger(*this, snap, finished(0), {}, "test-node"));
  BOOST_CHECK_EQUAL(last_outcome.cancel_requested_by, "alice"); // the check before run 1
  BOOST_CHECK_EQUAL(last_outcome.cancel_reason, "stop");
  BOOST_CHECK_EQUAL(db.scalar("SELECT cancel_checks_performed FROM executions WHERE id='" + id + "'"), "2");
  // An execution deadline: timed_out with the policy, the running run timed out.
  auto t = failure_trigger("execution_timeout");
  BOOST_REQUIRE(journal_trigger(*this, snap, t, {}, "test-node"));
  BOOST_CHECK_EQUAL(db.scalar("SELECT timed_out::text || timeout_policy_id || error_class FROM executions "
                              "WHERE id='" + id + "'"), "truefast_readexecution_timeout");
}

BOOST_AUTO_TEST_SUITE_END()
