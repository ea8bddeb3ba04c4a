#include "actors/reaper.hpp"

#include "actors/probe.hpp"
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

void refresh_stats(self_ptr self) {
  auto& st = self->state;
  self->request(st.queue, std::chrono::seconds(60), stats_atom::value, st.settings.stats_min_samples)
    .then(
      [=](int32_t actions) {
        logging::write(*logging::get("queue"), spdlog::level::debug,
                       "step duration statistics refreshed", {{"actions", actions}});
      },
      [=](caf::error& err) {
        logging::write(*logging::get("queue"), spdlog::level::warn,
                       "step duration statistics refresh failed; leases keep the last figures",
                       {{"error", self->system().render(err)}});
      });
}

} // namespace

reaper_actor::behavior_type reaper(self_ptr self, reaper_settings settings, queue_actor queue) {
  self->state.settings = std::move(settings);
  self->state.queue = std::move(queue);
  self->send(self, caf::tick_atom::value);
  self->send(self, stats_tick_atom::value);
  return {
    [=](caf::tick_atom) {
      reap(self);
      self->delayed_send(self, std::chrono::milliseconds{self->state.settings.interval_ms},
                         caf::tick_atom::value);
    },
    [=](stats_tick_atom) {
      refresh_stats(self);
      self->delayed_send(self, std::chrono::milliseconds{self->state.settings.stats_interval_ms},
                         stats_tick_atom::value);
    },
    [=](inspect_atom) {
      return probe_of(self, "periodic",
                      {{"reap_interval_ms", std::to_string(self->state.settings.interval_ms)},
                       {"stats_interval_ms",
                        std::to_string(self->state.settings.stats_interval_ms)}});
    },
  };
}

} // namespace stagee
