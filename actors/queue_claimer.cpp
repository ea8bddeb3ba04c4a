#include "actors/queue_claimer.hpp"

#include "actors/probe.hpp"
#include "actors/result.hpp"
#include "config/logging.hpp"

namespace stagee {

queue_actor::behavior_type queue_claimer(queue_actor::stateful_pointer<queue_claimer_state> self,
                                         std::string db_url) {
  self->state.db = std::make_unique<db_session>(std::move(db_url));
  self->state.store = std::make_unique<queue_store>(*self->state.db);
  return {
    [=](const claim_request& req) -> caf::result<claimed_batch> {
      std::vector<caf::error> broken;
      auto r = self->state.store->claim(req.node, req.max_count, req.lease, &broken);
      for (auto& err : broken)
        logging::write(*logging::get("queue"), spdlog::level::err,
                       "claimed execution cannot be decoded", {{"error", to_string(err)}});
      if (!r)
        return r.error();
      return claimed_batch{std::move(*r)};
    },
    [=](const renew_request& req) {
      return to_result(self->state.store->renew(req.node, req.leases));
    },
    [=](const reap_request&) { return to_result(self->state.store->reap()); },
    [=](inspect_atom) { return probe_of_worker(self); },
    [=](stats_atom, int32_t min_samples) {
      return to_result(self->state.store->refresh_step_stats(min_samples));
    },
    [=](const cancel_poll_request& req) -> caf::result<cancel_batch> {
      std::vector<caf::error> broken;
      auto r = self->state.store->cancel_poll(req.node, req.lease, &broken);
      for (auto& err : broken)
        logging::write(*logging::get("queue"), spdlog::level::err,
                       "execution to cancel cannot be decoded", {{"error", to_string(err)}});
      return to_result(std::move(r));
    },
    [=](const release_request& req) -> caf::result<renewed> {
      auto r = self->state.store->release(req.node, req.leases);
      if (!r)
        return r.error();
      return renewed{std::move(*r)};
    },
  };
}

} // namespace stagee
