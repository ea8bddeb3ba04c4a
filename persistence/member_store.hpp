/// Cluster membership rows (R-CL-1): heartbeats and early expiry of dead members.
/// Used by the member recorder (detached).
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/cluster.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

class member_store {
public:
  explicit member_store(db_session& db);

  /// Writes our row (last_seen = now() by the database clock).
  caf::expected<bool> heartbeat(const member_info& self);

  /// Every row; with_holdings also counts leases and locks per member.
  caf::expected<std::vector<member_row>> list(bool with_holdings);

  /// Declares `name` dead if its heartbeat is older than stale_ms and frees its
  /// leases and locks, in one transaction. Empty when it is not stale.
  caf::expected<std::vector<member_expired>> declare_dead(const std::string& name,
                                                          int64_t stale_ms,
                                                          const std::string& by);


private:
  db_session& db_;
};

} // namespace stagee
