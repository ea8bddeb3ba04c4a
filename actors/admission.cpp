#include "actors/admission.hpp"

#include "actors/probe.hpp"
#include "config/logging.hpp"

namespace stagee {

namespace {

void flush(admission_actor::stateful_pointer<admission_state> self) {
  auto batch = self->state.pending.take(self, self->state.max_batch);
  if (batch.empty())
    return;
  std::vector<admit_request> requests;
  requests.reserve(batch.size());
  for (auto& e : batch)
    requests.push_back(e.request);
  auto results = run_isolated(requests, [&](const std::vector<admit_request>& rs) {
    return self->state.store->admit(rs);
  });
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& r = results[i];
    if (!r) { // the transaction failed
      logging::write(*logging::get("db"), spdlog::level::err, "admission failed",
                     {{"batch_size", batch.size()}, {"error", to_string(r.error())}});
      batch[i].promise.deliver(r.error());
    } else if (!*r) { // admitted nothing for this request (e.g. key conflict)
      batch[i].promise.deliver((*r).error());
    } else {
      batch[i].promise.deliver(std::move(**r));
    }
  }
}

} // namespace

admission_actor::behavior_type admission(admission_actor::stateful_pointer<admission_state> self,
                                         std::string db_url, admission_settings settings) {
  self->state.db = std::make_unique<db_session>(std::move(db_url));
  self->state.store = std::make_unique<admission_store>(*self->state.db, settings);
  return {
    [=](admit_request& req) { return self->state.pending.park(self, std::move(req)); },
    [=](flush_atom) { flush(self); },
    [=](inspect_atom) {
      return probe_of_worker(self, {{"parked", std::to_string(self->state.pending.size())}});
    },
  };
}

} // namespace stagee
