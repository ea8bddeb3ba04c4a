#include "actors/inspector.hpp"

#include <algorithm>
#include <memory>

#include <caf/all.hpp>

#include "actors/probe.hpp"
#include "messages/errors.hpp"

namespace stagee {

namespace {

using self_ptr = inspector_actor::stateful_pointer<inspector_state>;
using steady = std::chrono::steady_clock;

int64_t ms_since(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t).count();
}

actor_view view_of(caf::actor_id id, const inspector_entry& e) {
  actor_view v;
  v.id = static_cast<int64_t>(id);
  v.kind = e.kind;
  v.name = e.name;
  v.age_ms = ms_since(e.since);
  v.tenant_id = e.tenant_id;
  return v;
}

/// The inspector itself (it cannot probe itself by request while it waits).
actor_view self_view(self_ptr self) {
  actor_view v;
  v.id = static_cast<int64_t>(self->id());
  v.kind = "inspector";
  v.name = "inspector";
  v.age_ms = ms_since(self->state.started);
  v.answered = true;
  v.probe = probe_of(self, "serving",
                     {{"registered", std::to_string(self->state.actors.size())},
                      {"probe_timeout_ms", std::to_string(self->state.settings.probe_timeout_ms)}});
  return v;
}

/// Probes the registered actors `keep` selects, all at once; calls `done` with
/// their views (in id order) once each answered or timed out.
template <class Keep, class Done>
void probe_all(self_ptr self, Keep keep, Done done) {
  struct gather {
    std::vector<actor_view> views;
    size_t pending = 0;
    Done done;
  };
  auto g = std::make_shared<gather>(gather{{}, 0, std::move(done)});
  std::vector<std::pair<size_t, inspectable_actor>> targets;
  for (auto& [id, e] : self->state.actors) {
    if (!keep(e))
      continue;
    targets.emplace_back(g->views.size(), e.handle);
    g->views.push_back(view_of(id, e));
  }
  g->pending = targets.size();
  if (g->pending == 0) {
    g->done(std::move(g->views));
    return;
  }
  auto timeout = std::chrono::milliseconds{self->state.settings.probe_timeout_ms};
  for (auto& [index, handle] : targets) {
    auto finish = [g] {
      if (--g->pending == 0)
        g->done(std::move(g->views));
    };
    self->request(handle, timeout, inspect_atom::value)
      .then(
        [g, i = index, finish](actor_probe& p) {
          g->views[i].answered = true;
          g->views[i].probe = std::move(p);
          finish();
        },
        [g, i = index, finish](caf::error&) {
          g->views[i].probe.state = "no answer";
          finish();
        });
  }
}

/// The supervisor's counter `key` from a list of views (0 when absent).
int64_t supervisor_figure(const std::vector<actor_view>& views, const std::string& key) {
  for (auto& v : views)
    if (v.kind == "worker-supervisor" && v.answered)
      if (auto i = v.probe.details.find(key); i != v.probe.details.end())
        return std::strtoll(i->second.c_str(), nullptr, 10);
  return 0;
}

/// The lease is known to the supervisor, status and step to the execution itself:
/// completes each side's entries with the other's (where both answered).
void merge_views(std::vector<actor_view>& views) {
  std::map<std::string, execution_probe*> own, supervised;
  for (auto& v : views)
    for (auto& e : v.probe.executions)
      (v.kind == "execution" ? own : supervised)[e.execution_id] = &e;
  for (auto& [id, e] : own)
    if (auto i = supervised.find(id); i != supervised.end()) {
      e->lease_expires_in_ms = i->second->lease_expires_in_ms;
      auto lease = i->second->lease_expires_in_ms;
      *i->second = *e;
      i->second->lease_expires_in_ms = lease;
    }
}

caf::typed_response_promise<node_inspection> inspect_node(self_ptr self,
                                                          const node_inspect_request& req) {
  auto rp = self->make_response_promise<node_inspection>();
  auto kind = req.kind;
  auto tenant = req.tenant_id;
  // The supervisor is always probed: it knows the leases and the load.
  probe_all(
    self, [kind](const inspector_entry& e) {
      return kind.empty() || e.kind == kind || e.kind == "worker-supervisor"
             || (kind == "worker-supervisor" && e.kind == "execution");
    },
    [=](std::vector<actor_view> views) mutable {
      auto& st = self->state;
      merge_views(views);
      node_inspection out;
      out.node = st.settings.node;
      out.node_id = caf::to_string(self->node());
      out.uptime_ms = ms_since(st.started);
      out.capacity = st.settings.capacity;
      out.load = static_cast<int32_t>(supervisor_figure(views, "background_running"));
      out.scheduler_threads = static_cast<int32_t>(self->system().scheduler().num_workers());
      out.caf_running_actors = static_cast<int64_t>(self->system().registry().running());
      if (kind.empty() || kind == "inspector")
        out.actors.push_back(self_view(self));
      for (auto& v : views) {
        if (!kind.empty() && v.kind != kind)
          continue;
        redact_for_tenant(v, tenant);
        out.actors.push_back(std::move(v));
      }
      std::sort(out.actors.begin(), out.actors.end(),
                [](const actor_view& a, const actor_view& b) { return a.id < b.id; });
      rp.deliver(std::move(out));
    });
  return rp;
}

caf::result<actor_view> inspect_actor(self_ptr self, const actor_inspect_request& req) {
  auto& st = self->state;
  if (req.id == static_cast<int64_t>(self->id()))
    return self_view(self);
  auto i = st.actors.find(static_cast<caf::actor_id>(req.id));
  if (i == st.actors.end())
    return make_stagee_error(stagee_errc::not_found, "actor",
                             "no actor " + std::to_string(req.id) + " on node "
                               + st.settings.node
                               + " (it may have stopped); `actors` lists the live ones");
  auto rp = self->make_response_promise<actor_view>();
  auto id = i->first;
  auto tenant = req.tenant_id;
  // An execution is probed with the supervisor, which knows its lease; the
  // supervisor with the executions, which know their status and step.
  auto wanted = i->second.kind;
  probe_all(
    self, [id, wanted, &st](const inspector_entry& e) {
      return &e == &st.actors.at(id) || (wanted == "execution" && e.kind == "worker-supervisor")
             || (wanted == "worker-supervisor" && e.kind == "execution");
    },
    [=](std::vector<actor_view> views) mutable {
      merge_views(views);
      for (auto& v : views)
        if (v.id == static_cast<int64_t>(id)) {
          redact_for_tenant(v, tenant);
          rp.deliver(std::move(v));
          return;
        }
      rp.deliver(make_stagee_error(stagee_errc::not_found, "actor",
                                   "actor " + std::to_string(id) + " stopped meanwhile"));
    });
  return rp;
}

caf::typed_response_promise<node_stats> stats(self_ptr self, const node_stats_request&) {
  auto rp = self->make_response_promise<node_stats>();
  probe_all(self, [](const inspector_entry&) { return true; },
            [=](std::vector<actor_view> views) mutable {
              auto& st = self->state;
              node_stats out;
              out.node = st.settings.node;
              out.capacity = st.settings.capacity;
              out.running = static_cast<int32_t>(supervisor_figure(views, "background_running"));
              out.finished_10s = supervisor_figure(views, "finished_10s");
              out.finished_60s = supervisor_figure(views, "finished_60s");
              out.finished_total = supervisor_figure(views, "finished_total");
              out.actors = static_cast<int32_t>(views.size()) + 1; // and the inspector
              out.mailbox_max = static_cast<int64_t>(self->mailbox().size());
              if (out.mailbox_max > 0)
                out.mailbox_max_actor = "inspector inspector";
              for (auto& v : views) {
                if (!v.answered) {
                  out.unanswered += 1;
                  continue;
                }
                if (v.probe.mailbox > out.mailbox_max) {
                  out.mailbox_max = v.probe.mailbox;
                  out.mailbox_max_actor = v.kind + " " + (v.kind == "execution" ? std::to_string(v.id)
                                                                                 : v.name);
                }
              }
              auto timeout = std::chrono::milliseconds{2 * st.settings.probe_timeout_ms};
              self->request(st.peers.reader, timeout, node_counts_request{st.settings.node})
                .then(
                  [=](node_counts& c) mutable {
                    out.queue_depth = c.queue_depth;
                    out.locks_held = c.locks_held;
                    rp.deliver(out);
                  },
                  [=](caf::error&) mutable { rp.deliver(out); }); // -1: database unavailable
            });
  return rp;
}

} // namespace

