#include "actors/subprocess.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace stagee {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// How often the child is polled for exit when pidfd_open is unavailable.
constexpr milliseconds fallback_tick{20};

/// Environment variables copied from the parent when set.
constexpr const char* inherited_env[] = {"PATH", "HOME", "LANG", "TZ"};

// strerror_r comes in a GNU (returns char*) and an XSI (returns int) flavour.
[[maybe_unused]] const char* strerror_pick(const char* msg, const char*) {
  return msg;
}
[[maybe_unused]] const char* strerror_pick(int, const char* buf) {
  return buf;
}
std::string errno_text(int err) {
  char buf[128] = "unknown error";
  return strerror_pick(strerror_r(err, buf, sizeof buf), buf);
}

/// Owns one file descriptor.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {
  }
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() {
    reset();
  }
  int get() const {
    return fd_;
  }
  explicit operator bool() const {
    return fd_ >= 0;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

/// Kills the group and reaps the child unless the normal path reaped it
/// (only reached when an exception, i.e. std::bad_alloc, unwinds the runner).
struct child_guard {
  pid_t pid;
  bool reaped = false;
  ~child_guard() {
    if (reaped)
      return;
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
};

/// One captured stream: the pipe's read end, its masker, its capped (masked) text.
struct stream {
  unique_fd fd;
  std::string& text;
  bool& truncated;
  masking::stream_masker masker;
};

/// Keeps what fits under the cap.
void keep_capped(stream& s, size_t cap, const std::string& masked) {
  auto room = cap - std::min(cap, s.text.size());
  auto keep = std::min(room, masked.size());
  s.text.append(masked.data(), keep);
  if (keep < masked.size())
    s.truncated = true;
}

/// Reads what is available; closes the pipe at EOF or on error (and flushes what
/// the masker held back).
void read_some(stream& s, size_t cap, std::vector<char>& buf) {
  ssize_t n = ::read(s.fd.get(), buf.data(), buf.size());
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    s.fd.reset();
    keep_capped(s, cap, s.masker.finish());
    return;
  }
  keep_capped(s, cap, s.masker.feed(std::string_view{buf.data(), static_cast<size_t>(n)}));
}

/// True once the child has terminated; leaves it unreaped (a zombie leader keeps
/// its pid, hence the process-group id, from being reused while we signal it).
bool has_exited(pid_t pid) {
  siginfo_t info{};
  int rc;
  do
    rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  while (rc < 0 && errno == EINTR);
  return rc < 0 || info.si_pid == pid;
}

/// A pollable fd that becomes readable when `pid` exits, or -1 (kernel < 5.3).
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); // always O_CLOEXEC
#else
  (void) pid;
  return -1;
#endif
}

/// Milliseconds from `now` until `t`, rounded up so poll() never wakes early.
int ms_until(steady::time_point t, steady::time_point now) {
  if (t <= now)
    return 0;
  auto ms = std::chrono::ceil<milliseconds>(t - now).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, INT_MAX));
}

