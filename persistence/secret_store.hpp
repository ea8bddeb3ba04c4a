/// Sealed secrets in PostgreSQL (R-SAFE-4; SQL in queries/secrets.sql, migration
/// 0006). This store never sees a plaintext: sealing and opening happen in the
/// caller (actors/secret_box.hpp) with a key the database does not have.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "persistence/db_session.hpp"

namespace stagee {

struct sealed_secret {
  std::vector<uint8_t> sealed;
  std::string key_id;
};

struct secret_info {
  std::string name;
  std::string key_id;
  std::string updated_by;
  std::string updated_at; // ISO 8601 UTC
};

class secret_store {
public:
  explicit secret_store(db_session& db);

  caf::expected<void> put(const std::string& tenant, const std::string& name,
                          const sealed_secret& s, const std::string& by);
  /// The sealed values of the names that exist (missing names are simply absent).
  caf::expected<std::map<std::string, sealed_secret>> get(const std::string& tenant,
                                                          const std::vector<std::string>& names);
  caf::expected<std::vector<secret_info>> list(const std::string& tenant);
  caf::expected<bool> remove(const std::string& tenant, const std::string& name);

private:
  db_session& db_;
};

} // namespace stagee
