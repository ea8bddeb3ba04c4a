#include "actors/approver.hpp"

#include <chrono>

#include "actors/execution_fsm.hpp"
#include "actors/probe.hpp"
#include "config/logging.hpp"
#include "messages/errors.hpp"

namespace stagee {

namespace {

using self_ptr = approver_actor::stateful_pointer<approver_state>;

spdlog::logger& lg() {
  static auto l = logging::get("approvals");
  return *l;
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string short_hash(const std::string& h) {
  return h.substr(0, 12);
}

/// The step an execution at level 3 waits for (the run at its cursor).
std::string waiting_step(const execution_snapshot& s) {
  auto i = static_cast<size_t>(s.cursor);
  return i < s.runs.size() ? s.runs[i].step_name : std::string{};
}

trigger trigger_for(const approve_request& req) {
  trigger t;
  t.kind = req.kind == decision::approve  ? trigger_kind::approve
           : req.kind == decision::reject ? trigger_kind::reject
                                          : trigger_kind::cancel;
  t.by = "principal:" + req.who.principal;
  t.now_us = now_us();
  t.message = req.reason;
  return t;
}

/// Checks a decision against the stored execution; an error says why not.
caf::error check(self_ptr self, const approve_request& req, const execution_record& rec,
                 int32_t level) {
  auto& s = rec.snapshot;
  if (s.status != execution_status::awaiting_approval)
    return make_stagee_error(
      stagee_errc::invalid_state, "execution_id",
      "execution " + rec.execution_id + " is " + to_string(s.status)
        + (is_terminal(s.status) ? "; there is nothing left to " + to_string(req.kind)
                                 : "; it is not waiting for approval"));
  if (req.kind == decision::cancel)
    return caf::none;
  if (req.plan_hash != rec.plan_hash) {
    approval_row row{rec.execution_id, level, req.step, "invalidated", req.plan_hash, req.who,
                     req.reason};
    if (auto r = self->state.approvals->record(row); !r)
      logging::write(lg(), spdlog::level::err, "could not record an invalidated approval",
                     {{"exec_id", rec.execution_id}, {"error", describe(r.error()).message}});
    return make_stagee_error(stagee_errc::approval_invalidated, "plan_hash",
                             "you reviewed plan " + short_hash(req.plan_hash)
                               + "..., but execution " + rec.execution_id + " runs plan "
                               + short_hash(rec.plan_hash)
                               + "...; review that plan and decide again with its hash");
  }
  if (level >= 2 && req.kind == decision::approve && req.who.principal == rec.actor_id)
    return make_stagee_error(stagee_errc::permission_denied, "principal",
                             "'" + req.who.principal + "' submitted this level "
                               + std::to_string(level)
                               + " execution and cannot approve it; another approver must");
  if (level == 3 && req.kind == decision::approve && req.step != waiting_step(s))
    return make_stagee_error(stagee_errc::invalid_request, "step",
                             "level 3: approve one step at a time; the step waiting is '"
                               + waiting_step(s) + "' (--step " + waiting_step(s) + ")");
  return caf::none;
}

caf::result<approve_reply> decide(self_ptr self, const approve_request& req) {
  auto& st = self->state;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto stored = st.reads->load(req.execution_id);
    if (!stored)
      return stored.error();
    auto& rec = stored->record;
    if (rec.tenant_id != req.tenant_id) // another tenant's: exactly like a missing one
      return make_stagee_error(stagee_errc::not_found, "execution_id",
                               "no execution " + req.execution_id);
    auto level = st.approvals->execution_level(rec.execution_id);
    if (!level)
      return level.error();
    if (auto err = check(self, req, rec, *level))
      return err;
    auto fsm = apply(rec.snapshot, trigger_for(req));
    if (!fsm.ok)
      return make_stagee_error(stagee_errc::illegal_transition, "", fsm.error->reason);
    decision_write w;
    w.tenant_id = rec.tenant_id;
    w.expected_seq = rec.snapshot.last_seq;
    w.next = fsm.ok->next;
    w.events = fsm.ok->events;
    w.enqueue = req.kind == decision::approve;
    w.priority = 50;
    auto step = *level == 3 ? waiting_step(rec.snapshot) : std::string{};
    if (req.kind != decision::cancel)
      w.row = approval_row{rec.execution_id, *level, step,
                           req.kind == decision::approve ? "approved" : "rejected",
                           req.plan_hash, req.who, req.reason};
    auto done = st.approvals->decide(w);
    if (!done)
      return done.error();
    if (!*done)
      continue; // moved on between the read and the write: read it again
    logging::write(lg(), spdlog::level::info, "approval decision",
                   {{"exec_id", rec.execution_id}, {"tenant_id", rec.tenant_id},
                    {"decision", to_string(req.kind)}, {"actor_id", req.who.principal},
                    {"auth_method", req.who.auth_method}, {"approval_level", *level},
                    {"step", step}, {"status", to_string(w.next.status)},
                    {"worker_id", st.node}});
    return approve_reply{rec.execution_id, w.next.status, *level, step, req.who.principal,
                         rec.plan_hash};
  }
  return make_stagee_error(stagee_errc::invalid_state, "execution_id",
                           "execution " + req.execution_id
                             + " keeps changing under the decision; try again");
}

} // namespace

approver_actor::behavior_type approver(self_ptr self, std::string node, std::string db_url) {
  auto& st = self->state;
  st.node = std::move(node);
  st.db = std::make_unique<db_session>(std::move(db_url));
  st.reads = std::make_unique<read_store>(*st.db);
  st.approvals = std::make_unique<approval_store>(*st.db);
  return {
    [=](const approve_request& req) { return decide(self, req); },
    [=](inspect_atom) { return probe_of_worker(self); },
  };
}

} // namespace stagee
