/// Authentication and authorization protocol (R-SAFE-3, R-SUB-1).
///
/// Every request a client sends to a gateway is a pair (credential, request). The
/// gateway turns the credential into a `caller` (a verified JWT, or, only on a node
/// started with --auth-mode=dev, the tenant and principal the client states), then
/// asks the authorizer whether the caller holds the permission the operation needs.
/// Tenant and principal of every request come from the caller, never from the body.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/console.hpp"
#include "messages/execution.hpp"

namespace stagee {

/// What a client presents. Token mode reads `token` only; dev mode reads only
/// `tenant_id` and `principal` (and refuses a token, to avoid surprises).
struct credential {
  std::string token;     // compact JWS (header.payload.signature)
  std::string tenant_id; // dev mode only
  std::string principal; // dev mode only
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, credential& x) {
  return f(caf::meta::type_name("credential"), x.token, x.tenant_id, x.principal);
}

/// An authenticated caller.
struct caller {
  std::string tenant_id;
  std::string principal;
  std::vector<std::string> roles; // the token's `roles` claim (narrows bindings)
  bool roles_limited = false;     // the token had a `roles` claim
  std::string auth_method;        // "jwt:RS256", "jwt:HS256", "jwt:ES256", "dev"
  std::string source;             // where the request came from (peer node id)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, caller& x) {
  return f(caf::meta::type_name("caller"), x.tenant_id, x.principal, x.roles,
           x.roles_limited, x.auth_method, x.source);
}

/// Permissions (rbac_roles.permissions). Submitting needs execute:<action_class>.
namespace permission {
constexpr const char* view = "view";
constexpr const char* cancel = "cancel";
constexpr const char* approve = "approve";
constexpr const char* admin = "admin";
std::string execute(action_class c); // "execute:read" | "execute:modify" | "execute:deploy"
} // namespace permission

/// May the caller do `operation`, which needs `permission`?
/// - execution_id set: in that execution's environment; a missing execution or one
///   of another tenant is answered not_found, exactly alike.
/// - environment set: in that environment (a submit: the plan's).
/// - neither: in any environment of the caller's tenant (listings).
/// A denial is recorded (security_events, log line) before the reply.
struct authz_request {
  caller who;
  std::string operation; // "submit", "status", "cancel", ... (audit)
  std::string permission;
  std::string environment;
  std::string execution_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, authz_request& x) {
  return f(caf::meta::type_name("authz_request"), x.who, x.operation, x.permission,
           x.environment, x.execution_id);
}

struct authz_reply {
  bool allowed = false;
  std::string reason;       // denial: what is missing (safe to show the caller)
  std::string environment;  // the execution's, when execution_id was given
  std::string actor_id;     // the execution's submitter
  execution_status status = execution_status::pending;
  int32_t approval_level = 0; // execute:* in an environment: the policy's level (R-SAFE-8)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, authz_reply& x) {
  return f(caf::meta::type_name("authz_reply"), x.allowed, x.reason, x.environment,
           x.actor_id, x.status, x.approval_level);
}

/// Detached (it queries PostgreSQL). Errors: not_found, db_unavailable.
using authorizer_actor = caf::typed_actor<
  caf::replies_to<authz_request>::with<authz_reply>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

} // namespace stagee
