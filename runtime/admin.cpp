#include "runtime/admin.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "actors/auth_token.hpp"
#include "actors/plan_codec.hpp"
#include "actors/secret_box.hpp"
#include "messages/errors.hpp"
#include "persistence/approval_store.hpp"
#include "persistence/migrator.hpp"
#include "persistence/rbac_store.hpp"
#include "persistence/secret_store.hpp"
#include "persistence/snapshot_codec.hpp"
#include "runtime/json_view.hpp"

namespace stagee {

namespace {

using json = nlohmann::json;

int print_error(const std::string& code, const std::string& message,
                const std::string& field = {}) {
  std::cout << error_json(code, message, field).dump() << std::endl;
  return 1;
}

int print_error(const caf::error& err) {
  std::cout << error_json(err).dump() << std::endl;
  return 1;
}

std::string default_granted_by() {
  auto user = std::getenv("USER");
  return std::string{"cli:"} + (user && *user ? user : "unknown");
}

/// Checks the names an rbac command writes; returns an error message or "".
std::string check_names(const rbac_options& o) {
  if (!valid_identifier(o.tenant))
    return "--tenant must match [A-Za-z0-9][A-Za-z0-9._@:-]{0,127}";
  if (!valid_identifier(o.principal))
    return "--principal must match [A-Za-z0-9][A-Za-z0-9._@:-]{0,127}";
  if (o.environment != "*" && (!valid_identifier(o.environment) || o.environment.size() > 100))
    return "--environment must be * or 1..100 characters of [A-Za-z0-9._@:-]";
  return {};
}

json to_json(const rbac_binding& b) {
  return json{{"tenant_id", b.tenant_id},   {"principal", b.principal},
              {"role", b.role},             {"environment", b.environment},
              {"granted_by", b.granted_by}, {"granted_at", b.granted_at},
              {"permissions", b.permissions}};
}

} // namespace

int run_token_issue(const token_issue_options& o) {
  auth::issue_request r;
  r.sub = o.sub;
  r.tenant = o.tenant;
  r.roles = o.roles;
  r.kid = o.kid;
  r.issuer = o.issuer;
  r.audience = o.audience;
  r.ttl_s = o.ttl_s;
  if (o.nbf_in_s >= 0)
    r.nbf = static_cast<int64_t>(std::time(nullptr)) + o.nbf_in_s;
  try {
    std::cout << auth::issue_token_with_file(r, o.key_file) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    return print_error("invalid_request", e.what(), "key_file");
  }
}

int run_token_keygen(const std::string& path) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return print_error("internal", "no random bytes from OpenSSL");
  auto secret = to_hex(std::string(reinterpret_cast<const char*>(raw), sizeof raw));
  OPENSSL_cleanse(raw, sizeof raw);
  auto fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return print_error("invalid_request",
                       "cannot create '" + path + "' (it must not exist yet): "
                         + std::strerror(errno),
                       "out");
  auto line = secret + "\n";
  auto ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok)
    return print_error("internal", "could not write '" + path + "'");
  std::cout << json{{"key_file", path}, {"alg", "HS256"}, {"bytes", 64}}.dump() << std::endl;
  return 0;
}

int run_rbac(const rbac_options& o) {
  db_session db{o.db_url};
  if (auto applied = migrate_up(db); !applied) // the tables come with the schema
    return print_error(applied.error());
  rbac_store store{db};
  if (o.action == "grant" || o.action == "revoke") {
    if (auto msg = check_names(o); !msg.empty())
      return print_error("invalid_request", msg);
    rbac_binding b{o.tenant, o.principal, o.role, o.environment,
                   o.granted_by.empty() ? default_granted_by() : o.granted_by, "", ""};
    if (o.action == "grant") {
      if (auto r = store.grant(b); !r)
        return print_error(r.error());
      std::cout << json{{"granted", to_json(b)}}.dump() << std::endl;
      return 0;
    }
    auto r = store.revoke(b);
    if (!r)
      return print_error(r.error());
    std::cout << json{{"revoked", *r}, {"binding", to_json(b)}}.dump() << std::endl;
    return 0;
  }
  if (o.action == "list") {
    auto r = store.bindings(o.tenant, o.principal);
    if (!r)
      return print_error(r.error());
    auto out = json::array();
    for (auto& b : *r)
      out.push_back(to_json(b));
    std::cout << json{{"bindings", out}}.dump() << std::endl;
    return 0;
  }
  if (o.action == "roles") {
    auto r = store.roles();
    if (!r)
      return print_error(r.error());
    auto out = json::array();
    for (auto& role : *r)
      out.push_back(json{{"name", role.name}, {"permissions", role.permissions},
                         {"description", role.description}, {"builtin", role.builtin}});
    std::cout << json{{"roles", out}}.dump() << std::endl;
    return 0;
  }
  if (o.action == "role-put") {
    auto& known = known_permissions();
    std::string perms;
    for (auto& p : o.permissions) {
      if (std::find(known.begin(), known.end(), p) == known.end())
        return print_error("invalid_request", "unknown permission '" + p + "'",
                           "permissions");
      perms += (perms.empty() ? "" : ",") + p;
    }
    if (perms.empty())
      return print_error("invalid_request", "a role needs at least one permission",
                         "permissions");
    if (auto r = store.put_role(rbac_role{o.role, perms, o.description, false}); !r)
      return print_error(r.error());
    std::cout << json{{"role", o.role}, {"permissions", perms}}.dump() << std::endl;
    return 0;
  }
  if (o.action == "role-delete") {
    auto r = store.delete_role(o.role);
    if (!r)
      return print_error(r.error());
    std::cout << json{{"deleted", *r}, {"role", o.role}}.dump() << std::endl;
    return *r ? 0 : 1;
  }
  return print_error("invalid_request", "unknown rbac action '" + o.action + "'");
}

