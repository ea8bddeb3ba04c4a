#include "persistence/migrator.hpp"

#include "persistence/sql_catalog.hpp"

namespace stagee {

namespace {

const std::string& q(const char* name) {
  return sql::statements().at(name);
}

/// Locks, ensures the bookkeeping table and returns the current version.
int lock_and_read_version(pqxx::work& txn) {
  txn.exec(q("migrations_lock"));
  txn.exec(q("migrations_create_table"));
  return txn.exec(q("migrations_current"))[0][0].as<int>();
}

} // namespace

caf::expected<int> schema_version(db_session& db) {
  return db.transact("read schema version", [](pqxx::work& txn) {
    return lock_and_read_version(txn);
  });
}

caf::expected<int> migrate_up(db_session& db) {
  int applied = 0;
  for (auto& mig : sql::migrations()) {
    auto done = db.transact("migration " + std::to_string(mig.version), [&](pqxx::work& txn) {
      if (lock_and_read_version(txn) >= mig.version)
        return false;
      txn.exec(mig.up);
      txn.exec_params(q("migrations_record"), mig.version, mig.name);
      return true;
    });
    if (!done)
      return done.error();
    applied += *done ? 1 : 0;
  }
  return applied;
}

caf::expected<int> migrate_down_all(db_session& db) {
  int reverted = 0;
  auto& all = sql::migrations();
  for (auto i = all.rbegin(); i != all.rend(); ++i) {
    auto& mig = *i;
    auto done = db.transact("revert " + std::to_string(mig.version), [&](pqxx::work& txn) {
      if (lock_and_read_version(txn) < mig.version)
        return false;
      txn.exec(mig.down);
      txn.exec_params(q("migrations_forget"), mig.version);
      return true;
    });
    if (!done)
      return done.error();
    reverted += *done ? 1 : 0;
  }
  return reverted;
}

} // namespace stagee
