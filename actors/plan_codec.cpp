#include "actors/plan_codec.hpp"

#include "actors/secret_box.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

namespace stagee {

namespace {

using json = nlohmann::json;
using error_opt = std::optional<plan_error>;

constexpr size_t max_depth = 16;      // the schema needs 4; deeper documents are refused
constexpr size_t max_name_chars = 200;
constexpr size_t max_action_len = 100;
constexpr size_t max_snippet = 40;    // bytes of a bad value quoted back in a message
constexpr int64_t max_timeout_ms = 86400000;

// -- small helpers -------------------------------------------------------------------

/// "steps[1]" + "name" -> "steps[1].name"; "" + "name" -> "name".
std::string field_of(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string{key} : parent + "." + std::string{key};
}

/// "targets" + 3 -> "targets[3]".
std::string index_of(const std::string& parent, size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

/// A bad value as quoted back to the client: escaped, truncated, never raw bytes.
std::string snippet(const json& v) {
  if (!v.is_string())
    return v.is_number() ? v.dump() : v.type_name();
  auto s = v.get_ref<const std::string&>();
  bool cut = s.size() > max_snippet;
  if (cut)
    s.resize(max_snippet);
  auto quoted = json(s).dump(-1, ' ', true, json::error_handler_t::replace);
  return cut ? quoted + "..." : quoted;
}

plan_error type_error(std::string field, const std::string& expected, const json& v) {
  return {std::move(field), "expected " + expected + ", got " + v.type_name()};
}

plan_error value_error(std::string field, const std::string& expected, const json& v) {
  return {std::move(field), "expected " + expected + ", got " + snippet(v)};
}

void append_hex(std::string& out, unsigned char byte) {
  static constexpr char digits[] = "0123456789abcdef";
  out += digits[byte >> 4];
  out += digits[byte & 0x0f];
}

/// `text` with control and non-ASCII bytes as \xNN (parser messages echo raw input).
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      append_hex(out, byte);
    }
  }
  return out;
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// ^[A-Za-z0-9][A-Za-z0-9<extra>]{0,max_len-1}$
bool matches(std::string_view s, std::string_view extra, size_t max_len) {
  if (s.empty() || s.size() > max_len || !is_alnum(s[0]))
    return false;
  return std::all_of(s.begin() + 1, s.end(), [extra](char c) {
    return is_alnum(c) || extra.find(c) != std::string_view::npos;
  });
}

bool is_control(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), is_control);
}

/// UTF-8 code points (the parser has already rejected ill-formed UTF-8).
size_t char_count(std::string_view s) {
  return static_cast<size_t>(std::count_if(
    s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool valid_plan_name(std::string_view s) {
  auto n = char_count(s);
  return n >= 1 && n <= max_name_chars && !has_control(s);
}

bool valid_action(std::string_view s) {
  return s.size() <= max_action_len && valid_identifier(s);
}

bool valid_step_name(std::string_view s) {
  return matches(s, "_.-", 64);
}

bool valid_url(std::string_view s) {
  auto starts = [s](std::string_view p) { return s.substr(0, p.size()) == p; };
  bool scheme = (starts("http://") && s.size() > 7) || (starts("https://") && s.size() > 8);
  return scheme && s.find(' ') == std::string_view::npos && !has_control(s);
}

// -- duplicate keys and nesting depth, detected while parsing ----------------------------

/// Thrown from the parser callback to stop parsing at the first structural problem.
struct structure_error {
  plan_error error;
};

/// Follows the JSON path during parsing: nlohmann silently keeps the last of
/// duplicate keys, so they are detected here, with the field they belong to.
class key_tracker {
public:
  bool on_event(json::parse_event_t ev, const json& parsed) {
    using ev_t = json::parse_event_t;
    if (ev == ev_t::object_start || ev == ev_t::array_start)
      open(ev == ev_t::array_start);
    else if (ev == ev_t::object_end || ev == ev_t::array_end)
      frames_.pop_back();
    else if (ev == ev_t::key)
      on_key(parsed.get_ref<const std::string&>());
    else if (!frames_.empty() && frames_.back().array)
      ++frames_.back().count; // a scalar array element
    return true;
  }

private:
  struct frame {
    bool array;
    std::string path;
    size_t count = 0;          // elements seen (arrays)
    std::set<std::string> keys; // keys seen (objects)
    std::string key;            // last key (objects)
  };

  void open(bool array) {
    if (frames_.size() >= max_depth)
      throw structure_error{
        {"", "JSON nested deeper than " + std::to_string(max_depth) + " levels"}};
    std::string path;
    if (!frames_.empty()) {
      auto& top = frames_.back();
      path = top.array ? index_of(top.path, top.count++) : field_of(top.path, top.key);
    }
    frames_.push_back(frame{array, std::move(path), 0, {}, {}});
  }

  void on_key(const std::string& key) {
    auto& top = frames_.back();
    if (!top.keys.insert(key).second)
      throw structure_error{{field_of(top.path, key), "duplicate key"}};
    top.key = key;
  }

  std::vector<frame> frames_;
};

// -- typed field readers ---------------------------------------------------------------

/// Refuses keys of `obj` not in `allowed`.
error_opt check_fields(const json& obj, const std::string& path,
                       std::initializer_list<std::string_view> allowed) {
  for (auto& kv : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), kv.key()) != allowed.end())
      continue;
    std::string list;
    for (auto a : allowed)
      list += (list.empty() ? "" : ", ") + std::string{a};
    return plan_error{field_of(path, kv.key()), "unknown field (allowed: " + list + ")"};
  }
  return std::nullopt;
}

