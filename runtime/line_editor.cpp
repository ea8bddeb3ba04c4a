#include "runtime/line_editor.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <iostream>
#include <stdexcept>

#include <fcntl.h>
#include <langinfo.h>
#include <pthread.h>
#include <unistd.h>

#include <editline/readline.h>

namespace stagee {

namespace {

// readline's state is global, so is ours: one line_editor at a time.
std::atomic<bool> editor_exists{false};
std::atomic<bool> sigint_seen{false};
std::atomic<bool> reading{false}; // a thread is in read()
pthread_t reader;                 // that thread (written before `reading`)
struct sigaction previous_sigint;
std::string previous_ctype; // LC_CTYPE before the editor

static_assert(std::atomic<bool>::is_always_lock_free, "used in a signal handler");

line_editor::completer current_completer;
std::vector<std::string> matches; // of the completion in progress
size_t next_match_index = 0;

// No SA_RESTART: the reader's read() fails with EINTR, so readline() returns
// NULL and read() tells Ctrl-C from Ctrl-D by sigint_seen.
void on_sigint(int) {
  int saved = errno;
  sigint_seen = true;
  if (reading.load(std::memory_order_acquire) && !pthread_equal(pthread_self(), reader))
    pthread_kill(reader, SIGINT);
  errno = saved;
}

// Generator for rl_completion_matches: each call returns the next match (malloc'd).
char* next_match(const char*, int state) {
  if (state == 0)
    next_match_index = 0;
  return next_match_index < matches.size() ? strdup(matches[next_match_index++].c_str())
                                           : nullptr;
}

// The first `chars` characters of s: libedit counts rl_point in characters while
// rl_line_buffer holds the multibyte text.
std::string char_prefix(const char* s, int chars) {
  size_t len = strlen(s), at = 0;
  std::mbstate_t state{};
  for (int i = 0; i < chars && at < len; ++i) {
    size_t n = mbrtowc(nullptr, s + at, len - at, &state);
    if (n == 0 || n > len - at) { // invalid: count one byte
      n = 1;
      state = std::mbstate_t{};
    }
    at += n;
  }
  return std::string(s, at);
}

// rl_attempted_completion_function; libedit passes the word before the cursor.
char** complete(const char* word, int, int) {
  rl_attempted_completion_over = 1; // never fall back to file names
  matches.clear();
  if (!current_completer)
    return nullptr;
  std::string w = word ? word : "";
  std::string before = rl_line_buffer ? char_prefix(rl_line_buffer, rl_point) : "";
  try {
    for (auto& c : current_completer(before, w))
      if (c.compare(0, w.size(), w) == 0)
        matches.push_back(c);
  } catch (...) {
    matches.clear(); // nothing may unwind through libedit
  }
  std::sort(matches.begin(), matches.end());
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
  return matches.empty() ? nullptr : rl_completion_matches(w.c_str(), next_match);
}

std::string last_history_line() {
  HIST_ENTRY* e = history_length > 0 ? history_get(history_base + history_length - 1) : nullptr;
  return e && e->line ? e->line : "";
}

// A line typed at the terminal; Ctrl-C discards it and prompts again.
std::optional<std::string> edit_line(const std::string& prompt) {
  for (;;) {
    char* p = readline(prompt.c_str());
    if (p) {
      std::string line = p;
      free(p);
      if (!line.empty() && line != last_history_line())
        add_history(line.c_str());
      return line;
    }
    bool eof = !sigint_seen.exchange(false);
    fputs("\n", stdout); // below the "^D" libedit prints, or the discarded line
    fflush(stdout);
    if (eof)
      return std::nullopt; // Ctrl-D on an empty line, or the terminal is gone
  }
}

// A line of piped input (Ctrl-C makes the read fail: the end of input).
std::optional<std::string> piped_line() {
  std::string line;
  if (!std::getline(std::cin, line))
    return std::nullopt;
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

} // namespace

line_editor::line_editor(std::string history_file, size_t history_max)
  : history_file_(std::move(history_file)) {
  if (editor_exists.exchange(true))
    throw std::logic_error("only one line_editor may exist at a time");
  interactive_ = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &previous_sigint);
  if (!interactive_)
    return;
  // libedit decodes input with the C library: in the "C" locale it drops every
  // byte >= 0x80, so é or ☕ would vanish. Take the environment's, else C.UTF-8.
  previous_ctype = setlocale(LC_CTYPE, nullptr);
  if (!setlocale(LC_CTYPE, "") || strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
    setlocale(LC_CTYPE, "C.UTF-8");
  rl_readline_name = "stagee"; // for `$if stagee` in ~/.editrc
  rl_attempted_completion_function = complete;
  // libedit's own handlers re-raise signals with kill(0, ...) (the whole process
  // group) and run on whatever thread the signal lands on, after readline() has
  // returned too: with CAF's threads, Ctrl-Z then crashed it. Ours is enough.
  rl_catch_signals = 0;
  rl_initialize();
  stifle_history(static_cast<int>(std::min<size_t>(history_max, 1000000)));
  if (!history_file_.empty() && access(history_file_.c_str(), R_OK) == 0)
    read_history(history_file_.c_str());
}

line_editor::~line_editor() {
  if (interactive_) {
    if (!history_file_.empty()) {
      int fd = open(history_file_.c_str(), O_WRONLY | O_CREAT, 0600); // new file: 0600
      if (fd >= 0) {
        close(fd);
        write_history(history_file_.c_str());
      }
    }
    clear_history();
    rl_attempted_completion_function = nullptr;
    setlocale(LC_CTYPE, previous_ctype.c_str());
  }
  current_completer = nullptr;
  sigaction(SIGINT, &previous_sigint, nullptr);
  editor_exists = false;
}

std::optional<std::string> line_editor::read(const std::string& prompt) {
  clear_interrupted();
  reader = pthread_self();
  reading.store(true, std::memory_order_release);
  auto line = interactive_ ? edit_line(prompt) : piped_line();
  reading = false;
  return line;
}

void line_editor::set_completer(completer f) {
  current_completer = std::move(f);
}

bool line_editor::interrupted() {
  return sigint_seen;
}

void line_editor::clear_interrupted() {
  sigint_seen = false;
}

} // namespace stagee
