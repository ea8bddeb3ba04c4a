/// Worker-supervisor: owns this node's execution actors.
///
/// - runs immediate executions at once (run_request) and answers when they end;
/// - claims background executions from the shared queue while it has free capacity
///   (on a timer and whenever the gateway signals new work with poll);
/// - renews the lease of everything it runs at a third of its length, at most
///   renewal_caps[sla] times per claim; a lease that may not be renewed again ends
///   its execution (lease_renewals_exhausted) shortly before it expires, and one
///   whose renewal is overdue (database slow or away) is abandoned: its step is
///   stopped and it is left to the next owner. So an execution never outlives its
///   lease while the node is alive;
/// - monitors its children: one that crashes is restarted from its last committed
///   snapshot (loaded from PostgreSQL), at most restart_intensity times within
///   restart_period_ms, then the execution fails (restart_limit_exceeded);
/// - fails claimed executions that waited longer than their SLA's queue deadline
///   (queue_timeout) instead of starting them.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/execution.hpp"
#include "messages/store.hpp"
#include "messages/worker.hpp"

namespace stagee {

struct supervisor_settings {
  std::string node;
  int32_t capacity = 64;                  // background executions run at once
  lease_sizing lease;                     // how claimed leases are sized
  int64_t claim_interval_ms = 500;        // queue poll period when idle
  std::map<sla_class, int32_t> renewal_caps{{sla_class::fast, 1},          // R-Q-2
                                            {sla_class::medium, 3},
                                            {sla_class::long_running, 10}};
  int32_t restart_intensity = 5;          // restarts of one execution ...
  int64_t restart_period_ms = 10000;      // ... within this window, then it fails
  int64_t queue_deadline_ms = 0;          // > 0: overrides every SLA's queue deadline
  std::map<sla_class, int64_t> queue_deadlines{{sla_class::fast, 60000},
                                               {sla_class::medium, 300000},
                                               {sla_class::long_running, 1800000}};
  execution_settings exec;
};

/// What the supervisor tracks of one claim's lease (its length is
/// record.lease_ms); kept when a crashed execution actor is restarted.
struct held_lease {
  std::chrono::steady_clock::time_point from; // local time it was last set, no later
                                              // than the database set it
  int32_t renewals = 0;                       // of this claim
};

struct supervised_child {
  execution_actor handle;
  execution_record record; // as last (re)started; record.lease_ms is the lease length
  std::vector<std::chrono::steady_clock::time_point> restarts; // within the window
  bool immediate = false;
  held_lease lease;
  bool stopping = false; // stop_execution sent (renewal cap reached or overdue)
};

struct supervisor_state {
  static inline const char* name = "worker-supervisor";
  supervisor_settings settings;
  event_bus_actor bus;
  queue_actor queue;  // claims, releases
  queue_actor leases; // renewals (own database session)
  reader_actor reader;
  std::map<std::string, supervised_child> children;          // by execution id
  std::map<caf::actor_addr, std::string> by_address;
  std::map<std::string, caf::typed_response_promise<execution_done>> waiting;
  bool claiming = false;
  bool draining = false;
  std::optional<caf::typed_response_promise<drained>> drain_promise;
  drained drain_result;
  std::vector<lease_ref> released; // handed back by draining children
  bool claim_again = false;
  bool renewing = false; // a renew request is in flight
  int32_t background_running() const;
};

/// @param settings node name, capacity, lease and timer settings
/// @param bus      journal for the execution actors
/// @param queue    claims and releases
/// @param leases   lease renewals (a queue actor of its own, so a slow claim never
///                 delays a renewal)
/// @param reader   snapshot loads for restarts
worker_supervisor_actor::behavior_type
worker_supervisor(worker_supervisor_actor::stateful_pointer<supervisor_state> self,
                  supervisor_settings settings, event_bus_actor bus, queue_actor queue,
                  queue_actor leases, reader_actor reader);

} // namespace stagee
