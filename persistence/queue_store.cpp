#include "persistence/queue_store.hpp"

#include <nlohmann/json.hpp>

#include "persistence/read_store.hpp"
#include "persistence/statements.hpp"

namespace stagee {

queue_store::queue_store(db_session& db) : db_(db) {
  // nop
}

namespace {

/// Decodes claimed rows; rows whose snapshot cannot be decoded go to `broken`.
std::vector<stored_execution> decode_claimed(const pqxx::result& rows,
                                             std::vector<caf::error>* broken) {
  std::vector<stored_execution> out;
  for (auto row : rows) {
    auto ex = stored_execution_from_row(row);
    if (ex)
      out.push_back(std::move(*ex));
    else if (broken)
      broken->push_back(ex.error());
  }
  return out;
}

std::string lease_rows(const std::vector<lease_ref>& leases) {
  auto rows = nlohmann::json::array();
  for (auto& l : leases)
    rows.push_back({{"execution_id", l.execution_id}, {"fence", l.fence},
                    {"lease_ms", l.lease_ms}});
  return rows.dump();
}

std::vector<std::string> first_column(const pqxx::result& rows) {
  std::vector<std::string> out;
  for (auto r : rows)
    out.push_back(r[0].as<std::string>());
  return out;
}

} // namespace

caf::expected<std::vector<stored_execution>>
queue_store::claim(const std::string& node, int32_t max_count, const lease_sizing& lease,
                   std::vector<caf::error>* broken) {
  auto rows = db_.transact("claim queued executions", [&](pqxx::work& txn) {
    return txn.exec_prepared(stmt::queue_claim, node, max_count, lease.fixed_ms,
                             lease.buffer_ms);
  });
  if (!rows)
    return rows.error();
  return decode_claimed(*rows, broken);
}

caf::expected<renewed>
queue_store::renew(const std::string& node, const std::vector<lease_ref>& leases) {
  return db_.transact("renew leases", [&](pqxx::work& txn) {
    renewed out;
    auto rows = lease_rows(leases);
    out.renewed_ids = first_column(txn.exec_prepared(stmt::queue_renew, node, rows));
    if (!out.renewed_ids.empty()) { // the locks of a renewed execution share its lease
      auto ids = nlohmann::json(out.renewed_ids).dump();
      txn.exec_prepared(stmt::locks_lock_owned, ids); // in key order
      txn.exec_prepared(stmt::queue_renew_locks, node, ids);
    }
    if (out.renewed_ids.size() < leases.size())
      out.ended_ids = first_column(txn.exec_prepared(stmt::queue_rows_gone, rows));
    return out;
  });
}

caf::expected<cancel_batch> queue_store::cancel_poll(const std::string& node,
                                                     const lease_sizing& lease,
                                                     std::vector<caf::error>* broken) {
  return db_.transact("poll cancellation requests", [&](pqxx::work& txn) {
    cancel_batch out;
    for (auto r : txn.exec_prepared(stmt::cancel_poll_owned, node))
      out.owned.push_back(cancel_notice{r[0].as<std::string>(), r[1].as<std::string>(),
                                        r[2].as<std::string>()});
    out.claimed = decode_claimed(txn.exec_prepared(stmt::cancel_claim_free, node,
                                                   lease.fixed_ms, lease.buffer_ms),
                                 broken);
    return out;
  });
}

caf::expected<int32_t> queue_store::refresh_step_stats(int32_t min_samples) {
  return db_.transact("refresh step duration statistics", [&](pqxx::work& txn) {
    return static_cast<int32_t>(
      txn.exec_prepared(stmt::queue_refresh_step_stats, min_samples).size());
  });
}

caf::expected<reaped> queue_store::reap() {
  return db_.transact("reap expired leases", [&](pqxx::work& txn) {
    reaped out;
    for (auto r : txn.exec_prepared(stmt::queue_reap)) {
      out.execution_ids.push_back(r[0].as<std::string>());
      out.previous_owners.push_back(r[1].as<std::string>());
    }
    return out;
  });
}

caf::expected<std::vector<std::string>>
queue_store::release(const std::string& node, const std::vector<lease_ref>& leases) {
  return db_.transact("release leases", [&](pqxx::work& txn) {
    return first_column(txn.exec_prepared(stmt::queue_release, node, lease_rows(leases)));
  });
}

} // namespace stagee
