/// Gateway: the front door of a node (R-IF-1), published on the node's CAF port.
///
/// Every request is a pair (credential, request). First the caller is authenticated
/// (a JWT checked by the token verifier; or, on a node in dev mode only, the tenant
/// and principal it states), then an authorizer checks the permission the operation
/// needs against the RBAC rows (R-SAFE-3); only then does the operation run, with
/// tenant and principal taken from the caller. Another tenant's execution id is
/// answered exactly like a missing one (not_found).
///
/// submit: check size, parse and validate the plan, derive the idempotency key,
///   decide the mode, then let the admission writer insert it (the unique index
///   decides duplicates). Immediate executions run on this node and the reply waits
///   for their end; background ones are queued and the reply is immediate.
/// status / wait / subscribe: read through readers, a waiter, the event bus.
/// cancel: record the request (a reader), poke every node's supervisor (through the
///   membership), wait for the execution to end, answer its cancellation state (R-SAFE-6).
/// cluster status / member hello: handed to the membership actor (R-CL-1).
/// locks: who holds which per-asset lock (the lock-manager).
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "actors/auth_token.hpp"
#include "actors/plan_codec.hpp"
#include "actors/waiter.hpp"
#include "messages/cluster.hpp"
#include "messages/gateway.hpp"
#include "messages/store.hpp"
#include "messages/worker.hpp"

namespace stagee {

/// How callers prove who they are.
struct gateway_auth {
  /// Dev mode (--auth-mode=dev): a request without a token is trusted to state its
  /// tenant and principal. Never on a shared node.
  bool dev_mode = false;
  /// Verifies tokens (both modes); null: no keys configured (dev mode only).
  std::shared_ptr<const auth::token_verifier> verifier;
};

struct gateway_settings {
  std::string node;
  gateway_auth auth;
  plan_limits limits;
  std::map<std::string, timeout_policy> policies; // by id
  lease_sizing lease;                    // of pre-claimed immediate executions
  int64_t max_wait_ms = 3600 * 1000;     // cap on a wait request's timeout
  int64_t immediate_margin_ms = 30000;   // beyond the execution timeout
  int64_t max_cancel_wait_ms = 60000;    // cap on a cancel request's wait
  waiter_settings waiter;
};

/// The actors the gateway talks to.
struct gateway_peers {
  admission_actor admission;          // inserts executions
  std::vector<reader_actor> readers;  // status reads, cancellation requests (round robin)
  event_bus_actor bus;                // event subscriptions
  worker_supervisor_actor supervisor; // runs immediate executions, is poked for the rest
  dlq_actor dlq;                      // dead-letter queue reads and bookkeeping
  lock_manager_actor locks;           // lock listing
  std::vector<authorizer_actor> authorizers; // RBAC checks (round robin)
  approver_actor approver;            // approve / reject / cancel of waiting executions
  membership_actor membership;        // cluster: joins, status, where new work runs
  inspector_actor inspector;          // the console's view of this node's actors
};

struct gateway_state {
  static inline const char* name = "gateway";
  gateway_settings settings;
  gateway_peers peers;
  size_t next_reader = 0;
  size_t next_authorizer = 0;
  std::mt19937_64 rng{std::random_device{}()};
  bool draining = false; // node shutting down: no new submits
  reader_actor reader();         // round robin
  authorizer_actor authorizer(); // round robin
};

/// @param settings node name, limits, timeout policies
/// @param peers    admission, readers, bus, supervisor, DLQ keeper, lock-manager,
///                 authorizers
gateway_actor::behavior_type gateway(gateway_actor::stateful_pointer<gateway_state> self,
                                     gateway_settings settings, gateway_peers peers);

/// Turns a credential into a caller, or says why not (invalid_token). Pure: the
/// gateway calls it for every request; tests call it directly.
std::variant<caller, caf::error> authenticate(const gateway_auth& auth, const credential& cred,
                                              int64_t now_s);

} // namespace stagee
