/// Per-asset locks in execution_locks (R-SAFE-2; SQL in queries/locks.sql).
///
/// Every expiry decision uses the database clock. A lock's lease is its holder's
/// queue lease: granted with the queue row's expiry, renewed with it
/// (queue_store::renew), released with the terminal status (journal_store).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/locks.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

/// Inside the caller's transaction, which holds execution_id's queue row (leased to
/// node): takes every lock in `locks` for it, all or nothing, in key order. Not
/// granted: `holder` names the first key held by another execution whose lease has
/// not expired, and nothing was changed.
locks_outcome take_locks(pqxx::work& txn, const std::string& execution_id,
                         const std::string& node, const std::vector<lock_spec>& locks);

/// Inside the caller's transaction: creates the rows of `locks` (sorted by key)
/// that do not exist yet and row-locks them all in key order, the order every
/// acquirer uses (no deadlock between acquirers).
void lock_in_key_order(pqxx::work& txn, const std::vector<lock_spec>& locks);

/// Text of the resource_busy error for a lock held by someone else.
std::string busy_message(const lock_holder& h);

struct reaped_lock {
  std::string key;
  std::string execution_id; // previous holder
  std::string node;
};

class lock_store {
public:
  explicit lock_store(db_session& db);

  /// acquire_locks (see messages/locks.hpp): owner_lost when (node, fence) no longer
  /// hold the execution's queue lease. When a key is busy, the execution's own locks
  /// are released and its queue row deferred, in the same transaction.
  caf::expected<locks_outcome> acquire(const acquire_locks& req);

  /// Held locks, by key (at most 1000).
  caf::expected<lock_list> list(const locks_request& req);

  /// Frees every held lock whose lease expired (database clock).
  caf::expected<std::vector<reaped_lock>> reap();

private:
  db_session& db_;
};

} // namespace stagee
