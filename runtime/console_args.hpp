/// Command lines of `stagee console`: split into words as a shell would (quotes and
/// backslashes, nothing expanded), then checked against what each command takes.
/// Nothing here throws on bad input: every result carries an error string that
/// names the problem, ready to show the user.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace stagee {

struct tokenized {
  std::vector<std::string> words;
  std::string error; // non-empty: words are meaningless
};

/// Blanks (space, tab, CR, LF) separate words. 'single quotes' keep everything;
/// "double quotes" keep everything but \" and \\ (a backslash before them is
/// dropped); elsewhere a backslash keeps the next byte. Quoted parts join their
/// neighbours ("a"'b'c is one word abc; '' is an empty word). Bytes >= 0x80 are
/// never blanks, so UTF-8 passes through. Errors: an unterminated quote, a line
/// ending in a backslash, a NUL byte.
tokenized tokenize(const std::string& line);

struct option_spec {
  std::string name;       // without the dashes: "kind"
  std::string value_name; // "K": takes a value (--kind K or --kind=K); empty: a flag
};

/// What one console command takes.
struct command_spec {
  std::string name;                     // "actors"
  std::vector<std::string> positionals; // what each is, in order: "an execution id"
  size_t required = 0;                  // how many of them must be given
  std::vector<option_spec> options;
};

struct parsed_args {
  std::string command;                        // spec name; empty for a blank line
  std::vector<std::string> positionals;
  std::map<std::string, std::string> options; // name -> value ("" for a flag)
  std::string error;                          // non-empty: the rest is meaningless

  bool ok() const { return error.empty(); }
  bool has(const std::string& option) const { return options.count(option) > 0; }
  std::string value(const std::string& option, const std::string& fallback = {}) const;
};

/// Checks the words after the command name against spec. Options may come
/// anywhere; "--" ends them (a later "--x" is positional). Errors name the command
/// and the option: unknown (with the ones it takes), missing or unwanted value,
/// given twice; and positionals missing or in excess.
parsed_args parse_args(const command_spec& spec, const std::vector<std::string>& args);

/// A whole line: tokenized, its first word looked up among commands, the rest
/// parsed. A blank line gives an empty command and no error.
parsed_args parse_line(const std::string& line, const std::vector<command_spec>& commands);

} // namespace stagee
