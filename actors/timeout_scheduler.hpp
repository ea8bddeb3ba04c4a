/// Timeout-scheduler: arms the SLA deadlines of this node's executions (R-SAFE-7).
///
/// The deadline is stored with the execution (executions.deadline_at) and comes back
/// with every claim, so a new owner re-arms what is left of it. Here the deadlines
/// are kept sorted (deadline_table) behind a single CAF delayed message for the
/// earliest one, which CAF 0.17 cannot cancel: every timer gets a fresh generation,
/// and a timer whose generation is not current is dropped. One timer, not one per
/// execution: arming is a map insert, not a wake-up of CAF's clock thread. On expiry
/// the owner gets stop_execution(fail, execution_timeout, timed_out): its step's
/// process group is stopped, the execution fails with timed_out = true, and its
/// locks go with the terminal write.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "messages/timeouts.hpp"

namespace stagee {

/// The armed deadlines, by execution and by due time (unit-tested on its own).
class deadline_table {
public:
  using clock = std::chrono::steady_clock;

  /// Records (or replaces) the deadline of req.execution_id, due at `due`.
  void arm(arm_deadline req, clock::time_point due);

  /// Forgets a deadline armed by `owner`; one armed since by another owner stays.
  void disarm(const std::string& execution_id, const execution_actor& owner);

  /// Removes and returns every deadline due at or before `now`.
  std::vector<arm_deadline> take_due(clock::time_point now);

  /// When the earliest deadline is due (none armed: nullopt).
  std::optional<clock::time_point> next_due() const;

  size_t size() const { return by_id_.size(); }

  /// Every armed deadline with its due time, soonest first.
  std::vector<std::pair<const arm_deadline*, clock::time_point>> list() const;

private:
  struct entry {
    arm_deadline request;
    std::multimap<clock::time_point, std::string>::iterator pos;
  };
  std::map<std::string, entry> by_id_;
  std::multimap<clock::time_point, std::string> by_due_;
};

struct timeout_scheduler_state {
  static inline const char* name = "timeout-scheduler";
  std::string node;
  deadline_table table;
  uint64_t generation = 0;                                     // of the current timer
  std::optional<deadline_table::clock::time_point> timer_due;  // when it fires
};

/// @param node this node's name (logs)
timeout_scheduler_actor::behavior_type
timeout_scheduler(timeout_scheduler_actor::stateful_pointer<timeout_scheduler_state> self,
                  std::string node);

} // namespace stagee
