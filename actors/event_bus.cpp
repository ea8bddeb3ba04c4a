#include "actors/event_bus.hpp"

#include <set>

#include "actors/probe.hpp"
#include "config/logging.hpp"
#include "config/masker.hpp"
#include "messages/errors.hpp"

namespace stagee {

namespace {

using self_ptr = event_bus_actor::stateful_pointer<event_bus_state>;
using entry = batch_queue<journal_append, journal_committed>::entry;

/// Keeps the first entry per execution; later ones wait for the next batch (their
/// guard depends on the first one's commit).
std::vector<entry> one_per_execution(self_ptr self, std::vector<entry> batch) {
  std::set<std::string> seen;
  std::vector<entry> now, later;
  for (auto& e : batch) {
    if (seen.insert(e.request.snapshot.execution_id).second)
      now.push_back(std::move(e));
    else
      later.push_back(std::move(e));
  }
  self->state.pending.requeue(self, std::move(later));
  return now;
}

using steady = std::chrono::steady_clock;

void catch_up(self_ptr self, const std::string& execution_id);

/// Hands events of one execution (in seq order) to its subscribers. A local
/// subscriber gets each seq once and in order; one past a gap makes the bus read the
/// missing ones from the journal. A peer's bus gets them as they are (it does the
/// same for its own subscribers). Subscriptions end with the terminal event.
void deliver(self_ptr self, const std::string& execution_id,
             const std::vector<execution_event>& events) {
  auto i = self->state.subscribers.find(execution_id);
  if (i == self->state.subscribers.end() || events.empty())
    return;
  auto now = steady::now();
  bool gap = false;
  auto& subs = i->second;
  for (auto& sub : subs) {
    for (auto& ev : events) {
      if (sub.remote || sub.last_seq < 0) {
        self->send(sub.who, ev);
        continue;
      }
      if (ev.seq <= sub.last_seq)
        continue; // had it (replay, catch-up or a second path)
      if (ev.seq > sub.last_seq + 1) {
        gap = true;
        break;
      }
      self->send(sub.who, ev);
      sub.last_seq = ev.seq;
      sub.touched = now;
    }
  }
  auto ended = std::any_of(events.begin(), events.end(),
                           [](auto& ev) { return is_terminal(ev.status); });
  if (ended && !gap) {
    self->state.subscribers.erase(i);
    return;
  }
  if (gap)
    catch_up(self, execution_id);
}

void forward(self_ptr self, const journal_append& a) {
  if (self->state.subscribers.count(a.snapshot.execution_id) == 0)
    return;
  auto events = a.events;
  for (auto& ev : events)
    ev.message = masking::current()->mask(ev.message); // as stored (journal_store)
  deliver(self, a.snapshot.execution_id, events);
}

/// Reads the journal after the oldest position of the execution's ordered local
/// subscribers and delivers what they miss (deliver skips what each one has).
void catch_up(self_ptr self, const std::string& execution_id) {
  for (int pages = 0; pages < 100; ++pages) {
    auto i = self->state.subscribers.find(execution_id);
    if (i == self->state.subscribers.end())
      return;
    int64_t after = -1;
    for (auto& sub : i->second)
      if (!sub.remote && sub.last_seq >= 0)
        after = after < 0 ? sub.last_seq : std::min(after, sub.last_seq);
    if (after < 0)
      return;
    auto page = self->state.store->events_after(execution_id, after,
                                                self->state.settings.replay_page);
    if (!page) {
      logging::write(*logging::get("bus"), spdlog::level::warn,
                     "cannot catch a subscription up from the journal",
                     {{"exec_id", execution_id}, {"error", to_string(page.error())}});
      return;
    }
    if (page->empty())
      return;
    deliver(self, execution_id, *page);
    if (page->size() < static_cast<size_t>(self->state.settings.replay_page))
      return;
  }
}

/// Tells every peer's bus (or just `to`) that this node follows execution_id.
void announce(self_ptr self, const std::string& execution_id,
              const std::vector<event_bus_actor>& to) {
  remote_interest ri{execution_id, caf::actor_cast<caf::strong_actor_ptr>(self)};
  for (auto& peer : to)
    self->send(peer, ri);
}

bool has_local(const std::vector<bus_subscription>& subs) {
  return std::any_of(subs.begin(), subs.end(), [](auto& s) { return !s.remote; });
}

/// Every catchup_ms: quiet ordered subscriptions read the journal (the execution may
/// run on a node whose forwards we lost); every interest_renew_ms our subscriptions
/// are announced again; peers' interests not renewed in time are dropped.
void on_catchup(self_ptr self) {
  auto& st = self->state;
  self->delayed_send(self, std::chrono::milliseconds{st.settings.catchup_ms},
                     catchup_atom::value);
  auto now = steady::now();
  auto quiet = std::chrono::milliseconds{st.settings.catchup_ms};
  auto ttl = std::chrono::milliseconds{st.settings.interest_ttl_ms};
  auto renew = now - st.last_renewal >= std::chrono::milliseconds{st.settings.interest_renew_ms};
  if (renew)
    st.last_renewal = now;
  std::vector<std::string> stale;
  for (auto i = st.subscribers.begin(); i != st.subscribers.end();) {
    auto& subs = i->second;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](auto& s) { return s.remote && now - s.touched > ttl; }),
               subs.end());
    if (subs.empty()) {
      i = st.subscribers.erase(i);
      continue;
    }
    if (std::any_of(subs.begin(), subs.end(), [&](auto& s) {
          return !s.remote && s.last_seq >= 0 && now - s.touched >= quiet;
        }))
      stale.push_back(i->first);
    if (renew && has_local(subs))
      announce(self, i->first, st.peers);
    ++i;
  }
  for (auto& id : stale)
    catch_up(self, id);
}

