// The gateway refuses bad input and bad credentials over its actor interface
// without touching anything behind it (admission, readers, bus, supervisor and
// authorizers are absent here: a request that reached them would fail differently)
// and stays alive afterwards.
#include <boost/test/unit_test.hpp>

#include <ctime>
#include <optional>

#include <caf/all.hpp>

#include "actors/auth_token.hpp"
#include "actors/gateway.hpp"
#include "messages/errors.hpp"
#include "messages/type_ids.hpp"

using namespace stagee;

namespace {

struct config : caf::actor_system_config {
  config() {
    add_stagee_types(*this);
    set("scheduler.max-threads", 2);
  }
};

struct fixture {
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  gateway_actor gw;       // dev mode
  gateway_actor token_gw; // token mode, one HS256 key
  credential cred{"", "acme", "alice"};
  std::string secret = std::string(40, 's');

  gateway_actor spawn_gateway(gateway_auth auth) {
    gateway_settings gs;
    gs.node = "unit";
    gs.limits.max_bytes = 4096;
    gs.auth = std::move(auth);
    return sys.spawn(gateway, gs,
                     gateway_peers{admission_actor{}, std::vector<reader_actor>{reader_actor{}},
                                   event_bus_actor{}, worker_supervisor_actor{}, dlq_actor{},
                                   lock_manager_actor{},
                                   std::vector<authorizer_actor>{authorizer_actor{}},
                                   approver_actor{}, membership_actor{}, inspector_actor{}});
  }

  fixture() {
    gw = spawn_gateway(gateway_auth{true, nullptr});
    token_gw = spawn_gateway(gateway_auth{false, verifier()});
  }

  std::shared_ptr<const auth::token_verifier> verifier() {
    auth::key_ring keys;
    keys.add_hmac("k1", secret);
    return std::make_shared<const auth::token_verifier>(std::move(keys),
                                                        auth::verifier_settings{});
  }

  ~fixture() {
    self->send_exit(gw, caf::exit_reason::user_shutdown);
    self->send_exit(token_gw, caf::exit_reason::user_shutdown);
  }

