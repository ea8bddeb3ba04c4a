#include "actors/timeout_scheduler.hpp"

#include <algorithm>

#include "config/logging.hpp"

namespace stagee {

uint64_t deadline_table::arm(arm_deadline req) {
  auto gen = ++next_;
  auto id = req.execution_id;
  entries_[id] = entry{gen, std::move(req)};
  return gen;
}

void deadline_table::disarm(const std::string& execution_id, const execution_actor& owner) {
  auto i = entries_.find(execution_id);
  if (i != entries_.end() && i->second.request.owner == owner)
    entries_.erase(i);
}

std::optional<deadline_table::entry> deadline_table::take_due(const std::string& execution_id,
                                                              uint64_t generation) {
  auto i = entries_.find(execution_id);
  if (i == entries_.end() || i->second.generation != generation)
    return std::nullopt; // disarmed, or re-armed since: a stale timer
  auto out = std::move(i->second);
  entries_.erase(i);
  return out;
}

timeout_scheduler_actor::behavior_type
timeout_scheduler(timeout_scheduler_actor::stateful_pointer<timeout_scheduler_state> self,
                  std::string node) {
  self->state.node = std::move(node);
  return {
    [=](arm_deadline& req) {
      auto in = std::chrono::milliseconds{std::max<int64_t>(req.in_ms, 0)};
      auto id = req.execution_id;
      auto gen = self->state.table.arm(std::move(req));
      self->delayed_send(self, in, deadline_due{id, gen});
    },
    [=](const disarm_deadline& req) { self->state.table.disarm(req.execution_id, req.owner); },
    [=](const deadline_due& due) {
      auto e = self->state.table.take_due(due.execution_id, due.generation);
      if (!e)
        return;
      auto& r = e->request;
      logging::write(*logging::get("exec"), spdlog::level::warn,
                     "execution deadline passed; stopping it",
                     {{"exec_id", r.execution_id}, {"timeout_policy_id", r.policy_id},
                      {"execution_timeout_ms", r.budget_ms}, {"worker_id", self->state.node}});
      stop_execution stop;
      stop.kind = stop_kind::fail;
      stop.error_class = "execution_timeout";
      stop.timed_out = true;
      stop.message = "execution ran longer than its SLA allows: " + std::to_string(r.budget_ms)
                     + " ms (timeout policy " + r.policy_id + ")";
      self->send(r.owner, std::move(stop));
    },
    [=](caf::get_atom) { return static_cast<int32_t>(self->state.table.size()); },
  };
}

} // namespace stagee
