/// Timeout-scheduler: arms the SLA deadlines of this node's executions (R-SAFE-7).
///
/// The deadline is stored with the execution (executions.deadline_at) and comes back
/// with every claim, so a new owner re-arms what is left of it. Here it is a CAF
/// delayed message, which CAF 0.17 cannot cancel: each arm gets a fresh generation
/// (deadline_table) and a firing whose generation is not current is dropped. On
/// expiry the owner gets stop_execution(fail, execution_timeout, timed_out): its
/// step's process group is stopped, the execution fails with timed_out = true, and
/// its locks go with the terminal write.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "messages/timeouts.hpp"

namespace stagee {

/// The generation bookkeeping, without CAF timers (unit-tested on its own).
class deadline_table {
public:
  struct entry {
    uint64_t generation = 0;
    arm_deadline request;
  };

  /// Records (or replaces) the deadline; returns the generation to fire with.
  uint64_t arm(arm_deadline req);

  /// Forgets a deadline armed by `owner`; a firing already scheduled for it is then
  /// ignored. A deadline armed since by another owner stays.
  void disarm(const std::string& execution_id, const execution_actor& owner);

  /// The armed entry if (execution_id, generation) is still current, and forgets it.
  std::optional<entry> take_due(const std::string& execution_id, uint64_t generation);

  size_t size() const { return entries_.size(); }

private:
  uint64_t next_ = 0;
  std::map<std::string, entry> entries_;
};

struct timeout_scheduler_state {
  static inline const char* name = "timeout-scheduler";
  std::string node;
  deadline_table table;
};

/// @param node this node's name (logs)
timeout_scheduler_actor::behavior_type
timeout_scheduler(timeout_scheduler_actor::stateful_pointer<timeout_scheduler_state> self,
                  std::string node);

} // namespace stagee
