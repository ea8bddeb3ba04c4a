/// Authorizer: answers "may this caller do this?" from the RBAC rows every node
/// shares (R-SAFE-3), and records every refusal (security_events + a warn line on
/// the "auth" logger) before it replies. Deny by default: no binding, no access.
///
/// Spawned detached: it owns a database connection and blocks on it. A node runs
/// a few of them; the gateway picks one per request.
#pragma once

#include <memory>
#include <string>

#include "messages/auth.hpp"
#include "persistence/db_session.hpp"
#include "persistence/rbac_store.hpp"

namespace stagee {

struct authorizer_state {
  static inline const char* name = "authorizer";
  std::string node;
  std::unique_ptr<db_session> db;
  std::unique_ptr<rbac_store> store;
};

/// @param node   this node's name (audit rows, logs)
/// @param db_url database holding the RBAC tables
authorizer_actor::behavior_type
authorizer(authorizer_actor::stateful_pointer<authorizer_state> self, std::string node,
           std::string db_url);

} // namespace stagee
