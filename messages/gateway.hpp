/// Gateway protocol: what upstream stages and `stagee submit|status|wait` send to the
/// gateway actor published on a node's CAF port (R-IF-1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/console.hpp"
#include "messages/approvals.hpp"
#include "messages/auth.hpp"
#include "messages/cluster.hpp"
#include "messages/console.hpp"
#include "messages/dlq.hpp"
#include "messages/execution.hpp"
#include "messages/locks.hpp"
#include "messages/optional.hpp"

namespace stagee {

enum class requested_mode : uint8_t { automatic, immediate, background };
std::string to_string(requested_mode x);
bool from_string(const std::string& s, requested_mode& out);

/// Submit a plan. Tenant and principal are set by the gateway from the authenticated
/// caller (whatever a client puts there is overwritten), never from the plan body.
/// plan_json is the raw document; the gateway validates it.
struct submit_request {
  std::string tenant_id;
  std::string principal;
  std::string idempotency_key; // empty: derived from the canonical plan (R-SUB-3)
  requested_mode mode = requested_mode::automatic;
  std::string request_id;      // correlation id; generated when empty
  std::string plan_json;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_request& x) {
  return f(caf::meta::type_name("submit_request"), x.tenant_id, x.principal,
           x.idempotency_key, x.mode, x.request_id, x.plan_json);
}

struct submit_reply {
  std::string execution_id;
  execution_status status = execution_status::pending;
  std::string plan_hash;
  execution_mode mode = execution_mode::immediate;
  bool duplicate = false; // true: an existing execution was returned (R-SUB-3)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_reply& x) {
  return f(caf::meta::type_name("submit_reply"), x.execution_id, x.status, x.plan_hash,
           x.mode, x.duplicate);
}

/// Read an execution. The gateway sets tenant_id from the caller; another tenant's
/// id behaves like a missing one. (Internally, an empty tenant_id reads any tenant.)
struct status_request {
  std::string tenant_id;
  std::string execution_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_request& x) {
  return f(caf::meta::type_name("status_request"), x.tenant_id, x.execution_id);
}

struct step_view {
  int32_t step_index = 0;
  std::string name;
  std::string target;
  step_status status = step_status::pending;
  std::optional<int32_t> exit_code;
  int32_t attempt = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_view& x) {
  auto ec = as_opt(x.exit_code);
  return f(caf::meta::type_name("step_view"), x.step_index, x.name, x.target, x.status,
           ec, x.attempt);
}

struct status_reply {
  std::string execution_id;
  std::string tenant_id;
  execution_status status = execution_status::pending;
  std::string plan_hash;
  execution_mode mode = execution_mode::immediate;
  bool timed_out = false;
  std::string error_class;
  std::string error_message;
  std::string worker_id;
  std::vector<step_view> steps;
  int32_t lock_waits = 0;          // times its claim found a target locked
  std::string blocked_by;          // lock it waits for (queued, deferred); empty: none
  std::string deadline_at;         // SLA deadline, ISO 8601 UTC (empty: not started)
  std::string cancel_requested_by; // a cancellation was requested by this principal
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_reply& x) {
  return f(caf::meta::type_name("status_reply"), x.execution_id, x.tenant_id, x.status,
           x.plan_hash, x.mode, x.timed_out, x.error_class, x.error_message, x.worker_id,
           x.steps, x.lock_waits, x.blocked_by, x.deadline_at, x.cancel_requested_by);
}

/// Wait until the execution is terminal or timeout_ms passes (then deadline_exceeded).
struct wait_request {
  std::string tenant_id;
  std::string execution_id;
  int64_t timeout_ms = 30000;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wait_request& x) {
  return f(caf::meta::type_name("wait_request"), x.tenant_id, x.execution_id,
           x.timeout_ms);
}

/// Receives journaled events, in sequence order, without gaps.
using event_subscriber_actor = caf::typed_actor<caf::reacts_to<execution_event>>;

/// Subscribe to one execution's events with seq > after_seq: stored ones are replayed
/// first, then live ones follow.
struct subscribe_request {
  std::string tenant_id;
  std::string execution_id;
  int64_t after_seq = 0;
  event_subscriber_actor subscriber;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_request& x) {
  return f(caf::meta::type_name("subscribe_request"), x.tenant_id, x.execution_id,
           x.after_seq, x.subscriber);
}

struct subscribed {
  std::string execution_id;
  int64_t replayed = 0; // number of stored events sent before this reply
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribed& x) {
  return f(caf::meta::type_name("subscribed"), x.execution_id, x.replayed);
}

/// Cancel an execution (R-SAFE-6), on whichever node owns it. Idempotent: the first
/// request is recorded, later ones change nothing, and every one replies with the
/// same final state once the execution has ended (or what is known after the wait).
struct cancel_request {
  std::string tenant_id; // set by the gateway from the caller
  std::string execution_id;
  std::string principal; // set by the gateway from the caller
  std::string reason;
  int64_t wait_ms = 10000; // how long to wait for the execution to end
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_request& x) {
  return f(caf::meta::type_name("cancel_request"), x.tenant_id, x.execution_id, x.principal,
           x.reason, x.wait_ms);
}

struct cancel_reply {
  std::string execution_id;
  execution_status status = execution_status::pending;
  std::string cancelled_by; // set with cancelled_at once cancelled
  std::string cancelled_at; // ISO 8601 UTC, database clock
  std::string requested_by; // first principal that asked
  std::string requested_at;
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_reply& x) {
  return f(caf::meta::type_name("cancel_reply"), x.execution_id, x.status, x.cancelled_by,
           x.cancelled_at, x.requested_by, x.requested_at, x.reason);
}

/// Every client request comes with the caller's credential (R-SAFE-3): a pair
/// (credential, request). The gateway authenticates, authorizes, then fills the
/// request's tenant and principal from the caller.
using gateway_actor = caf::typed_actor<
  // Validate, deduplicate and admit a plan; immediate mode replies when it ended.
  caf::replies_to<credential, submit_request>::with<submit_reply>,
  // Current state of an execution and its step runs.
  caf::replies_to<credential, status_request>::with<status_reply>,
  // Like status, but only once the execution is terminal (or deadline_exceeded).
  caf::replies_to<credential, wait_request>::with<status_reply>,
  // Stream an execution's events to a subscriber actor.
  caf::replies_to<credential, subscribe_request>::with<subscribed>,
  // Dead-letter queue: list, show/archive, summary, requeue (R-Q-4).
  caf::replies_to<credential, dlq_list_request>::with<dlq_page>,
  caf::replies_to<credential, dlq_entry_request>::with<dlq_entry>,
  caf::replies_to<credential, dlq_summary_request>::with<dlq_summary>,
  caf::replies_to<credential, dlq_requeue_request>::with<submit_reply>,
  // Cancel an execution; replies once it ended or the wait is over.
  caf::replies_to<credential, cancel_request>::with<cancel_reply>,
  // Per-asset locks held now (who, since when, fence, expiry).
  caf::replies_to<credential, locks_request>::with<lock_list>,
  // Approve or reject an execution waiting for approval (R-SAFE-8).
  caf::replies_to<credential, approve_request>::with<approve_reply>,
  // Cluster members as this node sees them (R-CL-1).
  caf::replies_to<credential, cluster_status_request>::with<cluster_status>,
  // The console (R-IF-4): this node's actors, timers and figures (permission admin) ...
  caf::replies_to<credential, node_inspect_request>::with<node_inspection>,
  caf::replies_to<credential, actor_inspect_request>::with<actor_view>,
  caf::replies_to<credential, timers_request>::with<timer_list>,
  caf::replies_to<credential, node_stats_request>::with<node_stats>,
  // ... and the tenant's executions, queue and journal (permission view).
  caf::replies_to<credential, execution_list_request>::with<execution_list>,
  caf::replies_to<credential, queue_list_request>::with<queue_list>,
  caf::replies_to<credential, journal_request>::with<journal_page>,
  // Node to node (no credential: node links are authenticated by TLS, see
  // docs/cluster.md): a node joins or gossips; handed to the membership actor.
  caf::replies_to<member_hello>::with<member_hello>,
  // Node shutting down: refuse new submits with shutting_down.
  caf::reacts_to<caf::atom_constant<caf::atom("drain")>>,
  // What it is doing now, for the console (docs/console.md); local senders only.
  inspect_handler>;

} // namespace stagee
