/// Protocols of the persistence-facing actors (admission writer, reader, queue).
/// These actors are spawned detached: they own a database connection and block.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/console.hpp"
#include "messages/event_bus.hpp"
#include "messages/execution.hpp"
#include "messages/gateway.hpp"
#include "messages/locks.hpp"

namespace stagee {

/// How a node sizes the queue leases it takes: stagee_lease_ms (migration 0003)
/// computes max(longest step timeout of the plan + buffer_ms, 2 x p95 step duration
/// of the action) unless fixed_ms > 0 sets every lease (test configurations).
struct lease_sizing {
  int64_t fixed_ms = 0;
  int64_t buffer_ms = 30000;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_sizing& x) {
  return f(caf::meta::type_name("lease_sizing"), x.fixed_ms, x.buffer_ms);
}

/// Insert a new execution unless (tenant_id, idempotency_key) exists within the
/// dedup window; the unique index ux_exec_tenant_idem is the arbiter.
struct admit_request {
  execution_record record;       // id, identity, frozen plan, initial snapshot
  std::string canonical_json;    // stored as plan_snapshot (JSONB)
  std::vector<execution_event> events; // initial journal (seq 1..n)
  int64_t execution_timeout_ms = 0;
  std::string timeout_policy_id;
  std::string node;              // background: empty (anyone claims); immediate: this node
  lease_sizing lease;            // sizes the lease of a pre-claimed (immediate) queue row
  std::vector<lock_spec> locks;  // immediate: taken in the admission transaction
  int32_t approval_level = 0;    // 1..3: admitted awaiting_approval, no queue row yet
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admit_request& x) {
  return f(caf::meta::type_name("admit_request"), x.record, x.canonical_json, x.events,
           x.execution_timeout_ms, x.timeout_policy_id, x.node, x.lease, x.locks,
           x.approval_level);
}

struct admit_reply {
  std::string execution_id;
  execution_status status = execution_status::pending;
  std::string plan_hash;
  execution_mode mode = execution_mode::immediate;
  bool duplicate = false;
  int64_t lease_ms = 0; // length of the pre-claimed lease (new immediate executions)
  std::vector<lock_grant> locks; // granted with it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admit_reply& x) {
  return f(caf::meta::type_name("admit_reply"), x.execution_id, x.status, x.plan_hash,
           x.mode, x.duplicate, x.lease_ms, x.locks);
}

using admission_actor = caf::typed_actor<
  // Insert (or find the duplicate of) an execution; replies after COMMIT.
  caf::replies_to<admit_request>::with<admit_reply>,
  // Internal: closes a batch.
  caf::reacts_to<flush_atom>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

/// Load one execution (to restart its actor from the last snapshot).
struct load_request {
  std::string execution_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, load_request& x) {
  return f(caf::meta::type_name("load_request"), x.execution_id);
}

using reader_actor = caf::typed_actor<
  caf::replies_to<status_request>::with<status_reply>,
  // Records a cancellation request (first one wins; none on a terminal execution)
  // and replies with the execution's cancellation state.
  caf::replies_to<cancel_request>::with<cancel_reply>,
  caf::replies_to<load_request>::with<stored_execution>,
  // Console listings of the caller's tenant, and node-wide counts (console.sql).
  caf::replies_to<execution_list_request>::with<execution_list>,
  caf::replies_to<queue_list_request>::with<queue_list>,
  caf::replies_to<journal_request>::with<journal_page>,
  caf::replies_to<node_counts_request>::with<node_counts>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

/// Claim up to max_count runnable executions for node (FOR UPDATE SKIP LOCKED),
/// each leased for the length lease_sizing gives it (record.lease_ms).
struct claim_request {
  std::string node;
  int32_t max_count = 0;
  lease_sizing lease;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_request& x) {
  return f(caf::meta::type_name("claim_request"), x.node, x.max_count, x.lease);
}

struct claimed_batch {
  std::vector<stored_execution> executions;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claimed_batch& x) {
  return f(caf::meta::type_name("claimed_batch"), x.executions);
}

/// One lease as its holder knows it.
struct lease_ref {
  std::string execution_id;
  int64_t fence = 0;
  int64_t lease_ms = 0; // length; a renewal extends the lease this far from now
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_ref& x) {
  return f(caf::meta::type_name("lease_ref"), x.execution_id, x.fence, x.lease_ms);
}

/// Extend the leases this node holds; a lease renews only while (node, fence) still
/// match the queue row.
struct renew_request {
  std::string node;
  std::vector<lease_ref> leases;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, renew_request& x) {
  return f(caf::meta::type_name("renew_request"), x.node, x.leases);
}

struct renewed {
  std::vector<std::string> renewed_ids; // the rest of the request's leases are lost...
  std::vector<std::string> ended_ids;   // ...except these: the execution ended meanwhile
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, renewed& x) {
  return f(caf::meta::type_name("renewed"), x.renewed_ids, x.ended_ids);
}

/// One timeout_policies row (R-SAFE-7); loaded at node start.
struct timeout_policy {
  std::string id; // e.g. "fast_read"
  int64_t execution_timeout_ms = 0;
  int64_t step_timeout_ms = 0;
};

/// Hand leases back to the queue (graceful shutdown): the rows become claimable at
/// once; the next claim bumps the fence as usual. Uses renew_request's shape.
struct release_request {
  std::string node;
  std::vector<lease_ref> leases;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_request& x) {
  return f(caf::meta::type_name("release_request"), x.node, x.leases);
}

/// Make expired leases claimable again (the reaper, R-Q-5).
struct reap_request {
  std::string node; // who reaps (for the log)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reap_request& x) {
  return f(caf::meta::type_name("reap_request"), x.node);
}

struct reaped {
  std::vector<std::string> execution_ids;
  std::vector<std::string> previous_owners;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reaped& x) {
  return f(caf::meta::type_name("reaped"), x.execution_ids, x.previous_owners);
}

/// Refresh the p95 step durations that size leases (step_duration_stats); the
/// argument is the minimum number of samples per action; replies with the number
/// of actions refreshed.
using stats_atom = caf::atom_constant<caf::atom("stats")>;

/// A cancellation requested for an execution (executions.cancel_requested_*).
struct cancel_notice {
  std::string execution_id;
  std::string by;     // principal that asked first
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_notice& x) {
  return f(caf::meta::type_name("cancel_notice"), x.execution_id, x.by, x.reason);
}

/// Find requested cancellations that a node must carry out: those of executions it
/// holds the lease of (owned), and those of executions nobody holds (queued,
/// waiting for a lock, or freed by the reaper), which it claims to cancel them.
struct cancel_poll_request {
  std::string node;
  lease_sizing lease;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_poll_request& x) {
  return f(caf::meta::type_name("cancel_poll_request"), x.node, x.lease);
}

struct cancel_batch {
  std::vector<cancel_notice> owned;
  std::vector<stored_execution> claimed; // claimed by this poll, to be cancelled (each
                                         // record carries its request)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_batch& x) {
  return f(caf::meta::type_name("cancel_batch"), x.owned, x.claimed);
}

using queue_actor = caf::typed_actor<
  caf::replies_to<claim_request>::with<claimed_batch>,
  caf::replies_to<renew_request>::with<renewed>,
  // Replies with the ids released (still held with the given fence).
  caf::replies_to<release_request>::with<renewed>,
  caf::replies_to<reap_request>::with<reaped>,
  caf::replies_to<stats_atom, int32_t>::with<int32_t>,
  caf::replies_to<cancel_poll_request>::with<cancel_batch>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

} // namespace stagee
