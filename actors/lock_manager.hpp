/// Lock-manager: this node's per-asset locks (R-SAFE-2), with PostgreSQL
/// (execution_locks) as the arbiter across nodes.
///
/// - acquire_locks: an execution takes all its locks before its first step (and
///   again when a new owner resumes it), all or nothing, in key order; when one is
///   busy its queue row is deferred in the same transaction (lock wait, no attempt);
/// - locks_request: who holds what (`stagee locks`);
/// - a reaper frees, every reap_interval_ms, the locks whose lease expired by the
///   database clock (holders that died or froze).
///
/// Spawned detached: it owns a database connection and blocks on it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "messages/locks.hpp"
#include "persistence/db_session.hpp"
#include "persistence/lock_store.hpp"

namespace stagee {

struct lock_manager_settings {
  std::string node;
  int64_t reap_interval_ms = 1000;
};

struct lock_manager_state {
  static inline const char* name = "lock-manager";
  lock_manager_settings settings;
  std::unique_ptr<db_session> db;
  std::unique_ptr<lock_store> store;
};

/// @param settings node name (logs), reaper period
/// @param db_url   database holding execution_locks
lock_manager_actor::behavior_type
lock_manager(lock_manager_actor::stateful_pointer<lock_manager_state> self,
             lock_manager_settings settings, std::string db_url);

/// `lock:v1:{tenant_id}:{target_ref}:{action}`, with '%' and ':' escaped (%25, %3A)
/// in the tenant and the action so that keys of different tenants never collide.
std::string lock_key(const std::string& tenant_id, const std::string& target,
                     const std::string& action);

/// The locks an execution of `p` by `tenant_id` needs: one per distinct target of
/// its steps, sorted by key (the fixed order every acquirer uses). Read-only plans
/// (action_class read) take none: locks keep changes apart, and reads change
/// nothing.
std::vector<lock_spec> locks_for(const std::string& tenant_id, const plan& p);

} // namespace stagee
