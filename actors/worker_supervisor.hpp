/// Worker-supervisor: owns this node's execution actors.
///
/// - runs immediate executions at once (run_request) and answers when they end;
/// - claims background executions from the shared queue while it has free capacity
///   (on a timer and whenever the gateway signals new work with poll);
/// - renews the leases of everything it runs;
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
  int64_t lease_ms = 60000;               // queue lease of a claimed execution
  int64_t claim_interval_ms = 500;        // queue poll period when idle
  int32_t restart_intensity = 5;          // restarts of one execution ...
  int64_t restart_period_ms = 10000;      // ... within this window, then it fails
  int64_t queue_deadline_ms = 0;          // > 0: overrides every SLA's queue deadline
  std::map<sla_class, int64_t> queue_deadlines{{sla_class::fast, 60000},
                                               {sla_class::medium, 300000},
                                               {sla_class::long_running, 1800000}};
  execution_settings exec;
};

struct supervised_child {
  execution_actor handle;
  execution_record record; // as last (re)started
  std::vector<std::chrono::steady_clock::time_point> restarts; // within the window
  bool immediate = false;
};

struct supervisor_state {
  static inline const char* name = "worker-supervisor";
  supervisor_settings settings;
  event_bus_actor bus;
  queue_actor queue;
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
  std::chrono::steady_clock::time_point last_renew = std::chrono::steady_clock::now();
  int32_t background_running() const;
};

/// @param settings node name, capacity, lease and timer settings
/// @param bus      journal for the execution actors
/// @param queue    claims and lease renewals
/// @param reader   snapshot loads for restarts
worker_supervisor_actor::behavior_type
worker_supervisor(worker_supervisor_actor::stateful_pointer<supervisor_state> self,
                  supervisor_settings settings, event_bus_actor bus, queue_actor queue,
                  reader_actor reader);

} // namespace stagee
