/// Execution actor: one per execution, spawned and monitored by the
/// worker-supervisor. A thin shell around the pure FSM (execution_fsm.hpp):
///
///   trigger -> apply() -> journal the transition (event-bus, durable) -> on commit:
///     run the next step run (noop inline, shell via a detached shell_runner)
///     or, when terminal, report execution_done to the supervisor and stop.
///
/// Nothing runs before its "step_started" snapshot is committed, and every result
/// is committed before the next run starts (snapshot before and after each step,
/// R-FSM-4). A journal write that fails because the database is away is retried
/// with backoff; one refused by the seq guard (owner_lost) stops the actor at once.
///
/// Before its first run (and when a new owner resumes it) it takes its per-asset
/// locks through the lock-manager, unless admission already did (immediate mode);
/// when a target is locked its queue row has been deferred and the actor leaves
/// (lock wait, R-SAFE-2). Once running, its SLA deadline is armed with the
/// timeout-scheduler.
///
/// stop_execution (from the supervisor, the timeout-scheduler) ends it early: the
/// running shell run's process group is stopped through its stop flag, no further
/// run starts, and the execution fails (or is cancelled) once the stopped run's
/// result (or the write in flight) is committed. `abandon` stops the running step
/// and quits without writing (the supervisor does this when a lease renewal is
/// overdue; the next owner resumes it). Every journal write also returns a pending
/// cancellation request: checked before each run starts (R-SAFE-6).
#pragma once

#include <optional>
#include <random>
#include <string>

#include "actors/execution_fsm.hpp"
#include "actors/shell_runner.hpp"
#include "config/logging.hpp"
#include "config/masker.hpp"
#include "messages/event_bus.hpp"
#include "messages/locks.hpp"
#include "messages/secrets.hpp"
#include "messages/timeouts.hpp"
#include "messages/worker.hpp"

namespace stagee {

struct execution_settings {
  std::string node;                          // worker id recorded on the execution
  int64_t default_step_timeout_ms = 60000;   // when neither step nor policy sets one
  int64_t output_cap_bytes = 64 * 1024;      // per stream
  int64_t journal_retry_ms = 250;            // first backoff; doubles up to 5 s
  int64_t retry_base_ms = 1000;              // failed run: base x 2^failures, +-10 %
  int64_t retry_cap_ms = 300000;             // upper bound of one backoff
  int64_t lock_wait_base_ms = 100;           // lock wait: base x 2^waits ...
  int64_t lock_wait_cap_ms = 2000;           // ... capped, +-10 %
  shell_runner_settings shell;
};

/// The actors an execution talks to.
struct execution_peers {
  event_bus_actor bus;                 // journal
  worker_supervisor_actor supervisor;  // execution_done / execution_released
  lock_manager_actor locks;            // per-asset locks
  timeout_scheduler_actor timeouts;    // SLA deadline
  secret_resolver_actor secrets;       // values of the secrets a step references
};

struct execution_state {
  static inline const char* name = "execution";
  execution_record record;
  execution_snapshot snapshot; // last committed
  execution_settings settings;
  execution_peers peers;
  std::optional<trigger> waiting_for_locks; // the first trigger, fired once locks are held
  bool acquiring = false;                   // an acquire_locks request is in flight
  std::vector<lock_spec> lock_specs;        // the locks its plan takes (read plans: none)
  bool deadline_armed = false;
  std::optional<journal_append> in_flight; // written but not yet committed
  std::optional<int32_t> run_after_commit;
  int journal_failures = 0;
  bool draining = false; // finish the running run, then hand the execution back
  bool retry_after_commit = false; // the committed transition scheduled a retry
  bool retry_pending = false;      // backoff timer armed
  std::optional<trigger> stop;     // stop_execution received: fire this, run nothing more
  bool abandoning = false;         // stop_execution without error class: quit, write nothing
  stop_flag run_stop;              // the running shell run's stop flag (null: none runs)
  std::vector<masking::live_handle> live_secrets; // resolved values: masked in every sink
                                                  // while this execution lives
  std::mt19937 rng{std::random_device{}()};
  logging::log_context log;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

/// The cancel trigger on behalf of the principal who asked first (R-SAFE-6).
trigger cancellation(const std::string& principal, const std::string& reason);

/// @param record   identity, frozen plan, snapshot to continue from, locks held
/// @param first    start (new), resume (claimed / restarted), cancel (claimed to be
///                 cancelled) or fail (restart budget spent, queue deadline)
/// @param settings node name, timeouts, output cap
/// @param peers    journal, supervisor, lock-manager, timeout-scheduler
execution_actor::behavior_type execution(execution_actor::stateful_pointer<execution_state> self,
                                         execution_record record, trigger first,
                                         execution_settings settings, execution_peers peers);

} // namespace stagee
