/// Dead-letter queue protocol (R-Q-4): operators list, inspect, requeue and archive
/// failed executions through the gateway (`stagee dlq ...`). Every request is
/// tenant-scoped when tenant_id is set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include "messages/console.hpp"

namespace stagee {

struct dlq_entry {
  int64_t id = 0;
  std::string execution_id;
  std::string tenant_id;
  std::string action;
  std::string error_class;
  std::string failure_reason;
  int32_t attempts = 0;
  std::string moved_at;     // ISO 8601, database clock
  std::string archived_at;  // "" while open
  std::string requeued_as;  // execution created by a requeue, "" if none
  std::string history_json; // step_finished payloads (filled by show only)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_entry& x) {
  return f(caf::meta::type_name("dlq_entry"), x.id, x.execution_id, x.tenant_id, x.action,
           x.error_class, x.failure_reason, x.attempts, x.moved_at, x.archived_at,
           x.requeued_as, x.history_json);
}

/// Newest first; page with after_id = the last id of the previous page.
struct dlq_list_request {
  std::string tenant_id;
  std::string action;       // filter, "" = any
  std::string error_class;  // filter, "" = any
  bool include_archived = false;
  int64_t before_id = 0;    // 0 = from the newest
  int32_t limit = 50;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_list_request& x) {
  return f(caf::meta::type_name("dlq_list_request"), x.tenant_id, x.action, x.error_class,
           x.include_archived, x.before_id, x.limit);
}

struct dlq_page {
  std::vector<dlq_entry> entries;
  int64_t next_before_id = 0; // 0 = no more
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_page& x) {
  return f(caf::meta::type_name("dlq_page"), x.entries, x.next_before_id);
}

enum class dlq_op : uint8_t { show, archive, mark_requeued };

/// One entry: show it, archive it, or record the execution a requeue created
/// (execution_id; also archives the entry).
struct dlq_entry_request {
  dlq_op op = dlq_op::show;
  std::string tenant_id;
  int64_t id = 0;
  std::string execution_id; // mark_requeued only
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_entry_request& x) {
  return f(caf::meta::type_name("dlq_entry_request"), x.op, x.tenant_id, x.id,
           x.execution_id);
}

/// Ask for what a requeue needs to submit the plan again.
struct dlq_source_request {
  std::string tenant_id;
  int64_t id = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_source_request& x) {
  return f(caf::meta::type_name("dlq_source_request"), x.tenant_id, x.id);
}

struct dlq_requeue_source {
  dlq_entry entry;
  std::string actor_id;
  std::string idempotency_key;
  std::string plan_json;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_requeue_source& x) {
  return f(caf::meta::type_name("dlq_requeue_source"), x.entry, x.actor_id,
           x.idempotency_key, x.plan_json);
}

struct dlq_summary_request {
  std::string tenant_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_summary_request& x) {
  return f(caf::meta::type_name("dlq_summary_request"), x.tenant_id);
}

struct dlq_summary_row {
  std::string error_class;
  std::string failure_reason; // the most recent one of the class
  int64_t count = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_summary_row& x) {
  return f(caf::meta::type_name("dlq_summary_row"), x.error_class, x.failure_reason, x.count);
}

struct dlq_summary {
  int64_t open = 0; // entries not archived (the DLQ size)
  std::vector<dlq_summary_row> by_error_class;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_summary& x) {
  return f(caf::meta::type_name("dlq_summary"), x.open, x.by_error_class);
}

/// Operator request to requeue a DLQ entry: a new execution of the same frozen
/// plan, fresh attempt counts; the old execution and its history stay.
struct dlq_requeue_request {
  std::string tenant_id;
  int64_t id = 0;
  std::string principal;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dlq_requeue_request& x) {
  return f(caf::meta::type_name("dlq_requeue_request"), x.tenant_id, x.id, x.principal);
}

using dlq_actor = caf::typed_actor<
  caf::replies_to<dlq_list_request>::with<dlq_page>,
  caf::replies_to<dlq_entry_request>::with<dlq_entry>,
  caf::replies_to<dlq_source_request>::with<dlq_requeue_source>,
  caf::replies_to<dlq_summary_request>::with<dlq_summary>,
  // What it is doing now, for the console (docs/console.md).
  inspect_handler>;

} // namespace stagee
