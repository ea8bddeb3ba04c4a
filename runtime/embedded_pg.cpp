#include "runtime/embedded_pg.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

namespace stagee {
namespace {

namespace fs = std::filesystem;

constexpr const char* temp_socket_prefix = "/tmp/stagee-pg-";
constexpr int start_attempts = 5; // new port each time pg_ctl start hits a taken port

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("embedded PostgreSQL: " + what);
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

/// Last `max` characters of `text`, starting at a line boundary when possible.
std::string tail_of(const std::string& text, size_t max = 1500) {
  if (text.size() <= max)
    return text;
  auto from = text.size() - max;
  auto nl = text.find('\n', from);
  return "..." + text.substr(nl == std::string::npos ? from : nl);
}

/// The account initdb/pg_ctl run as when we are root (initdb refuses root).
struct os_user {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
};

/// `postgres` when euid is 0, nullopt otherwise (then we run everything ourselves).
std::optional<os_user> server_user() {
  if (geteuid() != 0)
    return std::nullopt;
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r("postgres", &pw, buf.data(), buf.size(), &found) != 0 || !found)
    fail("running as root, but there is no user `postgres` to run the server as "
         "(initdb refuses root): install postgresql-15 or run stagee as a non-root user");
  os_user u{pw.pw_uid, pw.pw_gid, std::vector<gid_t>(64)};
  int n = static_cast<int>(u.groups.size());
  while (getgrouplist("postgres", pw.pw_gid, u.groups.data(), &n) < 0) {
    n = std::max(n, static_cast<int>(u.groups.size()) * 2);
    u.groups.resize(n);
  }
  u.groups.resize(n);
  return u;
}

/// Forks a child that reads /dev/null, writes stdout+stderr to `out_fd` (or
/// /dev/null when < 0), has no other fds, default signals, runs as `user` (if set)
/// in "/" and then calls `body`. `body` runs between fork and exec of a possibly
/// multi-threaded process, so it may only make async-signal-safe calls.
template <class Body>
pid_t spawn(const os_user* user, int out_fd, Body&& body) {
  const long max_fd = sysconf(_SC_OPEN_MAX);
  const pid_t pid = fork();
  if (pid < 0)
    fail(errno_text("fork"));
  if (pid > 0)
    return pid;
  const int null_fd = open("/dev/null", O_RDWR);
  dup2(null_fd, 0);
  dup2(out_fd < 0 ? null_fd : out_fd, 1);
  dup2(out_fd < 0 ? null_fd : out_fd, 2);
  // Keep our sockets and files out of the server, which outlives us.
  if (close_range(3, ~0U, 0) != 0)
    for (long fd = 3; fd < max_fd; ++fd)
      close(static_cast<int>(fd));
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2})
    signal(sig, SIG_DFL);
  if (user
      && (setgroups(user->groups.size(), user->groups.data()) != 0
          || setgid(user->gid) != 0 || setuid(user->uid) != 0))
    _exit(125);
  if (chdir("/") != 0)
    _exit(125);
  body();
  _exit(127);
}

/// Exit status of `pid` (128 + signal when killed).
int wait_exit(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      fail(errno_text("waitpid"));
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct run_result {
  int status;
  std::string output; // stdout and stderr interleaved
};

/// Runs argv[0] with arguments (no shell) as `user`, capturing its output.
run_result run(const std::vector<std::string>& args, const os_user* user) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    fail(errno_text("pipe"));
  pid_t pid;
  try {
    pid = spawn(user, fds[1], [&] {
      execv(argv[0], argv.data());
      static const char msg[] = "exec failed\n";
      [[maybe_unused]] auto n = write(2, msg, sizeof msg - 1);
    });
  } catch (...) {
    close(fds[0]);
    close(fds[1]);
    throw;
  }
  close(fds[1]);
  run_result r{0, {}};
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0)
      r.output.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR)
      break;
  }
  close(fds[0]);
  r.status = wait_exit(pid);
  if (r.status == 125)
    r.output += "(could not switch to user postgres)\n";
  return r;
}