void flush(self_ptr self) {
  auto batch = one_per_execution(self, self->state.pending.take(self, self->state.settings.max_batch));
  if (batch.empty())
    return;
  std::vector<journal_append> requests;
  requests.reserve(batch.size());
  for (auto& e : batch)
    requests.push_back(e.request);
  auto applied = run_isolated(requests, [&](const std::vector<journal_append>& rs) {
    return self->state.store->append(rs);
  });
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& a = batch[i].request;
    if (!applied[i]) {
      logging::write(*logging::get("bus"), spdlog::level::err, "journal write failed",
                     {{"exec_id", a.snapshot.execution_id}, {"batch_size", batch.size()},
                      {"error", to_string(applied[i].error())}});
      batch[i].promise.deliver(applied[i].error());
      continue;
    }
    if (!applied[i]->applied) {
      batch[i].promise.deliver(make_stagee_error(
        stagee_errc::owner_lost, "expected_seq",
        "execution " + a.snapshot.execution_id + " was journaled by another owner"));
      continue;
    }
    batch[i].promise.deliver(journal_committed{a.snapshot.execution_id, a.snapshot.last_seq,
                                               applied[i]->cancel_requested_by,
                                               applied[i]->cancel_reason,
                                               applied[i]->rbac_denied,
                                               applied[i]->approval_needed});
    forward(self, a);
  }
}

struct replayed_events {
  int64_t count = 0;
  bool terminal = false; // saw a terminal event
  int64_t last_seq = 0;  // last seq sent (after_seq when none)
};

/// Replays stored events after req.after_seq.
caf::expected<replayed_events> replay(self_ptr self, const subscribe_request& req) {
  int64_t count = 0;
  bool terminal = false;
  auto after = req.after_seq;
  for (;;) {
    auto page = self->state.store->events_after(req.execution_id, after,
                                                self->state.settings.replay_page);
    if (!page)
      return page.error();
    for (auto& ev : *page) {
      after = ev.seq;
      terminal = terminal || is_terminal(ev.status);
      self->send(req.subscriber, ev);
      ++count;
    }
    if (page->size() < static_cast<size_t>(self->state.settings.replay_page))
      return replayed_events{count, terminal, after};
  }
}

