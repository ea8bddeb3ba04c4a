/// Journal: applies FSM transitions (snapshot, step rows, events, queue release) in
/// batches, one transaction per batch, each guarded by the execution's last seq.
#pragma once

#include <vector>

#include <caf/expected.hpp>

#include "messages/event_bus.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

class journal_store {
public:
  explicit journal_store(db_session& db);

  /// Applies a batch holding at most one entry per execution. Element i is true when
  /// batch[i] was applied, false when its guard failed (another owner journaled
  /// first: owner_lost). The outer error means nothing was written.
  caf::expected<std::vector<bool>> append(const std::vector<journal_append>& batch);

  /// Stored events of an execution with seq > after_seq, in order, at most limit.
  caf::expected<std::vector<execution_event>>
  events_after(const std::string& execution_id, int64_t after_seq, int32_t limit);

private:
  db_session& db_;
};

} // namespace stagee