/// Throws unless user `postgres` can enter `dir` and every directory above it.
void check_traversable(const fs::path& dir, const os_user& user) {
  std::vector<std::string> dirs; // "/" first, so the first failure names the culprit
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    dirs.insert(dirs.begin(), p.string());
    if (p == p.root_path())
      break;
  }
  std::vector<const char*> c_dirs;
  for (auto& d : dirs)
    c_dirs.push_back(d.c_str());
  const pid_t pid = spawn(&user, -1, [&] {
    for (size_t i = 0; i < c_dirs.size() && i < 100; ++i)
      if (access(c_dirs[i], X_OK) != 0)
        _exit(static_cast<int>(i) + 1);
    _exit(0);
  });
  const int st = wait_exit(pid);
  if (st == 0)
    return;
  if (st < 1 || st > static_cast<int>(dirs.size()))
    fail("could not check directory permissions as user postgres (status "
         + std::to_string(st) + ")");
  const auto& bad = dirs[static_cast<size_t>(st) - 1];
  fail("user postgres cannot enter " + bad
       + " (the server runs as postgres because initdb refuses root): use --data-dir "
         "under /var/tmp or /tmp, or run `chmod o+x "
       + bad + "`");
}

/// pg_ctl puts -D and -l values into a shell command inside double quotes.
void check_shell_quotable(const fs::path& p) {
  if (p.string().find_first_of("\"$`\\\n") != std::string::npos)
    fail("path " + p.string()
         + " contains one of \" $ ` \\ or a newline, which pg_ctl cannot pass on: "
           "choose a --data-dir without them");
}

/// True when `s` may appear unquoted in pg_ctl's -o string (which goes through a shell).
bool shell_safe(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || (c && std::strchr("/._-", c));
         });
}

std::string read_file(const fs::path& p, std::streamoff from = 0) {
  std::ifstream in(p, std::ios::binary);
  in.seekg(from);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::streamoff file_size_or_zero(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : static_cast<std::streamoff>(n);
}

/// Lines of postmaster.pid (1: pid, 4: port, 5: socket dir, 8: status); empty when
/// there is none.
std::vector<std::string> read_pid_file(const fs::path& pgdata) {
  const fs::path path = pgdata / "postmaster.pid";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return {};
    fail(errno_text("cannot read " + path.string())
         + ": run as root or as the user that owns the server");
  }
  std::string text;
  char buf[1024];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;)
    if (n > 0)
      text.append(buf, static_cast<size_t>(n));
    else if (errno != EINTR)
      break;
  close(fd);
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    const auto nl = std::min(text.find('\n', pos), text.size());
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  for (auto& l : lines)
    l.erase(l.find_last_not_of(" \r") + 1);
  return lines;
}

/// True when the pid file names a live process that is the server of `pgdata`.
bool server_alive(const std::vector<std::string>& pid_file, const fs::path& pgdata) {
  if (pid_file.size() < 4)
    return false;
  const long pid = std::strtol(pid_file[0].c_str(), nullptr, 10);
  if (pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM))
    return false;
  // The postmaster runs in its data directory: this rules out a reused pid where we
  // may look (root or same user), and a zombie (no cwd) left by a killed server.
  const fs::path proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  const auto cwd = fs::read_symlink(proc / "cwd", ec);
  if (ec)
    return ec != std::errc::no_such_file_or_directory || !fs::exists(proc, ec);
  return cwd == fs::weakly_canonical(pgdata, ec);
}

