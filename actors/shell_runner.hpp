/// Shell step runner (R-EXEC-1): runs one step on one target as a child process and
/// replies with its result, then exits. Spawned detached, one per run: the child
/// process is waited for on this actor's own thread, never on a scheduler thread.
///
/// The command is an argv array (no shell); `{{target}}` in an argument is replaced
/// by the target ref. The child gets STAGEE_EXECUTION_ID, STAGEE_STEP,
/// STAGEE_ATTEMPT, STAGEE_TARGET, STAGEE_IDEMPOTENCY_KEY, STAGEE_REQUEST_ID and
/// STAGEE_FENCE (the owner's fencing token: a target can refuse stale owners) and,
/// when the target is locked, STAGEE_LOCK_KEY and STAGEE_LOCK_FENCE (the lock's
/// fencing token, increasing per key on every grant).
#pragma once

#include <atomic>
#include <memory>

#include "messages/worker.hpp"

namespace stagee {

struct shell_runner_settings {
  int64_t kill_grace_ms = 1000; // SIGTERM -> SIGKILL after a timeout
};

/// Set by the owner to end a running child early (process group: SIGTERM, then
/// SIGKILL after the grace); the run then ends `failed` with output.error
/// "stopped".
using stop_flag = std::shared_ptr<std::atomic<bool>>;

/// @param stop may be null (the run ends only by itself or by its timeout)
step_runner_actor::behavior_type shell_runner(step_runner_actor::pointer self,
                                              shell_runner_settings settings, stop_flag stop);

/// Replaces every "{{target}}" in each argument (plain text substitution).
std::vector<std::string> expand_argv(const std::vector<std::string>& argv,
                                     const std::string& target);

} // namespace stagee
