#include "runtime/console_args.hpp"

#include <algorithm>

namespace stagee {

namespace {

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// A word as shown in an error: control bytes as '?', cut at 40 bytes (on a UTF-8
// boundary), so that a hostile or huge word cannot flood or drive the terminal.
std::string shown(const std::string& s) {
  constexpr size_t max = 40;
  size_t n = s.size() <= max ? s.size() : max;
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n; // s[n] continues a character: cut before that character
  std::string out = s.substr(0, n);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      c = '?';
  return n < s.size() ? out + "..." : out;
}

std::string backticked(const std::string& s) {
  return "`" + shown(s) + "`";
}

// "a", "a and b", "a, b and c" (joiner "or" for alternatives).
std::string listed(const std::vector<std::string>& xs, const char* joiner = "and") {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += i + 1 == xs.size() ? std::string(" ") + joiner + " " : ", ";
    out += xs[i];
  }
  return out;
}

std::string option_usage(const option_spec& o) {
  return "--" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
}

// "it takes --kind K" / "it takes --kind K or --all" / "`show` takes no options".
std::string options_taken(const command_spec& spec) {
  if (spec.options.empty())
    return backticked(spec.name) + " takes no options";
  std::vector<std::string> xs;
  for (auto& o : spec.options)
    xs.push_back(option_usage(o));
  return "it takes " + listed(xs, "or");
}

parsed_args failed(parsed_args r, std::string error) {
  r.error = std::move(error);
  return r;
}

} // namespace

tokenized tokenize(const std::string& line) {
  tokenized r;
  if (line.find('\0') != std::string::npos) {
    r.error = "the line contains a NUL byte";
    return r;
  }
  std::string word;
  bool in_word = false; // also true for an empty quoted word
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (blank(c)) {
      if (in_word)
        r.words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 == line.size()) {
        r.error = "the line ends with a backslash (nothing for it to escape)";
        break;
      }
      word += line[++i];
    } else if (c == '\'' || c == '"') {
      size_t open = i;
      for (++i; i < line.size() && line[i] != c; ++i) {
        if (c == '"' && line[i] == '\\' && i + 1 < line.size()
            && (line[i + 1] == '"' || line[i + 1] == '\\'))
          ++i;
        word += line[i];
      }
      if (i == line.size()) {
        r.error = std::string("unterminated ") + (c == '"' ? "double" : "single")
                  + " quote: the " + c + " at column " + std::to_string(open + 1)
                  + " is never closed";
        break;
      }
    } else {
      word += c;
    }
  }
  if (!r.error.empty())
    r.words.clear();
  else if (in_word)
    r.words.push_back(std::move(word));
  return r;
}

std::string parsed_args::value(const std::string& option, const std::string& fallback) const {
  auto i = options.find(option);
  return i != options.end() ? i->second : fallback;
}

parsed_args parse_args(const command_spec& spec, const std::vector<std::string>& args) {
  parsed_args r;
  r.command = spec.name;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_ended || a.size() < 2 || a[0] != '-') {
      r.positionals.push_back(a);
      continue;
    }
    if (a == "--") {
      options_ended = true;
      continue;
    }
    size_t eq = a.find('=');
    std::string name = a.compare(0, 2, "--") == 0 ? a.substr(2, eq - 2) : "";
    auto o = std::find_if(spec.options.begin(), spec.options.end(),
                          [&](const option_spec& x) { return !name.empty() && x.name == name; });
    if (o == spec.options.end()) {
      std::string shown_option = shown(eq == std::string::npos ? a : a.substr(0, eq));
      if (spec.options.empty())
        return failed(r, "unknown option " + shown_option + ": " + options_taken(spec));
      return failed(r, "unknown option " + shown_option + " for " + backticked(spec.name) + "; "
                         + options_taken(spec));
    }
    if (r.options.count(name))
      return failed(r, "--" + name + " is given twice");
    std::string value;
    if (o->value_name.empty()) {
      if (eq != std::string::npos)
        return failed(r, "--" + name + " is a flag: it takes no value");
    } else if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (i + 1 < args.size() && args[i + 1].compare(0, 2, "--") != 0) {
      value = args[++i];
    } else {
      return failed(r, "--" + name + " needs a value (" + option_usage(*o) + ")");
    }
    r.options.emplace(name, std::move(value));
  }
  size_t n = r.positionals.size();
  if (n < spec.required)
    return failed(r, backticked(spec.name) + " needs "
                       + (n < spec.positionals.size() ? spec.positionals[n] : "more arguments"));
  if (n > spec.positionals.size()) {
    std::string extra = backticked(r.positionals[spec.positionals.size()]);
    if (spec.positionals.empty())
      return failed(r, backticked(spec.name) + " takes no arguments (got " + extra + ")");
    return failed(r, "too many arguments for " + backticked(spec.name) + " (got " + extra
                       + "); it takes " + listed(spec.positionals));
  }
  return r;
}

parsed_args parse_line(const std::string& line, const std::vector<command_spec>& commands) {
  parsed_args r;
  tokenized t = tokenize(line);
  if (!t.error.empty())
    return failed(r, t.error);
  if (t.words.empty())
    return r;
  auto spec = std::find_if(commands.begin(), commands.end(),
                           [&](const command_spec& c) { return c.name == t.words[0]; });
  if (spec == commands.end())
    return failed(r, "unknown command " + backticked(t.words[0]));
  return parse_args(*spec, std::vector<std::string>(t.words.begin() + 1, t.words.end()));
}

} // namespace stagee