/// Waits (up to 60 s) for a server started by someone else to accept connections.
bool wait_ready(const fs::path& pgdata) {
  for (int i = 0; i < 600; ++i) {
    const auto pid = read_pid_file(pgdata);
    if (!server_alive(pid, pgdata))
      return false;
    if (pid.size() >= 8 && pid[7] == "ready")
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

/// Directory holding pg_ctl and initdb: the version that made `pgdata` if any, else
/// 15, else the highest one installed.
fs::path find_bindir(const fs::path& pgdata) {
  const fs::path root = "/usr/lib/postgresql";
  auto usable = [](const fs::path& bin) {
    return access((bin / "pg_ctl").c_str(), X_OK) == 0
           && access((bin / "initdb").c_str(), X_OK) == 0;
  };
  std::string made_by;
  std::ifstream(pgdata / "PG_VERSION") >> made_by;
  if (!made_by.empty()) {
    if (usable(root / made_by / "bin"))
      return root / made_by / "bin";
    fail(pgdata.string() + " was created by PostgreSQL " + made_by + " but "
         + (root / made_by / "bin").string() + " has no pg_ctl/initdb: install postgresql-"
         + made_by + ", or use a new --data-dir");
  }
  if (usable(root / "15" / "bin"))
    return root / "15" / "bin";
  fs::path best;
  double best_version = -1;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const double v = std::strtod(it->path().filename().c_str(), nullptr);
    if (v > best_version && usable(it->path() / "bin")) {
      best_version = v;
      best = it->path() / "bin";
    }
  }
  if (best.empty())
    fail("no PostgreSQL server binaries (pg_ctl, initdb) in " + root.string()
         + "/*/bin: install them with `apt-get install postgresql-15`");
  return best;
}

/// Exclusive flock on a file, serializing start/stop on one data dir across processes.
class dir_lock {
public:
  explicit dir_lock(const fs::path& p) {
    fd_ = open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      fd_ = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      fail(errno_text("cannot open lock file " + p.string())
           + ": make --data-dir writable for this user");
    while (flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR)
        fail(errno_text("cannot lock " + p.string()));
  }
  ~dir_lock() {
    close(fd_);
  }
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;

private:
  int fd_;
};

void chown_to(const fs::path& p, const os_user* user) {
  if (user && chown(p.c_str(), user->uid, user->gid) != 0)
    fail(errno_text("cannot chown " + p.string() + " to user postgres")
         + ": choose a --data-dir on a local filesystem, e.g. under /var/tmp");
}

/// A loopback port nobody listens on right now (it may be taken again before use).
int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    fail(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
                  && getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const std::string err = ok ? "" : errno_text("cannot pick a free port on 127.0.0.1");
  close(s);
  if (!ok)
    fail(err);
  return ntohs(addr.sin_port);
}

/// Socket directory for the server: `pgdata` itself, or a fresh
/// /tmp/stagee-pg-XXXXXX when pgdata is too long for a unix socket path (108 bytes
/// with ".s.PGSQL.NNNNN") or has characters pg_ctl's shell would interpret.
fs::path socket_dir(const fs::path& pgdata, const os_user* user) {
  if (pgdata.string().size() <= 90 && shell_safe(pgdata.string()))
    return pgdata;
  std::string tmpl = std::string(temp_socket_prefix) + "XXXXXX";
  if (!mkdtemp(tmpl.data()))
    fail(errno_text("cannot create a socket directory in /tmp"));
  chown_to(tmpl, user);
  return tmpl;
}

void remove_temp_socket_dir(const std::string& dir) {
  if (dir.rfind(temp_socket_prefix, 0) == 0 && shell_safe(dir)) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

/// Stops the server of `pgdata` if it runs. Call with the dir_lock held.
void stop_server(const fs::path& pgdata, const fs::path& log, const os_user* user) {
  const auto pid = read_pid_file(pgdata);
  if (!server_alive(pid, pgdata))
    return;
  const auto r = run({(find_bindir(pgdata) / "pg_ctl").string(), "stop", "-D",
                      pgdata.string(), "-m", "fast", "-w", "-t", "60"},
                     user);
  if (r.status != 0)
    fail("pg_ctl stop failed (exit " + std::to_string(r.status) + "):\n" + tail_of(r.output)
         + "\nsee " + log.string() + "; the server may still be shutting down");
  remove_temp_socket_dir(pid.size() > 4 ? pid[4] : "");
}

/// Runs initdb into `pgdata` (created here, owned by the server user).
void init_cluster(const fs::path& bindir, const fs::path& pgdata, const os_user* user) {
  std::string output;
  for (const char* locale : {"C.UTF-8", "C"}) {
    std::error_code ec;
    fs::create_directory(pgdata, ec);
    if (ec)
      fail("cannot create " + pgdata.string() + ": " + ec.message());
    chown_to(pgdata, user);
    fs::permissions(pgdata, fs::perms::owner_all, ec);
    // --auth=trust lets anyone who reaches the server log in as superuser without a
    // password. Acceptable here: the server listens only on 127.0.0.1 and on a unix
    // socket in a 0700 directory, so only processes on this machine can reach it.
    const auto r = run({(bindir / "initdb").string(), "-D", pgdata.string(), "-U",
                        "postgres", "--auth=trust", "-E", "UTF8",
                        std::string("--locale=") + locale},
                       user);
    if (r.status == 0)
      return;
    output = r.output;
  }
  fail("initdb into " + pgdata.string() + " failed:\n" + tail_of(output)
       + "\nfix the cause above; if the directory holds leftovers, remove it or use --fresh");
}

/// pg_ctl start on a free port; retries when the port was taken meanwhile.
void launch(const fs::path& bindir, const fs::path& pgdata, const fs::path& log,
            const os_user* user) {
  {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
      fail(errno_text("cannot create log file " + log.string()));
    close(fd);
    chown_to(log, user); // the server (user postgres) appends to it
  }
  const std::string pg_ctl = (bindir / "pg_ctl").string();
  for (int attempt = 1;; ++attempt) {
    const int port = free_port();
    const std::string sock = socket_dir(pgdata, user).string();
    const auto log_from = file_size_or_zero(log);
    // -o goes through a shell: only our port number and a checked path go in.
    const std::string opts = "-p " + std::to_string(port) + " -k " + sock
                             + " -c listen_addresses=127.0.0.1 -c max_connections=200"
                               " -c fsync=on";
    const auto r = run({pg_ctl, "start", "-D", pgdata.string(), "-l", log.string(), "-w",
                        "-t", "60", "-o", opts},
                       user);
    if (r.status == 0)
      return;
    const std::string server_log = read_file(log, log_from);
    // pg_ctl may have given up waiting while the server still starts: stop it.
    if (server_alive(read_pid_file(pgdata), pgdata))
      run({pg_ctl, "stop", "-D", pgdata.string(), "-m", "fast", "-w", "-t", "60"}, user);
    remove_temp_socket_dir(sock);
    const bool port_taken = server_log.find("already in use") != std::string::npos
                            || server_log.find("could not create any TCP/IP") != std::string::npos
                            || (server_log.find(".s.PGSQL.") != std::string::npos
                                && server_log.find("lock file") != std::string::npos);
    if (port_taken && attempt < start_attempts)
      continue;
    fail("pg_ctl start failed (exit " + std::to_string(r.status) + ", port "
         + std::to_string(port) + "):\n" + tail_of(r.output, 500) + "\nserver log "
         + log.string() + " ends with:\n" + tail_of(server_log)
         + (port_taken ? "\nevery port tried was in use: free some loopback ports"
                       : "\nfix the cause above; if " + pgdata.string()
                           + " is damaged, remove it or use --fresh (destroys data)"));
  }
}

using pg_conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using pg_result = std::unique_ptr<PGresult, decltype(&PQclear)>;

/// Creates `database` unless it exists; tolerates another process doing the same.
void ensure_database(int port, const std::string& database, const fs::path& log) {
  const std::string port_s = std::to_string(port);
  const char* keys[] = {"host", "port", "user", "dbname", "connect_timeout", nullptr};
  const char* vals[] = {"127.0.0.1", port_s.c_str(), "postgres", "postgres", "10", nullptr};
  pg_conn conn(PQconnectdbParams(keys, vals, 0), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK)
    fail("server on port " + port_s + " refuses connections: "
         + PQerrorMessage(conn.get()) + "see " + log.string());
  const char* params[] = {database.c_str()};
  for (int attempt = 0;; ++attempt) {
    pg_result found(PQexecParams(conn.get(), "SELECT 1 FROM pg_database WHERE datname = $1",
                                 1, nullptr, params, nullptr, nullptr, 0),
                    &PQclear);
    if (PQresultStatus(found.get()) != PGRES_TUPLES_OK)
      fail(std::string("cannot list databases: ") + PQerrorMessage(conn.get()));
    if (PQntuples(found.get()) > 0)
      return;
    pg_result created(PQexec(conn.get(), ("CREATE DATABASE \"" + database + "\"").c_str()),
                      &PQclear);
    if (PQresultStatus(created.get()) == PGRES_COMMAND_OK)
      return;
    const char* state = PQresultErrorField(created.get(), PG_DIAG_SQLSTATE);
    const std::string sqlstate = state ? state : "";
    // Another process won the race: duplicate_database, or unique_violation on
    // pg_database's name index when both inserted at once.
    if (sqlstate == "42P04" || sqlstate == "23505")
      return;
    // object_in_use: template1 is being copied by a concurrent CREATE DATABASE.
    if (sqlstate == "55006" && attempt < 40) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      continue;
    }
    fail("CREATE DATABASE " + database + " failed: " + PQerrorMessage(conn.get()));
  }
}

} // namespace

