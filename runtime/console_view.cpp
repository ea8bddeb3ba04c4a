#include "runtime/console_view.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "runtime/json_view.hpp"

namespace stagee {

namespace {

using json = nlohmann::json;

/// The value at a '/'-separated key, or null.
const json& at_key(const json& obj, const std::string& key) {
  static const json null_value;
  const json* cur = &obj;
  std::stringstream parts{key};
  for (std::string part; std::getline(parts, part, '/');) {
    if (!cur->is_object() || !cur->contains(part))
      return null_value;
    cur = &(*cur)[part];
  }
  return *cur;
}

/// Display width of UTF-8 text (code points; good enough for ids and names).
size_t width_of(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

/// Cuts s to at most max code points, ending in "..." when cut.
std::string fit(const std::string& s, size_t max) {
  if (width_of(s) <= max || max < 4)
    return s;
  std::string out;
  size_t n = 0;
  for (char c : s) {
    bool lead = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (lead && ++n > max - 3)
      break;
    out += c;
  }
  return out + "...";
}

} // namespace

json to_json(const execution_probe& e) {
  if (e.hidden)
    return {{"hidden", true}, {"status", to_string(e.status)}, {"immediate", e.immediate}};
  return {{"execution_id", e.execution_id},
          {"tenant_id", e.tenant_id},
          {"status", to_string(e.status)},
          {"step", e.step},
          {"step_index", e.step_index},
          {"target", e.target},
          {"attempt", e.attempt},
          {"fence", e.fence},
          {"lease_expires_in_ms", e.lease_expires_in_ms},
          {"immediate", e.immediate}};
}

json to_json(const actor_view& v) {
  json execs = json::array();
  for (auto& e : v.probe.executions)
    execs.push_back(to_json(e));
  return {{"id", v.id},
          {"kind", v.kind},
          {"name", v.name},
          {"age_ms", v.age_ms},
          {"answered", v.answered},
          {"state", v.probe.state},
          {"mailbox", v.answered ? json(v.probe.mailbox) : json()},
          {"details", v.probe.details},
          {"executions", execs}};
}

json to_json(const node_inspection& n) {
  json actors = json::array();
  for (auto& a : n.actors)
    actors.push_back(to_json(a));
  return {{"node", n.node},
          {"node_id", n.node_id},
          {"uptime_ms", n.uptime_ms},
          {"capacity", n.capacity},
          {"load", n.load},
          {"scheduler_threads", n.scheduler_threads},
          {"caf_running_actors", n.caf_running_actors},
          {"actors", actors}};
}

json to_json(const timer_list& t) {
  json timers = json::array();
  for (auto& x : t.timers)
    timers.push_back(x.hidden ? json{{"hidden", true}, {"kind", x.kind}, {"due_in_ms", x.due_in_ms}}
                              : json{{"execution_id", x.execution_id},
                                     {"kind", x.kind},
                                     {"due_in_ms", x.due_in_ms}});
  return {{"node", t.node}, {"timers", timers}};
}

json to_json(const node_stats& s) {
  auto opt = [](int64_t v) { return v < 0 ? json() : json(v); }; // -1: database unavailable
  return {{"node", s.node},
          {"running", s.running},
          {"capacity", s.capacity},
          {"executions_per_s_10s", static_cast<double>(s.finished_10s) / 10.0},
          {"executions_per_s_60s", static_cast<double>(s.finished_60s) / 60.0},
          {"finished_total", s.finished_total},
          {"queue_depth", opt(s.queue_depth)},
          {"locks_held", opt(s.locks_held)},
          {"mailbox_max", s.mailbox_max},
          {"mailbox_max_actor", s.mailbox_max_actor},
          {"actors", s.actors},
          {"unanswered", s.unanswered}};
}

json to_json(const execution_list& l) {
  json rows = json::array();
  for (auto& r : l.rows)
    rows.push_back({{"execution_id", r.execution_id},
                    {"tenant_id", r.tenant_id},
                    {"plan", r.plan_name},
                    {"status", to_string(r.status)},
                    {"mode", to_string(r.mode)},
                    {"node", r.node},
                    {"step", r.step},
                    {"step_index", r.step_index},
                    {"target", r.target},
                    {"fence", r.fence},
                    {"lease_owner", r.lease_owner},
                    {"lease_expires_at", r.lease_expires_at},
                    {"created_at", r.created_at},
                    {"updated_at", r.updated_at}});
  return {{"executions", rows}, {"more", l.more}};
}

json to_json(const queue_list& l) {
  json rows = json::array();
  for (auto& r : l.rows)
    rows.push_back({{"execution_id", r.execution_id},
                    {"priority", r.priority},
                    {"status", to_string(r.status)},
                    {"enqueued_at", r.enqueued_at},
                    {"visible_at", r.visible_at},
                    {"lease_owner", r.lease_owner},
                    {"lease_expires_at", r.lease_expires_at},
                    {"fence", r.fence},
                    {"attempts", r.attempts},
                    {"blocked_by", r.blocked_by}});
  return {{"queue", rows}, {"more", l.more}};
}

json to_json(const journal_page& p) {
  json events = json::array();
  for (auto& e : p.events)
    events.push_back(to_json(e));
  return {{"events", events}, {"more", p.more}};
}

std::string cell_text(const json& v) {
  if (v.is_null())
    return "-";
  if (v.is_boolean())
    return v.get<bool>() ? "yes" : "no";
  if (v.is_number_float()) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.2f", v.get<double>());
    return buf;
  }
  if (!v.is_string())
    return v.dump();
  auto s = v.get<std::string>();
  if (s.empty())
    return "-";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80
               && static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      out += '?'; // U+0080..U+009F: C1 controls (CSI is one of them)
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string render_table(const json& rows, const std::vector<column>& cols) {
  if (!rows.is_array() || rows.empty())
    return "(none)\n";
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> widths;
  for (auto& c : cols)
    widths.push_back(width_of(c.title));
  for (auto& row : rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < cols.size(); ++i) {
      line.push_back(fit(cell_text(at_key(row, cols[i].key)), cols[i].max_width));
      widths[i] = std::max(widths[i], width_of(line.back()));
    }
    cells.push_back(std::move(line));
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& line) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size())
        text += std::string(widths[i] - width_of(line[i]) + 2, ' ');
    }
    out += text + "\n";
  };
  std::vector<std::string> header;
  for (auto& c : cols)
    header.push_back(c.title);
  emit(header);
  for (auto& line : cells)
    emit(line);
  return out;
}

std::string render_fields(const json& obj, const std::vector<column>& fields) {
  size_t w = 0;
  for (auto& f : fields)
    w = std::max(w, width_of(f.title));
  std::string out;
  for (auto& f : fields)
    out += f.title + ":" + std::string(w - width_of(f.title) + 1, ' ')
           + fit(cell_text(at_key(obj, f.key)), std::max<size_t>(f.max_width, 80)) + "\n";
  return out;
}

std::string human_ms(int64_t ms) {
  char buf[32];
  auto neg = ms < 0;
  auto a = neg ? -ms : ms;
  if (a < 1000)
    snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(a));
  else if (a < 60000)
    snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(a) / 1000.0);
  else if (a < 3600000)
    snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(a / 60000),
             static_cast<long long>((a / 1000) % 60));
  else
    snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(a / 3600000),
             static_cast<long long>((a / 60000) % 60));
  return (neg ? "-" : "") + std::string{buf};
}

} // namespace stagee
