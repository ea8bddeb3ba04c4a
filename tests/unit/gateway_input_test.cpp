// The gateway refuses bad input over its actor interface without touching
// anything behind it (admission, readers, bus and supervisor are absent here: a
// request that reached them would fail differently) and stays alive afterwards.
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

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
  gateway_actor gw;

  fixture() {
    gateway_settings gs;
    gs.node = "unit";
    gs.limits.max_bytes = 4096;
    gw = sys.spawn(gateway, gs,
                   gateway_peers{admission_actor{}, std::vector<reader_actor>{reader_actor{}},
                                 event_bus_actor{}, worker_supervisor_actor{}, dlq_actor{},
                                 lock_manager_actor{}});
  }

  ~fixture() { self->send_exit(gw, caf::exit_reason::user_shutdown); }

  template <class Reply, class Request>
  caf::error error_of(Request req) {
    caf::error out;
    self->request(gw, std::chrono::seconds(5), std::move(req))
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
  auto req = submit("{}");
  req.tenant_id = "acme; DROP TABLE executions";
  auto e = describe(error_of<submit_reply>(req));
  BOOST_CHECK_EQUAL(e.code, "invalid_request");
  BOOST_CHECK_EQUAL(e.field, "tenant");
  req = submit("{}");
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

BOOST_AUTO_TEST_SUITE_END()
