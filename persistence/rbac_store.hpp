/// RBAC rows (R-SAFE-3; SQL in queries/rbac.sql and migration 0005): permission
/// checks for the authorizer, bindings and roles for `stagee rbac`, and the audit
/// trail of refusals (security_events).
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/auth.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

struct rbac_binding {
  std::string tenant_id;
  std::string principal;
  std::string role;
  std::string environment = "*"; // "*": every environment
  std::string granted_by;
  std::string granted_at;        // ISO 8601 UTC (listing only)
  std::string permissions;       // of the role, comma-separated (listing only)
};

struct rbac_role {
  std::string name;
  std::string permissions; // comma-separated
  std::string description;
  bool builtin = false;
};

/// A refused request, as written to security_events.
struct security_event {
  std::string kind = "rbac_violation";
  caller who;
  std::string operation;
  std::string permission;
  std::string environment;
  std::string execution_id;
  std::string node;
  std::string reason;
};

/// The permission names a role may hold (the CHECK of rbac_roles).
const std::vector<std::string>& known_permissions();

class rbac_store {
public:
  explicit rbac_store(db_session& db);

  /// The authorizer's question (see authz_request). not_found: no such execution
  /// for the caller's tenant.
  caf::expected<authz_reply> check(const authz_request& req);

  caf::expected<void> record(const security_event& ev);

  /// Idempotent grant. Errors name an unknown role.
  caf::expected<void> grant(const rbac_binding& b);
  /// Returns whether a binding was removed.
  caf::expected<bool> revoke(const rbac_binding& b);
  caf::expected<std::vector<rbac_binding>> bindings(const std::string& tenant,
                                                    const std::string& principal);
  caf::expected<std::vector<rbac_role>> roles();
  /// Creates or replaces a custom role; built-in roles cannot change.
  caf::expected<void> put_role(const rbac_role& r);
  caf::expected<bool> delete_role(const std::string& name);

private:
  db_session& db_;
};

} // namespace stagee
