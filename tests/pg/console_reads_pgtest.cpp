// The reader's console listings (persistence/queries/console.sql) against a real
// PostgreSQL: executions, queue, journal and node counts.
#include <boost/test/unit_test.hpp>

#include "actors/execution_fsm.hpp"
#include "actors/lock_manager.hpp"
#include "messages/errors.hpp"
#include "persistence/admission_store.hpp"
#include "persistence/journal_store.hpp"
#include "persistence/queue_store.hpp"
#include "persistence/read_store.hpp"
#include "tests/support/factories.hpp"
#include "tests/support/test_db.hpp"

using namespace stagee;

namespace {

struct console_db {
  test::test_db db;
  std::unique_ptr<db_session> session = db.session();
  admission_store admission{*session, admission_settings{}};
  journal_store journal{*session};
  queue_store queue{*session};
  read_store reads{*session};

  /// Admits one execution (its own transaction: its own created_at); returns its id.
  std::string admit(const admit_request& r) {
    auto res = admission.admit({r});
    BOOST_REQUIRE_MESSAGE(res, test::error_text(res));
    BOOST_REQUIRE_EQUAL(res->size(), 1u);
    BOOST_REQUIRE_MESSAGE((*res)[0], test::error_text((*res)[0]));
    return (*res)[0]->execution_id;
  }

  std::string admit(const std::string& plan, const std::string& tenant,
                    execution_mode mode = execution_mode::background) {
    return admit(test::admission(plan, tenant, "alice", mode));
  }

  /// Journals one FSM trigger as the owner of an immediate admission (the factory
  /// pre-claims it for "test-node" with fence 1).
  void advance(execution_snapshot& snap, const trigger& t) {
    auto r = apply(snap, t);
    BOOST_REQUIRE(r.ok);
    journal_append a{"test-node", 1, snap.last_seq, r.ok->next, r.ok->changed_runs, {},
                     r.ok->events, r.ok->run_next.has_value(), false, {}};
    auto res = journal.append({a});
    BOOST_REQUIRE_MESSAGE(res, test::error_text(res));
    BOOST_REQUIRE((*res)[0].applied);
    snap = r.ok->next;
  }

  /// Claims the next free queue row for node; returns its execution id.
  std::string claim(const std::string& node) {
    auto got = queue.claim(node, 1, lease_sizing{60000, 0}, nullptr);
    BOOST_REQUIRE_MESSAGE(got, test::error_text(got));
    BOOST_REQUIRE_EQUAL(got->size(), 1u);
    return (*got)[0].record.execution_id;
  }

  execution_list list(const std::string& tenant, const std::string& status = "",
                      const std::string& node = "", int32_t limit = 50) {
    auto res = reads.executions(execution_list_request{tenant, status, node, limit});
    BOOST_REQUIRE_MESSAGE(res, test::error_text(res));
    return *res;
  }

