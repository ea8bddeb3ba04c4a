#include "actors/reaper.hpp"

#include "config/logging.hpp"

namespace stagee {

namespace {

using self_ptr = reaper_actor::stateful_pointer<reaper_state>;

void reap(self_ptr self) {
  auto& st = self->state;
  self->request(st.queue, std::chrono::seconds(30), reap_request{st.settings.node})
    .then(
      [=](reaped& r) {
        if (!r.execution_ids.empty())
          logging::write(*logging::get("queue"), spdlog::level::warn,
                         "reaped expired leases; executions are claimable again",
                         {{"count", r.execution_ids.size()}, {"exec_ids", r.execution_ids},
                          {"previous_owners", r.previous_owners},
                          {"worker_id", self->state.settings.node}});
      },
      [=](caf::error& err) {
        logging::write(*logging::get("queue"), spdlog::level::warn, "reaper run failed",
                       {{"error", self->system().render(err)}});
      });
}

} // namespace

reaper_actor::behavior_type reaper(self_ptr self, reaper_settings settings, queue_actor queue) {
  self->state.settings = std::move(settings);
  self->state.queue = std::move(queue);
  self->send(self, caf::tick_atom::value);
  return {
    [=](caf::tick_atom) {
      reap(self);
      self->delayed_send(self, std::chrono::milliseconds{self->state.settings.interval_ms},
                         caf::tick_atom::value);
    },
  };
}

} // namespace stagee
