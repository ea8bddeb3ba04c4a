#include "tests/support/test_db.hpp"

#include <atomic>
#include <stdexcept>

#include <unistd.h>

#include <pqxx/pqxx>

#include "persistence/migrator.hpp"
#include "runtime/embedded_pg.hpp"

namespace stagee::test {

namespace {

std::string with_database(const std::string& url, const std::string& db) {
  auto slash = url.rfind('/');
  return url.substr(0, slash + 1) + db;
}

void admin_exec(const std::string& server_url, const std::string& sql) {
  pqxx::connection c{server_url};
  pqxx::nontransaction n{c};
  n.exec(sql);
}

} // namespace

std::string test_server_url() {
  return with_database(read_test_db_url(), "postgres");
}

test_db::test_db() {
  static std::atomic<int> counter{0};
  server_url_ = test_server_url();
  name_ = "stagee_t_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  admin_exec(server_url_, "DROP DATABASE IF EXISTS " + name_);
  admin_exec(server_url_, "CREATE DATABASE " + name_);
  url_ = with_database(server_url_, name_);
  db_session db{url_};
  auto applied = migrate_up(db);
  if (!applied)
    throw std::runtime_error("migrating test database failed: " + to_string(applied.error()));
}

test_db::~test_db() {
  try {
    admin_exec(server_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
    // best effort: the whole test server is thrown away after the run
  }
}

std::unique_ptr<db_session> test_db::session() const {
  return std::make_unique<db_session>(url_);
}

std::string test_db::scalar(const std::string& sql) const {
  pqxx::connection c{url_};
  pqxx::nontransaction n{c};
  auto r = n.exec(sql);
  if (r.empty() || r[0][0].is_null())
    return "";
  return r[0][0].as<std::string>();
}

} // namespace stagee::test
