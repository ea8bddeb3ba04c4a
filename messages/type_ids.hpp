/// The one place where every Stage E message type is registered with CAF.
/// Load it on every node and in every test fixture: add_stagee_types(cfg).
#pragma once

#include <caf/actor_system_config.hpp>

#include "messages/approvals.hpp"
#include "messages/auth.hpp"
#include "messages/cluster.hpp"
#include "messages/console.hpp"
#include "messages/dlq.hpp"
#include "messages/errors.hpp"
#include "messages/event_bus.hpp"
#include "messages/execution.hpp"
#include "messages/gateway.hpp"
#include "messages/locks.hpp"
#include "messages/secrets.hpp"
#include "messages/store.hpp"
#include "messages/timeouts.hpp"
#include "messages/worker.hpp"

namespace stagee {

/// Registers every message type and the "stagee" error category.
void add_stagee_types(caf::actor_system_config& cfg);

/// Names of all registered message types (for the round-trip test).
const std::vector<std::string>& registered_type_names();

} // namespace stagee
