/// Dead-letter queue reads and operator actions (R-Q-4).
#pragma once

#include <caf/expected.hpp>

#include "messages/dlq.hpp"
#include "persistence/db_session.hpp"

namespace stagee {

class dlq_store {
public:
  explicit dlq_store(db_session& db);

  caf::expected<dlq_page> list(const dlq_list_request& req);

  /// The entry with its history; not_found for a missing (or foreign) id.
  caf::expected<dlq_requeue_source> get(const std::string& tenant_id, int64_t id);

  /// Archives (idempotent) and returns the entry.
  caf::expected<dlq_entry> archive(const std::string& tenant_id, int64_t id);

  /// Records the execution a requeue created (and archives the entry).
  caf::expected<dlq_entry> mark_requeued(const std::string& tenant_id, int64_t id,
                                         const std::string& execution_id);

  caf::expected<dlq_summary> summary(const std::string& tenant_id);

private:
  /// The entry after an update that touched `rows` rows (0: not_found).
  caf::expected<dlq_entry> changed_entry(const std::string& tenant_id, int64_t id,
                                         const caf::expected<size_t>& rows);

  db_session& db_;
};

} // namespace stagee
