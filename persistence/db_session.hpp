/// One PostgreSQL connection with every named statement prepared, owned by one
/// detached actor (libpqxx blocks). Exceptions stop here: transact() maps them to
/// stagee errors (R-PROD-2: db_unavailable says "retry later").
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <pqxx/pqxx>

namespace stagee {

/// Maps a libpqxx/std exception to a stagee error. `what` names the operation.
caf::error map_db_error(const std::exception& e, const std::string& what);

class db_session {
public:
  /// Does not connect yet; the first transact() does.
  explicit db_session(std::string url);

  /// The connection, opened (and statements prepared) on first use.
  pqxx::connection& conn();

  /// Runs fn(pqxx::work&) in one transaction and commits. Retries once on a
  /// serialization failure or deadlock, reconnects after a broken connection.
  template <class F>
  auto transact(const std::string& what, F&& fn)
    -> caf::expected<std::invoke_result_t<F, pqxx::work&>> {
    for (int attempt = 0;; ++attempt) {
      try {
        pqxx::work txn{conn()};
        auto result = fn(txn);
        txn.commit();
        return result;
      } catch (const pqxx::transaction_rollback& e) {
        if (attempt == 0)
          continue;
        return map_db_error(e, what);
      } catch (const pqxx::broken_connection& e) {
        reset();
        return map_db_error(e, what);
      } catch (const std::exception& e) {
        if (conn_ && !conn_->is_open())
          reset();
        return map_db_error(e, what);
      }
    }
  }

  const std::string& url() const { return url_; }

  /// Drops the connection; the next use reconnects.
  void reset();

private:
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

/// Turns a caller-supplied URL into something safe to print (password removed).
std::string redact_url(const std::string& url);

} // namespace stagee
