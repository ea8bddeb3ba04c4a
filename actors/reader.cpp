#include "actors/reader.hpp"

#include "actors/probe.hpp"
#include "actors/result.hpp"

namespace stagee {

reader_actor::behavior_type reader(reader_actor::stateful_pointer<reader_state> self,
                                   std::string db_url) {
  self->state.db = std::make_unique<db_session>(std::move(db_url));
  self->state.store = std::make_unique<read_store>(*self->state.db);
  return {
    [=](const status_request& req) { return to_result(self->state.store->status(req)); },
    [=](inspect_atom) { return probe_of_worker(self); },
    [=](const cancel_request& req) { return to_result(self->state.store->cancel(req)); },
    [=](const load_request& req) {
      return to_result(self->state.store->load(req.execution_id));
    },
    [=](const execution_list_request& req) {
      return to_result(self->state.store->executions(req));
    },
    [=](const queue_list_request& req) { return to_result(self->state.store->queue(req)); },
    [=](const journal_request& req) { return to_result(self->state.store->journal(req)); },
    [=](const node_counts_request& req) {
      return to_result(self->state.store->node_counts(req));
    },
  };
}

} // namespace stagee