  template <class Reply, class Request>
  caf::error error_of(Request req, std::optional<credential> c = std::nullopt,
                      gateway_actor* to = nullptr) {
    caf::error out;
    self->request(to ? *to : gw, std::chrono::seconds(5), c ? *c : cred, std::move(req))
      .receive([&](Reply&) { out = caf::make_error(caf::sec::invalid_argument, "no error"); },
               [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  submit_request submit(std::string plan) {
    return submit_request{"acme", "alice", "", requested_mode::automatic, "", std::move(plan)};
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(gateway_input, fixture)

BOOST_AUTO_TEST_CASE(a_message_of_the_wrong_type_is_refused_and_the_gateway_lives_on) {
  caf::error err;
  self->request(caf::actor_cast<caf::actor>(gw), std::chrono::seconds(5), std::string{"hello"})
    .receive([](std::string&) {}, [&](caf::error& e) { err = e; });
  BOOST_CHECK(err == caf::sec::unexpected_message);
  auto e = describe(error_of<status_reply>(status_request{"", "nope"}));
  BOOST_CHECK_EQUAL(e.code, "invalid_request");
  BOOST_CHECK_EQUAL(e.field, "execution_id");
}

BOOST_AUTO_TEST_CASE(malformed_plans_are_refused_with_the_field_named) {
  auto e = describe(error_of<submit_reply>(submit("{\"name\": ")));
  BOOST_CHECK_EQUAL(e.code, "invalid_plan");
  e = describe(error_of<submit_reply>(submit(R"({"name":"x","action":"a","action_class":"read",)"
                               R"("sla_class":"fast","environment":"e","steps":[]})")));
  BOOST_CHECK_EQUAL(e.code, "invalid_plan");
  BOOST_CHECK_EQUAL(e.field, "steps");
  e = describe(error_of<submit_reply>(submit(std::string(5000, ' '))));
  BOOST_CHECK_EQUAL(e.code, "plan_too_large");
}

BOOST_AUTO_TEST_CASE(bad_caller_fields_are_refused_before_parsing) {
  auto bad = cred;
  bad.tenant_id = "acme; DROP TABLE executions";
  auto e = describe(error_of<submit_reply>(submit("{}"), bad));
  BOOST_CHECK_EQUAL(e.code, "invalid_token");
  BOOST_CHECK(e.message.find("tenant must match") != std::string::npos);
  auto req = submit("{}");
  req.idempotency_key = std::string(200, 'k');
  BOOST_CHECK_EQUAL(describe(error_of<submit_reply>(req)).field, "idempotency_key");
  e = describe(error_of<status_reply>(wait_request{"", "not-a-uuid", 10}));
  BOOST_CHECK_EQUAL(e.field, "execution_id");
}

BOOST_AUTO_TEST_CASE(a_draining_gateway_refuses_submits_with_shutting_down) {
  self->send(gw, drain_atom::value);
  auto e = describe(error_of<submit_reply>(submit(R"({"name":"x"})")));
  BOOST_CHECK_EQUAL(e.code, "shutting_down");
  BOOST_CHECK(e.message.find("submit to another node") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_token_node_refuses_requests_without_a_valid_token) {
  // No token: refused before anything else, whatever tenant and principal say.
  auto e = describe(error_of<submit_reply>(submit("{}"), cred, &token_gw));
  BOOST_CHECK_EQUAL(e.code, "invalid_token");
  BOOST_CHECK(e.message.find("a JWT must come with every request") != std::string::npos);
  e = describe(error_of<status_reply>(status_request{"", "not-a-uuid"}, cred, &token_gw));
  BOOST_CHECK_EQUAL(e.code, "invalid_token");
  // A forged token (another key) names the problem and never echoes the token.
  auth::issue_request ir;
  ir.sub = "alice";
  ir.tenant = "acme";
  auto forged = auth::issue_token_hmac(ir, std::string(40, 'x'));
  e = describe(error_of<submit_reply>(submit("{}"), credential{forged, "", ""}, &token_gw));
  BOOST_CHECK_EQUAL(e.code, "invalid_token");
  BOOST_CHECK(e.message.find("signature verification failed") != std::string::npos);
  BOOST_CHECK(e.message.find(forged.substr(forged.rfind('.') + 1)) == std::string::npos);
  // A good token passes authentication: the malformed plan is what is refused next.
  auto good = auth::issue_token_hmac(ir, secret);
  e = describe(error_of<submit_reply>(submit("{\"name\": "), credential{good, "", ""}, &token_gw));
  BOOST_CHECK_EQUAL(e.code, "invalid_plan");
}

BOOST_AUTO_TEST_CASE(authenticate_takes_identity_from_the_token_only) {
  gateway_auth token_mode{false, verifier()};
  auth::issue_request ir;
  ir.sub = "alice";
  ir.tenant = "acme";
  ir.roles = {"viewer"};
  // Tenant and principal stated next to a token are ignored: the token decides.
  auto c = authenticate(token_mode,
                        credential{auth::issue_token_hmac(ir, secret), "globex", "mallory"},
                        std::time(nullptr));
  BOOST_REQUIRE(std::holds_alternative<caller>(c));
  auto& who = std::get<caller>(c);
  BOOST_CHECK_EQUAL(who.tenant_id, "acme");
  BOOST_CHECK_EQUAL(who.principal, "alice");
  BOOST_CHECK_EQUAL(who.auth_method, "jwt:HS256");
  BOOST_CHECK(who.roles_limited);
  BOOST_CHECK((who.roles == std::vector<std::string>{"viewer"}));
  // Without a roles claim the token is not limited.
  ir.roles.clear();
  c = authenticate(token_mode, credential{auth::issue_token_hmac(ir, secret), "", ""},
                   std::time(nullptr));
  BOOST_REQUIRE(std::holds_alternative<caller>(c));
  BOOST_CHECK(!std::get<caller>(c).roles_limited);
  // Dev mode: the stated identity, marked as such.
  c = authenticate(gateway_auth{true, nullptr}, credential{"", "acme", "bob"}, 0);
  BOOST_REQUIRE(std::holds_alternative<caller>(c));
  BOOST_CHECK_EQUAL(std::get<caller>(c).auth_method, "dev");
  // Dev mode without keys cannot check a token: refused, not trusted.
  c = authenticate(gateway_auth{true, nullptr}, credential{"x.y.z", "acme", "bob"}, 0);
  BOOST_CHECK(std::holds_alternative<caf::error>(c));
}

BOOST_AUTO_TEST_SUITE_END()
