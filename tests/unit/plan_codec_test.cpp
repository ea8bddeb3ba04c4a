/// Plan codec: parsing, validation, canonical form and hashing, mode decision.
#include "actors/plan_codec.hpp"

#include <string>
#include <vector>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using nlohmann::json;
using namespace stagee;
namespace data = boost::unit_test::data;

namespace {

/// A valid plan exercising every field.
json full_plan() {
  return json::parse(R"({
    "name": "Restart web tier", "action": "restart", "action_class": "modify",
    "sla_class": "medium", "environment": "prod", "targets": ["web-02", "web-01"],
    "priority": 10, "runbook_url": "https://runbooks.example/restart",
    "steps": [
      {"name": "drain", "executor": "shell", "command": ["/bin/drain", "--now"],
       "timeout_ms": 2000, "idempotent": true},
      {"name": "note", "executor": "noop", "targets": ["lb-1"]}
    ]})");
}

/// The smallest valid plan: every optional field omitted.
json minimal_plan() {
  return json::parse(R"({"name": "n", "action": "a", "action_class": "read",
    "sla_class": "fast", "environment": "dev", "targets": ["h1"],
    "steps": [{"name": "s", "executor": "noop"}]})");
}

parsed_plan must_parse(const std::string& text, const plan_limits& limits = {}) {
  auto result = parse_plan(text, limits);
  if (auto* err = std::get_if<plan_error>(&result))
    BOOST_FAIL("unexpected error: " << err->field << ": " << err->message);
  return std::get<parsed_plan>(std::move(result));
}

plan_error must_fail(const std::string& text, const plan_limits& limits = {}) {
  auto result = parse_plan(text, limits);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<plan_error>(result), "accepted: " << text);
  return std::get<plan_error>(result);
}

/// Field named by the error for the JSON `j`.
std::string failing_field(const json& j) {
  return must_fail(j.dump()).field;
}

} // namespace

BOOST_AUTO_TEST_SUITE(plan_codec)

// -- valid plans, canonical form, hashes ------------------------------------------------

BOOST_AUTO_TEST_CASE(a_valid_plan_is_parsed_normalized_and_round_trips) {
  auto parsed = must_parse(full_plan().dump());
  auto& p = parsed.value;
  BOOST_TEST(p.name == "Restart web tier");
  BOOST_TEST((p.action_cls == action_class::modify));
  BOOST_TEST((p.sla == sla_class::medium));
  BOOST_TEST((p.targets == std::vector<std::string>{"web-01", "web-02"}));
  BOOST_TEST(p.priority == 10);
  BOOST_TEST(p.runbook_url == "https://runbooks.example/restart");
  BOOST_REQUIRE(p.steps.size() == 2u);
  BOOST_TEST((p.steps[0].executor == executor_kind::shell));
  BOOST_TEST((p.steps[0].command == std::vector<std::string>{"/bin/drain", "--now"}));
  BOOST_TEST((p.steps[0].targets == std::vector<std::string>{"web-01", "web-02"}));
  BOOST_TEST(p.steps[0].timeout_ms == 2000);
  BOOST_TEST(p.steps[0].idempotent);
  BOOST_TEST((p.steps[1].targets == std::vector<std::string>{"lb-1"}));
  BOOST_TEST(parsed.plan_hash == sha256_hex(parsed.canonical_json));
  auto again = must_parse(parsed.canonical_json);
  BOOST_TEST(again.canonical_json == parsed.canonical_json);
  BOOST_TEST(again.plan_hash == parsed.plan_hash);
}

BOOST_AUTO_TEST_CASE(canonical_json_has_sorted_keys_filled_defaults_and_no_whitespace) {
  auto parsed = must_parse(minimal_plan().dump());
  BOOST_TEST(parsed.canonical_json
             == R"({"action":"a","action_class":"read","environment":"dev","name":"n",)"
                R"("priority":50,"sla_class":"fast","steps":[{"command":[],"executor":"noop",)"
                R"("idempotent":false,"name":"s","targets":["h1"]}],"targets":["h1"]})");
}