  queue_list queued(const std::string& tenant, int32_t priority = -1, int32_t limit = 50) {
    auto res = reads.queue(queue_list_request{tenant, priority, limit});
    BOOST_REQUIRE_MESSAGE(res, test::error_text(res));
    return *res;
  }
};

template <class Rows>
std::vector<std::string> ids_of(const Rows& rows) {
  std::vector<std::string> out;
  for (auto& r : rows)
    out.push_back(r.execution_id);
  return out;
}

using ids = std::vector<std::string>;

trigger started() {
  trigger t;
  t.kind = trigger_kind::start;
  t.by = "test-node";
  return t;
}

trigger finished(int32_t run_index, step_status outcome = step_status::succeeded) {
  trigger t;
  t.kind = trigger_kind::run_finished;
  t.by = "test-node";
  t.run_index = run_index;
  t.outcome = outcome;
  t.exit_code = outcome == step_status::succeeded ? 0 : 1;
  return t;
}

std::string with_priority(std::string plan, int priority) {
  return plan.insert(1, "\"priority\":" + std::to_string(priority) + ",");
}

/// A modify plan: it takes one lock per target.
std::string modify_plan(const std::string& name, const std::string& targets) {
  return R"({"name":")" + name + R"(","action":"patch","action_class":"modify",)"
         R"("sla_class":"fast","environment":"staging","targets":)" + targets
         + R"(,"steps":[{"name":"s1","executor":"noop","command":["true"]}]})";
}

/// "YYYY-MM-DDTHH:MI:SS.uuuuuuZ"
bool iso_utc(const std::string& s) {
  return s.size() == 27 && s[10] == 'T' && s[19] == '.' && s.back() == 'Z';
}

void check_invalid(const caf::error& err, const std::string& field) {
  BOOST_CHECK(err == stagee_errc::invalid_request);
  BOOST_CHECK_EQUAL(describe(err).field, field);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(console_reads, console_db)

BOOST_AUTO_TEST_CASE(an_admitted_execution_is_listed_with_its_plan_status_and_queue_row) {
  auto id = admit(test::plan_json("deploy-web"), "acme");
  auto page = list("acme");
  BOOST_REQUIRE_EQUAL(page.rows.size(), 1u);
  BOOST_CHECK(!page.more);
  auto& row = page.rows[0];
  BOOST_CHECK_EQUAL(row.execution_id, id);
  BOOST_CHECK_EQUAL(row.tenant_id, "acme");
  BOOST_CHECK_EQUAL(row.plan_name, "deploy-web");
  BOOST_CHECK(row.status == execution_status::queued);
  BOOST_CHECK(row.mode == execution_mode::background);
  BOOST_CHECK_EQUAL(row.node, "");
  BOOST_CHECK_EQUAL(row.step, ""); // nothing ran yet
  BOOST_CHECK_EQUAL(row.step_index, -1);
  BOOST_CHECK_EQUAL(row.target, "");
  BOOST_CHECK_EQUAL(row.fence, 0);
  BOOST_CHECK_EQUAL(row.lease_owner, "");
  BOOST_CHECK_EQUAL(row.lease_expires_at, "");
  BOOST_CHECK_MESSAGE(iso_utc(row.created_at), row.created_at);
  BOOST_CHECK_MESSAGE(iso_utc(row.updated_at), row.updated_at);
  // Claimed: the queue row's lease shows.
  BOOST_REQUIRE_EQUAL(claim("node-b"), id);
  auto claimed = list("acme").rows.at(0);
  BOOST_CHECK_EQUAL(claimed.fence, 1);
  BOOST_CHECK_EQUAL(claimed.lease_owner, "node-b");
  BOOST_CHECK_MESSAGE(iso_utc(claimed.lease_expires_at), claimed.lease_expires_at);
}

BOOST_AUTO_TEST_CASE(the_status_filter_splits_active_from_finished_and_rows_show_the_step) {
  auto ar = test::admission(test::plan_json("done"), "acme", "alice", execution_mode::immediate);
  auto done = admit(ar);
  auto snap = ar.record.snapshot; // runs: s1@web-1, s1@web-2, s2@web-1, s2@web-2
  advance(snap, started());
  auto row = list("acme").rows.at(0);
  BOOST_CHECK(row.status == execution_status::running);
  BOOST_CHECK_EQUAL(row.node, "test-node");
  BOOST_CHECK_EQUAL(row.step + "#" + std::to_string(row.step_index) + "@" + row.target,
                    "s1#0@web-1");
  advance(snap, finished(0));
  row = list("acme").rows.at(0);
  BOOST_CHECK_EQUAL(row.step + "#" + std::to_string(row.step_index) + "@" + row.target,
                    "s1#0@web-2"); // the running one, not the last that ran
  for (int32_t i = 1; i < 4; ++i)
    advance(snap, finished(i));
  BOOST_REQUIRE(snap.status == execution_status::succeeded);
  auto waiting = admit(test::plan_json("waiting"), "acme");

  BOOST_CHECK(ids_of(list("acme").rows) == (ids{waiting, done})); // newest first
  BOOST_CHECK(ids_of(list("acme", "active").rows) == ids{waiting});
  BOOST_CHECK(ids_of(list("acme", "queued").rows) == ids{waiting});
  BOOST_CHECK(list("acme", "failed").rows.empty());
  auto finished_rows = list("acme", "succeeded").rows;
  BOOST_REQUIRE(ids_of(finished_rows) == ids{done});
  row = finished_rows[0];
  BOOST_CHECK(row.status == execution_status::succeeded);
  BOOST_CHECK(row.mode == execution_mode::immediate);
  BOOST_CHECK_EQUAL(row.plan_name, "done");
  BOOST_CHECK_EQUAL(row.step + "#" + std::to_string(row.step_index) + "@" + row.target,
                    "s2#1@web-2"); // nothing runs: the last run that ran
  BOOST_CHECK_EQUAL(row.fence, 0); // its queue row left with the final status
  BOOST_CHECK_EQUAL(row.lease_owner, "");
  // A failure skips the runs after it: the row shows the run that failed.
  auto br = test::admission(test::plan_json("broken"), "acme", "alice",
                            execution_mode::immediate);
  auto broken = admit(br);
  auto bsnap = br.record.snapshot;
  advance(bsnap, started());
  advance(bsnap, finished(0, step_status::failed));
  BOOST_REQUIRE(bsnap.status == execution_status::failed);
  auto failed_rows = list("acme", "failed").rows;
  BOOST_REQUIRE(ids_of(failed_rows) == ids{broken});
  row = failed_rows[0];
  BOOST_CHECK_EQUAL(row.step + "#" + std::to_string(row.step_index) + "@" + row.target,
                    "s1#0@web-1");
  BOOST_CHECK(ids_of(list("acme", "active").rows) == ids{waiting});
}

BOOST_AUTO_TEST_CASE(the_node_filter_matches_the_journaling_node_or_the_lease_holder) {
  auto here = admit(test::plan_json("here"), "acme", execution_mode::immediate); // test-node
  auto there = admit(test::plan_json("there"), "acme");
  auto idle = admit(test::plan_json("idle"), "acme");
  BOOST_REQUIRE_EQUAL(claim("node-b"), there);
  BOOST_CHECK(ids_of(list("acme", "", "test-node").rows) == ids{here});
  BOOST_CHECK(ids_of(list("acme", "", "node-b").rows) == ids{there});
  BOOST_CHECK(list("acme", "", "node-z").rows.empty());
  BOOST_CHECK(ids_of(list("acme", "active", "").rows) == (ids{idle, there, here}));
}

BOOST_AUTO_TEST_CASE(another_tenants_executions_never_show_and_its_journal_is_not_found) {
  auto mine = admit(test::plan_json(), "acme");
  auto theirs = admit(test::plan_json(), "globex"); // same plan: another execution
  BOOST_CHECK(ids_of(list("acme").rows) == ids{mine});
  BOOST_CHECK(ids_of(list("globex").rows) == ids{theirs});
  BOOST_CHECK(ids_of(queued("acme").rows) == ids{mine});
  BOOST_CHECK(ids_of(queued("globex").rows) == ids{theirs});
  BOOST_CHECK(list("initech").rows.empty());

  auto stolen = reads.journal(journal_request{"acme", theirs, 200});
  BOOST_REQUIRE(!stolen);
  BOOST_CHECK(stolen.error() == stagee_errc::not_found);
  BOOST_CHECK_EQUAL(describe(stolen.error()).message, "no execution " + theirs);
  auto nobody = reads.journal(journal_request{"acme", test::random_uuid(), 200});
  BOOST_CHECK(!nobody && nobody.error() == stagee_errc::not_found);

  auto own = reads.journal(journal_request{"globex", theirs, 200});
  BOOST_REQUIRE_MESSAGE(own, test::error_text(own));
  BOOST_CHECK(!own->more);
  BOOST_REQUIRE_EQUAL(own->events.size(), 2u);
  BOOST_CHECK_EQUAL(own->events[0].execution_id, theirs);
  BOOST_CHECK_EQUAL(own->events[0].seq, 1);
  BOOST_CHECK(own->events[0].kind == event_kind::submitted);
  BOOST_CHECK_EQUAL(own->events[1].seq, 2);
  BOOST_CHECK(own->events[1].kind == event_kind::queued);
  BOOST_CHECK(own->events[1].status == execution_status::queued);
  BOOST_CHECK_EQUAL(own->events[1].by, "principal:alice");
}

BOOST_AUTO_TEST_CASE(the_queue_lists_in_claim_order_and_filters_by_priority) {
  auto slow = admit(with_priority(test::plan_json("slow"), 90), "acme");
  auto urgent = admit(with_priority(test::plan_json("urgent"), 10), "acme");
  auto normal = admit(with_priority(test::plan_json("normal"), 50), "acme");
  auto urgent2 = admit(with_priority(test::plan_json("urgent2"), 10), "acme");
  auto q = queued("acme");
  BOOST_CHECK(!q.more);
  BOOST_REQUIRE(ids_of(q.rows) == (ids{urgent, urgent2, normal, slow}));
  BOOST_CHECK_EQUAL(q.rows[0].priority, 10);
  BOOST_CHECK_EQUAL(q.rows[3].priority, 90);
  for (auto& r : q.rows) {
    BOOST_CHECK(r.status == execution_status::queued);
    BOOST_CHECK_MESSAGE(iso_utc(r.enqueued_at) && iso_utc(r.visible_at), r.visible_at);
    BOOST_CHECK_EQUAL(r.lease_owner, "");
    BOOST_CHECK_EQUAL(r.lease_expires_at, "");
    BOOST_CHECK_EQUAL(r.fence, 0);
    BOOST_CHECK_EQUAL(r.attempts, 0);
    BOOST_CHECK_EQUAL(r.blocked_by, "");
  }
  BOOST_CHECK(ids_of(queued("acme", 50).rows) == ids{normal});
  BOOST_CHECK(ids_of(queued("acme", 10).rows) == (ids{urgent, urgent2}));
  BOOST_CHECK(queued("acme", 0).rows.empty());
  // The claim takes the first row of the listing; the listing shows its lease.
  BOOST_REQUIRE_EQUAL(claim("node-b"), urgent);
  auto held = queued("acme").rows.at(0);
  BOOST_CHECK_EQUAL(held.execution_id, urgent);
  BOOST_CHECK_EQUAL(held.lease_owner, "node-b");
  BOOST_CHECK_EQUAL(held.fence, 1);
  BOOST_CHECK_EQUAL(held.attempts, 1);
  BOOST_CHECK(iso_utc(held.lease_expires_at));
  auto page = queued("acme", -1, 2);
  BOOST_CHECK(ids_of(page.rows) == (ids{urgent, urgent2}));
  BOOST_CHECK(page.more);
  for (int32_t bad : {-2, 101}) {
    auto res = reads.queue(queue_list_request{"acme", bad, 50});
    BOOST_REQUIRE(!res);
    check_invalid(res.error(), "priority");
  }
}

BOOST_AUTO_TEST_CASE(pages_stop_at_the_limit_and_say_that_more_matched) {
  auto first = admit(test::plan_json("one"), "acme");
  auto second = admit(test::plan_json("two"), "acme");
  auto third = admit(test::plan_json("three"), "acme");
  auto page = list("acme", "", "", 2);
  BOOST_CHECK(ids_of(page.rows) == (ids{third, second}));
  BOOST_CHECK(page.more);
  page = list("acme", "", "", 3);
  BOOST_CHECK(ids_of(page.rows) == (ids{third, second, first}));
  BOOST_CHECK(!page.more);
  page = list("acme", "", "", 0); // clamped to 1
  BOOST_CHECK(ids_of(page.rows) == ids{third});
  BOOST_CHECK(page.more);
  page = list("acme", "", "", 100000); // clamped to 500
  BOOST_CHECK_EQUAL(page.rows.size(), 3u);
  BOOST_CHECK(!page.more);

  // A page holds the newest events, oldest first; `more`: earlier ones exist.
  auto both = reads.journal(journal_request{"acme", first, 2});
  BOOST_REQUIRE_MESSAGE(both, test::error_text(both));
  BOOST_REQUIRE_EQUAL(both->events.size(), 2u);
  BOOST_CHECK(both->events[0].seq < both->events[1].seq);
  BOOST_CHECK(both->events[0].kind == event_kind::submitted);
  BOOST_CHECK(!both->more);
  auto one = reads.journal(journal_request{"acme", first, 1});
  BOOST_REQUIRE(one);
  BOOST_REQUIRE_EQUAL(one->events.size(), 1u);
  BOOST_CHECK_EQUAL(one->events[0].seq, both->events[1].seq);
  BOOST_CHECK(one->more);
}

BOOST_AUTO_TEST_CASE(malformed_requests_are_refused_naming_the_field) {
  admit(test::plan_json(), "acme");
  auto bad_status = reads.executions(execution_list_request{"acme", "done", "", 50});
  BOOST_REQUIRE(!bad_status);
  check_invalid(bad_status.error(), "status");
  auto message = describe(bad_status.error()).message;
  for (auto valid : {"'done'", "active", "awaiting_approval", "succeeded", "rejected"})
    BOOST_CHECK_MESSAGE(message.find(valid) != std::string::npos, message);
  auto no_tenant = reads.executions(execution_list_request{"", "", "", 50});
  BOOST_REQUIRE(!no_tenant);
  check_invalid(no_tenant.error(), "tenant_id");
  auto bad_id = reads.journal(journal_request{"acme", "not-a-uuid", 200});
  BOOST_REQUIRE(!bad_id);
  check_invalid(bad_id.error(), "execution_id");
  auto no_node = reads.node_counts(node_counts_request{""});
  BOOST_REQUIRE(!no_node);
  check_invalid(no_node.error(), "node");
}

BOOST_AUTO_TEST_CASE(node_counts_count_free_queue_rows_of_every_tenant_and_the_nodes_locks) {
  auto counts = [&](const std::string& node) {
    auto res = reads.node_counts(node_counts_request{node});
    BOOST_REQUIRE_MESSAGE(res, test::error_text(res));
    return std::to_string(res->queue_depth) + "/" + std::to_string(res->locks_held);
  };
  BOOST_CHECK_EQUAL(counts("test-node"), "0/0");
  admit(test::plan_json(), "acme");
  admit(test::plan_json(), "globex");
  // Immediate, pre-claimed by test-node: takes its two locks, leaves no free row.
  auto ar = test::admission(modify_plan("patch", R"(["web-1","web-2"])"), "acme", "alice",
                            execution_mode::immediate);
  ar.locks = locks_for(ar.record.tenant_id, ar.record.frozen_plan);
  BOOST_REQUIRE_EQUAL(ar.locks.size(), 2u);
  admit(ar);
  BOOST_CHECK_EQUAL(counts("test-node"), "2/2");
  BOOST_CHECK_EQUAL(counts("node-b"), "2/0");
  claim("node-b");
  BOOST_CHECK_EQUAL(counts("node-b"), "1/0");
  BOOST_CHECK_EQUAL(counts("test-node"), "1/2");
}

BOOST_AUTO_TEST_SUITE_END()
