#include "persistence/secret_store.hpp"

#include <nlohmann/json.hpp>

#include "persistence/snapshot_codec.hpp"
#include "persistence/statements.hpp"

namespace stagee {

secret_store::secret_store(db_session& db) : db_(db) {
  // nop
}

caf::expected<void> secret_store::put(const std::string& tenant, const std::string& name,
                                      const sealed_secret& s, const std::string& by) {
  auto r = db_.transact("put secret", [&](pqxx::work& txn) {
    txn.exec_prepared(stmt::secret_put, tenant, name,
                      to_hex(std::string(s.sealed.begin(), s.sealed.end())), s.key_id, by);
    return true;
  });
  if (!r)
    return r.error();
  return caf::unit;
}

caf::expected<std::map<std::string, sealed_secret>>
secret_store::get(const std::string& tenant, const std::vector<std::string>& names) {
  return db_.transact("read secrets", [&](pqxx::work& txn) {
    std::map<std::string, sealed_secret> out;
    for (auto row : txn.exec_prepared(stmt::secret_get, tenant, nlohmann::json(names).dump()))
    {
      pqxx::binarystring blob{row[1]};
      out[row[0].as<std::string>()] = sealed_secret{
        std::vector<uint8_t>(blob.data(), blob.data() + blob.size()), row[2].as<std::string>()};
    }
    return out;
  });
}

caf::expected<std::vector<secret_info>> secret_store::list(const std::string& tenant) {
  return db_.transact("list secrets", [&](pqxx::work& txn) {
    std::vector<secret_info> out;
    for (auto row : txn.exec_prepared(stmt::secret_list, tenant))
      out.push_back(secret_info{row[0].as<std::string>(), row[1].as<std::string>(),
                                row[2].as<std::string>(), row[3].as<std::string>()});
    return out;
  });
}

caf::expected<bool> secret_store::remove(const std::string& tenant, const std::string& name) {
  return db_.transact("delete secret", [&](pqxx::work& txn) {
    return !txn.exec_prepared(stmt::secret_delete, tenant, name).empty();
  });
}

} // namespace stagee
