/// Versioned schema migrations (persistence/migrations/NNNN_slug.{up,down}.sql).
///
/// Safe when several nodes start at once: every migration runs in its own
/// transaction that first takes a transaction-scoped advisory lock, then re-reads
/// schema_migrations, so each version is applied exactly once.
#pragma once

#include <string>

#include <caf/expected.hpp>

#include "persistence/db_session.hpp"

namespace stagee {

/// Applies every pending migration; returns how many were applied.
caf::expected<int> migrate_up(db_session& db);

/// Reverts every applied migration, newest first (tests); returns how many.
caf::expected<int> migrate_down_all(db_session& db);

/// Highest applied version (0 on an empty database).
caf::expected<int> schema_version(db_session& db);

} // namespace stagee
