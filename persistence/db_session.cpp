#include "persistence/db_session.hpp"

#include <regex>

#include "messages/errors.hpp"
#include "persistence/sql_catalog.hpp"
#include "persistence/statements.hpp"

namespace stagee {

caf::error map_db_error(const std::exception& e, const std::string& what) {
  auto transient = [&](const std::string& why) {
    return make_stagee_error(stagee_errc::db_unavailable, "",
                             what + ": database unavailable or busy (" + why + "); retry later");
  };
  if (dynamic_cast<const pqxx::broken_connection*>(&e)
      || dynamic_cast<const pqxx::in_doubt_error*>(&e))
    return transient(e.what());
  if (auto sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    auto state = sql->sqlstate();
    // Permanent: the same statement with the same data fails the same way again
    // (22 data exception, 23 integrity constraint, 42 syntax or undefined object,
    // 21 cardinality, 2F SQL routine, 44 check option, P0 raised by PL/pgSQL).
    // Everything else (08 connection, 40 deadlock/serialization, 53 resources,
    // 55 lock not available, 57 cancelled/shutdown, 58 I/O, 25 read-only after a
    // failover, ...) may pass: retry.
    static const char* permanent[] = {"22", "23", "42", "21", "2F", "44", "P0"};
    for (auto cls : permanent)
      if (state.rfind(cls, 0) == 0)
        return make_stagee_error(stagee_errc::internal, "",
                                 what + ": SQL error " + state + ": " + e.what());
    return transient(state);
  }
  return make_stagee_error(stagee_errc::internal, "", what + ": " + e.what());
}

db_session::db_session(std::string url) : url_(std::move(url)) {
  // nothing else: connect lazily
}

pqxx::connection& db_session::conn() {
  if (!conn_ || !conn_->is_open()) {
    conn_ = std::make_unique<pqxx::connection>(url_);
    // Lazily prepared by libpqxx on first use; pgtests prepare_now() every one.
    for (auto name : stmt::all)
      conn_->prepare(name, sql::statements().at(name));
  }
  return *conn_;
}

void db_session::reset() {
  conn_.reset();
}

std::string redact_url(const std::string& url) {
  static const std::regex password{R"(://([^:/@]+):[^@/]*@)"};
  return std::regex_replace(url, password, "://$1:***REDACTED***@");
}

} // namespace stagee