caf::result<subscribed> subscribe(self_ptr self, const subscribe_request& req) {
  if (!req.subscriber)
    return make_stagee_error(stagee_errc::invalid_request, "subscriber", "no subscriber");
  int64_t replayed = 0;
  bus_subscription sub{req.subscriber, -1, false, steady::now()};
  if (req.after_seq >= 0) {
    auto r = replay(self, req);
    if (!r)
      return r.error();
    replayed = r->count;
    if (r->terminal) // nothing will follow
      return subscribed{req.execution_id, replayed};
    sub.last_seq = r->last_seq;
  }
  self->monitor(req.subscriber);
  auto& subs = self->state.subscribers[req.execution_id];
  auto first_local = !has_local(subs);
  subs.push_back(sub);
  if (first_local) // whichever node runs it forwards its events here
    announce(self, req.execution_id, self->state.peers);
  return subscribed{req.execution_id, replayed};
}

void drop_subscriber(self_ptr self, const caf::actor_addr& who) {
  auto& subs = self->state.subscribers;
  for (auto i = subs.begin(); i != subs.end();) {
    auto& v = i->second;
    v.erase(std::remove_if(v.begin(), v.end(), [&](auto& s) { return s.who.address() == who; }),
            v.end());
    i = v.empty() ? subs.erase(i) : std::next(i);
  }
}

} // namespace

event_bus_actor::behavior_type event_bus(self_ptr self, std::string db_url,
                                         event_bus_settings settings) {
  self->state.db = std::make_unique<db_session>(std::move(db_url));
  self->state.store = std::make_unique<journal_store>(*self->state.db);
  self->state.settings = settings;
  self->set_down_handler([=](caf::down_msg& dm) { drop_subscriber(self, dm.source); });
  self->state.last_renewal = steady::now();
  self->send(self, catchup_atom::value);
  return {
    [=](journal_append& a) { return self->state.pending.park(self, std::move(a)); },
    [=](subscribe_request& req) { return subscribe(self, req); },
    [=](flush_atom) { flush(self); },
    [=](inspect_atom) {
      auto& st = self->state;
      size_t subs = 0;
      for (auto& [id, list] : st.subscribers)
        subs += list.size();
      return probe_of_worker(self, {{"parked_writes", std::to_string(st.pending.size())},
                                    {"watched_executions", std::to_string(st.subscribers.size())},
                                    {"subscribers", std::to_string(subs)},
                                    {"peer_buses", std::to_string(st.peers.size())}});
    },
    [=](const execution_event& ev) { deliver(self, ev.execution_id, {ev}); },
    [=](const remote_interest& ri) {
      if (!ri.bus || ri.execution_id.empty())
        return;
      // Only members' buses (the membership lists them after their hello): a
      // client cannot ask a bus for another tenant's events.
      auto& peers = self->state.peers;
      if (std::none_of(peers.begin(), peers.end(),
                       [&](auto& p) { return p.address() == ri.bus->address(); }))
        return;
      auto who = caf::actor_cast<event_subscriber_actor>(ri.bus);
      auto& subs = self->state.subscribers[ri.execution_id];
      auto i = std::find_if(subs.begin(), subs.end(),
                            [&](auto& s) { return s.remote && s.who == who; });
      if (i != subs.end()) {
        i->touched = steady::now();
        return;
      }
      self->monitor(who);
      subs.push_back(bus_subscription{who, -1, true, steady::now()});
    },
    [=](const peer_buses& pb) {
      std::vector<event_bus_actor> now, added;
      for (auto& p : pb.buses) {
        auto bus = caf::actor_cast<event_bus_actor>(p);
        if (std::find(self->state.peers.begin(), self->state.peers.end(), bus)
            == self->state.peers.end())
          added.push_back(bus);
        now.push_back(bus);
      }
      self->state.peers = std::move(now);
      if (added.empty())
        return;
      for (auto& [id, subs] : self->state.subscribers) // a new node may run them
        if (has_local(subs))
          announce(self, id, added);
    },
    [=](catchup_atom) { on_catchup(self); },
  };
}

} // namespace stagee
