/// Membership: this node's view of the cluster (R-CL-1..2).
///
/// - Joins through --seeds and every address it learns (from peers' hellos and
///   from fresh cluster_members rows), connecting with the middleman actor (plain
///   or TLS) from inside the actor, never with the blocking middleman() calls.
/// - Monitors each peer's membership actor: with CAF heartbeats on, a dead or
///   frozen peer becomes a down_msg within the connection timeout. Reconnects with
///   exponential backoff; a restarted peer (new node id) replaces its old entry.
/// - Gossips a hello to every peer each interval (load, addresses) and writes its
///   row through the member recorder (detached); a peer whose link is down AND
///   whose row went stale is declared dead and its leases freed early.
/// - Routes the gateway's nudges: new work pokes the node with the most free
///   capacity; a cancellation pokes every node.
/// - Tells the supervisor to stop claiming while it has neither a peer nor the
///   database (isolated), and to resume when either comes back.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/io/middleman_actor.hpp>

#include "messages/cluster.hpp"
#include "messages/event_bus.hpp"

namespace stagee {

struct membership_settings {
  std::string node;                  // our name (--node-name)
  int32_t capacity = 0;
  bool tls = false;
  std::vector<std::string> seeds;    // HOST:PORT
  int64_t gossip_ms = 1000;          // hello to peers and database heartbeat
  int64_t stale_ms = 3000;           // a row older than this is stale (database clock)
  int64_t reconnect_min_ms = 200;    // backoff after a failed connect: min..max, doubling
  int64_t reconnect_max_ms = 5000;
  int64_t connect_timeout_ms = 5000; // one connect + hello
};

struct membership_peers {
  worker_supervisor_actor supervisor;
  event_bus_actor bus;
  member_recorder_actor recorder;
  caf::io::middleman_actor connector; // the middleman's or the openssl manager's
};

/// One known address and, once it answered, the member behind it.
struct peer_entry {
  enum class link { none, connecting, connected, down };
  member_info info;      // name empty until its first hello
  link state = link::none;
  bool left = false;     // said goodbye (member_leaving)
  bool declared = false; // declared dead in the database during this outage
  int failures = 0;      // consecutive failed connects
  int cut_short = 0;     // handshakes CAF cut at a heartbeat tick, tried again at once
  std::chrono::steady_clock::time_point next_attempt{};
  std::chrono::steady_clock::time_point down_since{};
  int32_t nudges = 0;    // work nudges sent since its last reported load
};

struct membership_state {
  static inline const char* name = "membership";
  membership_settings settings;
  membership_peers peers;
  member_info self_info;
  std::map<std::string, peer_entry> members; // by address
  std::vector<member_row> rows;              // last database heartbeat
  bool started = false;     // our address is known (port open)
  bool beating = false;     // a database heartbeat is in flight
  int db_failures = 0;      // consecutive failed heartbeats
  bool isolated = false;
  int32_t self_nudges = 0;
  size_t rotation = 0;      // tie-break between equally free nodes
  std::vector<caf::actor_addr> told_buses; // the peer buses our bus knows of
};

membership_actor::behavior_type
membership(membership_actor::stateful_pointer<membership_state> self, membership_settings settings,
           membership_peers peers);

/// Splits HOST:PORT; false when it is not one (port 1..65535, host non-empty).
bool split_host_port(const std::string& hostport, std::string& host, uint16_t& port);

} // namespace stagee
