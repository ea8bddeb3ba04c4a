/// Cluster protocol (R-CL-1..4): how nodes find each other, tell each other their
/// load, notice a dead peer and record the membership in PostgreSQL.
///
/// Every node runs one membership actor. A joining node connects to a seed's
/// gateway port (CAF middleman, or TLS) and sends member_hello through the gateway;
/// the reply is the seed's own hello with every address it knows. Peers then talk
/// membership-to-membership: a hello every gossip interval (load, known addresses),
/// a monitor on each peer's membership actor (CAF heartbeats turn a dead or frozen
/// peer into a down_msg) and member_leaving on a graceful stop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/console.hpp"
#include "messages/worker.hpp"

namespace stagee {


/// What a node says about itself, with handles of its local actors. The membership
/// and event-bus handles are untyped here: the membership interface carries this
/// struct itself, and the bus protocol includes the gateway's, which includes this
/// header (cast them with actor_cast at the point of use).
struct member_info {
  std::string name;        // --node-name: the lease owner in PostgreSQL, stable over restarts
  std::string node_id;     // CAF node id of this incarnation (host hash#pid)
  std::string address;     // HOST:PORT of its gateway port (what --seeds lists)
  int32_t capacity = 0;    // background executions at once
  int32_t load = 0;        // background executions running now
  int64_t started_at_ms = 0; // Unix ms
  std::string state = "up"; // up | draining | left (after a graceful stop)
  bool tls = false;
  caf::strong_actor_ptr membership; // membership_actor
  caf::strong_actor_ptr bus;        // event_bus_actor
  worker_supervisor_actor supervisor;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("member_info"), x.name, x.node_id, x.address, x.capacity,
           x.load, x.started_at_ms, x.state, x.tls, x.membership, x.bus, x.supervisor);
}

/// Join or gossip: the sender's info and every member address it knows. Answered
/// with the receiver's own hello.
struct member_hello {
  member_info from;
  std::vector<std::string> known; // HOST:PORT of every member the sender knows
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_hello& x) {
  return f(caf::meta::type_name("member_hello"), x.from, x.known);
}

/// A node stops on purpose (SIGTERM, drained): peers mark it left at once.
struct member_leaving {
  std::string name;
  std::string node_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_leaving& x) {
  return f(caf::meta::type_name("member_leaving"), x.name, x.node_id);
}

/// `stagee cluster status` (gateway; any caller with view in its tenant).
struct cluster_status_request {
  std::string tenant_id; // filled by the gateway from the caller
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_status_request& x) {
  return f(caf::meta::type_name("cluster_status_request"), x.tenant_id);
}

/// One member as the answering node sees it, joined with its PostgreSQL row.
struct member_status {
  std::string name;
  std::string node_id;
  std::string address;
  std::string state;        // up | draining | down | left | dead
  std::string link;         // self | connected | connecting | down | none
  int32_t capacity = 0;
  int32_t load = 0;
  int64_t leases_held = 0;  // queue leases owned by this name (database)
  int64_t locks_held = 0;   // asset locks owned by this name (database)
  std::string started_at;   // ISO 8601 UTC
  int64_t last_seen_ms = -1; // since its last database heartbeat; -1: no row
  bool tls = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_status& x) {
  return f(caf::meta::type_name("member_status"), x.name, x.node_id, x.address, x.state, x.link,
           x.capacity, x.load, x.leases_held, x.locks_held, x.started_at, x.last_seen_ms, x.tls);
}

struct cluster_status {
  std::string node;                    // the answering node
  std::vector<member_status> members;  // sorted by name
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_status& x) {
  return f(caf::meta::type_name("cluster_status"), x.node, x.members);
}

/// One row of cluster_members (the recorder's answer to a heartbeat).
struct member_row {
  std::string name;
  std::string node_id;
  std::string address;
  std::string state;
  int32_t capacity = 0;
  int32_t load = 0;
  std::string started_at;
  int64_t last_seen_ms = 0;
  bool tls = false;
  int64_t leases_held = 0; // filled only for status requests
  int64_t locks_held = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_row& x) {
  return f(caf::meta::type_name("member_row"), x.name, x.node_id, x.address, x.state,
           x.capacity, x.load, x.started_at, x.last_seen_ms, x.tls, x.leases_held,
           x.locks_held);
}

/// The membership actor's periodic database heartbeat: write our row; expire early
/// the leases of members whose link is down AND whose own heartbeat is older than
/// stale_ms by the database clock ("known dead": see docs/cluster.md).
struct member_heartbeat {
  member_info self;
  std::vector<std::string> link_down; // names of members we cannot reach over CAF
  int64_t stale_ms = 0;
  bool with_leases = false;           // also count leases and locks per member
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_heartbeat& x) {
  return f(caf::meta::type_name("member_heartbeat"), x.self, x.link_down, x.stale_ms,
           x.with_leases);
}

/// A member declared dead in the database and what was freed.
struct member_expired {
  std::string name;
  int64_t leases_freed = 0;
  int64_t locks_freed = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_expired& x) {
  return f(caf::meta::type_name("member_expired"), x.name, x.leases_freed, x.locks_freed);
}

struct member_rows {
  std::vector<member_row> rows;
  std::vector<member_expired> expired;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_rows& x) {
  return f(caf::meta::type_name("member_rows"), x.rows, x.expired);
}

/// The membership actor. Local callers: the gateway (hello, status, nudges).
using membership_actor = caf::typed_actor<
  // A node joins or gossips; the answer is our own hello.
  caf::replies_to<member_hello>::with<member_hello>,
  // A peer stops on purpose.
  caf::reacts_to<member_leaving>,
  // Members, their state and load (joined with the database rows).
  caf::replies_to<cluster_status_request>::with<cluster_status>,
  // Work was enqueued: poke the supervisor of the node with the most free capacity.
  caf::reacts_to<poll_atom>,
  // A cancellation was recorded: every node's supervisor looks for it now.
  caf::reacts_to<cancel_atom>,
  // Our gateway port is open: this is our address; start joining.
  caf::reacts_to<caf::put_atom, std::string>,
  // Graceful shutdown begins: tell the peers, mark the row draining (the name stays
  // taken while running steps finish); replies when written.
  caf::replies_to<drain_atom>::with<bool>,
  // Graceful shutdown done: mark the row left; replies when written.
  caf::replies_to<caf::close_atom>::with<bool>,
  // Internal timer: gossip, database heartbeat, reconnects.
  caf::reacts_to<caf::tick_atom>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

/// Detached: the membership's blocking database work.
using member_recorder_actor = caf::typed_actor<
  caf::replies_to<member_heartbeat>::with<member_rows>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

} // namespace stagee
