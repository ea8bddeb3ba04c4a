/// Operator commands that work on files and the database directly, not through a
/// gateway: `stagee token issue|keygen`, `stagee rbac ...` and `stagee secret ...`. Whoever runs them
/// holds the signing key or the database credentials already (docs/security.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stagee {

struct token_issue_options {
  std::string key_file; // HS256 secret, or an RSA / EC P-256 private key PEM
  std::string sub;
  std::string tenant;
  std::vector<std::string> roles; // empty: no claim (every bound role applies)
  std::string kid;
  std::string issuer = "stagee";
  std::string audience = "stagee";
  int64_t ttl_s = 3600;
  int64_t nbf_in_s = -1; // >= 0: not valid before now + this
};

/// Prints the token alone on stdout (for TOKEN=$(stagee token issue ...)).
int run_token_issue(const token_issue_options& o);

/// Writes a new random HS256 secret (64 hex characters, mode 0600); never overwrites.
int run_token_keygen(const std::string& path);

struct rbac_options {
  std::string db_url;
  std::string action; // grant | revoke | list | roles | role-put | role-delete
  std::string tenant;
  std::string principal;
  std::string role;
  std::string environment = "*";
  std::string granted_by; // default: cli:$USER
  std::vector<std::string> permissions;
  std::string description;
};

/// One JSON document on stdout; exit 0 on success.
int run_rbac(const rbac_options& o);

struct secret_options {
  std::string action; // put | list | delete | keygen
  std::string db_url;
  std::string tenant;
  std::string name;
  std::string key_file;  // put: seals with it; keygen: creates it
  std::string from_file; // put: value from this file instead of stdin
  std::string by;
};

struct approvals_options {
  std::string action; // list | set
  std::string db_url;
  std::string action_class;
  std::string environment = "*";
  int32_t level = 0;
};

/// `stagee approval-policy list|set` (R-SAFE-8): new executions take the level of
/// the most specific row (their environment, else `*`).
int run_approval_policy(const approvals_options& o);

/// `stagee secret put|list|delete|keygen`. A value is read from stdin (or a file) and
/// never printed, logged or echoed back; only names and key ids come out.
int run_secret(const secret_options& o);

} // namespace stagee