/// Checks the spec; returns an error text or an empty string.
std::string validate(const process_spec& spec) {
  auto has_nul = [](const std::string& x) { return x.find('\0') != std::string::npos; };
  if (spec.argv.empty() || spec.argv[0].empty())
    return "empty command";
  for (const auto& arg : spec.argv)
    if (has_nul(arg))
      return "argument contains a NUL byte";
  for (const auto& [name, value] : spec.env)
    if (name.empty() || name.find('=') != std::string::npos || has_nul(name) || has_nul(value))
      return "invalid environment variable: '" + name + "'";
  struct stat st;
  if (!spec.working_dir.empty()
      && (::stat(spec.working_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
    return "working directory not found: " + spec.working_dir;
  return {};
}

/// "NAME=value" strings: inherited_env from the parent, then spec.env on top.
std::vector<std::string> make_env(const process_spec& spec) {
  std::vector<std::pair<std::string, std::string>> vars;
  for (const char* name : inherited_env)
    if (const char* value = std::getenv(name))
      vars.emplace_back(name, value);
  for (const auto& kv : spec.env) {
    auto same = [&](const auto& x) { return x.first == kv.first; };
    if (auto i = std::find_if(vars.begin(), vars.end(), same); i != vars.end())
      i->second = kv.second;
    else
      vars.push_back(kv);
  }
  std::vector<std::string> result;
  for (const auto& [name, value] : vars)
    result.push_back(name + '=' + value);
  return result;
}

std::vector<char*> c_strings(std::vector<std::string>& xs) {
  std::vector<char*> result;
  for (auto& x : xs)
    result.push_back(x.data());
  result.push_back(nullptr);
  return result;
}

std::string spawn_error(int err, const std::string& exe) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return "executable not found: " + exe;
    case EACCES:
      return "permission denied: " + exe;
    case ENOEXEC:
      return "not an executable: " + exe;
    default:
      return "cannot start " + exe + ": " + errno_text(err);
  }
}

/// Spawns the child with stdin=/dev/null, stdout/stderr to the pipes' write ends,
/// its own process group and default signal handling. Returns 0 or an errno.
int spawn(const process_spec& spec, int dev_null, int out_w, int err_w, pid_t& pid) {
  auto args = spec.argv;
  auto env = make_env(spec);
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  if (int rc = posix_spawn_file_actions_init(&fa))
    return rc;
  if (int rc = posix_spawnattr_init(&attr)) {
    posix_spawn_file_actions_destroy(&fa);
    return rc;
  }
  sigset_t no_signals, all_signals;
  sigemptyset(&no_signals);
  sigfillset(&all_signals);
  // dup2 clears close-on-exec on the target; every other fd of ours is O_CLOEXEC.
  int rc = posix_spawn_file_actions_adddup2(&fa, dev_null, STDIN_FILENO);
  rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO);
  rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, err_w, STDERR_FILENO);
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
  // Also drop fds other code (or our own parent) left inheritable.
  rc = rc ? rc : posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
  if (!rc && !spec.working_dir.empty())
    rc = posix_spawn_file_actions_addchdir_np(&fa, spec.working_dir.c_str());
  rc = rc ? rc
          : posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                              | POSIX_SPAWN_SETSIGDEF);
  rc = rc ? rc : posix_spawnattr_setpgroup(&attr, 0); // new group, pgid = pid
  rc = rc ? rc : posix_spawnattr_setsigmask(&attr, &no_signals);
  rc = rc ? rc : posix_spawnattr_setsigdefault(&attr, &all_signals);
  rc = rc ? rc : posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

/// Reads both pipes until the child exited and they hit EOF, enforcing the timeout
/// (SIGTERM, SIGKILL after the grace) and the drain window. Leaves the child
/// unreaped. Returns true when the group must get a final SIGKILL.
bool supervise(const process_spec& spec, pid_t pid, steady::time_point t0,
               stream (&streams)[2], process_result& res) {
  constexpr auto never = steady::time_point::max();
  const auto deadline = spec.timeout.count() > 0 ? t0 + spec.timeout : never;
  auto kill_at = never;     // set on timeout or stop: SIGKILL after the grace
  auto drain_until = never; // set on exit: give up on the pipes after this
  bool exited = false;
  bool terminating = false; // SIGTERM sent (timeout or stop)
  bool kill_sent = false;
  auto stop_requested = [&] { return spec.stop && spec.stop->load(std::memory_order_relaxed); };
  unique_fd pidfd{open_pidfd(pid)};
  std::vector<char> buf(64 * 1024);
  for (;;) {
    auto now = steady::now();
    if (exited && !streams[0].fd && !streams[1].fd)
      return terminating; // also catches descendants that ignored SIGTERM
    if (exited && now >= drain_until)
      return true; // descendants still hold a pipe: stop waiting for them
    if (!exited && !terminating && (now >= deadline || stop_requested())) {
      terminating = true;
      (now >= deadline ? res.timed_out : res.stopped) = true;
      ::kill(-pid, SIGTERM);
      ::kill(-pid, SIGCONT); // a stopped process would never see the SIGTERM
      kill_at = now + std::max(spec.kill_grace, milliseconds{0});
    }
    if (!exited && now >= kill_at && !kill_sent) {
      ::kill(-pid, SIGKILL);
      kill_sent = true;
    }
    auto wake = exited ? drain_until : !terminating ? deadline : kill_sent ? never : kill_at;
    int wait_ms = wake == never ? -1 : ms_until(wake, now);
    auto tick = [&](milliseconds t) { // wake at least this often
      wait_ms = wait_ms < 0 ? static_cast<int>(t.count())
                            : std::min<int>(wait_ms, static_cast<int>(t.count()));
    };
    if (!exited && !pidfd) // no pidfd: poll the child's state every tick
      tick(fallback_tick);
    if (!exited && !terminating && spec.stop)
      tick(std::max(spec.stop_check, milliseconds{1}));
    pollfd fds[3];
    nfds_t n = 0;
    for (auto& s : streams)
      if (s.fd)
        fds[n++] = {s.fd.get(), POLLIN, 0};
    bool watch_pidfd = !exited && pidfd;
    if (watch_pidfd)
      fds[n++] = {pidfd.get(), POLLIN, 0};
    if (::poll(fds, n, wait_ms) < 0 && errno != EINTR) {
      res.error = "poll failed: " + errno_text(errno);
      return true;
    }
    for (nfds_t i = 0; i < n; ++i)
      for (auto& s : streams)
        if (s.fd && s.fd.get() == fds[i].fd && fds[i].revents != 0)
          read_some(s, spec.output_cap, buf);
    bool maybe_exited = !pidfd || (watch_pidfd && fds[n - 1].revents != 0);
    if (!exited && maybe_exited && has_exited(pid)) {
      exited = true;
      drain_until = steady::now() + std::max(spec.drain_window, milliseconds{0});
    }
  }
}

} // namespace