embedded_pg::embedded_pg(embedded_pg_options opts) : opts_(std::move(opts)) {
  if (opts_.data_dir.empty())
    fail("no data directory given: pass --data-dir DIR");
  const auto& db = opts_.database;
  if (db.empty() || !std::all_of(db.begin(), db.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      }))
    fail("database name '" + opts_.database + "' must use only letters, digits and _");
  auto dir = fs::absolute(opts_.data_dir).lexically_normal();
  if (dir.filename().empty())
    dir = dir.parent_path(); // "dir/" -> "dir"
  opts_.data_dir = dir;
  pgdata_ = dir / "pg";
  log_ = dir / "pg.log";
}

std::string embedded_pg::start() {
  check_shell_quotable(pgdata_);
  const auto user = server_user();
  const os_user* as = user ? &*user : nullptr;
  std::error_code ec;
  fs::create_directories(opts_.data_dir, ec);
  if (ec)
    fail("cannot create data directory " + opts_.data_dir.string() + ": " + ec.message()
         + "; choose a writable --data-dir");
  if (as)
    check_traversable(opts_.data_dir, *as);
  dir_lock lock(opts_.data_dir / "pg.lock");
  if (opts_.fresh) {
    stop_server(pgdata_, log_, as);
    fs::remove_all(pgdata_, ec);
    if (ec)
      fail("cannot remove " + pgdata_.string() + ": " + ec.message());
  }
  const fs::path bindir = find_bindir(pgdata_);
  started_here_ = false;
  const bool running = server_alive(read_pid_file(pgdata_), pgdata_)
                       && run({(bindir / "pg_ctl").string(), "status", "-D", pgdata_.string()}, as)
                              .status
                            == 0;
  if (running) {
    if (!wait_ready(pgdata_))
      fail("the server in " + pgdata_.string() + " runs but did not become ready within 60 s: "
           "see " + log_.string());
  } else {
    if (!fs::exists(pgdata_ / "PG_VERSION", ec))
      init_cluster(bindir, pgdata_, as);
    launch(bindir, pgdata_, log_, as);
    started_here_ = true;
  }
  const auto pid = read_pid_file(pgdata_);
  const int port = pid.size() >= 4 ? std::atoi(pid[3].c_str()) : 0;
  try {
    if (port <= 0)
      fail("no port in " + (pgdata_ / "postmaster.pid").string() + ": see " + log_.string());
    ensure_database(port, opts_.database, log_);
  } catch (...) {
    if (started_here_) {
      try {
        stop_server(pgdata_, log_, as); // leave no half-set-up server behind
      } catch (const std::exception&) {
        // keep the first error: it says what went wrong
      }
    }
    started_here_ = false;
    throw;
  }
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/" + opts_.database;
}

bool embedded_pg::started_here() const {
  return started_here_;
}

void embedded_pg::stop() {
  if (!server_alive(read_pid_file(pgdata_), pgdata_))
    return;
  const auto user = server_user();
  dir_lock lock(opts_.data_dir / "pg.lock");
  stop_server(pgdata_, log_, user ? &*user : nullptr);
}

std::optional<std::string> embedded_pg::url() const {
  const auto pid = read_pid_file(pgdata_);
  if (!server_alive(pid, pgdata_))
    return std::nullopt;
  return "postgresql://postgres@127.0.0.1:" + pid[3] + "/" + opts_.database;
}

std::string read_test_db_url() {
  const char* dir = std::getenv("STAGEE_TEST_PG_DIR");
  if (!dir || !*dir)
    throw std::runtime_error("test PostgreSQL not running (STAGEE_TEST_PG_DIR is unset): "
                             "run through ctest, which starts it (fixture pg_server)");
  embedded_pg_options opts;
  opts.data_dir = dir;
  if (auto url = embedded_pg(opts).url())
    return *url;
  throw std::runtime_error(std::string("test PostgreSQL not running in ") + dir
                           + ": run through ctest, which starts it (fixture pg_server)");
}

} // namespace stagee
