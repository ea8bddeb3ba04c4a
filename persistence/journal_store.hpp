/// Journal: applies FSM transitions (snapshot, step rows, events, queue release) in
/// batches, one transaction per batch, each guarded by the execution's last seq.
#pragma once

#include <vector>

#include <caf/expected.hpp>

#include "messages/event_bus.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

/// What happened to one entry of a batch.
struct journal_outcome {
  bool applied = false;            // false: its guard failed (owner_lost)
  std::string cancel_requested_by; // the execution's pending cancellation request
  std::string cancel_reason;
  std::string rbac_denied;         // a run starts but the submitter lost the permission
  std::string approval_needed;     // level 3: the starting step is not approved
};

class journal_store {
public:
  explicit journal_store(db_session& db);

  /// Applies a batch holding at most one entry per execution. Element i says whether
  /// batch[i] was applied (not: its guard failed, another owner journaled first:
  /// owner_lost) and carries the execution's pending cancellation request. Terminal
  /// entries leave the queue and release their locks in the same transaction. The
  /// outer error means nothing was written.
  caf::expected<std::vector<journal_outcome>> append(const std::vector<journal_append>& batch);

  /// Stored events of an execution with seq > after_seq, in order, at most limit.
  caf::expected<std::vector<execution_event>>
  events_after(const std::string& execution_id, int64_t after_seq, int32_t limit);

private:
  db_session& db_;
};

/// Decodes rows of events_after / console_journal (execution_id, seq, kind, payload).
caf::expected<std::vector<execution_event>> events_from_rows(const pqxx::result& rows);

} // namespace stagee
