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
/// - carries out cancellation requests (R-SAFE-6), polled every cancel_poll_ms (and
///   at once when this node's gateway records one): its own executions are stopped
///   and cancelled; executions nobody holds are claimed and cancelled;
/// - fails claimed executions that waited longer than their SLA's queue deadline
///   (queue_timeout) instead of starting them.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/execution.hpp"
#include "messages/console.hpp"
#include "messages/secrets.hpp"
#include "messages/store.hpp"
#include "messages/worker.hpp"

namespace stagee {

struct supervisor_settings {
  std::string node;
  int32_t capacity = 64;                  // background executions run at once
  lease_sizing lease;                     // how claimed leases are sized
  int64_t claim_interval_ms = 500;        // queue poll period when idle
  int64_t cancel_poll_ms = 500;           // cancellation request poll period
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
  bool stopping = false;   // stop_execution sent (renewal cap reached or overdue): no renewals
  bool cancelling = false; // stop_execution(cancel) sent
};

/// The actors the supervisor talks to.
struct supervisor_peers {
  event_bus_actor bus;              // journal for the execution actors
  queue_actor queue;                // claims, releases, cancellation polls
  queue_actor leases;               // renewals (own database session: a slow claim
                                    // never delays a renewal)
  reader_actor reader;              // snapshot loads for restarts
  lock_manager_actor locks;         // for the execution actors
  timeout_scheduler_actor timeouts; // for the execution actors
  secret_resolver_actor secrets;    // for the execution actors
  inspector_actor inspector;        // execution actors are registered here (null: none)
};

struct supervisor_state {
  static inline const char* name = "worker-supervisor";
  supervisor_settings settings;
  supervisor_peers peers;
  std::map<std::string, supervised_child> children;          // by execution id
  std::map<caf::actor_addr, std::string> by_address;
  std::map<std::string, caf::typed_response_promise<execution_done>> waiting;
  bool claiming = false;
  bool draining = false;
  bool isolated = false; // no peer and no database (the membership says): no claims
  std::optional<caf::typed_response_promise<drained>> drain_promise;
  drained drain_result;
  std::vector<lease_ref> released; // handed back by draining children
  bool claim_again = false;
  bool renewing = false; // a renew request is in flight
  bool cancel_polling = false; // a cancellation poll is in flight
  bool cancel_again = false;   // poll again when it returns
  std::chrono::steady_clock::time_point last_cancel_poll;
  std::deque<std::chrono::steady_clock::time_point> finished; // ends within the last 60 s
  int64_t finished_total = 0;
  int32_t background_running() const;
};

/// @param settings node name, capacity, lease and timer settings
/// @param peers    journal, queue sessions, reader, lock-manager, timeout-scheduler
worker_supervisor_actor::behavior_type
worker_supervisor(worker_supervisor_actor::stateful_pointer<supervisor_state> self,
                  supervisor_settings settings, supervisor_peers peers);

} // namespace stagee
