#include "actors/membership.hpp"

#include <algorithm>
#include <random>
#include <set>

#include "actors/probe.hpp"
#include "config/logging.hpp"
#include "messages/gateway.hpp"

namespace stagee {

namespace {

using self_ptr = membership_actor::stateful_pointer<membership_state>;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using link = peer_entry::link;

spdlog::logger& lg() {
  static auto l = logging::get("cluster");
  return *l;
}

int64_t ms_since(steady::time_point t) {
  return std::chrono::duration_cast<milliseconds>(steady::now() - t).count();
}

const char* link_name(link l) {
  switch (l) {
    case link::none:
      return "none";
    case link::connecting:
      return "connecting";
    case link::connected:
      return "connected";
    case link::down:
      return "down";
  }
  return "none";
}

member_hello hello(self_ptr self) {
  member_hello h;
  h.from = self->state.self_info;
  for (auto& [addr, e] : self->state.members)
    if (!e.info.name.empty() && !e.left)
      h.known.push_back(addr);
  return h;
}

/// Backoff after `failures` consecutive failed connects: min x 2^(n-1), capped,
/// with +-20 % jitter so that a restarted cluster does not reconnect in lockstep.
milliseconds backoff(const membership_settings& s, int failures) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  auto base = s.reconnect_min_ms << std::min(failures - 1, 16);
  // After many failures (a wrong address, a peer with other TLS settings) try less
  // often, but within 10 s of a healed partition (test plan C3).
  base = std::min(base, failures > 20 ? 2 * s.reconnect_max_ms : s.reconnect_max_ms);
  std::uniform_int_distribution<int64_t> jitter(-base / 5, base / 5);
  return milliseconds{std::max<int64_t>(1, base + jitter(rng))};
}

/// A connect or hello to addr failed: try again after a backoff.
void failed(self_ptr self, const std::string& addr, const std::string& why) {
  auto i = self->state.members.find(addr);
  if (i == self->state.members.end())
    return;
  auto& e = i->second;
  if (e.state == link::connected)
    return; // a hello from the peer itself got in first
  e.state = e.info.name.empty() ? link::none : link::down;
  e.cut_short = 0;
  ++e.failures;
  e.next_attempt = steady::now() + backoff(self->state.settings, e.failures);
  // First failure and then every 10th: a dead seed must not flood the log.
  if (e.failures == 1 || e.failures % 10 == 0)
    logging::write(lg(), spdlog::level::warn, "cannot reach cluster member",
                   {{"node", self->state.settings.node}, {"address", addr},
                    {"member", e.info.name}, {"attempts", e.failures}, {"error", why},
                    {"hint", "is `stagee node` running there, with the same TLS settings?"}});
}

/// Tells our event bus which peers' buses to announce its subscriptions to
/// (R-CL-4), when that set changed.
void tell_bus(self_ptr self) {
  auto& st = self->state;
  peer_buses pb;
  std::vector<caf::actor_addr> addrs;
  for (auto& [_, e] : st.members)
    if (e.state == link::connected && e.info.bus) {
      pb.buses.push_back(e.info.bus);
      addrs.push_back(e.info.bus->address());
    }
  std::sort(addrs.begin(), addrs.end());
  if (addrs == st.told_buses)
    return;
  st.told_buses = std::move(addrs);
  self->send(st.peers.bus, std::move(pb));
}

void learn(self_ptr self, const std::string& addr) {
  if (addr.empty() || addr == self->state.self_info.address)
    return;
  self->state.members.try_emplace(addr);
}

/// A hello from a peer (its reply to ours, or its own request): record it.
/// Returns false when it must be refused (it claims our name).
bool on_hello(self_ptr self, const member_hello& h) {
  auto& st = self->state;
  auto& from = h.from;
  if (from.name.empty() || from.address.empty() || !from.membership)
    return false;
  if (from.name == st.self_info.name) {
    if (from.node_id != st.self_info.node_id)
      logging::write(lg(), spdlog::level::critical,
                     "another node uses our name; refusing it (leases are owned by name: "
                     "give each node its own --node-name)",
                     {{"node", st.settings.node}, {"other_node_id", from.node_id},
                      {"other_address", from.address}});
    return false;
  }
  // The same name at another address: the node restarted elsewhere.
  for (auto i = st.members.begin(); i != st.members.end();) {
    if (i->first != from.address && i->second.info.name == from.name) {
      if (i->second.info.membership)
        self->demonitor(i->second.info.membership->address());
      i = st.members.erase(i);
    } else {
      ++i;
    }
  }
  auto& e = st.members[from.address];
  auto known = !e.info.name.empty(); // linked before: a rejoin, not a first join
  auto fresh = e.info.node_id != from.node_id;
  auto was = e.state;
  if (fresh && e.info.membership)
    self->demonitor(e.info.membership->address());
  if (fresh)
    self->monitor(from.membership);
  if (fresh || was != link::connected || e.left)
    logging::write(lg(), spdlog::level::info,
                   known ? "cluster member back" : "cluster member joined",
                   {{"node", st.settings.node}, {"member", from.name},
                    {"address", from.address}, {"node_id", from.node_id},
                    {"capacity", from.capacity}, {"tls", from.tls}});
  e.info = from;
  e.state = link::connected;
  e.left = from.state == "left";
  e.declared = false;
  e.failures = 0;
  e.cut_short = 0;
  e.nudges = 0;
  for (auto& addr : h.known)
    learn(self, addr);
  tell_bus(self);
  return true;
}

void connect(self_ptr self, const std::string& addr);

/// CAF 0.17.6 closes a connection it opened whose handshake is still under way at
/// its next heartbeat tick, with connection_timeout (it counts the link as silent
/// since the clock's epoch; see connect_gateway in runtime/client.cpp). A live peer
/// slow to answer (TLS, load) meets that now and then: try again at once, up to 3
/// times, before it counts as a failure (a frozen peer fails all of them).
bool retry_cut_short(self_ptr self, const std::string& addr, const caf::error& err) {
  auto i = self->state.members.find(addr);
  if (err != caf::sec::connection_timeout || i == self->state.members.end()
      || i->second.state != link::connecting || i->second.cut_short >= 3)
    return false;
  auto& e = i->second;
  ++e.cut_short;
  e.state = e.info.name.empty() ? link::none : link::down;
  connect(self, addr);
  return true;
}

void connect(self_ptr self, const std::string& addr) {
  auto& e = self->state.members[addr];
  if (e.state == link::connecting || e.state == link::connected)
    return;
  std::string host;
  uint16_t port = 0;
  if (!split_host_port(addr, host, port)) {
    logging::write(lg(), spdlog::level::err, "ignoring a member address that is not HOST:PORT",
                   {{"node", self->state.settings.node}, {"address", addr}});
    self->state.members.erase(addr);
    return;
  }
  e.state = link::connecting;
  auto timeout = milliseconds{self->state.settings.connect_timeout_ms};
  self->request(self->state.peers.connector, timeout, caf::connect_atom::value, host, port)
    .then(
      [=](const caf::node_id& nid, caf::strong_actor_ptr& gw, const std::set<std::string>&) {
        if (nid == self->node()) { // a seed list that names this node too
          self->state.members.erase(addr);
          return;
        }
        if (!gw)
          return failed(self, addr, "nothing is published on " + addr);
        auto gateway = caf::actor_cast<gateway_actor>(gw);
        self->request(gateway, timeout, hello(self))
          .then(
            [=](member_hello& h) {
              if (!on_hello(self, h))
                failed(self, addr, "refused its hello (see the log above)");
            },
            [=](caf::error& err) { failed(self, addr, self->system().render(err)); });
      },
      [=](caf::error& err) {
        if (!retry_cut_short(self, addr, err))
          failed(self, addr, self->system().render(err));
      });
}

/// Monitored membership actor of a peer went away: its node died, froze past the
/// connection timeout, lost its link, or stopped.
void on_down(self_ptr self, const caf::down_msg& dm) {
  for (auto& [addr, e] : self->state.members) {
    if (!e.info.membership || e.info.membership->address() != dm.source)
      continue;
    if (e.state != link::connected)
      return;
    e.state = link::down;
    e.down_since = steady::now();
    e.failures = 0;
    e.next_attempt = steady::now() + backoff(self->state.settings, 1);
    logging::write(lg(), e.left ? spdlog::level::info : spdlog::level::warn,
                   e.left ? "cluster member left" : "cluster member down",
                   {{"node", self->state.settings.node}, {"member", e.info.name},
                    {"address", addr}, {"node_id", e.info.node_id},
                    {"reason", self->system().render(dm.reason)}});
    tell_bus(self);
    return;
  }
}

size_t connected_peers(const membership_state& st) {
  return static_cast<size_t>(std::count_if(st.members.begin(), st.members.end(), [](auto& kv) {
    return kv.second.state == link::connected && !kv.second.left;
  }));
}

/// Neither a peer nor the database: stop claiming (another node may be taking
/// our work over); resume as soon as either is back.
void update_isolation(self_ptr self) {
  auto& st = self->state;
  auto isolated = st.db_failures >= 2 && connected_peers(st) == 0;
  if (isolated == st.isolated)
    return;
  st.isolated = isolated;
  logging::write(lg(), isolated ? spdlog::level::err : spdlog::level::info,
                 isolated ? "isolated: no cluster peer and no database; claiming stops"
                          : "no longer isolated; claiming resumes",
                 {{"node", st.settings.node}, {"db_failures", st.db_failures}});
  self->send(st.peers.supervisor, isolated_atom::value, isolated);
}

/// Addresses of fresh rows we do not know yet: a node that joined through another
/// seed, or one that restarted on a new port.
void learn_from_rows(self_ptr self) {
  auto& st = self->state;
  for (auto& r : st.rows)
    if (r.name != st.self_info.name && (r.state == "up" || r.state == "draining")
        && r.last_seen_ms < st.settings.stale_ms
        && r.tls == st.self_info.tls) // a TLS link to a plain port cannot work (and leaks an fd in CAF)
      learn(self, r.address);
}

/// Forgets members that are gone for good: no link, and their row says dead or
/// left for a minute (a replaced or removed node); a node that comes back at that
/// address announces itself again.
void forget_gone(self_ptr self) {
  auto& st = self->state;
  for (auto i = st.members.begin(); i != st.members.end();) {
    auto& e = i->second;
    auto r = std::find_if(st.rows.begin(), st.rows.end(),
                          [&](auto& row) { return row.name == e.info.name; });
    auto gone = !e.info.name.empty() && e.state != link::connected
                && e.state != link::connecting && r != st.rows.end()
                && (r->state == "dead" || r->state == "left") && r->last_seen_ms > 60000;
    if (!gone) {
      ++i;
      continue;
    }
    logging::write(lg(), spdlog::level::info, "forgetting a cluster member gone for a minute",
                   {{"node", st.settings.node}, {"member", e.info.name}, {"address", i->first},
                    {"state", r->state}});
    if (e.info.membership)
      self->demonitor(e.info.membership->address());
    i = st.members.erase(i);
  }
}

/// Our row as the recorder writes it.
member_heartbeat heartbeat_row(self_ptr self) {
  member_heartbeat hb;
  hb.self = self->state.self_info;
  hb.stale_ms = self->state.settings.stale_ms;
  return hb;
}

void heartbeat(self_ptr self, bool with_leases,
               caf::typed_response_promise<cluster_status> rp = {});

cluster_status status_of(self_ptr self) {
  auto& st = self->state;
  std::map<std::string, member_status> by_name;
  auto& me = by_name[st.self_info.name];
  me.name = st.self_info.name;
  me.node_id = st.self_info.node_id;
  me.address = st.self_info.address;
  me.state = st.self_info.state;
  me.link = "self";
  me.capacity = st.self_info.capacity;
  me.load = st.self_info.load;
  me.tls = st.self_info.tls;
  for (auto& [addr, e] : st.members) {
    if (e.info.name.empty())
      continue;
    auto& m = by_name[e.info.name];
    m.name = e.info.name;
    m.node_id = e.info.node_id;
    m.address = addr;
    m.link = link_name(e.state);
    m.state = e.left ? "left"
              : e.state == link::connected ? e.info.state
              : e.declared ? "dead"
                           : "down";
    m.capacity = e.info.capacity;
    m.load = e.info.load;
    m.tls = e.info.tls;
  }
  for (auto& r : st.rows) {
    auto known = by_name.count(r.name) > 0;
    auto& m = by_name[r.name];
    if (!known) { // only in the database: never linked from here
      m.name = r.name;
      m.node_id = r.node_id;
      m.address = r.address;
      m.link = "none";
      m.state = r.last_seen_ms < st.settings.stale_ms || r.state != "up" ? r.state : "down";
      m.capacity = r.capacity;
      m.load = r.load;
      m.tls = r.tls;
    }
    m.started_at = r.started_at;
    m.last_seen_ms = r.last_seen_ms;
    m.leases_held = r.leases_held;
    m.locks_held = r.locks_held;
  }
  cluster_status out;
  out.node = st.self_info.name;
  for (auto& [_, m] : by_name)
    out.members.push_back(std::move(m));
  return out;
}

void heartbeat(self_ptr self, bool with_leases, caf::typed_response_promise<cluster_status> rp) {
  auto& st = self->state;
  auto tracked = !rp.pending(); // the periodic one: at most one in flight
  if (tracked && st.beating)
    return;
  st.beating = st.beating || tracked;
  auto hb = heartbeat_row(self);
  hb.with_leases = with_leases;
  for (auto& [_, e] : st.members)
    if (e.state == link::down && !e.info.name.empty())
      hb.link_down.push_back(e.info.name);
  self->request(st.peers.recorder, milliseconds{std::max<int64_t>(st.settings.stale_ms, 5000)}, hb)
    .then(
      [=](member_rows& rows) mutable {
        auto& st = self->state;
        if (tracked)
          st.beating = false;
        if (st.db_failures > 0)
          logging::write(lg(), spdlog::level::info, "database heartbeat works again",
                         {{"node", st.settings.node}, {"failures", st.db_failures}});
        st.db_failures = 0;
        st.rows = std::move(rows.rows);
        for (auto& x : rows.expired) {
          for (auto& [addr, e] : st.members)
            if (e.info.name == x.name && !e.declared) {
              e.declared = true;
              logging::write(lg(), spdlog::level::warn,
                             "cluster member declared dead: no link and no database "
                             "heartbeat; its leases and locks are free for takeover now",
                             {{"node", st.settings.node}, {"member", x.name},
                              {"address", addr}, {"down_for_ms", ms_since(e.down_since)},
                              {"leases_freed", x.leases_freed}, {"locks_freed", x.locks_freed}});
            }
          if (x.leases_freed > 0) // claim them now, not at the next claim tick
            self->send(st.peers.supervisor, poll_atom::value);
        }
        learn_from_rows(self);
        forget_gone(self);
        update_isolation(self);
        if (rp.pending())
          rp.deliver(status_of(self));
      },
      [=](caf::error& err) mutable {
        auto& st = self->state;
        if (tracked)
          st.beating = false;
        if (++st.db_failures == 1)
          logging::write(lg(), spdlog::level::err, "database heartbeat failed",
                         {{"node", st.settings.node}, {"error", self->system().render(err)}});
        update_isolation(self);
        if (rp.pending())
          rp.deliver(status_of(self)); // what this node knows, without the database
      });
}

void tick(self_ptr self) {
  auto& st = self->state;
  auto period = milliseconds{st.settings.gossip_ms};
  self->delayed_send(self, period, caf::tick_atom::value);
  if (!st.started)
    return;
  // Our load, for the next hello (the supervisor is local: this is quick).
  self->request(st.peers.supervisor, period, load_atom::value)
    .then([=](int32_t load) {
            self->state.self_info.load = load;
            self->state.self_nudges = 0;
          },
          [](caf::error&) {});
  auto now = steady::now();
  std::vector<std::string> to_connect;
  for (auto& [addr, e] : st.members) {
    if (e.state == link::connected && e.info.membership && st.self_info.state == "up") {
      auto peer = caf::actor_cast<membership_actor>(e.info.membership);
      self->request(peer, period * 2, hello(self))
        .then([=](member_hello& h) { on_hello(self, h); }, [](caf::error&) {});
    } else if ((e.state == link::none || e.state == link::down) && !e.left
               && now >= e.next_attempt && st.self_info.state == "up") {
      to_connect.push_back(addr);
    }
  }
  for (auto& addr : to_connect)
    connect(self, addr);
  heartbeat(self, false);
  update_isolation(self);
}

/// The node to run newly queued work: the most free capacity as last reported,
/// minus the nudges sent since; ties rotate.
worker_supervisor_actor pick_for_work(self_ptr self) {
  auto& st = self->state;
  struct candidate {
    int64_t free;
    worker_supervisor_actor sup;
    int32_t* nudges;
  };
  std::vector<candidate> cs;
  cs.push_back({st.self_info.capacity - st.self_info.load - st.self_nudges, st.peers.supervisor,
                &st.self_nudges});
  for (auto& [_, e] : st.members)
    if (e.state == link::connected && !e.left && e.info.state == "up" && e.info.supervisor)
      cs.push_back({e.info.capacity - e.info.load - e.nudges, e.info.supervisor, &e.nudges});
  auto best = std::max_element(cs.begin(), cs.end(),
                               [](auto& a, auto& b) { return a.free < b.free; })->free;
  std::vector<candidate*> top;
  for (auto& c : cs)
    if (c.free == best)
      top.push_back(&c);
  auto* chosen = top[st.rotation++ % top.size()];
  ++*chosen->nudges;
  return chosen->sup;
}

/// Writes our row now (graceful shutdown); true once written.
caf::typed_response_promise<bool> write_state(self_ptr self) {
  auto rp = self->make_response_promise<bool>();
  self->request(self->state.peers.recorder, std::chrono::seconds(5), heartbeat_row(self))
    .then([=](member_rows&) mutable { rp.deliver(true); },
          [=](caf::error&) mutable { rp.deliver(false); });
  return rp;
}

} // namespace

