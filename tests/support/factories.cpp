#include "tests/support/factories.hpp"

#include <random>
#include <stdexcept>

#include "actors/execution_fsm.hpp"
#include "actors/plan_codec.hpp"

namespace stagee::test {

std::string plan_json(const std::string& name, const std::string& targets,
                      const std::string& executor) {
  return R"({"name":")" + name
         + R"(","action":"check","action_class":"read","sla_class":"fast",)"
           R"("environment":"staging","targets":)"
         + targets + R"(,"steps":[{"name":"s1","executor":")" + executor
         + R"(","command":["true"]},{"name":"s2","executor":")" + executor
         + R"(","command":["true"]}]})";
}

std::string random_uuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  char buf[37];
  snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
           static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFF),
           static_cast<unsigned>(0x8000 | ((lo >> 48) & 0x3FFF)),
           static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

admit_request admission(const std::string& json, const std::string& tenant,
                        const std::string& principal, execution_mode mode,
                        const std::string& key) {
  auto parsed = parse_plan(json);
  if (auto err = std::get_if<plan_error>(&parsed))
    throw std::invalid_argument("factory plan invalid: " + err->field + ": " + err->message);
  auto& pp = std::get<parsed_plan>(parsed);
  admit_request ar;
  auto& rec = ar.record;
  rec.execution_id = random_uuid();
  rec.tenant_id = tenant;
  rec.actor_id = principal;
  rec.plan_hash = pp.plan_hash;
  rec.idempotency_key = key.empty()
                          ? derive_idempotency_key(pp.canonical_json, tenant, principal)
                          : key;
  rec.mode = mode;
  rec.step_timeout_ms = 5000;
  rec.frozen_plan = pp.value;
  auto tr = admit(initial_snapshot(rec.execution_id, rec.frozen_plan), mode,
                  "principal:" + principal, 1);
  rec.snapshot = tr.next;
  ar.events = tr.events;
  ar.canonical_json = pp.canonical_json;
  ar.execution_timeout_ms = 10000;
  ar.timeout_policy_id = "fast_read";
  rec.request_id = "req-" + rec.execution_id.substr(0, 8);
  if (mode == execution_mode::immediate) {
    ar.node = "test-node";
    ar.lease = lease_sizing{60000, 0};
    rec.fence = 1;
  }
  return ar;
}

} // namespace stagee::test