int run_approval_policy(const approvals_options& o) {
  db_session db{o.db_url};
  if (auto applied = migrate_up(db); !applied)
    return print_error(applied.error());
  approval_store store{db};
  if (o.action == "set") {
    if (o.environment != "*" && (!valid_identifier(o.environment) || o.environment.size() > 100))
      return print_error("invalid_request", "--environment must be * or an identifier",
                         "environment");
    if (auto r = store.set_policy(approval_policy{o.action_class, o.environment, o.level}); !r)
      return print_error(r.error());
  }
  auto rows = store.policies();
  if (!rows)
    return print_error(rows.error());
  auto out = json::array();
  for (auto& p : *rows)
    out.push_back(json{{"action_class", p.action_class}, {"environment", p.environment},
                       {"level", p.level}});
  std::cout << json{{"policies", out}}.dump() << std::endl;
  return 0;
}

int run_secret(const secret_options& o) {
  if (o.action == "keygen") {
    try {
      secrets::secret_key::generate(o.key_file);
      auto key = secrets::secret_key::load(o.key_file);
      std::cout << json{{"key_file", o.key_file}, {"key_id", key.key_id()}}.dump() << std::endl;
      return 0;
    } catch (const std::exception& e) {
      return print_error("invalid_request", e.what(), "out");
    }
  }
  if (!valid_identifier(o.tenant))
    return print_error("invalid_request", "--tenant must match [A-Za-z0-9][A-Za-z0-9._@:-]{0,127}",
                       "tenant");
  if (o.action != "list" && !secrets::valid_secret_name(o.name))
    return print_error("invalid_request",
                       "a secret name matches [A-Za-z0-9][A-Za-z0-9._-]{0,127}", "name");
  db_session db{o.db_url};
  if (auto applied = migrate_up(db); !applied)
    return print_error(applied.error());
  secret_store store{db};
  if (o.action == "put") {
    std::string value;
    try {
      auto key = secrets::secret_key::load(o.key_file);
      std::ostringstream buf;
      if (o.from_file.empty()) {
        buf << std::cin.rdbuf();
      } else {
        std::ifstream in{o.from_file, std::ios::binary};
        if (!in)
          return print_error("invalid_request", "cannot read '" + o.from_file + "'",
                             "from_file");
        buf << in.rdbuf();
      }
      value = buf.str();
      if (o.from_file.empty() && !value.empty() && value.back() == '\n') // `echo x |`
        value.pop_back();
      if (value.empty())
        return print_error("invalid_request", "empty secret value", "value");
      if (value.size() > 64 * 1024)
        return print_error("invalid_request", "secret values are at most 64 KiB", "value");
      sealed_secret sealed{secrets::seal(key, o.tenant, o.name, value), key.key_id()};
      OPENSSL_cleanse(value.data(), value.size());
      if (auto r = store.put(o.tenant, o.name, sealed, o.by.empty() ? default_granted_by() : o.by);
          !r)
        return print_error(r.error());
      std::cout << json{{"stored", o.name}, {"tenant_id", o.tenant}, {"key_id", key.key_id()}}
                     .dump()
                << std::endl;
      return 0;
    } catch (const std::exception& e) {
      if (!value.empty())
        OPENSSL_cleanse(value.data(), value.size());
      return print_error("invalid_request", e.what(), "key_file");
    }
  }
  if (o.action == "list") {
    auto r = store.list(o.tenant);
    if (!r)
      return print_error(r.error());
    auto out = json::array();
    for (auto& s : *r)
      out.push_back(json{{"name", s.name}, {"key_id", s.key_id}, {"updated_by", s.updated_by},
                         {"updated_at", s.updated_at}});
    std::cout << json{{"tenant_id", o.tenant}, {"secrets", out}}.dump() << std::endl;
    return 0;
  }
  if (o.action == "delete") {
    auto r = store.remove(o.tenant, o.name);
    if (!r)
      return print_error(r.error());
    std::cout << json{{"deleted", *r}, {"name", o.name}}.dump() << std::endl;
    return *r ? 0 : 1;
  }
  return print_error("invalid_request", "unknown secret action '" + o.action + "'");
}

} // namespace stagee