BOOST_AUTO_TEST_CASE(key_order_and_target_order_do_not_change_the_hash) {
  auto a = must_parse(full_plan().dump());
  auto b = must_parse(R"({"steps": [
      {"idempotent": true, "timeout_ms": 2000, "command": ["/bin/drain", "--now"],
       "executor": "shell", "name": "drain"},
      {"targets": ["lb-1"], "executor": "noop", "name": "note"}],
    "runbook_url": "https://runbooks.example/restart", "priority": 10,
    "targets": ["web-01", "web-02"], "environment": "prod", "sla_class": "medium",
    "action_class": "modify", "action": "restart", "name": "Restart web tier"})");
  BOOST_TEST(a.canonical_json == b.canonical_json);
  BOOST_TEST(a.plan_hash == b.plan_hash);
}

BOOST_AUTO_TEST_CASE(omitted_defaults_hash_like_explicit_defaults) {
  auto explicit_plan = minimal_plan();
  explicit_plan["priority"] = 50;
  explicit_plan["steps"][0]["idempotent"] = false;
  explicit_plan["steps"][0]["command"] = json::array();
  explicit_plan["steps"][0]["targets"] = {"h1"};
  BOOST_TEST(must_parse(minimal_plan().dump()).plan_hash
             == must_parse(explicit_plan.dump()).plan_hash);
}

BOOST_AUTO_TEST_CASE(different_plans_have_different_hashes) {
  auto base = must_parse(full_plan().dump()).plan_hash;
  auto changed = [](auto edit) {
    auto j = full_plan();
    edit(j);
    return must_parse(j.dump()).plan_hash;
  };
  BOOST_TEST(base != changed([](json& j) { j["priority"] = 11; }));
  BOOST_TEST(base != changed([](json& j) { j["targets"].push_back("web-03"); }));
  BOOST_TEST(base != changed([](json& j) { j["steps"][0]["command"][1] = "--later"; }));
  BOOST_TEST(base != changed([](json& j) { j.erase("runbook_url"); }));
}

