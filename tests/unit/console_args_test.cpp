// `stagee console` command lines: shell-like words, options checked per command,
// errors that name the problem; and line_editor when stdin is not a terminal.
#include "runtime/console_args.hpp"
#include "runtime/line_editor.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#include <boost/test/unit_test.hpp>

using namespace stagee;

namespace {

using words = std::vector<std::string>;

words split(const std::string& line) {
  auto t = tokenize(line);
  BOOST_TEST(t.error == "");
  return t.words;
}

std::string split_error(const std::string& line) {
  auto t = tokenize(line);
  BOOST_TEST(t.words.empty());
  return t.error;
}

const command_spec actors{"actors", {}, 0, {{"kind", "K"}}};
const command_spec dlq{"dlq", {"a subcommand"}, 0, {{"limit", "N"}, {"tenant", "T"}, {"all", ""}}};
const command_spec show{"show", {"an execution id"}, 1, {{"follow", ""}}};
const command_spec approve{"approve", {"an execution id", "a step name"}, 2, {}};

std::string error_of(const command_spec& spec, const words& args) {
  auto r = parse_args(spec, args);
  BOOST_TEST(!r.ok());
  return r.error;
}

long ms_since(std::chrono::steady_clock::time_point t0) {
  using namespace std::chrono;
  return static_cast<long>(duration_cast<milliseconds>(steady_clock::now() - t0).count());
}

bool printable(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F)
      return false;
  return true;
}

} // namespace

BOOST_AUTO_TEST_SUITE(console_tokenizer)

BOOST_AUTO_TEST_CASE(blanks_separate_words) {
  BOOST_TEST(split("  actors   --kind\tgateway \r\n") == (words{"actors", "--kind", "gateway"}));
  BOOST_TEST(split("").empty());
  BOOST_TEST(split(" \t ").empty());
}

