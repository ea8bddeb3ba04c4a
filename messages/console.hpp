/// Console protocol (R-IF-4): what `stagee console` asks a node's gateway, and how
/// the node's inspector learns about its live actors.
///
/// CAF 0.17 cannot list the actors of a system, so every node keeps its own
/// registry: the spawner of each long-lived actor (and the worker-supervisor, for
/// every execution actor) registers it with the node's inspector, which monitors
/// it and forgets it when it goes down. Every registered actor answers
/// `inspect_atom` with an actor_probe about itself (its state in a word, its
/// mailbox size read from inside, a few details), so a busy actor answers late and
/// the console says so.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/execution.hpp"

namespace stagee {

using inspect_atom = caf::atom_constant<caf::atom("inspect")>;

/// One execution as an actor on this node sees it. Another tenant's execution is
/// sent with `hidden` set and every identifying field empty.
struct execution_probe {
  std::string execution_id;
  std::string tenant_id;
  execution_status status = execution_status::pending;
  std::string step;            // name of the step running now (empty: none)
  int32_t step_index = -1;
  std::string target;
  int32_t attempt = 0;
  int64_t fence = 0;           // the owner's fencing token
  int64_t lease_expires_in_ms = 0; // the supervisor's view (0: unknown)
  bool immediate = false;
  bool hidden = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_probe& x) {
  return f(caf::meta::type_name("execution_probe"), x.execution_id, x.tenant_id, x.status,
           x.step, x.step_index, x.target, x.attempt, x.fence, x.lease_expires_in_ms,
           x.immediate, x.hidden);
}

/// What a registered actor says about itself.
struct actor_probe {
  std::string state;                          // one or two words: idle, busy, draining...
  int64_t mailbox = 0;                        // messages waiting behind the probe
  std::map<std::string, std::string> details; // short facts, for `actor ID`
  std::vector<execution_probe> executions;    // an execution: itself; the supervisor: its children
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_probe& x) {
  return f(caf::meta::type_name("actor_probe"), x.state, x.mailbox, x.details, x.executions);
}

/// Every registered actor handles this (append it to its typed interface).
using inspect_handler = caf::replies_to<inspect_atom>::with<actor_probe>;
using inspectable_actor = caf::typed_actor<inspect_handler>;

/// Registration of a live actor with the node's inspector. The handle's type makes
/// the compiler check that the actor answers inspect_atom.
struct actor_registration {
  std::string kind;  // gateway, lock-manager, execution, reader, ...
  std::string name;  // unique on the node: "reader-2", an execution id
  inspectable_actor handle;
  std::string tenant_id; // an execution actor's tenant; empty for the node's own actors
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_registration& x) {
  return f(caf::meta::type_name("actor_registration"), x.kind, x.name, x.handle, x.tenant_id);
}

/// One actor as the console shows it.
struct actor_view {
  int64_t id = 0;        // CAF actor id, unique on its node
  std::string kind;
  std::string name;
  int64_t age_ms = 0;
  bool answered = false; // false: no probe reply within the inspector's deadline
  actor_probe probe;
  // An execution actor's tenant as registered (known whether or not it answers),
  // for redaction; empty for the node's own actors and once withheld.
  std::string tenant_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_view& x) {
  return f(caf::meta::type_name("actor_view"), x.id, x.kind, x.name, x.age_ms, x.answered,
           x.probe, x.tenant_id);
}

/// `actors [--kind K]`: this node and its registered actors. tenant_id is set by
/// the gateway from the caller (another tenant's executions are hidden).
struct node_inspect_request {
  std::string tenant_id;
  std::string kind; // empty: every kind
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_inspect_request& x) {
  return f(caf::meta::type_name("node_inspect_request"), x.tenant_id, x.kind);
}

struct node_inspection {
  std::string node;
  std::string node_id;            // CAF node id
  int64_t uptime_ms = 0;
  int32_t capacity = 0;
  int32_t load = 0;               // background executions running
  int32_t scheduler_threads = 0;  // CAF worker threads (detached actors have their own)
  int64_t caf_running_actors = 0; // CAF's count of every running actor (ours and its own)
  std::vector<actor_view> actors;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_inspection& x) {
  return f(caf::meta::type_name("node_inspection"), x.node, x.node_id, x.uptime_ms,
           x.capacity, x.load, x.scheduler_threads, x.caf_running_actors, x.actors);
}

/// `actor ID`: one actor by CAF id.
struct actor_inspect_request {
  std::string tenant_id;
  int64_t id = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_inspect_request& x) {
  return f(caf::meta::type_name("actor_inspect_request"), x.tenant_id, x.id);
}

/// `timers`: the timeout-scheduler's armed deadlines on this node.
struct timers_request {
  std::string tenant_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, timers_request& x) {
  return f(caf::meta::type_name("timers_request"), x.tenant_id);
}

struct timer_view {
  std::string execution_id; // empty when hidden (another tenant's)
  std::string kind;         // "execution deadline"
  int64_t due_in_ms = 0;
  bool hidden = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, timer_view& x) {
  return f(caf::meta::type_name("timer_view"), x.execution_id, x.kind, x.due_in_ms, x.hidden);
}

struct timer_list {
  std::string node;
  std::vector<timer_view> timers;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, timer_list& x) {
  return f(caf::meta::type_name("timer_list"), x.node, x.timers);
}

/// `stats`: this node's figures.
struct node_stats_request {
  std::string tenant_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_stats_request& x) {
  return f(caf::meta::type_name("node_stats_request"), x.tenant_id);
}

struct node_stats {
  std::string node;
  int32_t running = 0;         // background executions running here (against capacity)
  int32_t capacity = 0;
  int64_t finished_10s = 0;    // executions that ended here in the last 10 s ...
  int64_t finished_60s = 0;    // ... and 60 s
  int64_t finished_total = 0;  // since the node started
  int64_t queue_depth = -1;    // queued and not yet claimed, every tenant (-1: database unavailable)
  int64_t locks_held = -1;     // per-asset locks held by this node's executions
  int64_t mailbox_max = 0;     // largest mailbox of a registered actor ...
  std::string mailbox_max_actor; // ... and whose ("kind name")
  int32_t actors = 0;          // registered actors
  int32_t unanswered = 0;      // actors that did not answer the probe in time
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_stats& x) {
  return f(caf::meta::type_name("node_stats"), x.node, x.running, x.capacity, x.finished_10s,
           x.finished_60s, x.finished_total, x.queue_depth, x.locks_held, x.mailbox_max,
           x.mailbox_max_actor, x.actors, x.unanswered);
}

/// The inspector: one per node, local; the gateway authorizes and delegates to it.
using inspector_actor = caf::typed_actor<
  // A live actor to list (the inspector monitors it).
  caf::reacts_to<actor_registration>,
  caf::replies_to<node_inspect_request>::with<node_inspection>,
  caf::replies_to<actor_inspect_request>::with<actor_view>,
  caf::replies_to<timers_request>::with<timer_list>,
  caf::replies_to<node_stats_request>::with<node_stats>>;

// -- database listings (answered by a reader) ------------------------------------

/// `executions [--status S] [--tenant T] [--node N]`: newest first. tenant_id is the
/// caller's (set by the gateway); the console's --tenant must match it.
struct execution_list_request {
  std::string tenant_id;
  std::string status; // empty: every status; "active": not terminal
  std::string node;   // worker_id (empty: any)
  int32_t limit = 50;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_list_request& x) {
  return f(caf::meta::type_name("execution_list_request"), x.tenant_id, x.status, x.node,
           x.limit);
}

struct execution_row {
  std::string execution_id;
  std::string tenant_id;
  std::string plan_name;
  execution_status status = execution_status::pending;
  execution_mode mode = execution_mode::immediate;
  std::string node;       // worker_id: the node that last journaled for it
  std::string step;       // the step running now, else the last one that ran
  int32_t step_index = -1;
  std::string target;
  int64_t fence = 0;      // the queue row's (0: not queued or claimed)
  std::string lease_owner;
  std::string lease_expires_at; // ISO 8601 UTC (empty: no lease)
  std::string created_at;
  std::string updated_at;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_row& x) {
  return f(caf::meta::type_name("execution_row"), x.execution_id, x.tenant_id, x.plan_name,
           x.status, x.mode, x.node, x.step, x.step_index, x.target, x.fence, x.lease_owner,
           x.lease_expires_at, x.created_at, x.updated_at);
}

struct execution_list {
  std::vector<execution_row> rows;
  bool more = false; // more rows matched than the limit
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_list& x) {
  return f(caf::meta::type_name("execution_list"), x.rows, x.more);
}

/// `queue [--priority P]`: queue rows of the caller's tenant, claim order.
struct queue_list_request {
  std::string tenant_id;
  int32_t priority = -1; // -1: any
  int32_t limit = 50;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_list_request& x) {
  return f(caf::meta::type_name("queue_list_request"), x.tenant_id, x.priority, x.limit);
}

struct queue_row {
  std::string execution_id;
  int32_t priority = 50;
  execution_status status = execution_status::pending;
  std::string enqueued_at;
  std::string visible_at;       // not claimable before
  std::string lease_owner;      // empty: free
  std::string lease_expires_at;
  int64_t fence = 0;
  int32_t attempts = 0;
  std::string blocked_by;       // lock it waits for
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_row& x) {
  return f(caf::meta::type_name("queue_row"), x.execution_id, x.priority, x.status,
           x.enqueued_at, x.visible_at, x.lease_owner, x.lease_expires_at, x.fence, x.attempts,
           x.blocked_by);
}

struct queue_list {
  std::vector<queue_row> rows;
  bool more = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_list& x) {
  return f(caf::meta::type_name("queue_list"), x.rows, x.more);
}

/// `show ID`: the execution's latest `limit` journaled transitions, oldest first
/// (`more`: earlier ones exist; `tail ID` replays them all).
struct journal_request {
  std::string tenant_id;
  std::string execution_id;
  int32_t limit = 200;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_request& x) {
  return f(caf::meta::type_name("journal_request"), x.tenant_id, x.execution_id, x.limit);
}

struct journal_page {
  std::vector<execution_event> events;
  bool more = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_page& x) {
  return f(caf::meta::type_name("journal_page"), x.events, x.more);
}

/// Node-wide counts for `stats` (every tenant; numbers only).
struct node_counts_request {
  std::string node;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_counts_request& x) {
  return f(caf::meta::type_name("node_counts_request"), x.node);
}

struct node_counts {
  int64_t queue_depth = 0; // queue rows nobody holds
  int64_t locks_held = 0;  // locks whose owner_node is the node
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_counts& x) {
  return f(caf::meta::type_name("node_counts"), x.queue_depth, x.locks_held);
}

} // namespace stagee
