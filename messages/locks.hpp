/// Lock-manager protocol: per-asset locks (R-SAFE-2).
///
/// One lock per (tenant, target, action), key `lock:v1:{tenant_id}:{target_ref}:{action}`,
/// row in execution_locks. PostgreSQL is the arbiter across nodes: a grant bumps the
/// key's fencing token; a lock's lease is its holder's queue lease (same expiry,
/// renewed in the same transaction); only the holder releases it; the reaper frees
/// what the database clock says expired. See docs/locks.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/console.hpp"
#include "messages/execution.hpp"

namespace stagee {

/// One lock an execution needs.
struct lock_spec {
  std::string key;    // lock:v1:{tenant_id}:{target_ref}:{action}
  std::string tenant_id;
  std::string target; // target_ref
  std::string action;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_spec& x) {
  return f(caf::meta::type_name("lock_spec"), x.key, x.tenant_id, x.target, x.action);
}

/// Why a lock could not be granted: the first held key, in key order.
struct lock_holder {
  std::string key;
  std::string execution_id;
  std::string node;
  std::string expires_at;   // database clock, ISO 8601 UTC
  int64_t expires_in_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_holder& x) {
  return f(caf::meta::type_name("lock_holder"), x.key, x.execution_id, x.node, x.expires_at,
           x.expires_in_ms);
}

/// Take every lock of an execution at once, all or nothing, in key order (no
/// deadlock: an execution never waits while holding a lock). Granted only while
/// (node, fence) hold the execution's queue lease. When a key is held by another
/// execution, the locks this execution still held are released and its queue row is
/// deferred: free again after a backoff (base x 2^waits, capped, +-10 %), its claim
/// not counted as an attempt.
struct acquire_locks {
  std::string execution_id;
  std::string node;
  int64_t fence = 0; // the caller's queue fence
  std::vector<lock_spec> locks;
  int64_t defer_base_ms = 100;
  int64_t defer_cap_ms = 2000;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acquire_locks& x) {
  return f(caf::meta::type_name("acquire_locks"), x.execution_id, x.node, x.fence, x.locks,
           x.defer_base_ms, x.defer_cap_ms);
}

/// Outcome of acquire_locks. granted: fences holds each key's new fencing token (in
/// the order of the request). Not granted: holder names the conflict and
/// deferred_ms how long the queue row stays invisible.
struct locks_outcome {
  bool granted = false;
  std::vector<lock_grant> grants;
  lock_holder holder;
  int64_t deferred_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, locks_outcome& x) {
  return f(caf::meta::type_name("locks_outcome"), x.granted, x.grants, x.holder,
           x.deferred_ms);
}

/// `stagee locks`: held locks, optionally of one tenant and/or target.
struct locks_request {
  std::string tenant_id;
  std::string target;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, locks_request& x) {
  return f(caf::meta::type_name("locks_request"), x.tenant_id, x.target);
}

struct lock_view {
  std::string key;
  std::string tenant_id;
  std::string target;
  std::string action;
  std::string execution_id; // holder
  std::string node;
  int64_t fence = 0;
  std::string acquired_at;  // ISO 8601 UTC, database clock
  std::string expires_at;
  int64_t expires_in_ms = 0; // negative: expired, waiting for the reaper
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_view& x) {
  return f(caf::meta::type_name("lock_view"), x.key, x.tenant_id, x.target, x.action,
           x.execution_id, x.node, x.fence, x.acquired_at, x.expires_at, x.expires_in_ms);
}

struct lock_list {
  std::vector<lock_view> locks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_list& x) {
  return f(caf::meta::type_name("lock_list"), x.locks);
}

using lock_reap_atom = caf::atom_constant<caf::atom("lockreap")>;

using lock_manager_actor = caf::typed_actor<
  caf::replies_to<acquire_locks>::with<locks_outcome>,
  caf::replies_to<locks_request>::with<lock_list>,
  // Internal timer: free locks whose lease expired by the database clock.
  caf::reacts_to<lock_reap_atom>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

} // namespace stagee
