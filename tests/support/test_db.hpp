/// A fresh, migrated database on the test PostgreSQL server (started by CTest's
/// pg_server fixture through `stagee db start`). Each test_db creates its own
/// database and drops it at the end, so tests never see each other's rows.
#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "persistence/db_session.hpp"

namespace stagee::test {

class test_db {
public:
  /// Creates and migrates a database named stagee_t_<pid>_<n>.
  test_db();
  ~test_db();

  test_db(const test_db&) = delete;
  test_db& operator=(const test_db&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

  /// A new session on this database (each detached actor needs its own).
  std::unique_ptr<db_session> session() const;

  /// Runs one SQL query and returns the first column of the first row as text
  /// ("" for NULL or no row). For assertions only.
  std::string scalar(const std::string& sql) const;

private:
  std::string server_url_; // the server's maintenance database
  std::string name_;
  std::string url_;
};

/// URL of the test server's "postgres" database; throws with a clear message when
/// the test server is not running.
std::string test_server_url();

} // namespace stagee::test

namespace stagee::test {

/// Error text of an expected<T>, "" when it holds a value (for *_MESSAGE macros,
/// which evaluate their message even on success).
template <class T>
std::string error_text(const caf::expected<T>& x) {
  return x ? std::string{} : caf::to_string(x.error());
}

} // namespace stagee::test