/// The value of an optional field, or nullptr when absent.
const json* optional_field(const json& obj, const char* key) {
  auto i = obj.find(key);
  return i == obj.end() ? nullptr : &*i;
}

/// The value of a required field in `out`, or an error naming it.
error_opt required_field(const json& obj, const std::string& path, const char* key,
                         const json*& out) {
  out = optional_field(obj, key);
  if (!out)
    return plan_error{field_of(path, key), "required field is missing"};
  return std::nullopt;
}

/// Reads a string that must satisfy `valid` (described by `expected`).
template <class Pred>
error_opt read_text(const json& v, const std::string& field, const plan_limits& lim,
                    Pred valid, const std::string& expected, std::string& out) {
  if (!v.is_string())
    return type_error(field, expected, v);
  auto& s = v.get_ref<const std::string&>();
  if (s.size() > lim.max_string)
    return plan_error{field, "is " + std::to_string(s.size()) + " bytes; the limit is "
                               + std::to_string(lim.max_string)};
  if (!valid(s))
    return value_error(field, expected, v);
  out = s;
  return std::nullopt;
}

/// Reads an integer in [lo, hi].
template <class Int>
error_opt read_int(const json& v, const std::string& field, int64_t lo, int64_t hi, Int& out) {
  auto expected = "an integer " + std::to_string(lo) + ".." + std::to_string(hi);
  if (!v.is_number())
    return type_error(field, expected, v);
  bool too_big = v.is_number_unsigned()
                 && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (!v.is_number_integer() || too_big || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    return value_error(field, expected, v);
  out = static_cast<Int>(v.get<int64_t>());
  return std::nullopt;
}

error_opt read_bool(const json& v, const std::string& field, bool& out) {
  if (!v.is_boolean())
    return type_error(field, "a boolean", v);
  out = v.get<bool>();
  return std::nullopt;
}

/// Reads one of the names accepted by the enum's from_string().
template <class Enum>
error_opt read_enum(const json& v, const std::string& field, const std::string& expected,
                    Enum& out) {
  if (!v.is_string())
    return type_error(field, expected, v);
  if (!from_string(v.get_ref<const std::string&>(), out))
    return value_error(field, expected, v);
  return std::nullopt;
}

/// Checks that `v` is an array of at most `max` entries.
error_opt check_array(const json& v, const std::string& field, const std::string& expected,
                      size_t max) {
  if (!v.is_array())
    return type_error(field, expected, v);
  if (v.size() > max)
    return plan_error{field, "has " + std::to_string(v.size()) + " entries; the limit is "
                               + std::to_string(max)};
  return std::nullopt;
}

/// Reads a list of unique target references; `out` comes back sorted.
error_opt read_targets(const json& v, const std::string& field, const plan_limits& lim,
                       std::vector<std::string>& out) {
  if (auto e = check_array(v, field, "an array of target references", lim.max_targets))
    return e;
  std::set<std::string> seen;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string t;
    if (auto e = read_text(v[i], index_of(field, i), lim, valid_target_ref,
                           "a target reference ([A-Za-z0-9][A-Za-z0-9._:@/-]*, at most 253 "
                           "characters, no empty, '.' or '..' segments)",
                           t))
      return e;
    if (!seen.insert(t).second)
      return plan_error{index_of(field, i), "duplicate target " + snippet(v[i])};
  }
  out.assign(seen.begin(), seen.end());
  return std::nullopt;
}