BOOST_AUTO_TEST_CASE(quotes_and_backslashes_work_as_in_a_shell) {
  BOOST_TEST(split(R"('a b\ "c"')") == words{R"(a b\ "c")"});          // single: all literal
  BOOST_TEST(split(R"("say \"hi\" \\ \n $x")") == words{R"(say "hi" \ \n $x)"}); // double
  BOOST_TEST(split(R"(a\ b \' \")") == (words{"a b", "'", "\""}));      // outside quotes
  BOOST_TEST(split(R"("a"'b'c)") == words{"abc"});                       // parts join
  BOOST_TEST(split(R"(x '' "" y)") == (words{"x", "", "", "y"}));        // empty words kept
  BOOST_TEST(split("'#' --x=\"a b\"") == (words{"#", "--x=a b"}));
}

BOOST_AUTO_TEST_CASE(an_unterminated_quote_is_an_error_that_says_so) {
  BOOST_TEST(split_error("show 'abc") ==
             "unterminated single quote: the ' at column 6 is never closed");
  BOOST_TEST(split_error("x \"ab'c") ==
             "unterminated double quote: the \" at column 3 is never closed");
  BOOST_TEST(split_error(R"("abc\")").find("unterminated double quote") == 0); // \" escapes it
  BOOST_TEST(split_error("'") != "");
}

BOOST_AUTO_TEST_CASE(hostile_bytes_are_refused_or_passed_through) {
  BOOST_TEST(split_error(std::string("show a\0b", 8)) == "the line contains a NUL byte");
  BOOST_TEST(split_error("show abc\\").find("ends with a backslash") != std::string::npos);
  // UTF-8, a no-break space (not a blank for us), invalid bytes, escape sequences
  BOOST_TEST(split("show 'caf\xC3\xA9 \xE2\x98\x95' \xC3\xBCn\xC3\xAF") ==
             (words{"show", "caf\xC3\xA9 \xE2\x98\x95", "\xC3\xBCn\xC3\xAF"}));
  BOOST_TEST(split("a\xC2\xA0" "b \xFF\xFE \x1B[2J") == (words{"a\xC2\xA0" "b", "\xFF\xFE", "\x1B[2J"}));
}

BOOST_AUTO_TEST_CASE(very_long_lines_split_in_linear_time) {
  std::string big(1 << 20, 'x');
  BOOST_TEST(split("show " + big) == (words{"show", big}));
  std::string many;
  for (int i = 0; i < 100000; ++i)
    many += "'w' ";
  auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(split(many).size() == 100000u);
  BOOST_TEST(ms_since(t0) < 2000);
  BOOST_TEST(split_error("'" + big).find("column 1 ") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(console_options)

BOOST_AUTO_TEST_CASE(options_take_values_both_ways_and_flags_none) {
  auto a = parse_args(actors, {"--kind", "gateway"});
  BOOST_TEST(a.ok());
  BOOST_TEST(a.command == "actors");
  BOOST_TEST(a.value("kind") == "gateway");
  BOOST_TEST(parse_args(actors, {"--kind=a=b"}).value("kind") == "a=b");
  BOOST_TEST(parse_args(actors, {}).value("kind", "all") == "all");
  auto d = parse_args(dlq, {"--all", "list", "--limit=5"}); // options anywhere
  BOOST_TEST(d.ok());
  BOOST_TEST(d.has("all"));
  BOOST_TEST(!d.has("tenant"));
  BOOST_TEST(d.value("all") == "");
  BOOST_TEST(d.positionals == words{"list"});
  BOOST_TEST(d.value("limit") == "5");
  // an explicit empty value is a value
  BOOST_TEST(parse_args(actors, {"--kind="}).value("kind", "x") == "");
  BOOST_TEST(parse_args(actors, {"--kind", ""}).value("kind", "x") == "");
}

BOOST_AUTO_TEST_CASE(an_unknown_option_is_named_with_those_the_command_takes) {
  BOOST_TEST(error_of(actors, {"--foo"}) == "unknown option --foo for `actors`; it takes --kind K");
  BOOST_TEST(error_of(actors, {"--foo=1"}) == "unknown option --foo for `actors`; it takes --kind K");
  BOOST_TEST(error_of(actors, {"-k", "x"}) == "unknown option -k for `actors`; it takes --kind K");
  BOOST_TEST(error_of(dlq, {"--x"}) ==
             "unknown option --x for `dlq`; it takes --limit N, --tenant T or --all");
  BOOST_TEST(error_of(approve, {"e", "s", "--x"}) == "unknown option --x: `approve` takes no options");
  BOOST_TEST(error_of(actors, {"---kind", "x"}).find("unknown option ---kind") == 0);
}

BOOST_AUTO_TEST_CASE(values_are_required_where_taken_and_refused_on_flags) {
  BOOST_TEST(error_of(actors, {"--kind"}) == "--kind needs a value (--kind K)");
  BOOST_TEST(error_of(dlq, {"--limit", "--all"}) == "--limit needs a value (--limit N)");
  BOOST_TEST(error_of(dlq, {"--all=yes"}) == "--all is a flag: it takes no value");
  BOOST_TEST(error_of(actors, {"--kind", "a", "--kind=b"}) == "--kind is given twice");
}

BOOST_AUTO_TEST_CASE(positionals_are_counted) {
  BOOST_TEST(error_of(show, {}) == "`show` needs an execution id");
  BOOST_TEST(error_of(show, {"--follow"}) == "`show` needs an execution id");
  BOOST_TEST(error_of(approve, {"e1"}) == "`approve` needs a step name");
  BOOST_TEST(error_of(show, {"e1", "e2"}) ==
             "too many arguments for `show` (got `e2`); it takes an execution id");
  BOOST_TEST(error_of(approve, {"e", "s", "x"}) ==
             "too many arguments for `approve` (got `x`); it takes an execution id and a step name");
  BOOST_TEST(error_of(actors, {"x"}) == "`actors` takes no arguments (got `x`)");
  BOOST_TEST(parse_args(dlq, {}).ok()); // optional positional
  auto s = parse_args(show, {"--follow", "e1"});
  BOOST_TEST(s.ok());
  BOOST_TEST(s.positionals == words{"e1"});
  BOOST_TEST(parse_args(show, {"-"}).positionals == words{"-"});
}

BOOST_AUTO_TEST_CASE(a_double_dash_ends_the_options) {
  auto s = parse_args(show, {"--follow", "--", "--odd-id"});
  BOOST_TEST(s.ok());
  BOOST_TEST(s.has("follow"));
  BOOST_TEST(s.positionals == words{"--odd-id"});
}

BOOST_AUTO_TEST_CASE(hostile_words_are_shown_short_and_harmless) {
  std::string evil = "--\x1B]0;pwned\x07" + std::string(10000, 'A');
  std::string e = error_of(actors, {evil});
  BOOST_TEST(e.find("unknown option --?]0;pwned?AAA") == 0);
  BOOST_TEST(e.size() < 200u);
  BOOST_TEST(printable(e));
  // cut on a character boundary: 39 ASCII bytes then a 3-byte character
  std::string id = std::string(39, 'i') + "\xE2\x98\x95" + "tail";
  BOOST_TEST(error_of(actors, {id}) ==
             "`actors` takes no arguments (got `" + std::string(39, 'i') + "...`)");
}

BOOST_AUTO_TEST_CASE(a_line_is_tokenized_then_looked_up) {
  std::vector<command_spec> commands{actors, show, dlq};
  auto r = parse_line("  show  'e 1' --follow", commands);
  BOOST_TEST(r.ok());
  BOOST_TEST(r.command == "show");
  BOOST_TEST(r.positionals == words{"e 1"});
  BOOST_TEST(r.has("follow"));
  auto blank = parse_line("   ", commands);
  BOOST_TEST(blank.ok());
  BOOST_TEST(blank.command == "");
  BOOST_TEST(parse_line("shw x", commands).error == "unknown command `shw`");
  BOOST_TEST(parse_line("show \"x", commands).error.find("unterminated double quote") == 0);
  BOOST_TEST(parse_line("show", commands).error == "`show` needs an execution id");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// Replaces stdin by a pipe holding `data` for the life of the fixture.
struct piped_stdin {
  int saved = dup(STDIN_FILENO);
  int writer = -1;

  explicit piped_stdin(const std::string& data, bool keep_open = false) {
    int fds[2];
    BOOST_REQUIRE(pipe(fds) == 0);
    BOOST_REQUIRE(write(fds[1], data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    writer = fds[1];
    if (!keep_open)
      close_writer();
  }
  void close_writer() {
    if (writer >= 0)
      close(writer);
    writer = -1;
  }
  ~piped_stdin() {
    close_writer();
    dup2(saved, STDIN_FILENO);
    close(saved);
    clearerr(stdin);
    std::cin.clear();
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(console_line_editor)

BOOST_AUTO_TEST_CASE(piped_input_gives_plain_lines) {
  piped_stdin in("one\r\n\n  two  \nthree");
  line_editor ed("");
  BOOST_TEST(!ed.interactive());
  BOOST_TEST(ed.read("> ").value_or("EOF") == "one");
  BOOST_TEST(ed.read("> ").value_or("EOF") == "");
  BOOST_TEST(ed.read("> ").value_or("EOF") == "  two  ");
  BOOST_TEST(ed.read("> ").value_or("EOF") == "three");
  BOOST_TEST(!ed.read("> "));
}

BOOST_AUTO_TEST_CASE(only_one_editor_exists_at_a_time) {
  piped_stdin in("");
  {
    line_editor a("");
    BOOST_CHECK_THROW(line_editor b(""), std::logic_error);
  }
  line_editor c(""); // the first is gone
  BOOST_TEST(!c.read(""));
}

BOOST_AUTO_TEST_CASE(sigint_sets_a_flag_while_an_editor_exists) {
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);
  {
    piped_stdin in("cmd\n");
    line_editor ed("");
    BOOST_TEST(!line_editor::interrupted());
    raise(SIGINT); // a running command is interrupted: the program goes on
    BOOST_TEST(line_editor::interrupted());
    line_editor::clear_interrupted();
    BOOST_TEST(!line_editor::interrupted());
    raise(SIGINT);
    BOOST_TEST(ed.read("").value_or("EOF") == "cmd"); // read() starts afresh
    BOOST_TEST(!line_editor::interrupted());
  }
  struct sigaction after {};
  sigaction(SIGINT, nullptr, &after);
  BOOST_TEST(after.sa_handler == before.sa_handler); // restored
}

BOOST_AUTO_TEST_CASE(sigint_on_another_thread_ends_a_blocked_piped_read) {
  piped_stdin in("", true); // nothing to read, and no end of input yet
  line_editor ed("");
  std::atomic<bool> done{false};
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    raise(SIGINT); // lands on this thread: forwarded to the reader
    for (int i = 0; i < 300 && !done; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    in.close_writer(); // safety net: end the read after 3 s anyway
  });
  auto t0 = std::chrono::steady_clock::now();
  auto line = ed.read("");
  done = true;
  other.join();
  BOOST_TEST(!line);
  BOOST_TEST(line_editor::interrupted());
  BOOST_TEST(ms_since(t0) < 2000);
}

BOOST_AUTO_TEST_SUITE_END()