process_result run_process(const process_spec& spec) {
  process_result res;
  const auto t0 = steady::now();
  auto finish = [&] {
    res.duration_ms = std::chrono::duration_cast<milliseconds>(steady::now() - t0).count();
    return std::move(res);
  };
  if (res.error = validate(spec); !res.error.empty())
    return finish();
  // Pipes and /dev/null: close-on-exec, so concurrent spawns never inherit them.
  int out_p[2], err_p[2];
  if (::pipe2(out_p, O_CLOEXEC) != 0) {
    res.error = "cannot create pipe: " + errno_text(errno);
    return finish();
  }
  unique_fd out_r{out_p[0]}, out_w{out_p[1]};
  if (::pipe2(err_p, O_CLOEXEC) != 0) {
    res.error = "cannot create pipe: " + errno_text(errno);
    return finish();
  }
  unique_fd err_r{err_p[0]}, err_w{err_p[1]};
  unique_fd dev_null{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  if (!dev_null) {
    res.error = "cannot open /dev/null: " + errno_text(errno);
    return finish();
  }
  pid_t pid = -1;
  if (int rc = spawn(spec, dev_null.get(), out_w.get(), err_w.get(), pid)) {
    res.error = spawn_error(rc, spec.argv[0]);
    return finish();
  }
  res.started = true;
  child_guard guard{pid};
  out_w.reset(); // only the child holds the write ends now: EOF when it is gone
  err_w.reset();
  dev_null.reset();
  // (a null mask: the stream maskers use the process-wide patterns-only masker)
  stream streams[] = {{std::move(out_r), res.stdout_text, res.stdout_truncated,
                       masking::stream_masker{spec.mask}},
                      {std::move(err_r), res.stderr_text, res.stderr_truncated,
                       masking::stream_masker{spec.mask}}};
  // The leader is still unreaped here, so -pid cannot name a recycled group.
  if (supervise(spec, pid, t0, streams, res))
    ::kill(-pid, SIGKILL);
  int status = 0;
  int rc;
  while ((rc = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  guard.reaped = true;
  for (auto& st : streams) {
    if (st.fd) // still open (killed group, drain window over): flush the held-back rest
      keep_capped(st, spec.output_cap, st.masker.finish());
    res.redactions += st.masker.redactions();
  }
  if (rc < 0)
    res.error = "exit status lost: child reaped elsewhere (SIGCHLD ignored or waitpid(-1)?)";
  else if (WIFEXITED(status))
    res.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    res.term_signal = WTERMSIG(status);
  return finish();
}

} // namespace stagee
