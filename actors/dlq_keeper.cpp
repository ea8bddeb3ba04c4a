#include "actors/dlq_keeper.hpp"

#include "actors/probe.hpp"
#include "actors/result.hpp"

namespace stagee {

namespace {

caf::expected<dlq_entry> entry_op(dlq_store& store, const dlq_entry_request& req) {
  switch (req.op) {
    case dlq_op::show: {
      auto src = store.get(req.tenant_id, req.id);
      if (!src)
        return src.error();
      return src->entry;
    }
    case dlq_op::archive:
      return store.archive(req.tenant_id, req.id);
    case dlq_op::mark_requeued:
      return store.mark_requeued(req.tenant_id, req.id, req.execution_id);
  }
  return caf::make_error(caf::sec::invalid_argument);
}

} // namespace

dlq_actor::behavior_type dlq_keeper(dlq_actor::stateful_pointer<dlq_keeper_state> self,
                                    std::string db_url) {
  self->state.db = std::make_unique<db_session>(std::move(db_url));
  self->state.store = std::make_unique<dlq_store>(*self->state.db);
  return {
    [=](const dlq_list_request& req) { return to_result(self->state.store->list(req)); },
    [=](inspect_atom) { return probe_of_worker(self); },
    [=](const dlq_entry_request& req) { return to_result(entry_op(*self->state.store, req)); },
    [=](const dlq_source_request& req) {
      return to_result(self->state.store->get(req.tenant_id, req.id));
    },
    [=](const dlq_summary_request& req) {
      return to_result(self->state.store->summary(req.tenant_id));
    },
  };
}

} // namespace stagee
