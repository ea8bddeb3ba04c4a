/// A PostgreSQL server that Stage E runs for itself.
///
/// `stagee node` without --db-url, `stagee db start|stop|url --data-dir DIR` and the
/// test fixture `pg_server` all use this class. The server's files live in
/// DIR/pg, its log in DIR/pg.log; it listens on 127.0.0.1 (a free port picked at
/// start) and on a unix socket in DIR/pg (or /tmp/stagee-pg-XXXXXX when that path is
/// too long or unusual). Only servers in DIR are ever started or stopped.
///
/// Running as root: initdb refuses root, so initdb and pg_ctl run as user `postgres`,
/// which must be able to traverse every directory above DIR.
///
/// Calls on one DIR are serialized across processes by flock(DIR/pg.lock), so
/// several nodes may call start() at once: one starts, the others reuse.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace stagee {

struct embedded_pg_options {
  std::filesystem::path data_dir; ///< server in data_dir/"pg", log in data_dir/"pg.log"
  std::string database = "stagee"; ///< created on first start; [A-Za-z0-9_] only
  bool fresh = false; ///< stop any server in data_dir/"pg" and wipe it first (tests)
};

/// Handle on the server in one data directory. Holds no process: the server keeps
/// running after this object is gone, until stop().
class embedded_pg {
public:
  explicit embedded_pg(embedded_pg_options opts);

  /// Starts the server unless it already runs (then reuses it), running initdb on
  /// first start, and creates the database if missing.
  /// @returns "postgresql://postgres@127.0.0.1:PORT/<database>"
  /// @throws std::runtime_error saying what failed and what to do.
  std::string start();

  /// True when start() launched the server (false when it reused a running one).
  bool started_here() const;

  /// Stops the server (pg_ctl stop -m fast -w). No-op when it is not running.
  /// @throws std::runtime_error when pg_ctl fails.
  void stop();

  /// URL of the running server (port from postmaster.pid), or nullopt when none runs.
  std::optional<std::string> url() const;

private:
  embedded_pg_options opts_;
  std::filesystem::path pgdata_; // absolute data_dir/"pg"
  std::filesystem::path log_;    // absolute data_dir/"pg.log"
  bool started_here_ = false;
};

/// URL of the test server named by env STAGEE_TEST_PG_DIR (started by ctest's
/// pg_server fixture). @throws std::runtime_error when unset or not running.
std::string read_test_db_url();

} // namespace stagee
