/// Approval rows and the transitions of executions waiting for approval (R-SAFE-8;
/// SQL in queries/approvals.sql, migration 0007). Nobody holds a waiting execution
/// (it has no queue row), so these writes are guarded by the event seq and the
/// status instead of a lease.
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/approvals.hpp"
#include "messages/execution.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

/// One row of `approvals`.
struct approval_row {
  std::string execution_id;
  int32_t level = 0;
  std::string step;      // level 3
  std::string state;     // approved | rejected | invalidated
  std::string plan_hash; // what the approver reviewed
  caller who;
  std::string reason;
};

/// A decision's transition: the snapshot after it, its events, and whether the
/// execution becomes claimable (approved: a free queue row).
struct decision_write {
  std::string tenant_id;
  int64_t expected_seq = 0;
  execution_snapshot next;
  std::vector<execution_event> events;
  bool enqueue = false;
  int32_t priority = 50;
  approval_row row; // empty execution_id: no row (a cancel)
};

struct approval_policy {
  std::string action_class;
  std::string environment;
  int32_t level = 0;
};

class approval_store {
public:
  explicit approval_store(db_session& db);

  caf::expected<int32_t> execution_level(const std::string& execution_id);
  /// Records an approval row on its own (an invalidated attempt).
  caf::expected<void> record(const approval_row& row);
  /// Applies a decision in one transaction: status, snapshot, events, approval row,
  /// queue row. Returns false when the execution moved on (read it again).
  caf::expected<bool> decide(const decision_write& w);
  caf::expected<bool> step_approved(const std::string& execution_id, const std::string& step);

  caf::expected<std::vector<approval_policy>> policies();
  caf::expected<void> set_policy(const approval_policy& p);

private:
  db_session& db_;
};

} // namespace stagee
