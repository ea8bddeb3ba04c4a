#include "persistence/rbac_store.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "messages/errors.hpp"
#include "persistence/statements.hpp"

namespace stagee {

namespace {

/// The token's roles as the JSON the queries take ('null': not limited).
std::string roles_json(const caller& who) {
  return who.roles_limited ? nlohmann::json(who.roles).dump() : "null";
}

std::string denial(const authz_request& req, const std::string& environment) {
  auto where = environment.empty() ? std::string{"any environment"}
                                   : "environment '" + environment + "'";
  return "principal '" + req.who.principal + "' has no role granting '" + req.permission
         + "' in tenant '" + req.who.tenant_id + "', " + where
         + (req.who.roles_limited ? " (among the roles its token carries)" : "")
         + "; ask an administrator: stagee rbac grant";
}

} // namespace

const std::vector<std::string>& known_permissions() {
  static const std::vector<std::string> names{"execute:read", "execute:modify",
                                              "execute:deploy", "approve",
                                              "cancel", "view", "admin"};
  return names;
}

rbac_store::rbac_store(db_session& db) : db_(db) {
  // nop
}

caf::expected<authz_reply> rbac_store::check(const authz_request& req) {
  auto r = db_.transact("rbac check", [&](pqxx::work& txn) -> caf::expected<authz_reply> {
    authz_reply out;
    if (!req.execution_id.empty()) {
      auto rows = txn.exec_prepared(stmt::rbac_execution_scope, req.execution_id,
                                    req.who.tenant_id, req.who.principal, req.permission,
                                    roles_json(req.who));
      if (rows.empty())
        return make_stagee_error(stagee_errc::not_found, "execution_id",
                                 "no execution " + req.execution_id);
      out.environment = rows[0][0].as<std::string>();
      out.actor_id = rows[0][1].as<std::string>();
      from_string(rows[0][2].as<std::string>(), out.status);
      out.allowed = rows[0][3].as<bool>();
    } else {
      out.environment = req.environment;
      out.allowed = txn.exec_prepared1(stmt::rbac_allowed, req.who.tenant_id,
                                       req.who.principal, req.permission, req.environment,
                                       roles_json(req.who))[0]
                      .as<bool>();
      // Running a plan: the approval level its policy asks for (R-SAFE-8).
      if (auto cls = std::string_view{req.permission}; cls.rfind("execute:", 0) == 0
                                                       && !req.environment.empty())
        out.approval_level = txn.exec_prepared1(stmt::approval_level,
                                                std::string{cls.substr(8)},
                                                req.environment)[0]
                               .as<int32_t>();
    }
    if (!out.allowed)
      out.reason = denial(req, out.environment);
    return out;
  });
  if (!r)
    return r.error();
  return std::move(*r);
}

caf::expected<void> rbac_store::record(const security_event& ev) {
  auto r = db_.transact("record security event", [&](pqxx::work& txn) {
    txn.exec_prepared(stmt::security_event_insert, ev.kind, ev.who.tenant_id,
                      ev.who.principal, ev.operation, ev.permission, ev.environment,
                      ev.execution_id, ev.who.auth_method, ev.node, ev.who.source,
                      ev.reason);
    return true;
  });
  if (!r)
    return r.error();
  return caf::unit;
}

caf::expected<void> rbac_store::grant(const rbac_binding& b) {
  auto known = db_.transact("rbac grant", [&](pqxx::work& txn) {
    if (txn.exec_prepared(stmt::rbac_role_exists, b.role).empty())
      return false;
    txn.exec_prepared(stmt::rbac_grant, b.tenant_id, b.principal, b.role, b.environment,
                      b.granted_by);
    return true;
  });
  if (!known)
    return known.error();
  if (!*known)
    return make_stagee_error(stagee_errc::invalid_request, "role",
                             "no role '" + b.role + "'; list them with `stagee rbac roles`");
  return caf::unit;
}

caf::expected<bool> rbac_store::revoke(const rbac_binding& b) {
  return db_.transact("rbac revoke", [&](pqxx::work& txn) {
    return txn.exec_prepared(stmt::rbac_revoke, b.tenant_id, b.principal, b.role,
                             b.environment)
             .affected_rows()
           > 0;
  });
}

caf::expected<std::vector<rbac_binding>> rbac_store::bindings(const std::string& tenant,
                                                              const std::string& principal) {
  return db_.transact("rbac bindings", [&](pqxx::work& txn) {
    std::vector<rbac_binding> out;
    for (auto row : txn.exec_prepared(stmt::rbac_list_bindings, tenant, principal))
      out.push_back(rbac_binding{row[0].as<std::string>(), row[1].as<std::string>(),
                                 row[2].as<std::string>(), row[3].as<std::string>(),
                                 row[4].as<std::string>(), row[5].as<std::string>(),
                                 row[6].as<std::string>()});
    return out;
  });
}

caf::expected<std::vector<rbac_role>> rbac_store::roles() {
  return db_.transact("rbac roles", [&](pqxx::work& txn) {
    std::vector<rbac_role> out;
    for (auto row : txn.exec_prepared(stmt::rbac_list_roles))
      out.push_back(rbac_role{row[0].as<std::string>(), row[1].as<std::string>(),
                              row[2].as<std::string>(), row[3].as<bool>()});
    return out;
  });
}

caf::expected<void> rbac_store::put_role(const rbac_role& role) {
  auto r = db_.transact("rbac put role", [&](pqxx::work& txn) {
    return !txn.exec_prepared(stmt::rbac_put_role, role.name, role.permissions,
                              role.description)
              .empty();
  });
  if (!r)
    return r.error();
  if (!*r)
    return make_stagee_error(stagee_errc::invalid_request, "role",
                             "'" + role.name + "' is a built-in role and cannot change");
  return caf::unit;
}

caf::expected<bool> rbac_store::delete_role(const std::string& name) {
  return db_.transact("rbac delete role", [&](pqxx::work& txn) {
    return !txn.exec_prepared(stmt::rbac_delete_role, name).empty();
  });
}

} // namespace stagee
