#include "actors/lock_manager.hpp"

#include <algorithm>
#include <set>

#include "actors/probe.hpp"
#include "actors/result.hpp"
#include "config/logging.hpp"

namespace stagee {

namespace {

using self_ptr = lock_manager_actor::stateful_pointer<lock_manager_state>;

spdlog::logger& lg() {
  static auto l = logging::get("locks");
  return *l;
}

caf::result<locks_outcome> acquire(self_ptr self, const acquire_locks& req) {
  auto r = self->state.store->acquire(req);
  if (!r) {
    logging::write(lg(), spdlog::level::warn, "lock acquisition failed",
                   {{"exec_id", req.execution_id}, {"error", to_string(r.error())}});
    return r.error();
  }
  if (r->granted) {
    std::vector<std::string> keys;
    std::vector<int64_t> fences;
    for (auto& g : r->grants) {
      keys.push_back(g.key);
      fences.push_back(g.fence);
    }
    if (!keys.empty())
      logging::write(lg(), spdlog::level::debug, "locks granted",
                     {{"exec_id", req.execution_id}, {"locks", keys}, {"fences", fences},
                      {"worker_id", req.node}});
  } else {
    logging::write(lg(), spdlog::level::info, "locks busy; execution waits in the queue",
                   {{"exec_id", req.execution_id}, {"lock", r->holder.key},
                    {"holder", r->holder.execution_id}, {"holder_node", r->holder.node},
                    {"holder_expires_at", r->holder.expires_at},
                    {"retry_in_ms", r->deferred_ms}, {"worker_id", req.node}});
  }
  return std::move(*r);
}

void reap(self_ptr self) {
  auto r = self->state.store->reap();
  if (!r) {
    logging::write(lg(), spdlog::level::warn, "lock reaper run failed",
                   {{"error", to_string(r.error())}});
    return;
  }
  for (auto& l : *r)
    logging::write(lg(), spdlog::level::warn,
                   "reaped expired lock; its holder died, froze or lost the database",
                   {{"lock", l.key}, {"exec_id", l.execution_id}, {"previous_owner", l.node},
                    {"worker_id", self->state.settings.node}});
}

} // namespace

namespace {

/// Tenant ids and actions may contain ':': escaped ('%' as %25, ':' as %3A), the
/// tenant ends at the first ':' of a key and the action starts after the last, so
/// keys of different tenants (or actions) never collide. Target refs cannot
/// contain '%' and stay readable.
std::string key_part(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%')
      out += "%25";
    else if (c == ':')
      out += "%3A";
    else
      out += c;
  }
  return out;
}

} // namespace

std::string lock_key(const std::string& tenant_id, const std::string& target,
                     const std::string& action) {
  return "lock:v1:" + key_part(tenant_id) + ":" + target + ":" + key_part(action);
}

std::vector<lock_spec> locks_for(const std::string& tenant_id, const plan& p) {
  std::vector<lock_spec> out;
  if (p.action_cls == action_class::read)
    return out;
  std::set<std::string> targets(p.targets.begin(), p.targets.end());
  for (auto& s : p.steps)
    targets.insert(s.targets.begin(), s.targets.end());
  for (auto& t : targets)
    out.push_back(lock_spec{lock_key(tenant_id, t, p.action), tenant_id, t, p.action});
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.key < b.key; });
  return out;
}

lock_manager_actor::behavior_type lock_manager(self_ptr self, lock_manager_settings settings,
                                               std::string db_url) {
  self->state.settings = std::move(settings);
  self->state.db = std::make_unique<db_session>(std::move(db_url));
  self->state.store = std::make_unique<lock_store>(*self->state.db);
  self->send(self, lock_reap_atom::value);
  return {
    [=](const acquire_locks& req) { return acquire(self, req); },
    [=](const locks_request& req) { return to_result(self->state.store->list(req)); },
    [=](inspect_atom) {
      return probe_of_worker(
        self, {{"reap_interval_ms", std::to_string(self->state.settings.reap_interval_ms)}});
    },
    [=](lock_reap_atom) {
      reap(self);
      self->delayed_send(self, std::chrono::milliseconds{self->state.settings.reap_interval_ms},
                         lock_reap_atom::value);
    },
  };
}

} // namespace stagee
