// Every registered message type survives CAF's binary serializer (BASP's wire
// format) inside a caf::message, which also proves it is registered: an
// unregistered type cannot be serialized in a message.
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include "messages/type_ids.hpp"

using namespace stagee;

namespace {

struct types_config : caf::actor_system_config {
  types_config() {
    add_stagee_types(*this);
    set("scheduler.max-threads", 1);
  }
};

struct fixture {
  types_config cfg;
  caf::actor_system sys{cfg};
  std::set<std::string> checked;

  template <class T>
  void round_trip(T value, const std::string& type_name) {
    auto msg = caf::make_message(value);
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto err = sink(msg);
    BOOST_REQUIRE_MESSAGE(!err, type_name << ": " << sys.render(err));
    caf::message copy;
    caf::binary_deserializer source{sys, buf};
    err = source(copy);
    BOOST_REQUIRE_MESSAGE(!err, type_name << ": " << sys.render(err));
    BOOST_REQUIRE(copy.match_elements<T>());
    BOOST_CHECK_EQUAL(caf::deep_to_string(copy.get_as<T>(0)), caf::deep_to_string(value));
    checked.insert(type_name);
  }
};

plan sample_plan() {
  plan p;
  p.name = "n";
  p.action = "a";
  p.action_cls = action_class::deploy;
  p.sla = sla_class::long_running;
  p.environment = "prod";
  p.targets = {"h1", "h2"};
  p.priority = 7;
  p.runbook_url = "https://x";
  plan_step s;
  s.name = "s";
  s.executor = executor_kind::shell;
  s.command = {"echo", "x y"};
  s.targets = {"h1"};
  s.timeout_ms = 99;
  s.idempotent = true;
  p.steps = {s};
  return p;
}

execution_snapshot sample_snapshot() {
  execution_snapshot s;
  s.execution_id = "e";
  s.status = execution_status::running;
  s.last_transition_from = execution_status::queued;
  s.last_transition_by = "n1";
  s.last_seq = 9;
  s.cursor = 1;
  s.error_class = "c";
  s.error_message = "m";
  step_run r;
  r.step_index = 2;
  r.step_name = "s";
  r.target = "h";
  r.idempotent = true;
  r.status = step_status::timed_out;
  r.attempt = 3;
  r.exit_code = -9;
  s.runs = {r, step_run{}};
  return s;
}

execution_event sample_event() {
  execution_event e;
  e.execution_id = "e";
  e.seq = 4;
  e.kind = event_kind::step_finished;
  e.status = execution_status::running;
  e.from = execution_status::running;
  e.run_index = 1;
  e.step_name = "s";
  e.target = "t";
  e.attempt = 2;
  e.exit_code = 1;
  e.error_class = "x";
  e.message = "m";
  e.by = "b";
  e.at_us = 123;
  return e;
}

execution_record sample_record() {
  return execution_record{"e", "t", "a", "h", "k", execution_mode::background, 5,
                          sample_plan(), sample_snapshot(), "req", 3, 40, 35000, 10000, 4200,
                          {lock_grant{"lock:v1:t:h1:a", "h1", 17}}, "alice", "why"};
}

stored_execution sample_stored() {
  auto rec = sample_record();
  rec.frozen_plan = plan{};
  return stored_execution{rec, "{}"};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(messages, fixture)

BOOST_AUTO_TEST_CASE(every_registered_message_type_round_trips_through_basp_encoding) {
  round_trip(submit_request{"t", "p", "k", requested_mode::background, "r", "{\"a\":1}"},
             "stagee::submit_request");
  round_trip(submit_reply{"e", execution_status::queued, "h", execution_mode::background, true},
             "stagee::submit_reply");
  round_trip(status_request{"t", "e"}, "stagee::status_request");
  status_reply sr;
  sr.execution_id = "e";
  sr.status = execution_status::failed;
  sr.timed_out = true;
  sr.steps = {step_view{1, "s", "t", step_status::failed, 2, 1}, step_view{}};
  sr.lock_waits = 3;
  sr.blocked_by = "lock:v1:t:h1:a";
  sr.deadline_at = "2026-12-02T00:00:00.000000Z";
  sr.cancel_requested_by = "alice";
  round_trip(sr, "stagee::status_reply");
  round_trip(wait_request{"t", "e", 77}, "stagee::wait_request");
  round_trip(subscribe_request{"t", "e", 3, {}}, "stagee::subscribe_request");
  round_trip(subscribed{"e", 12}, "stagee::subscribed");
  round_trip(sample_event(), "stagee::execution_event");
  round_trip(sample_snapshot(), "stagee::execution_snapshot");
  round_trip(sample_record(), "stagee::execution_record");
  round_trip(sample_stored(), "stagee::stored_execution");
  round_trip(journal_append{"n", 7, 3, sample_snapshot(), {0, 1},
                            {step_output{1, "out", "err", true, "e"}}, {sample_event()}, true, true},
             "stagee::journal_append");
  round_trip(journal_committed{"e", 5, "alice", "wrong window", "lost execute:modify", "s2"},
             "stagee::journal_committed");
  lock_spec spec{"lock:v1:t:h1:a", "t", "h1", "a"};
  round_trip(admit_request{sample_record(), "{}", {sample_event()}, 10, "fast_read", "n",
                          lease_sizing{5, 7}, {spec}, 2},
             "stagee::admit_request");
  round_trip(admit_reply{"e", execution_status::pending, "h", execution_mode::immediate, false, 9,
                         {lock_grant{"k", "h1", 3}}},
             "stagee::admit_reply");
  round_trip(load_request{"e"}, "stagee::load_request");
  round_trip(claim_request{"n", 4, lease_sizing{0, 1000}}, "stagee::claim_request");
  round_trip(claimed_batch{{sample_stored(), sample_stored()}}, "stagee::claimed_batch");
  round_trip(renew_request{"n", {lease_ref{"a", 1, 300}, lease_ref{"b", 2, 400}}},
             "stagee::renew_request");
  round_trip(renewed{{"a"}, {"b"}}, "stagee::renewed");
  round_trip(run_request{sample_record()}, "stagee::run_request");
  round_trip(execution_done{"e", execution_status::succeeded}, "stagee::execution_done");
  round_trip(execution_released{"e"}, "stagee::execution_released");
  round_trip(stop_execution{stop_kind::cancel, "c", "m", "alice", true}, "stagee::stop_execution");
  round_trip(drained{3, 4}, "stagee::drained");
  round_trip(release_request{"n", {lease_ref{"a", 9}}}, "stagee::release_request");
  round_trip(reap_request{"n"}, "stagee::reap_request");
  round_trip(reaped{{"a"}, {"n2"}}, "stagee::reaped");
  dlq_entry de{7, "e", "t", "a", "step_failed", "boom", 3, "2026-01-01T00:00:00.000Z", "", "",
               "[]"};
  round_trip(dlq_list_request{"t", "a", "c", true, 9, 20}, "stagee::dlq_list_request");
  round_trip(dlq_page{{de, de}, 6}, "stagee::dlq_page");
  round_trip(dlq_entry_request{dlq_op::archive, "t", 7, ""}, "stagee::dlq_entry_request");
  round_trip(de, "stagee::dlq_entry");
  round_trip(dlq_source_request{"t", 7}, "stagee::dlq_source_request");
  round_trip(dlq_requeue_source{de, "a", "k", "{}"}, "stagee::dlq_requeue_source");
  round_trip(dlq_summary_request{"t"}, "stagee::dlq_summary_request");
  round_trip(dlq_summary{3, {dlq_summary_row{"step_failed", "boom", 3}}}, "stagee::dlq_summary");
  round_trip(dlq_requeue_request{"t", 7, "ops"}, "stagee::dlq_requeue_request");
  round_trip(run_step{"e", 1, "s", "t", 2, {"a", "b"}, "k", 10, 20, "req", 4, "lk", 8,
                      {{"DB_USER", "app"}}, {"not-a-real-value"}},
             "stagee::run_step");
  round_trip(step_result{1, step_status::succeeded, 0, 5, step_output{1, "o", "e", false, ""}},
             "stagee::step_result");
  round_trip(lock_grant{"k", "h1", 3}, "stagee::lock_grant");
  round_trip(spec, "stagee::lock_spec");
  round_trip(acquire_locks{"e", "n", 4, {spec, spec}, 100, 2000}, "stagee::acquire_locks");
  round_trip(locks_outcome{false, {lock_grant{"k", "h1", 3}},
                           lock_holder{"k", "e2", "n2", "2026-01-01T00:00:00Z", 1500}, 250},
             "stagee::locks_outcome");
  round_trip(locks_request{"t", "h1"}, "stagee::locks_request");
  round_trip(lock_list{{lock_view{"k", "t", "h1", "a", "e", "n", 9, "x", "y", -5}}},
             "stagee::lock_list");
  round_trip(arm_deadline{"e", 1000, "fast_read", 10000, {}, "t"}, "stagee::arm_deadline");
  round_trip(disarm_deadline{"e", {}}, "stagee::disarm_deadline");
  round_trip(deadline_tick{77}, "stagee::deadline_tick");
  round_trip(cancel_request{"t", "e", "alice", "why", 2500}, "stagee::cancel_request");
  round_trip(cancel_reply{"e", execution_status::cancelled, "alice", "t1", "alice", "t0", "why"},
             "stagee::cancel_reply");
  round_trip(cancel_poll_request{"n", lease_sizing{0, 100}}, "stagee::cancel_poll_request");
  round_trip(cancel_batch{{cancel_notice{"e", "alice", "r"}}, {sample_stored()}},
             "stagee::cancel_batch");
  round_trip(credential{"h.p.s", "t", "alice"}, "stagee::credential");
  caller who{"t", "alice", {"viewer", "approver"}, true, "jwt:RS256", "node:abc"};
  round_trip(who, "stagee::caller");
  round_trip(authz_request{who, "cancel", "cancel", "prod", "e"}, "stagee::authz_request");
  round_trip(authz_reply{false, "no role", "prod", "bob", execution_status::running, 2},
             "stagee::authz_reply");
  round_trip(approve_request{"t", "e", "h", "s1", "looks fine", decision::reject, who},
             "stagee::approve_request");
  round_trip(approve_reply{"e", execution_status::queued, 3, "s1", "bob", "h"},
             "stagee::approve_reply");
  round_trip(resolve_secrets{"t", "e", {"db-password", "api"}}, "stagee::resolve_secrets");
  round_trip(resolved_secrets{{{"db-password", "not-a-real-value"}}}, "stagee::resolved_secrets");
  member_info mi;
  mi.name = "n1";
  mi.node_id = "ABC#12";
  mi.address = "127.0.0.1:4000";
  mi.capacity = 8;
  mi.load = 3;
  mi.started_at_ms = 1764633600000;
  mi.state = "draining";
  mi.tls = true;
  round_trip(member_hello{mi, {"127.0.0.1:4001", "host-b:4002"}}, "stagee::member_hello");
  round_trip(member_leaving{"n1", "ABC#12"}, "stagee::member_leaving");
  round_trip(cluster_status_request{"t"}, "stagee::cluster_status_request");
  round_trip(cluster_status{"n1", {member_status{"n2", "D#1", "h:1", "down", "down", 4, 2, 7, 1,
                                                 "2026-12-02T10:00:00.000Z", 1500, true}}},
             "stagee::cluster_status");
  round_trip(member_heartbeat{mi, {"n2", "n3"}, 3000, true}, "stagee::member_heartbeat");
  round_trip(member_rows{{member_row{"n2", "D#1", "h:1", "dead", 4, 2, "2026-12-02T10:00:00.000Z",
                                     5000, false, 3, 1}},
                         {member_expired{"n2", 3, 1}}},
             "stagee::member_rows");
  round_trip(remote_interest{"e", nullptr}, "stagee::remote_interest");
  round_trip(peer_buses{{nullptr}}, "stagee::peer_buses");
  execution_probe ep{"e-1", "t", execution_status::running, "restart", 1, "web-1", 2, 7, 4500,
                     false, false};
  round_trip(ep, "stagee::execution_probe");
  actor_probe ap{"busy", 3, {{"claims", "12"}, {"draining", "false"}}, {ep}};
  round_trip(ap, "stagee::actor_probe");
  round_trip(actor_registration{"execution", "e-1", {}, "acme"}, "stagee::actor_registration");
  actor_view av{42, "execution", "e-1", 1500, true, ap, "acme"};
  round_trip(av, "stagee::actor_view");
  round_trip(node_inspect_request{"t", "execution"}, "stagee::node_inspect_request");
  round_trip(node_inspection{"n1", "ABC#1", 60000, 8, 2, 2, 40, {av}},
             "stagee::node_inspection");
  round_trip(actor_inspect_request{"t", 42}, "stagee::actor_inspect_request");
  round_trip(timers_request{"t"}, "stagee::timers_request");
  timer_view tv{"e-1", "execution deadline", 2500, false};
  round_trip(tv, "stagee::timer_view");
  round_trip(timer_list{"n1", {tv, timer_view{"", "execution deadline", 10, true}}},
             "stagee::timer_list");
  round_trip(node_stats_request{"t"}, "stagee::node_stats_request");
  round_trip(node_stats{"n1", 2, 8, 5, 30, 100, 4, 1, 3, "event-bus bus", 17, 0},
             "stagee::node_stats");
  round_trip(execution_list_request{"t", "active", "n1", 20}, "stagee::execution_list_request");
  execution_row er{"e-1", "t", "deploy web", execution_status::running,
                   execution_mode::background, "n1", "restart", 1, "web-1", 3, "n1",
                   "2026-12-02T10:00:00.000Z", "2026-12-02T09:59:00.000Z",
                   "2026-12-02T09:59:30.000Z"};
  round_trip(er, "stagee::execution_row");
  round_trip(execution_list{{er}, true}, "stagee::execution_list");
  round_trip(queue_list_request{"t", 10, 20}, "stagee::queue_list_request");
  queue_row qr{"e-1", 10, execution_status::queued, "2026-12-02T09:59:00.000Z",
               "2026-12-02T09:59:00.000Z", "", "", 0, 1, "lock:v1:t:web-1:deploy"};
  round_trip(qr, "stagee::queue_row");
  round_trip(queue_list{{qr}, false}, "stagee::queue_list");
  round_trip(journal_request{"t", "e-1", 100}, "stagee::journal_request");
  round_trip(journal_page{{sample_event()}, false}, "stagee::journal_page");
  round_trip(node_counts_request{"n1"}, "stagee::node_counts_request");
  round_trip(node_counts{12, 3}, "stagee::node_counts");
  // Every registered type was checked, and nothing was checked that is not registered.
  std::set<std::string> registered(registered_type_names().begin(),
                                   registered_type_names().end());
  BOOST_CHECK(checked == registered);
  BOOST_CHECK_EQUAL(checked.size(), registered.size());
}

BOOST_AUTO_TEST_CASE(an_empty_optional_survives_the_round_trip) {
  auto e = sample_event();
  e.exit_code.reset();
  round_trip(e, "stagee::execution_event");
}

BOOST_AUTO_TEST_CASE(stagee_errors_carry_code_field_and_message) {
  auto err = make_stagee_error(stagee_errc::invalid_plan, "steps[0].name", "bad name");
  auto d = describe(err);
  BOOST_CHECK_EQUAL(d.code, "invalid_plan");
  BOOST_CHECK_EQUAL(d.field, "steps[0].name");
  BOOST_CHECK_EQUAL(d.message, "bad name");
  BOOST_CHECK(err == stagee_errc::invalid_plan);
}

BOOST_AUTO_TEST_SUITE_END()