/// Reads an argv: strings without NUL bytes, the first one non-empty.
error_opt read_command(const json& v, const std::string& field, const plan_limits& lim,
                       std::vector<std::string>& out) {
  if (auto e = check_array(v, field, "an array of strings", lim.max_argv))
    return e;
  auto no_nul = [](std::string_view s) { return s.find('\0') == std::string_view::npos; };
  out.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    if (auto e = read_text(v[i], index_of(field, i), lim, no_nul, "a string without NUL bytes",
                           out[i]))
      return e;
  if (!out.empty() && out[0].empty())
    return plan_error{index_of(field, 0), "the program name must not be empty"};
  return std::nullopt;
}

/// A step's environment: {"NAME": "value" | "secret:SECRET_NAME"}. Names are shell
/// variable names; STAGEE_* is ours.
error_opt read_env(const json& v, const std::string& field, const plan_limits& lim,
                   std::map<std::string, std::string>& out) {
  if (!v.is_object())
    return type_error(field, "an object of NAME: value strings", v);
  if (v.size() > lim.max_argv)
    return plan_error{field, "has " + std::to_string(v.size()) + " entries; the limit is "
                               + std::to_string(lim.max_argv)};
  auto valid_name = [](std::string_view n) {
    if (n.empty() || n.size() > 128 || std::isdigit(static_cast<unsigned char>(n[0])))
      return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
  };
  auto no_nul = [](std::string_view s) { return s.find('\0') == std::string_view::npos; };
  for (auto& [name, value] : v.items()) {
    auto f = field_of(field, name.c_str());
    if (!valid_name(name))
      return plan_error{f, "not an environment variable name ([A-Za-z_][A-Za-z0-9_]*, at most "
                           "128 characters)"};
    if (name.rfind("STAGEE_", 0) == 0)
      return plan_error{f, "STAGEE_* variables are set by the runtime"};
    if (auto e = read_text(value, f, lim, no_nul, "a string without NUL bytes", out[name]))
      return e;
  }
  return std::nullopt;
}

/// Secret references must name valid secrets: "secret:NAME" env values and
/// "{{secret:NAME}}" in argv (never the values themselves, R-SAFE-4).
error_opt check_secret_refs(const plan_step& s, const std::string& path) {
  try {
    secrets::refs_in(std::vector<std::pair<std::string, std::string>>(s.env.begin(),
                                                                      s.env.end()),
                     s.command);
  } catch (const std::invalid_argument& e) {
    return plan_error{path, e.what()};
  }
  return std::nullopt;
}

// -- the plan schema ---------------------------------------------------------------

/// Reads the executor-dependent and optional fields of a step.
error_opt read_step_options(const json& s, const std::string& path, const plan_limits& lim,
                            plan_step& out) {
  bool shell = out.executor == executor_kind::shell;
  auto* cmd = optional_field(s, "command");
  if (!cmd && shell)
    return plan_error{field_of(path, "command"), "required field is missing (shell needs an argv)"};
  if (cmd)
    if (auto e = read_command(*cmd, field_of(path, "command"), lim, out.command))
      return e;
  if (shell && out.command.empty())
    return plan_error{field_of(path, "command"), "must not be empty for the shell executor"};
  if (auto* f = optional_field(s, "timeout_ms"))
    if (auto e = read_int(*f, field_of(path, "timeout_ms"), 1, max_timeout_ms, out.timeout_ms))
      return e;
  if (auto* f = optional_field(s, "env"))
    if (auto e = read_env(*f, field_of(path, "env"), lim, out.env))
      return e;
  if (auto e = check_secret_refs(out, path))
    return e;
  if (auto* f = optional_field(s, "idempotent"))
    return read_bool(*f, field_of(path, "idempotent"), out.idempotent);
  return std::nullopt;
}

