/// Queue pick-up: claim runnable executions with FOR UPDATE SKIP LOCKED and keep
/// their leases alive (R-Q-1; full queue semantics arrive with the queue issue).
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/store.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

class queue_store {
public:
  explicit queue_store(db_session& db);

  /// Claims up to max_count rows (free ones and ones whose lease expired) for node.
  /// Rows whose snapshot cannot be decoded are returned as errors in `broken`.
  caf::expected<std::vector<stored_execution>> claim(const std::string& node,
                                                     int32_t max_count, int64_t lease_ms,
                                                     std::vector<caf::error>* broken);

  /// Extends node's leases that still carry the given fences; returns the ids it
  /// renewed. A requested lease missing from the result is lost.
  caf::expected<std::vector<std::string>> renew(const std::string& node,
                                                const std::vector<lease_ref>& leases,
                                                int64_t lease_ms);

  /// Frees every expired lease (database clock); returns them with their old owners.
  caf::expected<reaped> reap();

  /// Hands leases back to the queue; returns the ids released.
  caf::expected<std::vector<std::string>> release(const std::string& node,
                                                  const std::vector<lease_ref>& leases);

private:
  db_session& db_;
};

} // namespace stagee
