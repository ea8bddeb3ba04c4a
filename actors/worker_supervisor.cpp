#include "actors/worker_supervisor.hpp"

#include <set>

#include "actors/plan_codec.hpp"
#include "actors/probe.hpp"
#include "config/logging.hpp"
#include "messages/errors.hpp"

namespace stagee {

namespace {

using self_ptr = worker_supervisor_actor::stateful_pointer<supervisor_state>;

spdlog::logger& lg() {
  static auto l = logging::get("queue");
  return *l;
}

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using restart_log = std::vector<steady::time_point>;

/// Spawns and monitors an execution actor holding `lease` (set at claim or
/// admission, kept over restarts).
void spawn_child(self_ptr self, execution_record rec, trigger first, bool immediate,
                 held_lease lease, restart_log restarts = {}) {
  auto& st = self->state;
  auto id = rec.execution_id;
  execution_peers peers{st.peers.bus, caf::actor_cast<worker_supervisor_actor>(self),
                        st.peers.locks, st.peers.timeouts, st.peers.secrets};
  auto child = self->spawn<caf::monitored>(execution, rec, std::move(first), st.settings.exec,
                                           std::move(peers));
  st.by_address[child.address()] = id;
  if (st.peers.inspector)
    self->send(st.peers.inspector, actor_registration{"execution", id, child, rec.tenant_id});
  st.children[id] = supervised_child{child, std::move(rec), std::move(restarts), immediate, lease};
}

/// Turns a stored execution (plan as canonical JSON) into a runnable record.
caf::expected<execution_record> to_record(stored_execution& s) {
  auto parsed = parse_plan(s.plan_json, plan_limits{64u << 20, 100000, 100000, 100000, 1u << 20});
  if (auto err = std::get_if<plan_error>(&parsed))
    return make_stagee_error(stagee_errc::internal, "plan_snapshot",
                             "stored plan does not parse: " + err->field + ": " + err->message);
  auto rec = std::move(s.record);
  rec.frozen_plan = std::move(std::get<parsed_plan>(parsed).value);
  return rec;
}

/// Cancel an execution with a pending cancellation request; resume, or fail with
/// queue_timeout an execution that never started and waited longer than its SLA
/// allows (schedule-to-start deadline, R-Q issue 3 item 10).
trigger first_trigger(const supervisor_settings& s, const execution_record& rec) {
  if (!rec.cancel_requested_by.empty()) // whichever claim got it: cancel, run nothing
    return cancellation(rec.cancel_requested_by, rec.cancel_reason);
  trigger t;
  t.kind = trigger_kind::resume;
  if (rec.snapshot.status != execution_status::queued || rec.queue_wait_ms < 0)
    return t;
  auto deadline = s.queue_deadline_ms > 0 ? s.queue_deadline_ms
                                          : s.queue_deadlines.at(rec.frozen_plan.sla);
  if (rec.queue_wait_ms <= deadline)
    return t;
  t.kind = trigger_kind::fail;
  t.error_class = "queue_timeout";
  t.message = "waited " + std::to_string(rec.queue_wait_ms) + " ms in the queue; the "
              + to_string(rec.frozen_plan.sla) + " SLA allows " + std::to_string(deadline)
              + " ms before start";
  return t;
}

/// Our own lease expired and we claimed the execution again with a new fence: the
/// old actor's writes would all be refused. Replace it.
void replace_stale_child(self_ptr self, const stored_execution& s) {
  auto& children = self->state.children;
  auto old = children.find(s.record.execution_id);
  if (old == children.end())
    return;
  logging::write(lg(), spdlog::level::warn, "re-claimed own expired lease; restarting actor",
                 {{"exec_id", s.record.execution_id}, {"fence", s.record.fence}});
  self->state.by_address.erase(old->second.handle.address());
  self->send_exit(old->second.handle, caf::exit_reason::kill);
  children.erase(old);
}

/// Starts an actor for each claimed execution (a claim or a cancellation poll); one
/// with a pending cancellation request is cancelled instead of run (first_trigger).
void adopt(self_ptr self, std::vector<stored_execution>& batch, steady::time_point sent) {
  for (auto& s : batch) {
    replace_stale_child(self, s);
    auto rec = to_record(s);
    if (!rec) {
      logging::write(lg(), spdlog::level::err, "claimed execution cannot run",
                     {{"exec_id", s.record.execution_id}, {"error", to_string(rec.error())}});
      continue;
    }
    auto id = rec->execution_id;
    auto cancel = !rec->cancel_requested_by.empty();
    logging::write(lg(), spdlog::level::info,
                   cancel ? "claimed execution to cancel it" : "claimed execution",
                   {{"exec_id", id}, {"tenant_id", rec->tenant_id},
                    {"status", to_string(rec->snapshot.status)},
                    {"queue_wait_ms", rec->queue_wait_ms}, {"fence", rec->fence},
                    {"lease_ms", rec->lease_ms}, {"cancel_requested_by", rec->cancel_requested_by},
                    {"worker_id", self->state.settings.node}});
    auto first = first_trigger(self->state.settings, *rec);
    spawn_child(self, std::move(*rec), std::move(first), false, held_lease{sent});
    self->state.children[id].cancelling = cancel; // no second stop from a poll
  }
}

void claim(self_ptr self) {
  auto& st = self->state;
  if (st.draining || st.isolated)
    return;
  auto free = st.settings.capacity - st.background_running();
  if (free <= 0)
    return;
  if (st.claiming) {
    st.claim_again = true;
    return;
  }
  st.claiming = true;
  claim_request req{st.settings.node, free, st.settings.lease};
  auto sent = steady::now(); // the database granted the leases after this
  self->request(st.peers.queue, std::chrono::seconds(30), req)
    .then(
      [=](claimed_batch& batch) {
        self->state.claiming = false;
        adopt(self, batch.executions, sent);
        auto full = static_cast<int32_t>(batch.executions.size()) >= free;
        if (full || std::exchange(self->state.claim_again, false))
          claim(self);
      },
      [=](caf::error& err) {
        self->state.claiming = false;
        logging::write(lg(), spdlog::level::warn, "claim failed",
                       {{"error", self->system().render(err)}});
      });
}

/// Stops the execution actors whose lease another owner holds now: they must not
/// write or start anything more (their writes would be refused by the fence anyway).
void drop_lost(self_ptr self, const std::vector<lease_ref>& asked, const renewed& r) {
  auto& st = self->state;
  // Renewed, or ended meanwhile (its end is on its way here): not lost.
  std::set<std::string> kept(r.renewed_ids.begin(), r.renewed_ids.end());
  kept.insert(r.ended_ids.begin(), r.ended_ids.end());
  for (auto& l : asked) {
    auto i = st.children.find(l.execution_id);
    if (kept.count(l.execution_id) > 0 || i == st.children.end()
        || i->second.record.fence != l.fence)
      continue;
    logging::write(lg(), spdlog::level::warn, "lease lost to another owner; stopping execution",
                   {{"exec_id", l.execution_id}, {"fence", l.fence},
                    {"worker_id", st.settings.node}});
    auto child = i->second.handle;
    st.by_address.erase(child.address());
    st.children.erase(i);
    // Stop its step's process group and let it quit without writing (its writes
    // would be refused anyway): killing the actor would leave the process running.
    stop_execution stop;
    stop.kind = stop_kind::abandon;
    stop.message = "lease lost to another owner";
    self->send(child, std::move(stop));
    if (auto w = st.waiting.find(l.execution_id); w != st.waiting.end()) {
      w->second.deliver(make_stagee_error(stagee_errc::owner_lost, "execution_id",
                                          "execution " + l.execution_id
                                            + " was taken over by another node; wait for it there"));
      st.waiting.erase(w);
    }
  }
}

/// Ends an execution whose lease may not be renewed again, before the lease
/// expires: it must not outlive its lease on a live node (another node would then
/// resume it while its step still runs here).
void exhaust(self_ptr self, const std::string& id, supervised_child& c, int32_t cap) {
  auto sla = to_string(c.record.frozen_plan.sla);
  logging::write(lg(), spdlog::level::warn, "lease renewal cap reached; stopping execution",
                 {{"exec_id", id}, {"renewals", c.lease.renewals}, {"cap", cap}, {"sla_class", sla},
                  {"lease_ms", c.record.lease_ms}, {"worker_id", self->state.settings.node}});
  c.stopping = true;
  stop_execution stop;
  stop.error_class = "lease_renewals_exhausted";
  stop.message = "lease renewed " + std::to_string(c.lease.renewals) + " times, the cap of the "
                 + sla + " SLA; the execution ran longer than its SLA allows";
  self->send(c.handle, std::move(stop));
}

/// Margin before expiry at which an execution whose lease will not be renewed
/// is stopped: time for the step's group to die and the last write to commit.
milliseconds stop_margin(milliseconds lease) {
  return std::min(lease / 3, milliseconds{5000});
}

/// A renewal is overdue (the database is slow or away): stop the running step and
/// leave the execution to the next owner, which resumes it from its last committed
/// snapshot when the lease has expired. Nothing is written: it may not be possible.
void abandon(self_ptr self, const std::string& id, supervised_child& c) {
  logging::write(lg(), spdlog::level::err,
                 "lease renewal overdue; stopping the step and leaving the execution to "
                 "the next owner",
                 {{"exec_id", id}, {"renewals", c.lease.renewals}, {"lease_ms", c.record.lease_ms},
                  {"worker_id", self->state.settings.node}});
  c.stopping = true;
  stop_execution stop;
  stop.kind = stop_kind::abandon;
  stop.message = "lease renewal overdue";
  self->send(c.handle, std::move(stop));
}

/// Renews, in one request, every lease past a third of its length whose renewal
/// cap is not reached. Shortly before a lease expires without a confirmed
/// renewal, ends its execution: at the cap (lease_renewals_exhausted) or because
/// the renewal is overdue (abandon).
void renew(self_ptr self) {
  auto& st = self->state;
  auto now = steady::now();
  renew_request req{st.settings.node, {}};
  for (auto& [id, c] : st.children) {
    auto length = milliseconds{c.record.lease_ms};
    if (length.count() <= 0 || c.stopping || now < c.lease.from + length / 3)
      continue;
    auto cap = st.settings.renewal_caps.at(c.record.frozen_plan.sla);
    if (now >= c.lease.from + length - stop_margin(length)) {
      if (c.lease.renewals >= cap)
        exhaust(self, id, c, cap);
      else
        abandon(self, id, c);
    } else if (c.lease.renewals < cap) {
      req.leases.push_back(lease_ref{id, c.record.fence, c.record.lease_ms});
    }
  }
  if (req.leases.empty() || st.renewing) // one renewal in flight at a time
    return;
  st.renewing = true;
  auto asked = req.leases;
  auto shortest = std::min_element(asked.begin(), asked.end(), [](auto& a, auto& b) {
                    return a.lease_ms < b.lease_ms;
                  })->lease_ms;
  // No longer than a third of the shortest lease: a late answer is no answer.
  auto timeout = std::min(milliseconds{30000}, std::max(milliseconds{shortest / 3},
                                                        milliseconds{100}));
  self->request(st.peers.leases, timeout, std::move(req))
    .then(
      [=](renewed& r) {
        self->state.renewing = false;
        std::set<std::string> renewed(r.renewed_ids.begin(), r.renewed_ids.end());
        for (auto& l : asked) {
          auto i = self->state.children.find(l.execution_id);
          // Only the lease that was asked for: a re-claim meanwhile has a new fence.
          if (renewed.count(l.execution_id) > 0 && i != self->state.children.end()
              && i->second.record.fence == l.fence) {
            i->second.lease.renewals += 1;
            i->second.lease.from = now; // the database renewed after this
          }
        }
        drop_lost(self, asked, r);
      },
      [=](caf::error& err) {
        self->state.renewing = false;
        logging::write(lg(), spdlog::level::warn, "lease renewal failed",
                       {{"error", self->system().render(err)}});
      });
}

/// Carries out cancellation requests: stops (cancel) the executions this node runs
/// that have one; claims and cancels the requested ones nobody holds.
void poll_cancels(self_ptr self) {
  auto& st = self->state;
  if (st.draining)
    return;
  if (st.cancel_polling) {
    st.cancel_again = true;
    return;
  }
  st.cancel_polling = true;
  auto sent = steady::now(); // leases claimed by this poll were granted after this
  st.last_cancel_poll = sent;
  self->request(st.peers.queue, std::chrono::seconds(30),
                cancel_poll_request{st.settings.node, st.settings.lease})
    .then(
      [=](cancel_batch& b) {
        auto& st = self->state;
        st.cancel_polling = false;
        if (st.draining) { // no new children now: hand the claimed ones straight back
          release_request rel{st.settings.node, {}};
          for (auto& s : b.claimed)
            rel.leases.push_back(lease_ref{s.record.execution_id, s.record.fence});
          if (!rel.leases.empty())
            self->request(st.peers.queue, std::chrono::seconds(30), std::move(rel))
              .then([](renewed&) {}, [](caf::error&) {}); // else they expire
          return;
        }
        for (auto& n : b.owned) {
          auto i = st.children.find(n.execution_id);
          if (i == st.children.end() || i->second.cancelling)
            continue; // not (or no longer) running here; its lease will lapse
          i->second.cancelling = true;
          logging::write(lg(), spdlog::level::info, "cancellation requested; stopping execution",
                         {{"exec_id", n.execution_id}, {"cancel_requested_by", n.by},
                          {"worker_id", st.settings.node}});
          stop_execution stop;
          stop.kind = stop_kind::cancel;
          stop.by = n.by;
          stop.message = n.reason;
          self->send(i->second.handle, std::move(stop));
        }
        adopt(self, b.claimed, sent);
        if (std::exchange(st.cancel_again, false))
          poll_cancels(self);
      },
      [=](caf::error& err) {
        self->state.cancel_polling = false;
        logging::write(lg(), spdlog::level::warn, "cancellation poll failed",
                       {{"error", self->system().render(err)}});
      });
}

/// Tick period: the claim interval, shorter when a lease needs closer watching.
milliseconds tick_period(const supervisor_state& st) {
  auto period = std::min(milliseconds{st.settings.claim_interval_ms},
                         milliseconds{st.settings.cancel_poll_ms});
  for (auto& [id, c] : st.children)
    if (c.record.lease_ms > 0) {
      auto lease = milliseconds{c.record.lease_ms};
      period = std::min(period, std::max(milliseconds{50},
                                         std::min(lease / 6, stop_margin(lease) / 2)));
    }
  return period;
}

void drain_step(self_ptr self);

/// Counts an execution that ended here (the console's executions/s).
void count_finished(supervisor_state& st) {
  auto now = steady::now();
  st.finished.push_back(now);
  st.finished_total += 1;
  while (!st.finished.empty() && now - st.finished.front() > std::chrono::seconds(60))
    st.finished.pop_front();
}

/// The console's view: state, capacity, and every child with its lease.
actor_probe probe(self_ptr self) {
  auto& st = self->state;
  auto now = steady::now();
  int64_t last_10s = 0, last_60s = 0;
  for (auto t : st.finished) {
    last_60s += now - t <= std::chrono::seconds(60) ? 1 : 0;
    last_10s += now - t <= std::chrono::seconds(10) ? 1 : 0;
  }
  auto state = st.draining ? "draining" : st.isolated ? "isolated (not claiming)" : "claiming";
  auto p = probe_of(self, state,
                    {{"capacity", std::to_string(st.settings.capacity)},
                     {"background_running", std::to_string(st.background_running())},
                     {"children", std::to_string(st.children.size())},
                     {"finished_10s", std::to_string(last_10s)},
                     {"finished_60s", std::to_string(last_60s)},
                     {"finished_total", std::to_string(st.finished_total)}});
  for (auto& [id, child] : st.children) {
    execution_probe e;
    e.execution_id = id;
    e.tenant_id = child.record.tenant_id;
    e.status = child.record.snapshot.status; // as claimed; the inspector adds the live one
    e.fence = child.record.fence;
    e.immediate = child.immediate;
    if (child.record.lease_ms > 0)
      e.lease_expires_in_ms = child.record.lease_ms
                              - std::chrono::duration_cast<milliseconds>(now - child.lease.from)
                                  .count();
    p.executions.push_back(std::move(e));
  }
  return p;
}

void done(self_ptr self, const execution_done& d) {
  auto& st = self->state;
  if (is_terminal(d.status)) // not an actor that left to wait for a lock
    count_finished(st);
  auto freed_capacity = false; // only background children count against capacity
  auto i = st.children.find(d.execution_id);
  if (i != st.children.end()) {
    freed_capacity = !i->second.immediate;
    st.by_address.erase(i->second.handle.address());
    st.children.erase(i);
  }
  auto w = st.waiting.find(d.execution_id);
  if (w != st.waiting.end()) {
    w->second.deliver(d);
    st.waiting.erase(w);
  }
  if (st.draining) {
    st.drain_result.finished += 1;
    drain_step(self);
  } else if (freed_capacity) {
    claim(self);
  }
}

/// Forgets a child without restarting it; answers an immediate submitter.
void forget(self_ptr self, const std::string& id, caf::error for_waiter) {
  auto& st = self->state;
  if (auto i = st.children.find(id); i != st.children.end()) {
    st.by_address.erase(i->second.handle.address());
    st.children.erase(i);
  }
  if (auto w = st.waiting.find(id); w != st.waiting.end()) {
    w->second.deliver(std::move(for_waiter));
    st.waiting.erase(w);
  }
}

void released(self_ptr self, const execution_released& r) {
  auto& st = self->state;
  auto i = st.children.find(r.execution_id);
  if (i == st.children.end())
    return;
  st.released.push_back(lease_ref{r.execution_id, i->second.record.fence});
  forget(self, r.execution_id,
         make_stagee_error(stagee_errc::shutting_down, "execution_id",
                           "node shutting down; execution " + r.execution_id
                             + " continues on another node: wait for it there"));
  drain_step(self);
}

/// Completes the drain once no child is left: hands the released leases back.
void drain_step(self_ptr self) {
  auto& st = self->state;
  if (!st.drain_promise || !st.children.empty())
    return;
  auto finish = [=](int32_t count) {
    auto& s = self->state;
    s.drain_result.released = count;
    s.drain_promise->deliver(s.drain_result);
    s.drain_promise.reset();
  };
  if (st.released.empty()) {
    finish(0);
    return;
  }
  release_request req{st.settings.node, std::move(st.released)};
  st.released.clear();
  self->request(st.peers.queue, std::chrono::seconds(30), std::move(req))
    .then([=](renewed& r) { finish(static_cast<int32_t>(r.renewed_ids.size())); },
          [=](caf::error& err) {
            logging::write(lg(), spdlog::level::warn, "releasing leases failed; they expire",
                           {{"error", self->system().render(err)}});
            finish(0);
          });
}

caf::typed_response_promise<drained> drain(self_ptr self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<drained>();
  st.draining = true;
  st.drain_promise = rp;
  logging::write(lg(), spdlog::level::info, "draining: no more claims",
                 {{"running", st.children.size()}, {"worker_id", st.settings.node}});
  for (auto& [id, child] : st.children)
    self->send(child.handle, drain_atom::value);
  drain_step(self);
  return rp;
}

/// A child died without reporting execution_done: restart it from its snapshot.
void restart(self_ptr self, const std::string& id, const caf::error& reason) {
  auto& st = self->state;
  auto& child = st.children[id];
  auto now = std::chrono::steady_clock::now();
  auto window = std::chrono::milliseconds{st.settings.restart_period_ms};
  restart_log restarts;
  for (auto t : child.restarts)
    if (now - t < window)
      restarts.push_back(t);
  restarts.push_back(now);
  auto immediate = child.immediate;
  auto dead = child.handle;
  logging::write(lg(), spdlog::level::err, "execution actor crashed",
                 {{"exec_id", id}, {"reason", self->system().render(reason)},
                  {"restarts_in_window", restarts.size()}});
  self->request(st.peers.reader, std::chrono::seconds(30), load_request{id})
    .then(
      [=](stored_execution& s) {
        auto& children = self->state.children;
        auto it = children.find(id);
        if (it == children.end() || it->second.handle != dead)
          return; // lost to another owner, or re-claimed, while reloading
        if (self->state.draining) { // no restarts while shutting down
          forget(self, id, make_stagee_error(stagee_errc::shutting_down, "execution_id",
                                             "node shutting down"));
          drain_step(self);
          return;
        }
        auto rec = to_record(s);
        if (!rec || is_terminal(rec->snapshot.status)) {
          done(self, execution_done{id, rec ? rec->snapshot.status : execution_status::failed});
          return;
        }
        trigger first;
        first.kind = trigger_kind::resume;
        if (static_cast<int32_t>(restarts.size()) > self->state.settings.restart_intensity) {
          first.kind = trigger_kind::fail;
          first.error_class = "restart_limit_exceeded";
          first.message = "execution actor crashed " + std::to_string(restarts.size())
                          + " times within "
                          + std::to_string(self->state.settings.restart_period_ms) + " ms";
        }
        // Same claim: its fence, lease length, renewals and time.
        rec->fence = it->second.record.fence;
        rec->lease_ms = it->second.record.lease_ms;
        spawn_child(self, std::move(*rec), first, immediate, it->second.lease, restarts);
      },
      [=](caf::error& err) {
        auto it = self->state.children.find(id);
        if (it == self->state.children.end() || it->second.handle != dead)
          return;
        logging::write(lg(), spdlog::level::err, "cannot reload crashed execution",
                       {{"exec_id", id}, {"error", self->system().render(err)}});
        done(self, execution_done{id, execution_status::failed});
      });
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.by_address.find(dm.source);
  if (i == st.by_address.end())
    return; // already reported execution_done
  auto id = i->second;
  st.by_address.erase(i);
  if (st.draining) { // no restarts while shutting down: its lease will expire
    forget(self, id, make_stagee_error(stagee_errc::shutting_down, "execution_id",
                                       "node shutting down"));
    drain_step(self);
    return;
  }
  restart(self, id, dm.reason);
}

} // namespace

int32_t supervisor_state::background_running() const {
  int32_t n = 0;
  for (auto& [id, child] : children)
    n += child.immediate ? 0 : 1;
  return n;
}

worker_supervisor_actor::behavior_type
worker_supervisor(self_ptr self, supervisor_settings settings, supervisor_peers peers) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.peers = std::move(peers);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  // Children are monitored, not linked: on shutdown stop them, then ourselves.
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& [id, child] : self->state.children)
      self->send_exit(child.handle, em.reason);
    self->quit(em.reason);
  });
  self->send(self, caf::tick_atom::value);
  return {
    [=](run_request& req) {
      auto id = req.record.execution_id;
      auto rp = self->make_response_promise<execution_done>();
      self->state.waiting[id] = rp;
      trigger start;
      start.kind = trigger_kind::start;
      // Admission pre-claimed the lease just before this message was sent.
      spawn_child(self, std::move(req.record), start, true, held_lease{steady::now()});
      return rp;
    },
    [=](const execution_done& d) { done(self, d); },
    [=](poll_atom) { claim(self); },
    [=](cancel_atom) { poll_cancels(self); },
    [=](load_atom) { return self->state.background_running(); },
    [=](inspect_atom) { return probe(self); },
    [=](isolated_atom, bool isolated) {
      self->state.isolated = isolated;
      if (!isolated)
        claim(self);
    },
    [=](drain_atom) { return drain(self); },
    [=](const execution_released& r) { released(self, r); },
    [=](caf::tick_atom) {
      claim(self);
      renew(self);
      if (steady::now() - self->state.last_cancel_poll
          >= milliseconds{self->state.settings.cancel_poll_ms})
        poll_cancels(self);
      self->delayed_send(self, tick_period(self->state), caf::tick_atom::value);
    },
  };
}

} // namespace stagee
