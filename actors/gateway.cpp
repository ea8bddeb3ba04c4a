#include "actors/gateway.hpp"

#include <chrono>

#include "actors/execution_fsm.hpp"
#include "actors/lock_manager.hpp"
#include "actors/probe.hpp"
#include "actors/utf8.hpp"
#include "config/logging.hpp"
#include "config/masker.hpp"
#include "messages/errors.hpp"

namespace stagee {

namespace {

using self_ptr = gateway_actor::stateful_pointer<gateway_state>;
using submit_promise = caf::typed_response_promise<submit_reply>;

spdlog::logger& lg() {
  static auto l = logging::get("gateway");
  return *l;
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string new_uuid(std::mt19937_64& rng) {
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL; // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; // RFC 4122 variant
  char buf[37];
  snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
           static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xFFFF),
           static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
           static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

caf::error invalid(const std::string& field, const std::string& message) {
  return make_stagee_error(stagee_errc::invalid_request, field, message);
}

/// Checks caller identity and key; returns an error naming the bad field.
caf::error check_submit_fields(const submit_request& req) {
  if (!valid_identifier(req.tenant_id))
    return invalid("tenant", "tenant id must match [A-Za-z0-9][A-Za-z0-9._@:-]{0,127}");
  if (!valid_identifier(req.principal))
    return invalid("principal", "principal must match [A-Za-z0-9][A-Za-z0-9._@:-]{0,127}");
  if (!req.idempotency_key.empty() && !valid_identifier(req.idempotency_key))
    return invalid("idempotency_key",
                   "idempotency key must be 1..128 characters of [A-Za-z0-9._@:-]");
  if (req.request_id.size() > 128)
    return invalid("request_id", "request id longer than 128 characters");
  return caf::none;
}

caf::error check_execution_id(const std::string& id) {
  if (!valid_uuid(id))
    return invalid("execution_id", "execution id must be a UUID (8-4-4-4-12 hex digits)");
  return caf::none;
}

int64_t now_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

/// Where the current request came from: the peer's CAF node id.
std::string source_of(self_ptr self) {
  auto& sender = self->current_sender();
  return sender ? "node:" + caf::to_string(sender->node()) : std::string{};
}

/// The caller of the current request, or the invalid_token error (logged).
std::variant<caller, caf::error> who(self_ptr self, const credential& cred) {
  auto r = authenticate(self->state.settings.auth, cred, now_s());
  if (auto c = std::get_if<caller>(&r)) {
    c->source = source_of(self);
    return r;
  }
  logging::write(lg(), spdlog::level::warn, "request refused: not authenticated",
                 {{"reason", describe(std::get<caf::error>(r)).message},
                  {"source", source_of(self)}, {"worker_id", self->state.settings.node}});
  return r;
}

/// Asks an authorizer whether `req` may go on; runs `then(reply)` if so, otherwise
/// answers the promise with permission_denied (the authorizer recorded it) or the
/// authorizer's error (not_found for another tenant's or a missing execution).
template <class T, class F>
void authorized(self_ptr self, caf::typed_response_promise<T> rp, authz_request req, F then) {
  self->request(self->state.authorizer(), std::chrono::seconds(30), req)
    .then(
      [=](authz_reply& r) mutable {
        if (!r.allowed) {
          rp.deliver(make_stagee_error(stagee_errc::permission_denied, "", r.reason));
          return;
        }
        then(r);
      },
      [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

authz_request on_execution(const caller& c, const char* op, const char* perm,
                           const std::string& execution_id) {
  return authz_request{c, op, perm, "", execution_id};
}

authz_request in_tenant(const caller& c, const char* op, const char* perm) {
  return authz_request{c, op, perm, "", ""};
}

/// A tenant-wide request (listings, DLQ entries): scoped to the caller's tenant,
/// authorized, then delegated to the actor that answers it.
template <class Reply, class Request, class Handle>
caf::result<Reply> delegate_in_tenant(self_ptr self, const caller& c, Request req,
                                      const char* op, const char* perm, Handle dest) {
  req.tenant_id = c.tenant_id;
  auto rp = self->make_response_promise<Reply>();
  authorized(self, rp, in_tenant(c, op, perm),
             [=](authz_reply&) mutable { rp.delegate(dest, req); });
  return rp;
}

/// A read about one execution the caller may view (a missing one or another
/// tenant's: not_found), answered by a reader.
template <class Reply, class Request>
caf::result<Reply> read_execution(self_ptr self, const credential& cred, Request req,
                                  const char* op) {
  auto c = who(self, cred);
  if (auto err = std::get_if<caf::error>(&c))
    return std::move(*err);
  if (auto err = check_execution_id(req.execution_id))
    return err;
  auto& caller_ = std::get<caller>(c);
  req.tenant_id = caller_.tenant_id;
  auto rp = self->make_response_promise<Reply>();
  authorized(self, rp, on_execution(caller_, op, permission::view, req.execution_id),
             [=](authz_reply&) mutable { rp.delegate(self->state.reader(), req); });
  return rp;
}

/// A console query about the caller's tenant (a tenant named in the request must be
/// the caller's own), authorized, then delegated to the actor that answers it.
template <class Reply, class Request, class Handle>
caf::result<Reply> console_query(self_ptr self, const credential& cred, Request req,
                                 const char* op, const char* perm, Handle dest) {
  auto c = who(self, cred);
  if (auto err = std::get_if<caf::error>(&c))
    return std::move(*err);
  auto& caller_ = std::get<caller>(c);
  if (!req.tenant_id.empty() && req.tenant_id != caller_.tenant_id)
    return make_stagee_error(stagee_errc::permission_denied, "tenant",
                             "you may only inspect your own tenant (" + caller_.tenant_id
                               + "), not '" + req.tenant_id + "'");
  return delegate_in_tenant<Reply>(self, caller_, std::move(req), op, perm, dest);
}

void log_submit(const admit_request& ar, const submit_reply& rep, const char* what) {
  logging::log_context ctx;
  ctx.request_id = ar.record.request_id;
  ctx.exec_id = rep.execution_id;
  ctx.tenant_id = ar.record.tenant_id;
  ctx.actor_id = ar.record.actor_id;
  ctx.plan_hash = rep.plan_hash;
  ctx.action = ar.record.frozen_plan.action;
  ctx.targets = ar.record.frozen_plan.targets;
  ctx.status = to_string(rep.status);
  logging::write(lg(), spdlog::level::info, what, ctx,
                 {{"mode", to_string(rep.mode)}, {"duplicate", rep.duplicate}});
}

/// Attempts per run of an idempotent step (R-Q-3): fast 3, medium 5, long 3.
int32_t max_attempts_for(sla_class sla) {
  switch (sla) {
    case sla_class::fast:
      return 3;
    case sla_class::medium:
      return 5;
    case sla_class::long_running:
      return 3;
  }
  return 1;
}

/// Builds the admission request for a validated plan.
admit_request make_admission(self_ptr self, const submit_request& req, parsed_plan parsed) {
  auto& st = self->state;
  auto& p = parsed.value;
  auto policy_id = timeout_policy_id(p);
  timeout_policy policy{policy_id, 10000, 10000};
  if (auto i = st.settings.policies.find(policy_id); i != st.settings.policies.end())
    policy = i->second;
  admit_request ar;
  auto& rec = ar.record;
  rec.execution_id = new_uuid(st.rng);
  rec.tenant_id = req.tenant_id;
  rec.actor_id = req.principal;
  rec.plan_hash = parsed.plan_hash;
  rec.idempotency_key = req.idempotency_key.empty()
                          ? derive_idempotency_key(parsed.canonical_json, req.tenant_id,
                                                   req.principal)
                          : req.idempotency_key;
  rec.mode = decide_mode(p, req.mode, policy.step_timeout_ms);
  rec.step_timeout_ms = policy.step_timeout_ms;
  rec.execution_timeout_ms = policy.execution_timeout_ms; // armed when it starts
  rec.frozen_plan = std::move(p);
  auto initial = initial_snapshot(rec.execution_id, rec.frozen_plan);
  initial.max_attempts = max_attempts_for(rec.frozen_plan.sla);
  auto tr = admit(initial, rec.mode, "principal:" + req.principal, now_us());
  rec.snapshot = std::move(tr.next);
  ar.events = std::move(tr.events);
  ar.canonical_json = std::move(parsed.canonical_json);
  ar.execution_timeout_ms = policy.execution_timeout_ms;
  ar.timeout_policy_id = policy.id;
  rec.request_id = req.request_id.empty() ? new_uuid(st.rng) : req.request_id;
  if (rec.mode == execution_mode::immediate) {
    ar.node = st.settings.node;
    ar.lease = st.settings.lease;
    ar.locks = locks_for(rec.tenant_id, rec.frozen_plan); // taken with the admission
    rec.fence = 1; // admit_insert_queue pre-claims the row with fence 1
  }
  return ar;
}

void admit_plan(self_ptr self, admit_request ar, submit_promise rp);

/// Applies the approval level the policy asks for (R-SAFE-8): 1..3 admits the
/// execution awaiting_approval, as a background execution (it runs whenever it is
/// approved, on any node). Level 2 and 3 plans must name a runbook.
caf::error apply_approval_level(admit_request& ar, int32_t level) {
  ar.approval_level = level;
  if (level == 0)
    return caf::none;
  auto& rec = ar.record;
  if (level >= 2 && rec.frozen_plan.runbook_url.empty())
    return make_stagee_error(stagee_errc::invalid_plan, "runbook_url",
                             "this plan needs approval level " + std::to_string(level)
                               + " (" + to_string(rec.frozen_plan.action_cls) + " in "
                               + rec.frozen_plan.environment
                               + "): add the runbook_url its approvers review");
  rec.mode = execution_mode::background;
  rec.fence = 0;
  ar.node.clear();
  ar.locks.clear();
  auto initial = initial_snapshot(rec.execution_id, rec.frozen_plan);
  initial.max_attempts = rec.snapshot.max_attempts;
  auto tr = admit(initial, rec.mode, rec.snapshot.last_transition_by, now_us(), true);
  rec.snapshot = std::move(tr.next);
  ar.events = std::move(tr.events);
  return caf::none;
}

void run_immediate(self_ptr self, admit_request ar, submit_reply rep, submit_promise rp) {
  auto deadline = std::chrono::milliseconds{ar.execution_timeout_ms
                                            + self->state.settings.immediate_margin_ms};
  self->request(self->state.peers.supervisor, deadline, run_request{ar.record})
    .then(
      [=](execution_done& d) mutable {
        rep.status = d.status;
        log_submit(ar, rep, "immediate execution ended");
        rp.deliver(rep);
      },
      [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

submit_promise submit(self_ptr self, const caller& c, submit_request& req) {
  auto rp = self->make_response_promise<submit_reply>();
  req.tenant_id = c.tenant_id;
  req.principal = c.principal;
  if (self->state.draining) {
    rp.deliver(make_stagee_error(stagee_errc::shutting_down, "",
                                 "node " + self->state.settings.node
                                   + " is shutting down; submit to another node"));
    return rp;
  }
  if (auto err = check_submit_fields(req)) {
    rp.deliver(std::move(err));
    return rp;
  }
  auto parsed = parse_plan(req.plan_json, self->state.settings.limits);
  if (auto perr = std::get_if<plan_error>(&parsed)) {
    auto code = perr->too_large ? stagee_errc::plan_too_large : stagee_errc::invalid_plan;
    logging::write(lg(), spdlog::level::info, "submit rejected",
                   {{"tenant_id", req.tenant_id}, {"error_class", to_string(code)},
                    {"field", perr->field}});
    rp.deliver(make_stagee_error(code, perr->field, perr->message));
    return rp;
  }
  auto ar = make_admission(self, req, std::move(std::get<parsed_plan>(parsed)));
  auto& p = ar.record.frozen_plan;
  authz_request az{c, "submit", "", p.environment, ""};
  az.permission = permission::execute(p.action_cls);
  authorized(self, rp, az, [=](authz_reply& r) mutable {
    if (auto err = apply_approval_level(ar, r.approval_level)) {
      rp.deliver(std::move(err));
      return;
    }
    admit_plan(self, std::move(ar), rp);
  });
  return rp;
}

/// Inserts an authorized, validated plan; immediate ones then run here.
void admit_plan(self_ptr self, admit_request ar, submit_promise rp) {
  self->request(self->state.peers.admission, std::chrono::seconds(60), ar)
    .then(
      [=](admit_reply& r) mutable {
        submit_reply rep{r.execution_id, r.status, r.plan_hash, r.mode, r.duplicate};
        if (r.duplicate) {
          log_submit(ar, rep, "duplicate submit returned existing execution");
          rp.deliver(rep);
        } else if (r.mode == execution_mode::immediate) {
          log_submit(ar, rep, "execution admitted");
          ar.record.lease_ms = r.lease_ms;
          ar.record.locks = std::move(r.locks);
          run_immediate(self, std::move(ar), rep, rp);
        } else {
          log_submit(ar, rep, "execution admitted");
          self->send(self->state.peers.membership, poll_atom::value);
          rp.deliver(rep);
        }
      },
      [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

void requeue_admitted(self_ptr self, admit_request ar, dlq_requeue_request req,
                      submit_promise rp);

/// Requeues a DLQ entry: a new background execution of the same frozen plan with a
/// fresh attempt count; the key is derived from the entry, so requeuing twice
/// returns the same new execution. The entry records it and is archived.
/// The caller needs the permission a submit of the dead plan would need.
submit_promise requeue(self_ptr self, const caller& c, dlq_requeue_request req) {
  auto rp = self->make_response_promise<submit_reply>();
  req.tenant_id = c.tenant_id;
  req.principal = c.principal;
  self->request(self->state.peers.dlq, std::chrono::seconds(30), dlq_source_request{req.tenant_id, req.id})
    .then(
      [=](dlq_requeue_source& src) mutable {
        auto parsed = parse_plan(src.plan_json, plan_limits{64u << 20, 100000, 100000, 100000,
                                                            1u << 20});
        if (auto err = std::get_if<plan_error>(&parsed)) {
          rp.deliver(make_stagee_error(stagee_errc::internal, "plan_snapshot", err->message));
          return;
        }
        submit_request sub;
        sub.tenant_id = src.entry.tenant_id;
        sub.principal = req.principal;
        sub.mode = requested_mode::background;
        sub.idempotency_key = "requeue-" + std::to_string(req.id) + "-"
                              + sha256_hex(src.idempotency_key).substr(0, 32);
        auto ar = make_admission(self, sub, std::move(std::get<parsed_plan>(parsed)));
        auto& p = ar.record.frozen_plan;
        authz_request az{c, "dlq_requeue", "", p.environment, ""};
        az.permission = permission::execute(p.action_cls);
        authorized(self, rp, az, [=](authz_reply& r) mutable {
          if (auto err = apply_approval_level(ar, r.approval_level)) {
            rp.deliver(std::move(err));
            return;
          }
          requeue_admitted(self, ar, req, rp);
        });
      },
      [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

void requeue_admitted(self_ptr self, admit_request ar, dlq_requeue_request req,
                      submit_promise rp) {
        auto id = req.id;
        auto tenant = req.tenant_id;
        self->request(self->state.peers.admission, std::chrono::seconds(60), ar)
          .then(
            [=](admit_reply& r) mutable {
              submit_reply rep{r.execution_id, r.status, r.plan_hash, r.mode, r.duplicate};
              log_submit(ar, rep, "DLQ entry requeued");
              self->send(self->state.peers.membership, poll_atom::value);
              dlq_entry_request mark{dlq_op::mark_requeued, tenant, id, r.execution_id};
              self->request(self->state.peers.dlq, std::chrono::seconds(30), mark)
                .then([=](dlq_entry&) mutable { rp.deliver(rep); },
                      [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
            },
            [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

/// Subscribes to an execution the caller may view (missing or foreign: not_found).
caf::typed_response_promise<subscribed> subscribe(self_ptr self, const caller& c,
                                                  subscribe_request req) {
  auto rp = self->make_response_promise<subscribed>();
  req.tenant_id = c.tenant_id;
  authorized(self, rp, on_execution(c, "subscribe", permission::view, req.execution_id),
             [=](authz_reply&) mutable {
               self->request(self->state.peers.bus, std::chrono::seconds(60), req)
                 .then([=](subscribed& s) mutable { rp.deliver(s); },
                       [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
             });
  return rp;
}

caf::error check_cancel_fields(const cancel_request& req) {
  if (auto err = check_execution_id(req.execution_id))
    return err;
  if (req.reason.size() > 1000)
    return invalid("reason", "reason longer than 1000 bytes");
  if (storable_text(req.reason) != req.reason)
    return invalid("reason", "reason must be UTF-8 text without NUL bytes");
  return caf::none;
}

/// A one-shot local actor that hands one (already authorized) wait_request to a
/// waiter: how the gateway waits for an execution on its own behalf.
caf::actor local_waiter(self_ptr self) {
  auto reader = self->state.reader();
  auto bus = self->state.peers.bus;
  auto ws = self->state.settings.waiter;
  return self->spawn([=](caf::event_based_actor* me) -> caf::behavior {
    return {
      [=](wait_request& r) {
        auto rp = me->make_response_promise<status_reply>();
        me->spawn(waiter, std::move(r), rp, reader, bus, ws);
        me->quit();
        return rp;
      },
    };
  });
}

void record_cancel(self_ptr self, cancel_request req,
                   caf::typed_response_promise<cancel_reply> rp);

/// Answers a cancel with the state read back (idempotent: the request is recorded).
void reread_cancel(self_ptr self, const cancel_request& req,
                   caf::typed_response_promise<cancel_reply> rp) {
  self->request(self->state.reader(), std::chrono::seconds(30), req)
    .then([=](cancel_reply& r) mutable { rp.deliver(r); },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

/// Records the request, lets the node holding the execution carry it out (every
/// node's supervisor is poked at once through the membership; a node out of touch
/// finds it at its next cancellation poll), waits for the end, answers the
/// state read back then. Repeats record nothing new and answer the same.
caf::typed_response_promise<cancel_reply> cancel(self_ptr self, const caller& c,
                                                 cancel_request req) {
  auto rp = self->make_response_promise<cancel_reply>();
  req.tenant_id = c.tenant_id;
  req.principal = c.principal;
  if (auto err = check_cancel_fields(req)) {
    rp.deliver(std::move(err));
    return rp;
  }
  req.reason = masking::current()->mask(req.reason); // stored and shown: one masker

  req.wait_ms = std::clamp<int64_t>(req.wait_ms, 0, self->state.settings.max_cancel_wait_ms);
  authorized(self, rp, on_execution(c, "cancel", permission::cancel, req.execution_id),
             [=](authz_reply&) mutable { record_cancel(self, req, rp); });
  return rp;
}

void record_cancel(self_ptr self, cancel_request req,
                   caf::typed_response_promise<cancel_reply> rp) {
  self->request(self->state.reader(), std::chrono::seconds(30), req)
    .then(
      [=](cancel_reply& first) mutable {
        logging::write(lg(), spdlog::level::info, "cancellation requested",
                       {{"exec_id", req.execution_id}, {"actor_id", req.principal},
                        {"status", to_string(first.status)},
                        {"cancel_requested_by", first.requested_by}});
        if (first.status == execution_status::awaiting_approval) {
          // Nobody holds a waiting execution: the approver closes it here and now.
          approve_request close{req.tenant_id, req.execution_id, "", "", req.reason,
                                decision::cancel, caller{}};
          close.who.principal = req.principal;
          self->request(self->state.peers.approver, std::chrono::seconds(30), close)
            .then([=](approve_reply&) mutable { reread_cancel(self, req, rp); },
                  [=](caf::error&) mutable { reread_cancel(self, req, rp); });
          return;
        }
        if (!is_terminal(first.status)) // its owner, on whichever node, looks now
          self->send(self->state.peers.membership, cancel_atom::value);
        if (is_terminal(first.status) || req.wait_ms == 0) {
          rp.deliver(first);
          return;
        }
        auto deadline = std::chrono::milliseconds{req.wait_ms + 5000};
        auto answer = [=]() mutable { reread_cancel(self, req, rp); };
        self->request(local_waiter(self), deadline,
                      wait_request{req.tenant_id, req.execution_id, req.wait_ms})
          .then([=](status_reply&) mutable { answer(); },
                [=](caf::error&) mutable { answer(); }); // not ended yet: say what is known
      },
      [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

} // namespace

reader_actor gateway_state::reader() {
  return peers.readers[next_reader++ % peers.readers.size()];
}

authorizer_actor gateway_state::authorizer() {
  return peers.authorizers[next_authorizer++ % peers.authorizers.size()];
}

std::variant<caller, caf::error> authenticate(const gateway_auth& auth, const credential& cred,
                                              int64_t now_s) {
  auto refuse = [](std::string msg) {
    return make_stagee_error(stagee_errc::invalid_token, "credential", std::move(msg));
  };
  if (!cred.token.empty()) {
    if (!auth.verifier)
      return refuse("token rejected: this node has no token keys configured "
                    "(it runs with --auth-mode=dev); send --tenant and --principal");
    auto r = auth.verifier->verify(cred.token, now_s);
    if (auto e = std::get_if<auth::token_error>(&r))
      return refuse(e->message);
    auto& id = std::get<auth::identity>(r);
    if (!valid_identifier(id.tenant) || !valid_identifier(id.principal))
      return refuse("token rejected: tenant and sub must match "
                    "[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}");
    caller c;
    c.tenant_id = id.tenant;
    c.principal = id.principal;
    c.roles = id.roles;
    c.roles_limited = id.has_roles;
    c.auth_method = id.auth_method;
    return c;
  }
  if (!auth.dev_mode)
    return refuse("a JWT must come with every request (stagee ... --token, --token-file "
                  "or STAGEE_TOKEN); operators make them with `stagee token issue`");
  if (!valid_identifier(cred.tenant_id))
    return refuse("dev mode: tenant must match [A-Za-z0-9][A-Za-z0-9._@:-]{0,127}");
  if (!valid_identifier(cred.principal))
    return refuse("dev mode: principal must match [A-Za-z0-9][A-Za-z0-9._@:-]{0,127}");
  caller c;
  c.tenant_id = cred.tenant_id;
  c.principal = cred.principal;
  c.auth_method = "dev";
  return c;
}

gateway_actor::behavior_type gateway(self_ptr self, gateway_settings settings,
                                     gateway_peers peers) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.peers = std::move(peers);
  // Each handler: authenticate, then the operation (which authorizes first).
  return {
    [=](const credential& cred, submit_request& req) -> caf::result<submit_reply> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      return submit(self, std::get<caller>(c), req);
    },
    [=](const credential& cred, status_request& req) -> caf::result<status_reply> {
      return read_execution<status_reply>(self, cred, std::move(req), "status");
    },
    [=](const credential& cred, wait_request& req) -> caf::result<status_reply> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      if (auto err = check_execution_id(req.execution_id))
        return err;
      auto& caller_ = std::get<caller>(c);
      req.tenant_id = caller_.tenant_id;
      req.timeout_ms = std::clamp<int64_t>(req.timeout_ms, 0, self->state.settings.max_wait_ms);
      auto rp = self->make_response_promise<status_reply>();
      authorized(self, rp, on_execution(caller_, "wait", permission::view, req.execution_id),
                 [=](authz_reply&) mutable {
                   self->spawn(waiter, req, rp, self->state.reader(), self->state.peers.bus,
                               self->state.settings.waiter);
                 });
      return rp;
    },
    [=](const credential& cred, subscribe_request& req) -> caf::result<subscribed> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      if (auto err = check_execution_id(req.execution_id))
        return err;
      return subscribe(self, std::get<caller>(c), std::move(req));
    },
    [=](const credential& cred, dlq_list_request& req) -> caf::result<dlq_page> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      return delegate_in_tenant<dlq_page>(self, std::get<caller>(c), req, "dlq_list",
                                          permission::view, self->state.peers.dlq);
    },
    [=](const credential& cred, dlq_entry_request& req) -> caf::result<dlq_entry> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      if (req.op == dlq_op::mark_requeued) // internal bookkeeping of requeue
        return invalid("op", "use dlq requeue to requeue an entry");
      auto archive = req.op == dlq_op::archive;
      return delegate_in_tenant<dlq_entry>(self, std::get<caller>(c), req,
                                           archive ? "dlq_archive" : "dlq_show",
                                           archive ? permission::admin : permission::view,
                                           self->state.peers.dlq);
    },
    [=](const credential& cred, dlq_summary_request& req) -> caf::result<dlq_summary> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      return delegate_in_tenant<dlq_summary>(self, std::get<caller>(c), req, "dlq_summary",
                                             permission::view, self->state.peers.dlq);
    },
    [=](const credential& cred, dlq_requeue_request& req) -> caf::result<submit_reply> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      return requeue(self, std::get<caller>(c), std::move(req));
    },
    [=](const credential& cred, cancel_request& req) -> caf::result<cancel_reply> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      return cancel(self, std::get<caller>(c), std::move(req));
    },
    [=](const credential& cred, locks_request& req) -> caf::result<lock_list> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      return delegate_in_tenant<lock_list>(self, std::get<caller>(c), req, "locks",
                                           permission::view, self->state.peers.locks);
    },
    [=](const credential& cred, approve_request& req) -> caf::result<approve_reply> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      if (auto err = check_execution_id(req.execution_id))
        return err;
      if (req.kind == decision::cancel)
        return invalid("kind", "use cancel to cancel an execution");
      if (req.reason.size() > 1000 || storable_text(req.reason) != req.reason)
        return invalid("reason", "reason must be UTF-8 text without NUL bytes, at most 1000 bytes");
      auto& caller_ = std::get<caller>(c);
      req.tenant_id = caller_.tenant_id;
      req.who = caller_;
      auto rp = self->make_response_promise<approve_reply>();
      auto op = req.kind == decision::approve ? "approve" : "reject";
      authorized(self, rp, on_execution(caller_, op, permission::approve, req.execution_id),
                 [=](authz_reply&) mutable {
                   self->request(self->state.peers.approver, std::chrono::seconds(30), req)
                     .then(
                       [=](approve_reply& r) mutable {
                         if (r.status == execution_status::queued) // claim it soon
                           self->send(self->state.peers.membership, poll_atom::value);
                         rp.deliver(r);
                       },
                       [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
                 });
      return rp;
    },
    [=](const credential& cred, cluster_status_request& req) -> caf::result<cluster_status> {
      auto c = who(self, cred);
      if (auto err = std::get_if<caf::error>(&c))
        return std::move(*err);
      return delegate_in_tenant<cluster_status>(self, std::get<caller>(c), req, "cluster_status",
                                                permission::view, self->state.peers.membership);
    },
    [=](const credential& cred, node_inspect_request& req) -> caf::result<node_inspection> {
      return console_query<node_inspection>(self, cred, req, "inspect_node", permission::admin,
                                            self->state.peers.inspector);
    },
    [=](const credential& cred, actor_inspect_request& req) -> caf::result<actor_view> {
      return console_query<actor_view>(self, cred, req, "inspect_actor", permission::admin,
                                       self->state.peers.inspector);
    },
    [=](const credential& cred, timers_request& req) -> caf::result<timer_list> {
      return console_query<timer_list>(self, cred, req, "timers", permission::admin,
                                       self->state.peers.inspector);
    },
    [=](const credential& cred, node_stats_request& req) -> caf::result<node_stats> {
      return console_query<node_stats>(self, cred, req, "stats", permission::admin,
                                       self->state.peers.inspector);
    },
    [=](const credential& cred, execution_list_request& req) -> caf::result<execution_list> {
      return console_query<execution_list>(self, cred, req, "executions", permission::view,
                                           self->state.reader());
    },
    [=](const credential& cred, queue_list_request& req) -> caf::result<queue_list> {
      return console_query<queue_list>(self, cred, req, "queue", permission::view,
                                       self->state.reader());
    },
    [=](const credential& cred, journal_request& req) -> caf::result<journal_page> {
      return read_execution<journal_page>(self, cred, std::move(req), "journal");
    },
    [=](inspect_atom) -> caf::result<actor_probe> {
      // The gateway is published: only this node's inspector may ask.
      auto& sender = self->current_sender();
      if (!sender || sender->node() != self->node())
        return invalid("inspect", "inspect the gateway through the console (stagee console)");
      return probe_of(self, self->state.draining ? "draining" : "serving",
                      {{"readers", std::to_string(self->state.peers.readers.size())},
                       {"authorizers", std::to_string(self->state.peers.authorizers.size())}});
    },
    [=](member_hello& h) { return self->delegate(self->state.peers.membership, std::move(h)); },
    [=](drain_atom) { self->state.draining = true; },
  };
}

} // namespace stagee
