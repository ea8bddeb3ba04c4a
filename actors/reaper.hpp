/// Lease reaper (R-Q-5): periodically frees queue leases whose expiry passed by the
/// database clock (their node died or froze), so any node can claim and resume the
/// executions. Every node runs one; concurrent reapers skip each other's rows.
#pragma once

#include <string>

#include "messages/store.hpp"

namespace stagee {

using reaper_actor = caf::typed_actor<caf::reacts_to<caf::tick_atom>>;

struct reaper_settings {
  std::string node;
  int64_t interval_ms = 60000; // R-Q-5 default; tests use 100s of ms
};

struct reaper_state {
  static inline const char* name = "lease-reaper";
  reaper_settings settings;
  queue_actor queue;
};

/// @param settings node name and period
/// @param queue    runs queue_reap
reaper_actor::behavior_type reaper(reaper_actor::stateful_pointer<reaper_state> self,
                                   reaper_settings settings, queue_actor queue);

} // namespace stagee
