#include "actors/reader.hpp"

namespace stagee {

reader_actor::behavior_type reader(reader_actor::stateful_pointer<reader_state> self,
                                   std::string db_url) {
  self->state.db = std::make_unique<db_session>(std::move(db_url));
  self->state.store = std::make_unique<read_store>(*self->state.db);
  return {
    [=](const status_request& req) -> caf::result<status_reply> {
      auto r = self->state.store->status(req);
      if (!r)
        return r.error();
      return std::move(*r);
    },
    [=](const load_request& req) -> caf::result<stored_execution> {
      auto r = self->state.store->load(req.execution_id);
      if (!r)
        return r.error();
      return std::move(*r);
    },
  };
}

} // namespace stagee
