/// The plan model: what upstream stages submit (R-SUB-1), after validation.
/// A plan is parsed and normalized at the gateway (actors/plan_codec.hpp); every other
/// actor only sees this struct.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace stagee {

enum class action_class : uint8_t { read, modify, deploy };
enum class sla_class : uint8_t { fast, medium, long_running };
enum class executor_kind : uint8_t { noop, shell };

std::string to_string(action_class x);
std::string to_string(sla_class x); // "fast" | "medium" | "long"
std::string to_string(executor_kind x);
bool from_string(const std::string& s, action_class& out);
bool from_string(const std::string& s, sla_class& out);
bool from_string(const std::string& s, executor_kind& out);

struct plan_step {
  std::string name;
  executor_kind executor = executor_kind::noop;
  std::vector<std::string> command;  // argv; never joined into a shell string
  std::vector<std::string> targets;  // effective targets (the plan's when omitted), sorted
  int64_t timeout_ms = 0;            // 0: the policy's step timeout
  bool idempotent = false;
  // Extra environment of the step's process. A value "secret:NAME" is a reference,
  // resolved just before the run (R-SAFE-4); so is "{{secret:NAME}}" inside argv.
  std::map<std::string, std::string> env;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_step& x) {
  return f(caf::meta::type_name("plan_step"), x.name, x.executor, x.command, x.targets,
           x.timeout_ms, x.idempotent, x.env);
}

struct plan {
  std::string name;
  std::string action;
  action_class action_cls = action_class::read;
  sla_class sla = sla_class::fast;
  std::string environment;
  std::vector<std::string> targets; // sorted, unique
  int32_t priority = 50;            // 0 urgent, 50 normal, 100 bulk
  std::string runbook_url;
  std::vector<plan_step> steps;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan& x) {
  return f(caf::meta::type_name("plan"), x.name, x.action, x.action_cls, x.sla,
           x.environment, x.targets, x.priority, x.runbook_url, x.steps);
}

} // namespace stagee
