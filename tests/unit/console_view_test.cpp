// How the console lays out answers (runtime/console_view.*) and how the inspector
// hides other tenants' executions (actors/inspector.cpp).
#include <boost/test/unit_test.hpp>

#include "actors/inspector.hpp"
#include "runtime/console_view.hpp"

using namespace stagee;
using json = nlohmann::json;

BOOST_AUTO_TEST_SUITE(console_view)

BOOST_AUTO_TEST_CASE(cells_show_dashes_for_nothing_and_never_control_characters) {
  BOOST_CHECK_EQUAL(cell_text(json()), "-");
  BOOST_CHECK_EQUAL(cell_text(json("")), "-");
  BOOST_CHECK_EQUAL(cell_text(json(true)), "yes");
  BOOST_CHECK_EQUAL(cell_text(json(12)), "12");
  BOOST_CHECK_EQUAL(cell_text(json(0.125)), "0.12");
  BOOST_CHECK_EQUAL(cell_text(json("a\x1b[31mb\nc\x7f")), "a?[31mb?c?");
  BOOST_CHECK_EQUAL(cell_text(json("café")), "café");
  BOOST_CHECK_EQUAL(cell_text(json("x\xC2\x9B" "31my")), "x?31my"); // C1 CSI, UTF-8 encoded
}

BOOST_AUTO_TEST_CASE(tables_align_columns_by_code_points_and_cut_long_values) {
  json rows = json::array({{{"id", 1}, {"name", "é"}, {"state", {{"word", "idle"}}}},
                           {{"id", 22}, {"name", std::string(60, 'x')}}});
  auto text = render_table(rows, {{"ID", "id"}, {"NAME", "name", 10}, {"STATE", "state/word"}});
  BOOST_CHECK_EQUAL(text, "ID  NAME        STATE\n"
                          "1   é           idle\n"
                          "22  xxxxxxx...  -\n");
  BOOST_CHECK_EQUAL(render_table(json::array(), {{"ID", "id"}}), "(none)\n");
}

BOOST_AUTO_TEST_CASE(fields_are_aligned_lines) {
  auto text = render_fields({{"node", "n1"}, {"tls", false}}, {{"node", "node"}, {"tls", "tls"}});
  BOOST_CHECK_EQUAL(text, "node: n1\ntls:  no\n");
}

BOOST_AUTO_TEST_CASE(durations_read_like_a_person_would_say_them) {
  BOOST_CHECK_EQUAL(human_ms(850), "850ms");
  BOOST_CHECK_EQUAL(human_ms(3200), "3.2s");
  BOOST_CHECK_EQUAL(human_ms(312000), "5m12s");
  BOOST_CHECK_EQUAL(human_ms(7380000), "2h03m");
  BOOST_CHECK_EQUAL(human_ms(-1500), "-1.5s");
}

BOOST_AUTO_TEST_CASE(another_tenants_execution_keeps_only_its_status) {
  actor_view v;
  v.kind = "execution";
  v.name = "e-1";
  v.probe.details = {{"plan", "deploy acme web"}};
  v.probe.executions.push_back(execution_probe{"e-1", "acme", execution_status::running, "restart",
                                               1, "web-1", 2, 7, 4000, false, false});
  auto mine = v;
  redact_for_tenant(mine, "acme");
  BOOST_CHECK_EQUAL(mine.name, "e-1");
  BOOST_CHECK_EQUAL(mine.probe.executions[0].step, "restart");
  redact_for_tenant(v, "globex");
  BOOST_CHECK(v.name.empty());
  BOOST_CHECK(v.probe.details.empty());
  auto& e = v.probe.executions[0];
  BOOST_CHECK(e.hidden);
  BOOST_CHECK(e.status == execution_status::running);
  BOOST_CHECK(e.execution_id.empty() && e.tenant_id.empty() && e.step.empty() && e.target.empty());
  BOOST_CHECK_EQUAL(e.fence, 0);
  auto j = to_json(v);
  BOOST_CHECK_EQUAL(j.dump().find("acme"), std::string::npos);
  BOOST_CHECK_EQUAL(j["executions"][0]["hidden"], true);
}

BOOST_AUTO_TEST_CASE(an_unanswered_execution_actor_is_redacted_by_its_registered_tenant) {
  // Busy or stopping: no probe, so no execution_probe says whose it is; the name
  // is still the execution id.
  actor_view v;
  v.kind = "execution";
  v.name = "e-9";
  v.tenant_id = "acme";
  v.probe.state = "no answer";
  auto mine = v;
  redact_for_tenant(mine, "acme");
  BOOST_CHECK_EQUAL(mine.name, "e-9");
  redact_for_tenant(v, "globex");
  BOOST_CHECK(v.name.empty());
  BOOST_CHECK(v.tenant_id.empty());
  BOOST_CHECK_EQUAL(v.probe.state, "no answer");
  BOOST_CHECK_EQUAL(to_json(v).dump().find("e-9"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_supervisors_children_of_other_tenants_are_hidden_one_by_one) {
  actor_view v;
  v.kind = "worker-supervisor";
  v.name = "worker-supervisor";
  v.probe.details = {{"children", "2"}};
  execution_probe ours, theirs;
  ours.execution_id = "e-1";
  ours.tenant_id = "acme";
  theirs.execution_id = "e-2";
  theirs.tenant_id = "globex";
  v.probe.executions = {ours, theirs};
  redact_for_tenant(v, "acme");
  BOOST_CHECK_EQUAL(v.name, "worker-supervisor");
  BOOST_CHECK_EQUAL(v.probe.details.size(), 1u);
  BOOST_CHECK_EQUAL(v.probe.executions[0].execution_id, "e-1");
  BOOST_CHECK(v.probe.executions[1].hidden);
  BOOST_CHECK(v.probe.executions[1].execution_id.empty());
}

BOOST_AUTO_TEST_SUITE_END()
