#include "runtime/json_view.hpp"

#include "messages/errors.hpp"

namespace stagee {

using json = nlohmann::json;

namespace {

json exit_code_json(const std::optional<int32_t>& x) {
  return x ? json(*x) : json(nullptr);
}

} // namespace

json to_json(const submit_reply& r) {
  return json{{"execution_id", r.execution_id}, {"status", to_string(r.status)},
              {"plan_hash", r.plan_hash},       {"mode", to_string(r.mode)},
              {"duplicate", r.duplicate}};
}

json to_json(const status_reply& r) {
  json steps = json::array();
  for (auto& s : r.steps)
    steps.push_back(json{{"name", s.name},
                         {"target", s.target},
                         {"status", to_string(s.status)},
                         {"exit_code", exit_code_json(s.exit_code)},
                         {"attempt", s.attempt}});
  json j{{"execution_id", r.execution_id}, {"status", to_string(r.status)},
         {"plan_hash", r.plan_hash},       {"mode", to_string(r.mode)},
         {"tenant_id", r.tenant_id},       {"timed_out", r.timed_out},
         {"steps", steps}};
  if (!r.error_class.empty())
    j["error_class"] = r.error_class;
  if (!r.error_message.empty())
    j["error_message"] = r.error_message;
  if (!r.worker_id.empty())
    j["worker_id"] = r.worker_id;
  if (!r.deadline_at.empty())
    j["deadline_at"] = r.deadline_at;
  if (r.lock_waits > 0)
    j["lock_waits"] = r.lock_waits;
  if (!r.blocked_by.empty())
    j["waiting_for_lock"] = r.blocked_by;
  if (!r.cancel_requested_by.empty())
    j["cancel_requested_by"] = r.cancel_requested_by;
  return j;
}

json to_json(const cancel_reply& r) {
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return json{{"execution_id", r.execution_id},   {"status", to_string(r.status)},
              {"cancelled", r.status == execution_status::cancelled},
              {"cancelled_by", opt(r.cancelled_by)}, {"cancelled_at", opt(r.cancelled_at)},
              {"requested_by", opt(r.requested_by)}, {"requested_at", opt(r.requested_at)},
              {"reason", opt(r.reason)}};
}

json to_json(const approve_reply& r) {
  json j{{"execution_id", r.execution_id}, {"status", to_string(r.status)},
         {"approval_level", r.level},      {"decided_by", r.decided_by},
         {"plan_hash", r.plan_hash}};
  if (!r.step.empty())
    j["step"] = r.step;
  return j;
}

json to_json(const lock_list& l) {
  json locks = json::array();
  for (auto& v : l.locks)
    locks.push_back(json{{"key", v.key},
                         {"tenant_id", v.tenant_id},
                         {"target", v.target},
                         {"action", v.action},
                         {"execution_id", v.execution_id},
                         {"node", v.node},
                         {"fence", v.fence},
                         {"acquired_at", v.acquired_at},
                         {"expires_at", v.expires_at},
                         {"expires_in_ms", v.expires_in_ms}});
  return json{{"locks", locks}};
}

json to_json(const cluster_status& s) {
  json members = json::array();
  for (auto& m : s.members)
    members.push_back(json{{"name", m.name},
                           {"state", m.state},
                           {"link", m.link},
                           {"address", m.address},
                           {"node_id", m.node_id},
                           {"capacity", m.capacity},
                           {"load", m.load},
                           {"leases_held", m.leases_held},
                           {"locks_held", m.locks_held},
                           {"started_at", m.started_at},
                           {"last_seen_ms", m.last_seen_ms},
                           {"tls", m.tls}});
  return json{{"node", s.node}, {"members", members}};
}

json to_json(const execution_event& ev) {
  json j{{"event", to_string(ev.kind)}, {"execution_id", ev.execution_id},
         {"seq", ev.seq},               {"status", to_string(ev.status)},
         {"from", to_string(ev.from)},  {"by", ev.by},
         {"at_us", ev.at_us}};
  if (ev.run_index >= 0) {
    j["step"] = ev.step_name;
    j["target"] = ev.target;
    j["attempt"] = ev.attempt;
  }
  if (ev.exit_code)
    j["exit_code"] = *ev.exit_code;
  if (!ev.error_class.empty())
    j["error_class"] = ev.error_class;
  if (!ev.message.empty())
    j["message"] = ev.message;
  return j;
}

json to_json(const dlq_entry& e) {
  json j{{"id", e.id},
         {"execution_id", e.execution_id},
         {"tenant_id", e.tenant_id},
         {"action", e.action},
         {"error_class", e.error_class},
         {"failure_reason", e.failure_reason},
         {"attempts", e.attempts},
         {"moved_at", e.moved_at},
         {"archived_at", e.archived_at.empty() ? json(nullptr) : json(e.archived_at)},
         {"requeued_as", e.requeued_as.empty() ? json(nullptr) : json(e.requeued_as)}};
  if (!e.history_json.empty())
    j["history"] = json::parse(e.history_json, nullptr, false);
  return j;
}

json to_json(const dlq_page& p) {
  json entries = json::array();
  for (auto& e : p.entries)
    entries.push_back(to_json(e));
  return json{{"entries", entries},
              {"next_before_id", p.next_before_id == 0 ? json(nullptr) : json(p.next_before_id)}};
}

json to_json(const dlq_summary& s) {
  json rows = json::array();
  for (auto& r : s.by_error_class)
    rows.push_back(json{{"error_class", r.error_class},
                        {"count", r.count},
                        {"latest_reason", r.failure_reason}});
  return json{{"open", s.open}, {"by_error_class", rows}};
}

json error_json(const std::string& code, const std::string& message,
                const std::string& field) {
  json e{{"code", code}, {"message", message}};
  if (!field.empty())
    e["field"] = field;
  return json{{"error", e}};
}

json error_json(const caf::error& err) {
  auto d = describe(err);
  return error_json(d.code, d.message, d.field);
}

} // namespace stagee
