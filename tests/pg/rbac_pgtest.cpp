// RBAC rows against a real PostgreSQL: deny by default, tenant and environment
// scoping, a token's roles narrowing its bindings, refusals recorded, and the
// journal's own check before every step (R-SAFE-3).
#include <boost/test/unit_test.hpp>

#include "actors/execution_fsm.hpp"
#include "messages/errors.hpp"
#include "persistence/admission_store.hpp"
#include "persistence/journal_store.hpp"
#include "persistence/rbac_store.hpp"
#include "tests/support/factories.hpp"
#include "tests/support/test_db.hpp"

using namespace stagee;

namespace {

struct rbac_fixture {
  test::test_db db;
  std::unique_ptr<db_session> session = db.session();
  rbac_store rbac{*session};

  static caller who(std::string tenant, std::string principal) {
    caller c;
    c.tenant_id = std::move(tenant);
    c.principal = std::move(principal);
    c.auth_method = "dev";
    return c;
  }

  bool allowed(const caller& c, const std::string& perm, const std::string& env) {
    auto r = rbac.check(authz_request{c, "test", perm, env, ""});
    BOOST_REQUIRE_MESSAGE(r, test::error_text(r));
    return r->allowed;
  }

  void grant(const std::string& tenant, const std::string& principal, const std::string& role,
             const std::string& env = "*") {
    auto r = rbac.grant(rbac_binding{tenant, principal, role, env, "test", "", ""});
    BOOST_REQUIRE_MESSAGE(r, test::error_text(r));
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(rbac, rbac_fixture)

BOOST_AUTO_TEST_CASE(nothing_is_allowed_without_a_binding) {
  auto alice = who("acme", "alice");
  for (auto& p : known_permissions())
    BOOST_CHECK_MESSAGE(!allowed(alice, p, "prod"), p);
  BOOST_CHECK(!allowed(alice, "view", ""));
}

BOOST_AUTO_TEST_CASE(bindings_are_scoped_to_tenant_and_environment) {
  grant("acme", "alice", "operator", "staging");
  auto alice = who("acme", "alice");
  BOOST_CHECK(allowed(alice, "execute:modify", "staging"));
  BOOST_CHECK(!allowed(alice, "execute:modify", "prod"));
  BOOST_CHECK(!allowed(alice, "execute:deploy", "staging"));
  BOOST_CHECK(allowed(alice, "view", "")); // some environment: enough for listings
  BOOST_CHECK(!allowed(who("globex", "alice"), "view", "staging"));
  grant("acme", "alice", "deployer");      // every environment
  BOOST_CHECK(allowed(alice, "execute:deploy", "prod"));
  // Granting twice changes nothing; revoking removes exactly that binding.
  grant("acme", "alice", "deployer");
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM rbac_bindings"), "2");
  auto r = rbac.revoke(rbac_binding{"acme", "alice", "deployer", "*", "", "", ""});
  BOOST_REQUIRE(r && *r);
  BOOST_CHECK(!allowed(alice, "execute:deploy", "prod"));
  BOOST_CHECK(allowed(alice, "execute:modify", "staging"));
}

BOOST_AUTO_TEST_CASE(a_tokens_roles_narrow_what_its_bindings_grant) {
  grant("acme", "alice", "operator");
  grant("acme", "alice", "approver");
  auto alice = who("acme", "alice");
  alice.roles_limited = true;
  alice.roles = {"approver"};
  BOOST_CHECK(allowed(alice, "approve", "prod"));
  BOOST_CHECK(!allowed(alice, "execute:read", "prod"));
  alice.roles = {"admin"}; // a role in the token that is not bound grants nothing
  BOOST_CHECK(!allowed(alice, "view", "prod"));
  alice.roles.clear(); // an empty claim: no role at all
  BOOST_CHECK(!allowed(alice, "view", "prod"));
}

BOOST_AUTO_TEST_CASE(unknown_roles_and_builtin_changes_are_refused) {
  auto r = rbac.grant(rbac_binding{"acme", "alice", "superuser", "*", "test", "", ""});
  BOOST_REQUIRE(!r);
  BOOST_CHECK(test::error_text(r).find("no role 'superuser'") != std::string::npos);
  BOOST_CHECK(!rbac.put_role(rbac_role{"admin", "view", "", false}));
  BOOST_REQUIRE(rbac.put_role(rbac_role{"auditor", "view", "reads only", false}));
  grant("acme", "carol", "auditor");
  BOOST_CHECK(allowed(who("acme", "carol"), "view", "prod"));
  auto d = rbac.delete_role("auditor");
  BOOST_REQUIRE(d && *d);
  BOOST_CHECK(!allowed(who("acme", "carol"), "view", "prod"));
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM rbac_bindings WHERE principal='carol'"), "0");
}

BOOST_AUTO_TEST_CASE(another_tenants_execution_is_not_found_and_refusals_are_recorded) {
  admission_store admission{*session, admission_settings{}};
  auto ar = test::admission(test::plan_json(), "acme", "alice", execution_mode::background);
  auto res = admission.admit({ar});
  BOOST_REQUIRE(res && (*res)[0]);
  auto id = ar.record.execution_id;
  grant("globex", "mallory", "admin");
  auto r = rbac.check(authz_request{who("globex", "mallory"), "status", "view", "", id});
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(describe(r.error()).code, "not_found");
  // Same tenant, no permission: answered (not an error) with the reason.
  r = rbac.check(authz_request{who("acme", "bob"), "cancel", "cancel", "", id});
  BOOST_REQUIRE(r);
  BOOST_CHECK(!r->allowed);
  BOOST_CHECK(r->reason.find("'bob' has no role granting 'cancel'") != std::string::npos);
  BOOST_CHECK_EQUAL(r->actor_id, "alice");
  security_event ev;
  ev.who = who("acme", "bob");
  ev.operation = "cancel";
  ev.permission = "cancel";
  ev.execution_id = id;
  ev.node = "n1";
  ev.reason = r->reason;
  BOOST_REQUIRE(rbac.record(ev));
  BOOST_CHECK_EQUAL(db.scalar("SELECT kind || '|' || principal || '|' || operation || '|' || "
                              "execution_id FROM security_events"),
                    "rbac_violation|bob|cancel|" + id);
}

BOOST_AUTO_TEST_CASE(the_journal_refuses_to_start_a_step_once_the_submitter_lost_the_role) {
  admission_store admission{*session, admission_settings{}};
  journal_store journal{*session};
  auto ar = test::admission(test::plan_json(), "acme", "alice", execution_mode::immediate);
  auto res = admission.admit({ar});
  BOOST_REQUIRE(res && (*res)[0]);
  grant("acme", "alice", "operator");
  auto snap = ar.record.snapshot;
  auto step = [&](trigger t) {
    auto r = apply(snap, t);
    BOOST_REQUIRE(r.ok);
    journal_append a{"test-node", 1, snap.last_seq, r.ok->next, r.ok->changed_runs, {},
                     r.ok->events, r.ok->run_next.has_value(), true};
    auto out = journal.append({a});
    BOOST_REQUIRE_MESSAGE(out, test::error_text(out));
    BOOST_REQUIRE((*out)[0].applied);
    snap = r.ok->next;
    return (*out)[0].rbac_denied;
  };
  trigger start;
  start.kind = trigger_kind::start;
  start.by = "test-node";
  BOOST_CHECK_EQUAL(step(start), ""); // allowed: the first step may start
  BOOST_REQUIRE(rbac.revoke(rbac_binding{"acme", "alice", "operator", "*", "", "", ""}));
  trigger done;
  done.kind = trigger_kind::run_finished;
  done.by = "test-node";
  done.run_index = 0;
  done.outcome = step_status::succeeded;
  done.exit_code = 0;
  auto denied = step(done); // starts the next run: checked again
  BOOST_CHECK(denied.find("principal 'alice' no longer holds 'execute:") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
