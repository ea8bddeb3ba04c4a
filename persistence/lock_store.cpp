#include "persistence/lock_store.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "messages/errors.hpp"
#include "persistence/statements.hpp"

namespace stagee {

namespace {

using json = nlohmann::json;

std::string key_array(const std::vector<lock_spec>& locks) {
  auto keys = json::array();
  for (auto& l : locks)
    keys.push_back(l.key);
  return keys.dump();
}

} // namespace

namespace {

pqxx::result insert_and_lock(pqxx::work& txn, const std::vector<lock_spec>& locks,
                             const std::string& execution_id) {
  auto rows = json::array();
  for (auto& l : locks)
    rows.push_back({{"lock_key", l.key}, {"tenant_id", l.tenant_id},
                    {"target_ref", l.target}, {"action", l.action}});
  txn.exec_prepared(stmt::locks_insert_keys, rows.dump());
  return txn.exec_prepared(stmt::locks_lock_rows, key_array(locks), execution_id);
}

} // namespace

void lock_in_key_order(pqxx::work& txn, const std::vector<lock_spec>& locks) {
  insert_and_lock(txn, locks, "00000000-0000-0000-0000-000000000000");
}

locks_outcome take_locks(pqxx::work& txn, const std::string& execution_id,
                         const std::string& node, const std::vector<lock_spec>& locks) {
  locks_outcome out;
  if (locks.empty()) {
    out.granted = true;
    return out;
  }
  auto keys = key_array(locks);
  for (auto r : insert_and_lock(txn, locks, execution_id)) {
    if (!r["busy"].as<bool>())
      continue;
    out.holder = lock_holder{r["lock_key"].as<std::string>(), r["holder"].as<std::string>(),
                             r["holder_node"].as<std::string>(),
                             r["expires_at"].as<std::string>(),
                             r["expires_in_ms"].as<int64_t>()};
    return out; // rows come in key order: the first busy key
  }
  std::map<std::string, int64_t> fences;
  for (auto r : txn.exec_prepared(stmt::locks_grant, execution_id, node, keys))
    fences[r[0].as<std::string>()] = r[1].as<int64_t>();
  out.granted = true;
  for (auto& l : locks)
    out.grants.push_back(lock_grant{l.key, l.target, fences[l.key]});
  return out;
}

std::string busy_message(const lock_holder& h) {
  return h.key + " is held by execution " + h.execution_id + " on node " + h.node
         + " until " + h.expires_at + " (database clock, in "
         + std::to_string(h.expires_in_ms) + " ms unless renewed)";
}

lock_store::lock_store(db_session& db) : db_(db) {
  // nop
}

caf::expected<locks_outcome> lock_store::acquire(const acquire_locks& req) {
  auto res = db_.transact("acquire locks", [&](pqxx::work& txn) -> caf::expected<locks_outcome> {
    auto lease = txn.exec_prepared(stmt::locks_queue_lease, req.execution_id, req.node, req.fence);
    if (lease.empty())
      return make_stagee_error(stagee_errc::owner_lost, "fence",
                               "execution " + req.execution_id
                                 + " is no longer leased to this node with fence "
                                 + std::to_string(req.fence));
    auto out = take_locks(txn, req.execution_id, req.node, req.locks);
    if (out.granted) {
      if (lease[0]["was_blocked"].as<bool>())
        txn.exec_prepared(stmt::locks_clear_blocked, req.execution_id);
      return out;
    }
    txn.exec_prepared(stmt::locks_release_execution, req.execution_id);
    auto deferred = txn.exec_prepared(stmt::locks_defer_queue, req.execution_id, req.node,
                                      req.fence, req.defer_base_ms, req.defer_cap_ms,
                                      out.holder.key);
    out.deferred_ms = deferred.empty() ? 0 : deferred[0][0].as<int64_t>();
    return out;
  });
  if (!res)
    return res.error();
  return std::move(*res);
}

caf::expected<lock_list> lock_store::list(const locks_request& req) {
  return db_.transact("list locks", [&](pqxx::work& txn) {
    lock_list out;
    for (auto r : txn.exec_prepared(stmt::locks_list, req.tenant_id, req.target)) {
      lock_view v;
      v.key = r["lock_key"].as<std::string>();
      v.tenant_id = r["tenant_id"].as<std::string>();
      v.target = r["target_ref"].as<std::string>();
      v.action = r["action"].as<std::string>();
      v.execution_id = r["owner_execution_id"].as<std::string>();
      v.node = r["owner_node"].as<std::string>();
      v.fence = r["fence"].as<int64_t>();
      v.acquired_at = r["acquired_at"].as<std::string>();
      v.expires_at = r["expires_at"].as<std::string>();
      v.expires_in_ms = r["expires_in_ms"].as<int64_t>();
      out.locks.push_back(std::move(v));
    }
    return out;
  });
}

caf::expected<std::vector<reaped_lock>> lock_store::reap() {
  return db_.transact("reap expired locks", [&](pqxx::work& txn) {
    std::vector<reaped_lock> out;
    for (auto r : txn.exec_prepared(stmt::locks_reap))
      out.push_back(reaped_lock{r[0].as<std::string>(), r[1].as<std::string>(),
                                r[2].as<std::string>()});
    return out;
  });
}

} // namespace stagee