void redact_for_tenant(actor_view& v, const std::string& tenant_id) {
  // The registered tenant decides even when the actor did not answer its probe
  // (busy, or stopping): its name is the execution id.
  bool foreign_execution = !v.tenant_id.empty() && v.tenant_id != tenant_id;
  for (auto& e : v.probe.executions) {
    if (e.tenant_id == tenant_id)
      continue;
    foreign_execution = true;
    execution_probe hidden;
    hidden.status = e.status;
    hidden.immediate = e.immediate;
    hidden.hidden = true;
    e = hidden;
  }
  if (v.kind == "execution" && foreign_execution) {
    v.name.clear();
    v.probe.details.clear();
    v.tenant_id.clear();
  }
}

inspector_actor::behavior_type inspector(self_ptr self, inspector_settings settings,
                                         inspector_peers peers) {
  self->state.settings = std::move(settings);
  self->state.peers = std::move(peers);
  self->set_down_handler(
    [=](caf::down_msg& dm) { self->state.actors.erase(dm.source.id()); });
  return {
    [=](actor_registration& r) {
      if (!r.handle)
        return;
      self->monitor(r.handle);
      auto id = r.handle.id();
      self->state.actors[id] = inspector_entry{std::move(r.kind), std::move(r.name),
                                               std::move(r.handle), steady::now(),
                                               std::move(r.tenant_id)};
    },
    [=](const node_inspect_request& req) { return inspect_node(self, req); },
    [=](const actor_inspect_request& req) { return inspect_actor(self, req); },
    [=](const timers_request& req) {
      auto timeout = std::chrono::milliseconds{2 * self->state.settings.probe_timeout_ms};
      auto rp = self->make_response_promise<timer_list>();
      self->request(self->state.peers.timeouts, timeout, req)
        .then([=](timer_list& t) mutable { rp.deliver(std::move(t)); },
              [=](caf::error& err) mutable {
                rp.deliver(make_stagee_error(stagee_errc::internal, "timers",
                                             "the timeout-scheduler did not answer: "
                                               + self->system().render(err)));
              });
      return rp;
    },
    [=](const node_stats_request& req) { return stats(self, req); },
  };
}

} // namespace stagee
