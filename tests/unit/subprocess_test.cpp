// Behaviour of the blocking child-process runner (R-EXEC-1): real processes, no
// mocks. Timeouts and drain windows are kept short so the suite runs in ~1 s.
#include "actors/subprocess.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <csignal>
#include <memory>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
using stagee::process_result;
using stagee::process_spec;
using stagee::run_process;

namespace {

process_spec command(std::vector<std::string> argv) {
  process_spec spec;
  spec.argv = std::move(argv);
  spec.timeout = 5s; // safety net: a hanging test fails instead of blocking ctest
  return spec;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

/// The first stdout line, printed by `echo $$` from the group leader.
pid_t leader_pid(const process_result& res) {
  return static_cast<pid_t>(std::stol(lines(res.stdout_text).at(0)));
}

/// True while a non-zombie process is in group `pgid`. Orphans re-parented to a PID 1
/// that does not reap (common in containers) stay zombies in the group; they are dead.
bool group_has_live_process(pid_t pgid) {
  if (::kill(-pgid, 0) != 0 && errno == ESRCH)
    return false;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc"}) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in{entry.path() / "stat"};
    std::string stat{std::istreambuf_iterator<char>{in}, {}};
    auto paren = stat.rfind(')');
    if (paren == std::string::npos)
      continue;
    std::istringstream fields{stat.substr(paren + 1)};
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (fields >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z')
      return true;
  }
  return false;
}

/// Signals are asynchronous: give a killed group a moment to disappear.
bool group_gone_soon(pid_t pgid) {
  for (auto until = std::chrono::steady_clock::now() + 500ms;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(5ms))
    if (!group_has_live_process(pgid))
      return true;
  return false;
}

/// The group leader died of `signal` no earlier than `after_ms` (when it was told
/// to end) and within the kill grace plus slack, and nothing of its group is left.
void expect_group_ended(const process_result& res, int signal, int64_t after_ms,
                        int64_t grace_ms) {
  BOOST_TEST(res.term_signal == signal);
  BOOST_TEST(res.duration_ms >= after_ms);
  BOOST_TEST(res.duration_ms < after_ms + grace_ms + 500);
  BOOST_TEST(group_gone_soon(leader_pid(res)));
}

size_t open_fd_count() {
  auto range = std::filesystem::directory_iterator{"/proc/self/fd"};
  return static_cast<size_t>(std::distance(begin(range), end(range)));
}

} // namespace

BOOST_AUTO_TEST_SUITE(subprocess)

BOOST_AUTO_TEST_CASE(exit_codes_are_recorded) {
  auto ok = run_process(command({"true"}));
  BOOST_TEST(ok.started);
  BOOST_TEST(ok.error == "");
  BOOST_TEST(ok.exit_code == 0);
  BOOST_TEST(ok.term_signal == 0);
  BOOST_TEST(!ok.timed_out);
  auto failed = run_process(command({"sh", "-c", "exit 3"}));
  BOOST_TEST(failed.exit_code == 3);
}

BOOST_AUTO_TEST_CASE(death_by_signal_is_recorded) {
  auto res = run_process(command({"sh", "-c", "kill -KILL $$"}));
  BOOST_TEST(res.started);
  BOOST_TEST(res.exit_code == -1);
  BOOST_TEST(res.term_signal == SIGKILL);
}

BOOST_AUTO_TEST_CASE(stdout_and_stderr_are_captured_separately) {
  auto res = run_process(command({"sh", "-c", "echo out; echo err >&2; echo out2"}));
  BOOST_TEST(res.stdout_text == "out\nout2\n");
  BOOST_TEST(res.stderr_text == "err\n");
  BOOST_TEST(!res.stdout_truncated);
  BOOST_TEST(!res.stderr_truncated);
}

BOOST_AUTO_TEST_CASE(only_base_and_given_environment_reaches_the_child) {
  ::setenv("FOO_SECRET", "hunter2", 1);
  auto spec = command({"env"});
  spec.env = {{"A", "1"}, {"B", "first"}, {"B", "second"}, {"HOME", "/nonexistent"}};
  auto res = run_process(spec);
  ::unsetenv("FOO_SECRET");
  auto env = lines(res.stdout_text);
  auto has = [&](const std::string& x) { return std::count(env.begin(), env.end(), x) == 1; };
  BOOST_TEST(has("A=1"));
  BOOST_TEST(has("B=second"));
  BOOST_TEST(!has("B=first"));
  BOOST_TEST(has("HOME=/nonexistent"));
  BOOST_TEST(has(std::string{"PATH="} + std::getenv("PATH")));
  BOOST_TEST(res.stdout_text.find("FOO_SECRET") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(output_beyond_the_cap_is_discarded_and_the_child_finishes) {
  auto res = run_process(command({"head", "-c", "1000000", "/dev/zero"}));
  BOOST_TEST(res.exit_code == 0);
  BOOST_TEST(!res.timed_out);
  BOOST_TEST(res.stdout_text.size() == 64u * 1024u);
  BOOST_TEST(res.stdout_truncated);
  BOOST_TEST(!res.stderr_truncated);
}

BOOST_AUTO_TEST_CASE(both_pipes_are_drained_concurrently) {
  // A reader that waits for stdout's EOF first would deadlock on the full stderr pipe.
  auto spec = command({"sh", "-c", "head -c 300000 /dev/zero >&2; echo tail"});
  spec.output_cap = 1000;
  auto res = run_process(spec);
  BOOST_TEST(!res.timed_out);
  BOOST_TEST(res.exit_code == 0);
  BOOST_TEST(res.stdout_text == "tail\n");
  BOOST_TEST(res.stderr_text.size() == 1000u);
  BOOST_TEST(res.stderr_truncated);
}

BOOST_AUTO_TEST_CASE(timeout_kills_the_whole_process_group) {
  auto spec = command({"sh", "-c", "echo $$; sleep 100 & sleep 100"});
  spec.timeout = 200ms;
  spec.kill_grace = 300ms;
  auto res = run_process(spec);
  BOOST_TEST(res.timed_out);
  expect_group_ended(res, SIGTERM, 200, 300);
}

BOOST_AUTO_TEST_CASE(setting_the_stop_flag_kills_the_whole_process_group) {
  auto spec = command({"sh", "-c", "echo $$; sleep 100 & sleep 100"});
  auto stop = std::make_shared<std::atomic<bool>>(false);
  spec.stop = stop;
  spec.stop_check = 10ms;
  spec.kill_grace = 300ms;
  std::thread stopper{[stop] {
    std::this_thread::sleep_for(200ms);
    stop->store(true);
  }};
  auto res = run_process(spec);
  stopper.join();
  BOOST_TEST(res.stopped);
  BOOST_TEST(!res.timed_out);
  expect_group_ended(res, SIGTERM, 200, 300);
}

BOOST_AUTO_TEST_CASE(an_unset_stop_flag_changes_nothing) {
  auto spec = command({"sh", "-c", "sleep 0.1; exit 3"});
  spec.stop = std::make_shared<std::atomic<bool>>(false);
  auto res = run_process(spec);
  BOOST_TEST(!res.stopped);
  BOOST_TEST(res.exit_code == 3);
}

BOOST_AUTO_TEST_CASE(processes_ignoring_sigterm_get_sigkill_after_the_grace) {
  auto spec = command({"sh", "-c", "trap '' TERM; echo $$; sleep 100 & sleep 100"});
  spec.timeout = 100ms;
  spec.kill_grace = 200ms;
  auto res = run_process(spec);
  BOOST_TEST(res.timed_out);
  expect_group_ended(res, SIGKILL, 100 + 200, 0); // SIGKILL comes at timeout + grace
}

BOOST_AUTO_TEST_CASE(grandchild_holding_the_pipe_is_killed_after_the_drain_window) {
  auto spec = command({"sh", "-c", "echo $$; sleep 100 &"});
  spec.drain_window = 200ms;
  auto res = run_process(spec);
  BOOST_TEST(res.exit_code == 0);
  BOOST_TEST(!res.timed_out);
  BOOST_TEST(res.duration_ms >= 200);
  BOOST_TEST(res.duration_ms < 200 + 500);
  BOOST_TEST(group_gone_soon(leader_pid(res)));
}

BOOST_AUTO_TEST_CASE(detached_grandchild_without_the_pipes_is_not_waited_for) {
  auto spec = command({"sh", "-c", "echo $$; sleep 100 >/dev/null 2>&1 &"});
  spec.drain_window = 3s;
  auto res = run_process(spec);
  BOOST_TEST(res.exit_code == 0);
  BOOST_TEST(res.duration_ms < 1000);
  BOOST_TEST(group_has_live_process(leader_pid(res))); // a clean exit leaves it alone
  ::kill(-leader_pid(res), SIGKILL);
}

BOOST_AUTO_TEST_CASE(arguments_reach_the_child_literally) {
  auto marker = "/tmp/stagee_pwn_" + std::to_string(::getpid());
  std::vector<std::string> hostile = {"; touch " + marker,
                                      "$(touch " + marker + ")",
                                      "`touch " + marker + "`",
                                      "a\nb && touch " + marker,
                                      "| touch " + marker + " #",
                                      "it's \"quoted\" $HOME * \\"};
  auto argv = std::vector<std::string>{"printf", "%s\\n"};
  argv.insert(argv.end(), hostile.begin(), hostile.end());
  auto res = run_process(command(argv));
  std::string expected;
  for (const auto& arg : hostile)
    expected += arg + "\n";
  BOOST_TEST(res.exit_code == 0);
  BOOST_TEST(res.stdout_text == expected);
  auto as_program = run_process(command({"true; touch " + marker}));
  BOOST_TEST(as_program.error == "executable not found: true; touch " + marker);
  BOOST_TEST(!std::filesystem::exists(marker));
}

BOOST_AUTO_TEST_CASE(missing_executable_reports_a_clear_error) {
  auto res = run_process(command({"stagee-no-such-program", "x"}));
  BOOST_TEST(!res.started);
  BOOST_TEST(res.error == "executable not found: stagee-no-such-program");
  BOOST_TEST(res.exit_code == -1);
}

BOOST_AUTO_TEST_CASE(non_executable_file_reports_permission_denied) {
  char path[] = "/tmp/stagee_noexec_XXXXXX";
  int fd = ::mkstemp(path); // mode 0600: no execute bit, even root may not run it
  BOOST_REQUIRE(fd >= 0);
  ::close(fd);
  auto res = run_process(command({path}));
  ::unlink(path);
  BOOST_TEST(!res.started);
  BOOST_TEST(res.error == std::string{"permission denied: "} + path);
}

BOOST_AUTO_TEST_CASE(invalid_specs_are_rejected_before_spawning) {
  BOOST_TEST(run_process(command({})).error == "empty command");
  BOOST_TEST(run_process(command({"echo", std::string{"a\0b", 3}})).error
             == "argument contains a NUL byte");
  auto bad_env = command({"true"});
  bad_env.env = {{"A=B", "x"}};
  BOOST_TEST(run_process(bad_env).error == "invalid environment variable: 'A=B'");
  auto bad_dir = command({"true"});
  bad_dir.working_dir = "/nonexistent/dir";
  auto res = run_process(bad_dir);
  BOOST_TEST(!res.started);
  BOOST_TEST(res.error == "working directory not found: /nonexistent/dir");
}

BOOST_AUTO_TEST_CASE(child_runs_in_the_working_directory) {
  auto spec = command({"pwd"});
  spec.working_dir = "/";
  BOOST_TEST(run_process(spec).stdout_text == "/\n");
}

BOOST_AUTO_TEST_CASE(stdin_is_empty) {
  auto res = run_process(command({"cat"}));
  BOOST_TEST(!res.timed_out);
  BOOST_TEST(res.exit_code == 0);
  BOOST_TEST(res.stdout_text == "");
  BOOST_TEST(res.duration_ms < 1000);
}

BOOST_AUTO_TEST_CASE(child_gets_default_sigpipe_even_if_the_parent_ignores_it) {
  auto old = std::signal(SIGPIPE, SIG_IGN);
  auto res = run_process(command({"sh", "-c", "yes | head -c 4"}));
  std::signal(SIGPIPE, old);
  BOOST_TEST(res.exit_code == 0);
  BOOST_TEST(res.stdout_text == "y\ny\n");
  BOOST_TEST(res.stderr_text == ""); // `yes` died of SIGPIPE instead of reporting EPIPE
}

BOOST_AUTO_TEST_CASE(concurrent_runs_neither_mix_output_nor_leak_fds) {
  auto fds_before = open_fd_count();
  std::vector<std::string> outputs(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < outputs.size(); ++i)
    threads.emplace_back([i, &outputs] {
      for (int round = 0; round < 10; ++round) {
        auto spec = command({"sh", "-c", "printf %s \"$N\"; exec ls /proc/self/fd >&2"});
        spec.env = {{"N", std::to_string(i)}};
        auto res = run_process(spec);
        // ls sees 0-2 and its own directory fd (3): no other fd leaked into it
        outputs[i] += res.stdout_text + (res.stderr_text == "0\n1\n2\n3\n" ? "" : "leak");
      }
    });
  for (auto& t : threads)
    t.join();
  for (size_t i = 0; i < outputs.size(); ++i)
    BOOST_TEST(outputs[i] == std::string(10, static_cast<char>('0' + i)));
  BOOST_TEST(open_fd_count() == fds_before);
}

BOOST_AUTO_TEST_SUITE_END()