// -- document-level errors ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(malformed_json_is_refused_with_the_parser_position) {
  auto err = must_fail(R"({"name": "n",, })");
  BOOST_TEST(err.field == "");
  BOOST_TEST(err.message.find("malformed JSON") == 0u);
  BOOST_TEST(err.message.find("line 1, column 14") != std::string::npos, err.message);
  BOOST_TEST(must_fail("").field == "");
  BOOST_TEST(must_fail(minimal_plan().dump() + " trailing").message.find("malformed") == 0u);
  auto bad_utf8 = must_fail("{\"name\": \"\xff\x01\"}").message; // echoed as \xNN, not raw
  BOOST_TEST(bad_utf8.find("\\xff") != std::string::npos, bad_utf8);
  BOOST_TEST(bad_utf8.find('\xff') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_top_level_that_is_not_an_object_is_refused) {
  for (std::string doc : {"[]", "42", "\"plan\"", "null", "true"}) {
    BOOST_TEST_CONTEXT(doc) {
      auto err = must_fail(doc);
      BOOST_TEST(err.field == "");
      BOOST_TEST(err.message.find("expected a JSON object at the top level") == 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_10mb_plan_is_refused_by_size_without_parsing) {
  std::string huge(10 * 1024 * 1024, 'x'); // not JSON: parsing would give another error
  auto err = must_fail(huge);
  BOOST_TEST(err.field == "");
  BOOST_TEST(err.message == "plan is 10485760 bytes; the limit is 1048576");
  BOOST_TEST(err.too_large);
}

BOOST_AUTO_TEST_CASE(duplicate_json_keys_are_refused_with_their_path) {
  BOOST_TEST(must_fail(R"({"name": "a", "name": "b"})").field == "name");
  auto nested = minimal_plan().dump();
  nested.replace(nested.find(R"("name":"s")"), 10, R"("name":"s","name":"t")");
  auto err = must_fail(nested);
  BOOST_TEST(err.field == "steps[0].name");
  BOOST_TEST(err.message == "duplicate key");
}

BOOST_AUTO_TEST_CASE(deeply_nested_json_is_refused_before_building_it) {
  std::string deep = R"({"name": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto err = must_fail(deep);
  BOOST_TEST(err.field == "");
  BOOST_TEST(err.message.find("nested deeper") != std::string::npos);
}

// -- field rules ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_required_fields_are_named) {
  for (auto key : {"name", "action", "action_class", "sla_class", "environment", "steps"}) {
    auto j = minimal_plan();
    j.erase(key);
    auto err = must_fail(j.dump());
    BOOST_TEST(err.field == key);
    BOOST_TEST(err.message == "required field is missing");
  }
  for (auto key : {"name", "executor"}) {
    auto j = minimal_plan();
    j["steps"][0].erase(key);
    BOOST_TEST(failing_field(j) == std::string{"steps[0]."} + key);
  }
  auto shell = minimal_plan();
  shell["steps"][0]["executor"] = "shell";
  BOOST_TEST(failing_field(shell) == "steps[0].command");
}

BOOST_AUTO_TEST_CASE(wrong_types_name_the_field_and_the_expected_type) {
  auto j = minimal_plan();
  j["priority"] = "high";
  auto err = must_fail(j.dump());
  BOOST_TEST(err.field == "priority");
  BOOST_TEST(err.message == "expected an integer 0..100, got string");
  auto field_for = [](auto edit) {
    auto doc = minimal_plan();
    edit(doc);
    return failing_field(doc);
  };
  BOOST_TEST(field_for([](json& d) { d["name"] = 5; }) == "name");
  BOOST_TEST(field_for([](json& d) { d["targets"] = "h1"; }) == "targets");
  BOOST_TEST(field_for([](json& d) { d["targets"][0] = 7; }) == "targets[0]");
  BOOST_TEST(field_for([](json& d) { d["steps"] = json::object(); }) == "steps");
  BOOST_TEST(field_for([](json& d) { d["steps"][0] = "s"; }) == "steps[0]");
  BOOST_TEST(field_for([](json& d) { d["steps"][0]["idempotent"] = "yes"; })
             == "steps[0].idempotent");
  BOOST_TEST(field_for([](json& d) { d["steps"][0]["timeout_ms"] = 1.5; })
             == "steps[0].timeout_ms");
  BOOST_TEST(field_for([](json& d) { d["steps"][0]["command"] = "ls"; }) == "steps[0].command");
  BOOST_TEST(field_for([](json& d) { d["steps"][0]["command"] = {"ls", 1}; })
             == "steps[0].command[1]");
  BOOST_TEST(field_for([](json& d) { d["action_class"] = json(); }) == "action_class");
}

BOOST_AUTO_TEST_CASE(out_of_range_numbers_and_unknown_enum_values_are_refused) {
  auto field_for = [](const char* key, json value, bool in_step = false) {
    auto doc = minimal_plan();
    (in_step ? doc["steps"][0] : doc)[key] = value;
    return failing_field(doc);
  };
  BOOST_TEST(field_for("priority", 101) == "priority");
  BOOST_TEST(field_for("priority", -1) == "priority");
  BOOST_TEST(field_for("priority", json(18446744073709551615ull)) == "priority");
  BOOST_TEST(field_for("timeout_ms", 0, true) == "steps[0].timeout_ms");
  BOOST_TEST(field_for("timeout_ms", 86400001, true) == "steps[0].timeout_ms");
  BOOST_TEST(field_for("action_class", "write") == "action_class");
  BOOST_TEST(field_for("sla_class", "long_running") == "sla_class");
  auto doc = minimal_plan();
  doc["priority"] = 150;
  BOOST_TEST(must_fail(doc.dump()).message == "expected an integer 0..100, got 150");
}

BOOST_AUTO_TEST_CASE(an_unknown_executor_is_refused) {
  auto j = minimal_plan();
  j["steps"][0]["executor"] = "ssh";
  auto err = must_fail(j.dump());
  BOOST_TEST(err.field == "steps[0].executor");
  BOOST_TEST(err.message == R"(expected one of "shell", "noop", got "ssh")");
}

BOOST_AUTO_TEST_CASE(empty_steps_are_refused) {
  auto j = minimal_plan();
  j["steps"] = json::array();
  BOOST_TEST(failing_field(j) == "steps");
}

BOOST_AUTO_TEST_CASE(unknown_fields_are_refused_at_every_level) {
  auto j = minimal_plan();
  j["steps"][0]["comand"] = {"ls"};
  auto err = must_fail(j.dump());
  BOOST_TEST(err.field == "steps[0].comand");
  BOOST_TEST(err.message.find("unknown field") == 0u);
  auto top = minimal_plan();
  top["tenant_id"] = "acme"; // tenant comes from the authenticated context only
  BOOST_TEST(failing_field(top) == "tenant_id");
}

BOOST_AUTO_TEST_CASE(duplicate_step_names_are_refused) {
  auto j = minimal_plan();
  j["steps"].push_back(j["steps"][0]);
  auto err = must_fail(j.dump());
  BOOST_TEST(err.field == "steps[1].name");
  BOOST_TEST(err.message.find("duplicate step name") == 0u);
}

BOOST_AUTO_TEST_CASE(duplicate_targets_are_refused_in_every_list) {
  auto j = minimal_plan();
  j["targets"] = {"h1", "h2", "h1"};
  BOOST_TEST(failing_field(j) == "targets[2]");
  auto step = minimal_plan();
  step["steps"][0]["targets"] = {"x", "x"};
  BOOST_TEST(failing_field(step) == "steps[0].targets[1]");
}

BOOST_AUTO_TEST_CASE(a_step_without_effective_targets_is_refused) {
  auto j = minimal_plan();
  j.erase("targets");
  j["steps"].push_back({{"name", "t"}, {"executor", "noop"}, {"targets", {"h9"}}});
  auto err = must_fail(j.dump());
  BOOST_TEST(err.field == "steps[0].targets");
  BOOST_TEST(err.message == "no targets (set the step's or the plan's targets)");
  auto empty_list = minimal_plan();
  empty_list["steps"][0]["targets"] = json::array();
  BOOST_TEST(failing_field(empty_list) == "steps[0].targets");
}

const std::vector<std::string> hostile_targets{
  "a;rm -rf /", "$(id)", "`id`", "a b", "x\n", "", "-rf", std::string("a\0b", 3),
  "a/../b", "../etc", "a//b", "a/", "a|b", "a&b", "a>b", "'q'", "\"q\"", "a\tb",
  "host\\x", std::string(254, 'a')};

BOOST_DATA_TEST_CASE(hostile_target_strings_are_refused_naming_the_index,
                     data::make(hostile_targets), target) {
  BOOST_TEST(!valid_target_ref(target));
  auto j = minimal_plan();
  j["targets"] = {"ok-host", target};
  auto err = must_fail(j.dump());
  BOOST_TEST(err.field == "targets[1]");
  auto step = minimal_plan();
  step["steps"][0]["targets"] = {target};
  BOOST_TEST(failing_field(step) == "steps[0].targets[0]");
}

BOOST_AUTO_TEST_CASE(ordinary_target_refs_and_identifiers_are_accepted) {
  for (auto t : {"web-01", "web-01.prod.example", "k8s:prod/pod-1", "user@host", "10.0.0.1:22",
                 "a"})
    BOOST_TEST(valid_target_ref(t), t);
  BOOST_TEST(valid_target_ref(std::string(253, 'a')));
  for (auto id : {"acme", "svc:deployer", "alice@example.com", "team_a-1.x"})
    BOOST_TEST(valid_identifier(id), id);
  for (auto id : {"", "-x", "a b", "a/b", "a;b", "ä"})
    BOOST_TEST(!valid_identifier(id), id);
  BOOST_TEST(!valid_identifier(std::string(129, 'a')));
}

BOOST_AUTO_TEST_CASE(a_nul_byte_or_empty_program_in_argv_is_refused) {
  auto j = minimal_plan();
  j["steps"][0] = {
    {"name", "s"}, {"executor", "shell"}, {"command", {"ls", std::string("a\0b", 3)}}};
  auto err = must_fail(j.dump());
  BOOST_TEST(err.field == "steps[0].command[1]");
  j["steps"][0]["command"] = {"", "x"};
  BOOST_TEST(failing_field(j) == "steps[0].command[0]");
  j["steps"][0]["command"] = json::array();
  BOOST_TEST(failing_field(j) == "steps[0].command");
}

BOOST_AUTO_TEST_CASE(bad_names_actions_environments_and_urls_are_refused) {
  auto field_for = [](const char* key, json value, bool in_step = false) {
    auto doc = minimal_plan();
    (in_step ? doc["steps"][0] : doc)[key] = value;
    return failing_field(doc);
  };
  BOOST_TEST(field_for("name", "") == "name");
  BOOST_TEST(field_for("name", "bell\a") == "name");
  BOOST_TEST(field_for("name", std::string(201, 'n')) == "name");
  BOOST_TEST(field_for("action", "re start") == "action");
  BOOST_TEST(field_for("action", std::string(101, 'a')) == "action");
  BOOST_TEST(field_for("environment", "prod;x") == "environment");
  BOOST_TEST(field_for("runbook_url", "ftp://x") == "runbook_url");
  BOOST_TEST(field_for("runbook_url", "") == "runbook_url");
  BOOST_TEST(field_for("runbook_url", "https://a b") == "runbook_url");
  BOOST_TEST(field_for("name", "bad name", true) == "steps[0].name");
  BOOST_TEST(field_for("name", std::string(65, 's'), true) == "steps[0].name");
}

BOOST_AUTO_TEST_CASE(limits_on_counts_and_string_sizes_are_enforced) {
  plan_limits tight;
  tight.max_steps = 1;
  tight.max_targets = 2;
  tight.max_argv = 2;
  tight.max_string = 8;
  auto j = minimal_plan();
  j["steps"].push_back({{"name", "t"}, {"executor", "noop"}});
  BOOST_TEST(must_fail(j.dump(), tight).field == "steps");
  j = minimal_plan();
  j["targets"] = {"a", "b", "c"};
  BOOST_TEST(must_fail(j.dump(), tight).message == "has 3 entries; the limit is 2");
  j = minimal_plan();
  j["steps"][0]["command"] = {"a", "b", "c"};
  BOOST_TEST(must_fail(j.dump(), tight).field == "steps[0].command");
  j["steps"][0]["command"] = {"123456789"};
  BOOST_TEST(must_fail(j.dump(), tight).field == "steps[0].command[0]");
}

// -- keys, estimates, modes ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sha256_hex_matches_the_known_vectors) {
  BOOST_TEST(sha256_hex("abc")
             == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(sha256_hex("")
             == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

BOOST_AUTO_TEST_CASE(idempotency_key_depends_on_plan_tenant_and_actor) {
  auto canonical = must_parse(full_plan().dump()).canonical_json;
  auto key = derive_idempotency_key(canonical, "acme", "alice");
  BOOST_TEST(key == sha256_hex(canonical + "acme" + "alice"));
  BOOST_TEST(key == derive_idempotency_key(canonical, "acme", "alice"));
  BOOST_TEST(key != derive_idempotency_key(canonical, "globex", "alice"));
  BOOST_TEST(key != derive_idempotency_key(canonical, "acme", "bob"));
  BOOST_TEST(key != derive_idempotency_key(canonical + " ", "acme", "alice"));
}

BOOST_AUTO_TEST_CASE(estimate_sums_shell_steps_times_targets) {
  auto p = must_parse(full_plan().dump()).value; // drain: 2000 ms x 2 targets, note: noop
  BOOST_TEST(estimate_duration_ms(p, 60000) == 4000);
  p.steps[0].timeout_ms = 0; // unset: the default per step
  BOOST_TEST(estimate_duration_ms(p, 3000) == 6000);
  p.steps[0].timeout_ms = std::numeric_limits<int64_t>::max();
  BOOST_TEST(estimate_duration_ms(p, 0) == std::numeric_limits<int64_t>::max());
  BOOST_TEST(!can_parallelize(p));
}

BOOST_AUTO_TEST_CASE(decide_mode_honours_forced_modes_and_the_10s_threshold) {
  auto p = must_parse(full_plan().dump()).value;
  p.steps[0].timeout_ms = 4999; // x 2 targets = 9998 ms
  BOOST_TEST((decide_mode(p, requested_mode::automatic, 0) == execution_mode::immediate));
  BOOST_TEST((decide_mode(p, requested_mode::background, 0) == execution_mode::background));
  p.steps[0].timeout_ms = 5000; // 10000 ms: not below the threshold
  BOOST_TEST((decide_mode(p, requested_mode::automatic, 0) == execution_mode::background));
  BOOST_TEST((decide_mode(p, requested_mode::immediate, 0) == execution_mode::immediate));
}

BOOST_AUTO_TEST_SUITE_END()
