/// Secret resolver: turns the secret names a step references into their values,
/// just before the step runs (R-SAFE-4). Looks in the encrypted store (secrets
/// table, opened with the node's --secret-key-file) first, then in the secret
/// directory (--secret-dir, one file per secret under a directory per tenant).
/// Values are never logged, stored or sent off the node.
///
/// Spawned detached: it owns a database connection and reads files.
#pragma once

#include <memory>
#include <string>

#include "actors/secret_box.hpp"
#include "messages/secrets.hpp"
#include "persistence/db_session.hpp"
#include "persistence/secret_store.hpp"

namespace stagee {

/// Where a node's secrets come from; either may be absent.
struct secret_sources {
  std::shared_ptr<const secrets::secret_key> key;       // opens the store's values
  std::shared_ptr<const secrets::directory_provider> dir; // mounted secret files
};

struct secret_resolver_state {
  static inline const char* name = "secret-resolver";
  std::string node;
  secret_sources sources;
  std::unique_ptr<db_session> db;
  std::unique_ptr<secret_store> store;
};

secret_resolver_actor::behavior_type
secret_resolver(secret_resolver_actor::stateful_pointer<secret_resolver_state> self,
                std::string node, secret_sources sources, std::string db_url);

} // namespace stagee
