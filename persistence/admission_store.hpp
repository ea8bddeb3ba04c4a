/// Admission: inserts new executions in batches; the unique index
/// ux_exec_tenant_idem decides duplicates (R-SUB-3, R-SAFE-1).
#pragma once

#include <vector>

#include <caf/expected.hpp>

#include "messages/store.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

struct admission_settings {
  /// A key older than this is released and may admit a new execution (R-SUB-3).
  int64_t dedup_window_s = 24 * 3600;
};

class admission_store {
public:
  admission_store(db_session& db, admission_settings settings);

  /// Admits a whole batch in one transaction. Element i answers batch[i]: a new
  /// execution, the existing one (duplicate = true), or idempotency_conflict when
  /// the key exists with another plan. The outer error means nothing was written.
  caf::expected<std::vector<caf::expected<admit_reply>>>
  admit(const std::vector<admit_request>& batch);

private:
  db_session& db_;
  admission_settings settings_;
};

} // namespace stagee