/// Reads one step; its targets default to the plan's.
error_opt read_step(const json& s, const std::string& path, const plan_limits& lim,
                    const std::vector<std::string>& plan_targets, plan_step& out) {
  if (!s.is_object())
    return type_error(path, "a step object", s);
  if (auto e = check_fields(s, path, {"command", "env", "executor", "idempotent", "name",
                                      "targets", "timeout_ms"}))
    return e;
  const json* v = nullptr;
  if (auto e = required_field(s, path, "name", v))
    return e;
  if (auto e = read_text(*v, field_of(path, "name"), lim, valid_step_name,
                         "a step name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters)",
                         out.name))
    return e;
  if (auto e = required_field(s, path, "executor", v))
    return e;
  if (auto e = read_enum(*v, field_of(path, "executor"), "one of \"shell\", \"noop\"",
                         out.executor))
    return e;
  if (auto e = read_step_options(s, path, lim, out))
    return e;
  out.targets = plan_targets;
  if (auto* f = optional_field(s, "targets"))
    if (auto e = read_targets(*f, field_of(path, "targets"), lim, out.targets))
      return e;
  if (out.targets.empty())
    return plan_error{field_of(path, "targets"),
                      "no targets (set the step's or the plan's targets)"};
  return std::nullopt;
}

error_opt read_steps(const json& v, const plan_limits& lim, plan& out) {
  if (auto e = check_array(v, "steps", "a non-empty array of steps", lim.max_steps))
    return e;
  if (v.empty())
    return plan_error{"steps", "expected a non-empty array of steps, got an empty array"};
  std::set<std::string> names;
  out.steps.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    auto path = index_of("steps", i);
    if (auto e = read_step(v[i], path, lim, out.targets, out.steps[i]))
      return e;
    if (!names.insert(out.steps[i].name).second)
      return plan_error{field_of(path, "name"),
                        "duplicate step name " + snippet(v[i]["name"])};
  }
  return std::nullopt;
}

/// Reads the identity fields: name, action, classes, environment.
error_opt read_header(const json& doc, const plan_limits& lim, plan& out) {
  const json* v = nullptr;
  if (auto e = required_field(doc, "", "name", v))
    return e;
  if (auto e = read_text(*v, "name", lim, valid_plan_name,
                         "a string of 1..200 characters without control characters", out.name))
    return e;
  if (auto e = required_field(doc, "", "action", v))
    return e;
  if (auto e = read_text(*v, "action", lim, valid_action,
                         "an identifier ([A-Za-z0-9][A-Za-z0-9._@:-]*, at most 100 characters)",
                         out.action))
    return e;
  if (auto e = required_field(doc, "", "action_class", v))
    return e;
  if (auto e = read_enum(*v, "action_class", "one of \"read\", \"modify\", \"deploy\"",
                         out.action_cls))
    return e;
  if (auto e = required_field(doc, "", "sla_class", v))
    return e;
  if (auto e = read_enum(*v, "sla_class", "one of \"fast\", \"medium\", \"long\"", out.sla))
    return e;
  if (auto e = required_field(doc, "", "environment", v))
    return e;
  return read_text(*v, "environment", lim, valid_identifier,
                   "an identifier ([A-Za-z0-9][A-Za-z0-9._@:-]*, at most 128 characters)",
                   out.environment);
}

error_opt read_plan(const json& doc, const plan_limits& lim, plan& out) {
  if (auto e = check_fields(doc, "", {"action", "action_class", "environment", "name",
                                      "priority", "runbook_url", "sla_class", "steps",
                                      "targets"}))
    return e;
  if (auto e = read_header(doc, lim, out))
    return e;
  const json* v = nullptr;
  if (auto* f = optional_field(doc, "targets"))
    if (auto e = read_targets(*f, "targets", lim, out.targets))
      return e;
  if (auto* f = optional_field(doc, "priority"))
    if (auto e = read_int(*f, "priority", 0, 100, out.priority))
      return e;
  if (auto* f = optional_field(doc, "runbook_url"))
    if (auto e = read_text(*f, "runbook_url", lim, valid_url,
                           "an http:// or https:// URL without spaces or control characters",
                           out.runbook_url))
      return e;
  if (auto e = required_field(doc, "", "steps", v))
    return e;
  return read_steps(*v, lim, out);
}

