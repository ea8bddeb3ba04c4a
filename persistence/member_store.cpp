#include "persistence/member_store.hpp"

#include <map>

#include "persistence/statements.hpp"

namespace stagee {

member_store::member_store(db_session& db) : db_(db) {
  // nop
}

caf::expected<bool> member_store::heartbeat(const member_info& m) {
  return db_.transact("write cluster member heartbeat", [&](pqxx::work& txn) {
    txn.exec_prepared(stmt::member_upsert, m.name, m.node_id, m.address, m.capacity, m.load,
                      m.state, m.tls, m.started_at_ms);
    return true;
  });
}

caf::expected<std::vector<member_row>> member_store::list(bool with_holdings) {
  return db_.transact("list cluster members", [&](pqxx::work& txn) {
    std::vector<member_row> out;
    for (auto r : txn.exec_prepared(stmt::member_list)) {
      member_row m;
      m.name = r[0].as<std::string>();
      m.node_id = r[1].as<std::string>();
      m.address = r[2].as<std::string>();
      m.state = r[3].as<std::string>();
      m.capacity = r[4].as<int32_t>();
      m.load = r[5].as<int32_t>();
      m.started_at = r[6].as<std::string>();
      m.last_seen_ms = r[7].as<int64_t>();
      m.tls = r[8].as<bool>();
      out.push_back(std::move(m));
    }
    if (!with_holdings)
      return out;
    std::map<std::string, std::pair<int64_t, int64_t>> held;
    for (auto r : txn.exec_prepared(stmt::member_holdings))
      held[r[0].as<std::string>()] = {r[1].as<int64_t>(), r[2].as<int64_t>()};
    for (auto& m : out) {
      auto i = held.find(m.name);
      if (i != held.end())
        std::tie(m.leases_held, m.locks_held) = i->second;
    }
    return out;
  });
}

caf::expected<std::vector<member_expired>>
member_store::declare_dead(const std::string& name, int64_t stale_ms, const std::string& by) {
  return db_.transact("declare cluster member dead", [&](pqxx::work& txn) {
    std::vector<member_expired> out;
    if (txn.exec_prepared(stmt::member_declare_dead, name, stale_ms, by).empty())
      return out;
    member_expired e;
    e.name = name;
    e.leases_freed = static_cast<int64_t>(txn.exec_prepared(stmt::member_free_leases, name).size());
    e.locks_freed = static_cast<int64_t>(txn.exec_prepared(stmt::member_free_locks, name).size());
    out.push_back(std::move(e));
    return out;
  });
}


} // namespace stagee
