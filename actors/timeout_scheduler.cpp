#include "actors/timeout_scheduler.hpp"

#include <algorithm>

#include "actors/probe.hpp"
#include "config/logging.hpp"

namespace stagee {

void deadline_table::arm(arm_deadline req, clock::time_point due) {
  auto id = req.execution_id;
  if (auto i = by_id_.find(id); i != by_id_.end()) {
    by_due_.erase(i->second.pos);
    by_id_.erase(i);
  }
  auto pos = by_due_.emplace(due, id);
  by_id_.emplace(std::move(id), entry{std::move(req), pos});
}

void deadline_table::disarm(const std::string& execution_id, const execution_actor& owner) {
  auto i = by_id_.find(execution_id);
  if (i == by_id_.end() || i->second.request.owner != owner)
    return;
  by_due_.erase(i->second.pos);
  by_id_.erase(i);
}

std::vector<arm_deadline> deadline_table::take_due(clock::time_point now) {
  std::vector<arm_deadline> out;
  while (!by_due_.empty() && by_due_.begin()->first <= now) {
    auto i = by_id_.find(by_due_.begin()->second);
    by_due_.erase(by_due_.begin());
    out.push_back(std::move(i->second.request));
    by_id_.erase(i);
  }
  return out;
}

std::vector<std::pair<const arm_deadline*, deadline_table::clock::time_point>>
deadline_table::list() const {
  std::vector<std::pair<const arm_deadline*, clock::time_point>> out;
  out.reserve(by_due_.size());
  for (auto& [due, id] : by_due_)
    out.emplace_back(&by_id_.at(id).request, due);
  return out;
}

std::optional<deadline_table::clock::time_point> deadline_table::next_due() const {
  if (by_due_.empty())
    return std::nullopt;
  return by_due_.begin()->first;
}

namespace {

using self_ptr = timeout_scheduler_actor::stateful_pointer<timeout_scheduler_state>;

/// Makes sure a timer fires no later than the earliest deadline. A timer already
/// armed early enough stays; otherwise a new one with a new generation replaces it
/// (the old one will find its generation stale).
void schedule(self_ptr self) {
  auto& st = self->state;
  auto next = st.table.next_due();
  if (!next || (st.timer_due && *st.timer_due <= *next))
    return;
  st.timer_due = *next;
  auto in = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                       *next - deadline_table::clock::now()),
                     std::chrono::milliseconds{0});
  self->delayed_send(self, in, deadline_tick{++st.generation});
}

void expire(self_ptr self, const arm_deadline& r) {
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
}

} // namespace

timeout_scheduler_actor::behavior_type timeout_scheduler(self_ptr self, std::string node) {
  self->state.node = std::move(node);
  return {
    [=](arm_deadline& req) {
      auto due = deadline_table::clock::now()
                 + std::chrono::milliseconds{std::max<int64_t>(req.in_ms, 0)};
      self->state.table.arm(std::move(req), due);
      schedule(self);
    },
    [=](const disarm_deadline& req) { self->state.table.disarm(req.execution_id, req.owner); },
    [=](const deadline_tick& tick) {
      auto& st = self->state;
      if (tick.generation != st.generation)
        return; // replaced by an earlier timer
      st.timer_due.reset();
      for (auto& r : st.table.take_due(deadline_table::clock::now()))
        expire(self, r);
      schedule(self);
    },
    [=](caf::get_atom) { return static_cast<int32_t>(self->state.table.size()); },
    [=](const timers_request& req) {
      timer_list out{self->state.node, {}};
      auto now = deadline_table::clock::now();
      for (auto& [armed, due] : self->state.table.list()) {
        timer_view t;
        t.kind = "execution deadline";
        t.due_in_ms = std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count();
        t.hidden = armed->tenant_id != req.tenant_id;
        if (!t.hidden)
          t.execution_id = armed->execution_id;
        out.timers.push_back(std::move(t));
      }
      return out;
    },
    [=](inspect_atom) {
      auto& st = self->state;
      probe_details d{{"armed", std::to_string(st.table.size())}};
      if (st.timer_due)
        d["next_due_in_ms"] = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                *st.timer_due - deadline_table::clock::now())
                                                .count());
      return probe_of(self, st.table.size() > 0 ? "armed" : "idle", std::move(d));
    },
  };
}

} // namespace stagee