/// Parses the text into a DOM, refusing malformed JSON, duplicate keys, deep nesting.
error_opt parse_document(std::string_view text, json& out) {
  key_tracker tracker;
  auto cb = [&tracker](int, json::parse_event_t ev, json& parsed) {
    return tracker.on_event(ev, parsed);
  };
  try {
    out = json::parse(text.begin(), text.end(), cb);
  } catch (const structure_error& e) {
    return e.error;
  } catch (const json::parse_error& e) {
    std::string_view what = e.what(); // "[json.exception.parse_error.101] parse error at..."
    auto pos = what.find("] ");
    return plan_error{"", "malformed JSON: "
                            + printable(pos == what.npos ? what : what.substr(pos + 2))};
  }
  if (!out.is_object())
    return plan_error{"", std::string{"expected a JSON object at the top level, got "}
                            + out.type_name()};
  return std::nullopt;
}

json step_to_json(const plan_step& s) {
  auto targets = s.targets;
  std::sort(targets.begin(), targets.end());
  json j{{"name", s.name},         {"executor", to_string(s.executor)},
         {"command", s.command},   {"targets", targets},
         {"idempotent", s.idempotent}};
  if (s.timeout_ms != 0)
    j["timeout_ms"] = s.timeout_ms;
  if (!s.env.empty())
    j["env"] = s.env; // keys sorted (std::map): canonical
  return j;
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

} // namespace

plan_result parse_plan(std::string_view text, const plan_limits& limits) {
  if (text.size() > limits.max_bytes)
    return plan_error{"", "plan is " + std::to_string(text.size()) + " bytes; the limit is "
                            + std::to_string(limits.max_bytes), true};
  try {
    json doc;
    if (auto e = parse_document(text, doc))
      return *e;
    parsed_plan result;
    if (auto e = read_plan(doc, limits, result.value))
      return *e;
    result.canonical_json = canonical_json(result.value);
    result.plan_hash = sha256_hex(result.canonical_json);
    return result;
  } catch (const std::exception& e) { // bad_alloc or a codec bug: never escapes
    return plan_error{"", std::string{"internal error while reading the plan: "} + e.what()};
  }
}

std::string canonical_json(const plan& p) {
  auto targets = p.targets;
  std::sort(targets.begin(), targets.end());
  json steps = json::array();
  for (auto& s : p.steps)
    steps.push_back(step_to_json(s));
  json j{{"name", p.name},
         {"action", p.action},
         {"action_class", to_string(p.action_cls)},
         {"sla_class", to_string(p.sla)},
         {"environment", p.environment},
         {"targets", targets},
         {"priority", p.priority},
         {"steps", std::move(steps)}};
  if (!p.runbook_url.empty())
    j["runbook_url"] = p.runbook_url;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    return {};
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i)
    append_hex(out, md[i]);
  return out;
}

std::string derive_idempotency_key(const std::string& canonical, const std::string& tenant_id,
                                   const std::string& actor_id) {
  return sha256_hex(canonical + tenant_id + actor_id);
}

int64_t estimate_duration_ms(const plan& p, int64_t default_step_ms) {
  int64_t total = 0;
  for (auto& s : p.steps) {
    if (s.executor == executor_kind::noop)
      continue;
    auto per_run = std::max<int64_t>(0, s.timeout_ms > 0 ? s.timeout_ms : default_step_ms);
    auto runs = static_cast<int64_t>(s.targets.size());
    total = saturating_add(total, saturating_mul(per_run, runs));
  }
  return total;
}

bool can_parallelize(const plan&) {
  return false;
}

std::string timeout_policy_id(const plan& p) {
  return to_string(p.sla) + "_" + to_string(p.action_cls);
}

execution_mode decide_mode(const plan& p, requested_mode requested, int64_t default_step_ms) {
  switch (requested) {
    case requested_mode::immediate:
      return execution_mode::immediate;
    case requested_mode::background:
      return execution_mode::background;
    case requested_mode::automatic:
      break;
  }
  return estimate_duration_ms(p, default_step_ms) < immediate_threshold_ms
           ? execution_mode::immediate
           : execution_mode::background;
}

bool valid_identifier(std::string_view s) {
  return matches(s, "._@:-", 128);
}

bool valid_target_ref(std::string_view s) {
  if (!matches(s, "._:@/-", 253))
    return false;
  for (size_t begin = 0; begin <= s.size();) {
    auto end = std::min(s.find('/', begin), s.size());
    auto seg = s.substr(begin, end - begin);
    if (seg.empty() || seg == "." || seg == "..")
      return false;
    begin = end + 1;
  }
  return true;
}

} // namespace stagee
