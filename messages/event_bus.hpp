/// Event-bus protocol: execution actors journal their transitions here; the bus
/// commits them in batches (one transaction per batch) and then forwards the events
/// to subscribers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/console.hpp"
#include "messages/execution.hpp"
#include "messages/gateway.hpp"

namespace stagee {

using flush_atom = caf::atom_constant<caf::atom("flush")>;
using catchup_atom = caf::atom_constant<caf::atom("catchup")>;

/// One FSM transition to make durable: the snapshot after it, the step rows it
/// changed, captured outputs and its events. Applied only if the execution's last
/// committed seq still equals expected_seq and (node, fence) still hold its queue
/// lease; otherwise nothing is written and the writer gets owner_lost.
struct journal_append {
  std::string node;              // worker_id recorded on the execution row; lease owner
  int64_t fence = 0;             // the writer's fencing token: must match the queue row
  int64_t expected_seq = 0;
  execution_snapshot snapshot;
  std::vector<int32_t> changed_runs;
  std::vector<step_output> outputs;
  std::vector<execution_event> events;
  bool cancel_check = false; // a run starts: count a cancellation check (R-SAFE-6)
  bool locking = false;      // its plan takes per-asset locks: release them when terminal
  std::string starting_step; // a run starts: its step (level 3 checks its approval)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_append& x) {
  return f(caf::meta::type_name("journal_append"), x.node, x.fence, x.expected_seq, x.snapshot,
           x.changed_runs, x.outputs, x.events, x.cancel_check, x.locking, x.starting_step);
}

/// A committed write, with the execution's pending cancellation request, if any
/// (read in the same transaction: the check between steps).
struct journal_committed {
  std::string execution_id;
  int64_t last_seq = 0;
  std::string cancel_requested_by; // empty: no cancellation requested
  std::string cancel_reason;
  std::string rbac_denied; // a run starts but the submitter lost the permission (R-SAFE-3)
  std::string approval_needed; // level 3: the starting run's step is not approved yet
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_committed& x) {
  return f(caf::meta::type_name("journal_committed"), x.execution_id, x.last_seq,
           x.cancel_requested_by, x.cancel_reason, x.rbac_denied, x.approval_needed);
}

/// Node to node (R-CL-4): the sending node's bus has subscribers for this execution;
/// whichever node commits its events forwards them there. Renewed while the
/// subscription lasts; forgotten after the execution ends, the sender's bus goes
/// away, or the interest is not renewed in time.
struct remote_interest {
  std::string execution_id;
  caf::strong_actor_ptr bus; // the interested event_bus_actor
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_interest& x) {
  return f(caf::meta::type_name("remote_interest"), x.execution_id, x.bus);
}

/// From the membership: the event buses of the peers connected now.
struct peer_buses {
  std::vector<caf::strong_actor_ptr> buses;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_buses& x) {
  return f(caf::meta::type_name("peer_buses"), x.buses);
}

using event_bus_actor = caf::typed_actor<
  // Durably append a transition; replies after COMMIT.
  caf::replies_to<journal_append>::with<journal_committed>,
  // Replay stored events after a seq, then forward live ones.
  caf::replies_to<subscribe_request>::with<subscribed>,
  // Internal: the bus sends this to itself to close a batch.
  caf::reacts_to<flush_atom>,
  // From a peer's bus: an event committed there, for our subscribers (in order,
  // gaps filled from the journal).
  caf::reacts_to<execution_event>,
  // From a peer's bus: forward the events of this execution there.
  caf::reacts_to<remote_interest>,
  // From the membership: who to tell about our subscriptions.
  caf::reacts_to<peer_buses>,
  // Internal timer: catch idle subscriptions up from the journal, renew interests.
  caf::reacts_to<catchup_atom>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

} // namespace stagee
