#include "actors/event_bus.hpp"

#include <set>

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

void forward(self_ptr self, const journal_append& a) {
  auto i = self->state.subscribers.find(a.snapshot.execution_id);
  if (i == self->state.subscribers.end())
    return;
  for (auto ev : a.events) {
    ev.message = masking::current()->mask(ev.message); // as stored (journal_store)
    for (auto& sub : i->second)
      self->send(sub, ev);
  }
  if (is_terminal(a.snapshot.status))
    self->state.subscribers.erase(i);
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

/// Replays stored events after req.after_seq; returns (count, saw a terminal event).
caf::expected<std::pair<int64_t, bool>> replay(self_ptr self, const subscribe_request& req) {
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
      return std::make_pair(count, terminal);
  }
}

caf::result<subscribed> subscribe(self_ptr self, const subscribe_request& req) {
  if (!req.subscriber)
    return make_stagee_error(stagee_errc::invalid_request, "subscriber", "no subscriber");
  int64_t replayed = 0;
  if (req.after_seq >= 0) {
    auto r = replay(self, req);
    if (!r)
      return r.error();
    replayed = r->first;
    if (r->second) // terminal: nothing will follow
      return subscribed{req.execution_id, replayed};
  }
  self->monitor(req.subscriber);
  self->state.subscribers[req.execution_id].push_back(req.subscriber);
  return subscribed{req.execution_id, replayed};
}

void drop_subscriber(self_ptr self, const caf::actor_addr& who) {
  auto& subs = self->state.subscribers;
  for (auto i = subs.begin(); i != subs.end();) {
    auto& v = i->second;
    v.erase(std::remove_if(v.begin(), v.end(), [&](auto& s) { return s.address() == who; }),
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
  return {
    [=](journal_append& a) { return self->state.pending.park(self, std::move(a)); },
    [=](subscribe_request& req) { return subscribe(self, req); },
    [=](flush_atom) { flush(self); },
  };
}

} // namespace stagee