bool split_host_port(const std::string& hostport, std::string& host, uint16_t& port) {
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == hostport.size())
    return false;
  auto digits = hostport.substr(colon + 1);
  if (digits.size() > 5 || !std::all_of(digits.begin(), digits.end(), ::isdigit))
    return false;
  auto p = std::stoul(digits);
  if (p == 0 || p > 65535)
    return false;
  host = hostport.substr(0, colon);
  port = static_cast<uint16_t>(p);
  return true;
}

membership_actor::behavior_type membership(self_ptr self, membership_settings settings,
                                           membership_peers peers) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.peers = std::move(peers);
  st.self_info.name = st.settings.node;
  st.self_info.node_id = to_string(self->node());
  st.self_info.capacity = st.settings.capacity;
  st.self_info.tls = st.settings.tls;
  st.self_info.started_at_ms = std::chrono::duration_cast<milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  st.self_info.membership = caf::actor_cast<caf::strong_actor_ptr>(self);
  st.self_info.bus = caf::actor_cast<caf::strong_actor_ptr>(st.peers.bus);
  st.self_info.supervisor = st.peers.supervisor;
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  self->send(self, caf::tick_atom::value);
  return {
    [=](member_hello& h) -> caf::result<member_hello> {
      if (!on_hello(self, h))
        return caf::make_error(caf::sec::request_receiver_down,
                               "refused: this node is named " + self->state.self_info.name);
      return hello(self);
    },
    [=](const member_leaving& m) {
      for (auto& [_, e] : self->state.members)
        if (e.info.name == m.name && e.info.node_id == m.node_id) {
          e.left = true;
          logging::write(lg(), spdlog::level::info, "cluster member leaving",
                         {{"node", self->state.settings.node}, {"member", m.name}});
        }
    },
    [=](const cluster_status_request&) {
      auto rp = self->make_response_promise<cluster_status>();
      heartbeat(self, true, rp);
      return rp;
    },
    [=](poll_atom) { self->send(pick_for_work(self), poll_atom::value); },
    [=](cancel_atom) {
      self->send(self->state.peers.supervisor, cancel_atom::value);
      for (auto& [_, e] : self->state.members)
        if (e.state == link::connected && e.info.supervisor)
          self->send(e.info.supervisor, cancel_atom::value);
    },
    [=](caf::put_atom, const std::string& address) {
      auto& st = self->state;
      st.self_info.address = address;
      st.started = true;
      logging::write(lg(), spdlog::level::info, "cluster membership started",
                     {{"node", st.settings.node}, {"address", address},
                      {"node_id", st.self_info.node_id}, {"seeds", st.settings.seeds},
                      {"gossip_ms", st.settings.gossip_ms}, {"stale_ms", st.settings.stale_ms}});
      for (auto& s : st.settings.seeds)
        learn(self, s);
      for (auto& [addr, e] : st.members)
        if (e.state == link::none)
          connect(self, addr);
      heartbeat(self, false);
    },
    [=](drain_atom) {
      auto& st = self->state;
      st.self_info.state = "draining";
      member_leaving bye{st.self_info.name, st.self_info.node_id};
      for (auto& [_, e] : st.members)
        if (e.state == link::connected && e.info.membership)
          self->send(caf::actor_cast<membership_actor>(e.info.membership), bye);
      return write_state(self);
    },
    [=](caf::close_atom) {
      self->state.self_info.state = "left";
      return write_state(self);
    },
    [=](caf::tick_atom) { tick(self); },
    [=](inspect_atom) {
      auto& st = self->state;
      int connected = 0;
      for (auto& [_, e] : st.members)
        connected += e.state == link::connected ? 1 : 0;
      return probe_of(self, st.isolated ? "isolated" : st.self_info.state,
                      {{"address", st.self_info.address},
                       {"node_id", st.self_info.node_id},
                       {"peers_known", std::to_string(st.members.size())},
                       {"peers_connected", std::to_string(connected)},
                       {"db_heartbeat_failures", std::to_string(st.db_failures)},
                       {"tls", st.settings.tls ? "on" : "off"}});
    },
  };
}

} // namespace stagee
