/// Line input for `stagee console`. On a terminal: libedit's readline emulation
/// (editing, history kept in a file, tab completion from a completer). Otherwise
/// (`echo cmds | stagee console`, or stdout redirected): plain lines from stdin,
/// no prompt, no history.
///
/// readline keeps global state, so only one line_editor may exist at a time (the
/// constructor throws std::logic_error for a second one). Use it from one thread.
///
/// While it exists, SIGINT does not end the program: at the prompt (terminal) it
/// discards the line being typed and shows a fresh prompt; otherwise it only sets
/// interrupted(), which a long-running command (e.g. `tail`) polls to stop early.
/// The signal may land on any thread (CAF's too): it is forwarded to the one
/// blocked in read(). libedit's own signal handlers are off (not safe with threads).
/// On a terminal, LC_CTYPE is the environment's (C.UTF-8 if that is not UTF-8)
/// while the editor exists: libedit drops non-ASCII input in the "C" locale.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace stagee {

class line_editor {
public:
  /// Candidates for the word under the cursor (word: its start up to the cursor;
  /// line_before_cursor: the whole line up to the cursor). Candidates that do not
  /// start with `word` are ignored, so a completer may return every name it knows.
  using completer = std::function<std::vector<std::string>(
    const std::string& line_before_cursor, const std::string& word)>;

  /// Loads history_file if it exists (terminal only); an empty name keeps no history.
  explicit line_editor(std::string history_file, size_t history_max = 1000);
  /// Saves the history (mode 0600: lines may hold ids and names) and restores SIGINT.
  ~line_editor();
  line_editor(const line_editor&) = delete;
  line_editor& operator=(const line_editor&) = delete;

  /// The next line without its newline; nullopt at end of input (Ctrl-D, EOF, or
  /// Ctrl-C while waiting for piped input). Non-empty lines that differ from the
  /// previous one go into the history. Clears interrupted() first.
  std::optional<std::string> read(const std::string& prompt);

  /// Tab inserts a unique match and a space, or the matches' common prefix; a
  /// second Tab lists them (asking first when there are over 100).
  void set_completer(completer f);

  /// True when stdin and stdout are terminals (line editing on).
  bool interactive() const { return interactive_; }

  /// Set by SIGINT since the last read() (or clear_interrupted()).
  static bool interrupted();
  static void clear_interrupted();

private:
  std::string history_file_;
  bool interactive_ = false;
};

} // namespace stagee
