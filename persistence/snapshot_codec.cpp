#include "persistence/snapshot_codec.hpp"

#include <msgpack.hpp>

#include "messages/errors.hpp"

namespace stagee {

namespace {

struct stored_run {
  int32_t step_index = 0;
  std::string step_name;
  std::string target;
  bool idempotent = false;
  std::string status;
  int32_t attempt = 0;
  bool has_exit_code = false;
  int32_t exit_code = 0;
  int32_t failures = 0;
  MSGPACK_DEFINE_MAP(step_index, step_name, target, idempotent, status, attempt,
                     has_exit_code, exit_code, failures)
};

struct stored_snapshot {
  int32_t schema_version = snapshot_schema_version;
  std::string execution_id;
  std::string status;
  std::string last_transition_from;
  std::string last_transition_by;
  int64_t last_seq = 0;
  int32_t cursor = 0;
  std::string error_class;
  std::string error_message;
  std::vector<stored_run> runs;
  int32_t max_attempts = 1;
  MSGPACK_DEFINE_MAP(schema_version, execution_id, status, last_transition_from,
                     last_transition_by, last_seq, cursor, error_class, error_message,
                     runs, max_attempts)
};

caf::error corrupt(const std::string& why) {
  return make_stagee_error(stagee_errc::internal, "state_snapshot",
                           "stored snapshot cannot be decoded: " + why);
}

} // namespace

std::string encode_snapshot(const execution_snapshot& s) {
  stored_snapshot out;
  out.execution_id = s.execution_id;
  out.status = to_string(s.status);
  out.last_transition_from = to_string(s.last_transition_from);
  out.last_transition_by = s.last_transition_by;
  out.last_seq = s.last_seq;
  out.cursor = s.cursor;
  out.error_class = s.error_class;
  out.error_message = s.error_message;
  for (auto& r : s.runs)
    out.runs.push_back(stored_run{r.step_index, r.step_name, r.target, r.idempotent,
                                  to_string(r.status), r.attempt, r.exit_code.has_value(),
                                  r.exit_code.value_or(0), r.failures});
  out.max_attempts = s.max_attempts;
  msgpack::sbuffer buf;
  msgpack::pack(buf, out);
  return std::string{buf.data(), buf.size()};
}

caf::expected<execution_snapshot> decode_snapshot(const std::string& bytes) {
  stored_snapshot in;
  try {
    auto handle = msgpack::unpack(bytes.data(), bytes.size());
    handle.get().convert(in);
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
  if (in.schema_version != snapshot_schema_version)
    return corrupt("schema_version " + std::to_string(in.schema_version) + " unknown");
  execution_snapshot s;
  s.execution_id = in.execution_id;
  if (!from_string(in.status, s.status)
      || !from_string(in.last_transition_from, s.last_transition_from))
    return corrupt("unknown status " + in.status);
  s.last_transition_by = in.last_transition_by;
  s.last_seq = in.last_seq;
  s.cursor = in.cursor;
  s.error_class = in.error_class;
  s.error_message = in.error_message;
  s.max_attempts = in.max_attempts;
  for (auto& r : in.runs) {
    step_run run;
    run.step_index = r.step_index;
    run.step_name = r.step_name;
    run.target = r.target;
    run.idempotent = r.idempotent;
    if (!from_string(r.status, run.status))
      return corrupt("unknown step status " + r.status);
    run.attempt = r.attempt;
    if (r.has_exit_code)
      run.exit_code = r.exit_code;
    run.failures = r.failures;
    s.runs.push_back(std::move(run));
  }
  return s;
}

nlohmann::json event_payload(const execution_event& ev) {
  nlohmann::json j{{"status", to_string(ev.status)},
                   {"from", to_string(ev.from)},
                   {"by", ev.by},
                   {"at_us", ev.at_us}};
  if (ev.run_index >= 0) {
    j["run_index"] = ev.run_index;
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

caf::expected<execution_event> event_from_row(const std::string& execution_id, int64_t seq,
                                              const std::string& kind,
                                              const std::string& payload_json) {
  execution_event ev;
  ev.execution_id = execution_id;
  ev.seq = seq;
  try {
    auto j = nlohmann::json::parse(payload_json);
    if (!from_string(kind, ev.kind) || !from_string(j.at("status").get<std::string>(), ev.status)
        || !from_string(j.at("from").get<std::string>(), ev.from))
      return corrupt("event " + std::to_string(seq) + " has unknown kind or status");
    ev.by = j.value("by", "");
    ev.at_us = j.value("at_us", int64_t{0});
    ev.run_index = j.value("run_index", -1);
    ev.step_name = j.value("step", "");
    ev.target = j.value("target", "");
    ev.attempt = j.value("attempt", 0);
    if (j.contains("exit_code"))
      ev.exit_code = j["exit_code"].get<int32_t>();
    ev.error_class = j.value("error_class", "");
    ev.message = j.value("message", "");
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
  return ev;
}

std::string to_hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xF];
  }
  return out;
}

} // namespace stagee
