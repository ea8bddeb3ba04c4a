/// Reads of executions for status, wait, restarts and the console.
#pragma once

#include <caf/expected.hpp>

#include "messages/store.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

class read_store {
public:
  explicit read_store(db_session& db);

  /// Status and step runs; not_found when missing (or owned by another tenant).
  caf::expected<status_reply> status(const status_request& req);

  /// Everything needed to restart the execution's actor from its last snapshot.
  caf::expected<stored_execution> load(const std::string& execution_id);

  /// Records a cancellation request (unless one exists or the execution ended) and
  /// returns the execution's cancellation state; not_found when missing.
  caf::expected<cancel_reply> cancel(const cancel_request& req);

  /// Every timeout_policies row.
  caf::expected<std::vector<timeout_policy>> timeout_policies();

  /// Console listings of one tenant (console.sql). Each page holds at most
  /// req.limit rows (clamped to 1..500); `more` says that more matched.
  /// invalid_request names the field of a malformed request.
  caf::expected<execution_list> executions(const execution_list_request& req);
  caf::expected<queue_list> queue(const queue_list_request& req);

  /// The execution's journal, oldest first; not_found when missing (or owned by
  /// another tenant).
  caf::expected<journal_page> journal(const journal_request& req);

  /// Node-wide counts for `stats` (every tenant).
  caf::expected<stagee::node_counts> node_counts(const node_counts_request& req);

private:
  db_session& db_;
};

/// Decodes one row of read_execution / queue_claim (same columns).
caf::expected<stored_execution> stored_execution_from_row(const pqxx::row& row);

} // namespace stagee
