/// Queue maintenance, one per node:
/// - the lease reaper (R-Q-5): periodically frees queue leases whose expiry passed
///   by the database clock (their node died or froze), so any node can claim and
///   resume the executions; concurrent reapers skip each other's rows;
/// - the step-duration statistics that size leases (2 x p95 per action, R-Q-1),
///   refreshed on their own, slower period.
#pragma once

#include <string>

#include "messages/store.hpp"
#include "messages/console.hpp"

namespace stagee {

using stats_tick_atom = caf::atom_constant<caf::atom("statstick")>;

using reaper_actor = caf::typed_actor<
  caf::reacts_to<caf::tick_atom>, caf::reacts_to<stats_tick_atom>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

struct reaper_settings {
  std::string node;
  int64_t interval_ms = 60000;       // R-Q-5 default; tests use 100s of ms
  int64_t stats_interval_ms = 60000; // step_duration_stats refresh period
  int32_t stats_min_samples = 20;    // fewer finished runs: no p95 for that action
};

struct reaper_state {
  static inline const char* name = "lease-reaper";
  reaper_settings settings;
  queue_actor queue;
};

/// @param settings node name and periods
/// @param queue    runs queue_reap and queue_refresh_step_stats
reaper_actor::behavior_type reaper(reaper_actor::stateful_pointer<reaper_state> self,
                                   reaper_settings settings, queue_actor queue);

} // namespace stagee
