#include "actors/authorizer.hpp"

#include "actors/probe.hpp"
#include "config/logging.hpp"
#include "messages/errors.hpp"

namespace stagee {

namespace {

using self_ptr = authorizer_actor::stateful_pointer<authorizer_state>;

spdlog::logger& lg() {
  static auto l = logging::get("auth");
  return *l;
}

caf::result<authz_reply> check(self_ptr self, const authz_request& req) {
  auto& st = self->state;
  auto r = st.store->check(req);
  if (!r)
    return r.error(); // not_found (missing or another tenant's) or db_unavailable
  if (r->allowed)
    return std::move(*r);
  security_event ev;
  ev.who = req.who;
  ev.operation = req.operation;
  ev.permission = req.permission;
  ev.environment = r->environment;
  ev.execution_id = req.execution_id;
  ev.node = st.node;
  ev.reason = r->reason;
  logging::write(lg(), spdlog::level::warn, "rbac_violation: request refused",
                 {{"tenant_id", req.who.tenant_id}, {"actor_id", req.who.principal},
                  {"operation", req.operation}, {"permission", req.permission},
                  {"environment", r->environment}, {"exec_id", req.execution_id},
                  {"auth_method", req.who.auth_method}, {"source", req.who.source},
                  {"worker_id", st.node}});
  if (auto rec = st.store->record(ev); !rec) // the refusal stands either way
    logging::write(lg(), spdlog::level::err, "could not record rbac_violation",
                   {{"error", describe(rec.error()).message}});
  return std::move(*r);
}

} // namespace

authorizer_actor::behavior_type authorizer(self_ptr self, std::string node,
                                           std::string db_url) {
  auto& st = self->state;
  st.node = std::move(node);
  st.db = std::make_unique<db_session>(std::move(db_url));
  st.store = std::make_unique<rbac_store>(*st.db);
  return {
    [=](const authz_request& req) { return check(self, req); },
    [=](inspect_atom) { return probe_of_worker(self); },
  };
}

} // namespace stagee
