/// Blocking child-process runner for the `shell` executor (R-EXEC-1). Pure POSIX,
/// no CAF: call it from a detached actor (it blocks for the child's lifetime).
///
/// - argv goes to posix_spawnp as is, never through a shell: hostile target names
///   reach the child as literal arguments.
/// - The child gets stdin from /dev/null, a minimal environment, default signal
///   dispositions, an empty signal mask and its own process group; on timeout (or
///   when the caller sets `stop`) the whole group gets SIGTERM, then SIGKILL after
///   `kill_grace`.
/// - stdout and stderr are read concurrently (poll), each passed through a
///   streaming masker as it arrives (a secret split across two reads is still
///   caught, R-SAFE-5), then capped at `output_cap`; the rest is read and discarded
///   so the child never blocks on a full pipe.
/// - Once the child exits, pipes still held open by its descendants are drained
///   for `drain_window` at most; then the group is killed and the call returns.
///
/// Thread-safe: several calls may run at once. It creates only close-on-exec fds
/// and reaps exactly its own pid with waitpid (no SIGCHLD handler needed). The
/// process must not set SIGCHLD to SIG_IGN nor call waitpid(-1): either steals the
/// exit status (reported as an error with exit_code -1).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/masker.hpp"

namespace stagee {

/// What to run and under which limits.
struct process_spec {
  /// Program and arguments; argv[0] is looked up in the parent's PATH unless it
  /// contains a '/'. Must be non-empty; no string may contain a NUL byte.
  std::vector<std::string> argv;
  /// Added to the base environment (PATH, HOME, LANG, TZ copied from the parent when
  /// set); later entries override earlier ones and the base. Names must be non-empty
  /// and contain neither '=' nor NUL.
  std::vector<std::pair<std::string, std::string>> env;
  /// Wall-clock limit (monotonic clock); 0 = no limit.
  std::chrono::milliseconds timeout{0};
  /// After a timeout: SIGTERM to the process group, SIGKILL after this grace.
  std::chrono::milliseconds kill_grace{1000};
  /// After the child exited: how long descendants may keep the pipes open.
  std::chrono::milliseconds drain_window{200};
  /// Bytes kept per stream; beyond this, output is discarded and `*_truncated` set.
  size_t output_cap = 64 * 1024;
  /// Working directory of the child; empty = inherit the parent's.
  std::string working_dir;
  /// Set to true from any thread to end the child early: the group gets SIGTERM,
  /// then SIGKILL after `kill_grace`, as on a timeout (seen within stop_check).
  std::shared_ptr<const std::atomic<bool>> stop;
  /// How often `stop` is looked at while the child runs.
  std::chrono::milliseconds stop_check{50};
  /// Masks captured output (patterns plus the run's secret values); null: the
  /// process-wide patterns-only masker. Output is never kept unmasked.
  std::shared_ptr<const masking::masker> mask;
};

/// How the child ended and what it printed.
struct process_result {
  /// False: the child never ran (bad spec, executable not found, ...); see `error`.
  bool started = false;
  /// Why it did not start, e.g. "executable not found: foo",
  /// "permission denied: ./x"; empty when the child ran and was reaped normally.
  std::string error;
  /// Exit status; valid (>= 0) only when the child exited normally.
  int exit_code = -1;
  /// Signal that killed the child, 0 if it exited normally.
  int term_signal = 0;
  /// True when `timeout` expired and the group was killed.
  bool timed_out = false;
  /// True when `stop` was set and the group was killed (before any timeout).
  bool stopped = false;
  /// Captured output, at most `output_cap` bytes each.
  std::string stdout_text, stderr_text;
  /// True when the stream produced more than `output_cap` bytes.
  bool stdout_truncated = false, stderr_truncated = false;
  /// Redactions the masker made in stdout and stderr together.
  size_t redactions = 0;
  /// From spawn to reap, monotonic.
  int64_t duration_ms = 0;
};

/// Runs `spec` to completion (or timeout) and returns its result. Never throws for
/// child-side failures (only std::bad_alloc can escape).
/// @param spec what to run; see process_spec for the limits.
process_result run_process(const process_spec& spec);

} // namespace stagee
