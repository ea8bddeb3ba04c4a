/// The shared queue (R-Q-1..5): claim runnable executions with FOR UPDATE SKIP
/// LOCKED, keep their leases alive, hand them back, reap expired ones, and keep the
/// step-duration statistics that size leases.
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

  /// Claims up to max_count free rows for node, each leased for the length `lease`
  /// gives it (record.lease_ms). Rows whose snapshot cannot be decoded are returned
  /// as errors in `broken`.
  caf::expected<std::vector<stored_execution>> claim(const std::string& node,
                                                     int32_t max_count,
                                                     const lease_sizing& lease,
                                                     std::vector<caf::error>* broken);

  /// Extends node's leases that still carry the given fences, each by its
  /// lease_ms; returns the ids it renewed, and of the others those whose queue row
  /// is gone (the execution ended). Any other requested lease is lost.
  caf::expected<renewed> renew(const std::string& node, const std::vector<lease_ref>& leases);

  /// Recomputes step_duration_stats (p95 per action over the last day, actions with
  /// at least min_samples finished runs); returns how many actions it wrote.
  caf::expected<int32_t> refresh_step_stats(int32_t min_samples);

  /// Frees every expired lease (database clock); returns them with their old owners.
  caf::expected<reaped> reap();

  /// Requested cancellations node must carry out: of executions it holds (owned)
  /// and of free ones, which it claims (claimed, with their requests).
  caf::expected<cancel_batch> cancel_poll(const std::string& node, const lease_sizing& lease,
                                          std::vector<caf::error>* broken);

  /// Hands leases back to the queue; returns the ids released.
  caf::expected<std::vector<std::string>> release(const std::string& node,
                                                  const std::vector<lease_ref>& leases);

private:
  db_session& db_;
};

} // namespace stagee
