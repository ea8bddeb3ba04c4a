#include "persistence/db_session.hpp"

#include <regex>

#include "messages/errors.hpp"
#include "persistence/sql_catalog.hpp"
#include "persistence/statements.hpp"

namespace stagee {

caf::error map_db_error(const std::exception& e, const std::string& what) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e))
    return make_stagee_error(stagee_errc::db_unavailable, "",
                             what + ": database unavailable (" + e.what()
                               + "); retry later");
  if (auto sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    auto state = sql->sqlstate();
    // Transient, worth retrying: class 08 (connection exception), 40 (transaction
    // rollback: serialization failure, deadlock), 53 (insufficient resources: disk
    // full, too many connections), 57P (operator intervention: shutdown). Anything
    // else would fail again the same way.
    if (state.rfind("08", 0) == 0 || state.rfind("40", 0) == 0 || state.rfind("53", 0) == 0
        || state.rfind("57P", 0) == 0)
      return make_stagee_error(stagee_errc::db_unavailable, "",
                               what + ": database unavailable or busy (" + state + "); retry later");
    return make_stagee_error(stagee_errc::internal, "",
                             what + ": SQL error " + state + ": " + e.what());
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
