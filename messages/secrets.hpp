/// Secret resolution (R-SAFE-4): an execution asks its node's secret resolver for the
/// values its next step references, just before the step runs. Values travel only
/// between actors of one node (never over the network) and are never persisted.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include "messages/console.hpp"

namespace stagee {

struct resolve_secrets {
  std::string tenant_id;
  std::string execution_id; // for the log line (names only, never values)
  std::vector<std::string> names;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resolve_secrets& x) {
  return f(caf::meta::type_name("resolve_secrets"), x.tenant_id, x.execution_id, x.names);
}

struct resolved_secrets {
  std::map<std::string, std::string> values; // name -> value
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resolved_secrets& x) {
  return f(caf::meta::type_name("resolved_secrets"), x.values);
}

/// Detached (PostgreSQL and files). Looks in the encrypted store first, then in the
/// secret directory. Error: secret_unavailable (field "secret:NAME") naming the first
/// name found nowhere (or that cannot be decrypted), db_unavailable.
using secret_resolver_actor = caf::typed_actor<
  caf::replies_to<resolve_secrets>::with<resolved_secrets>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

} // namespace stagee
