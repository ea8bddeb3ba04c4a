/// The SQL embedded from persistence/migrations and persistence/queries.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace stagee::sql {

struct embedded_file {
  const char* name; // file name, e.g. "0001_initial_schema.up.sql"
  const char* text;
};

/// Generated (cmake/embed_sql.cmake).
const std::vector<embedded_file>& embedded_migrations();
const std::vector<embedded_file>& embedded_queries();

struct migration {
  int version = 0;
  std::string name; // slug, e.g. "initial_schema"
  std::string up;
  std::string down;
};

/// Migrations ordered by version (NNNN_slug.up.sql / NNNN_slug.down.sql pairs).
const std::vector<migration>& migrations();

/// Named statements: every "-- name: x" block of every query file, by name.
const std::map<std::string, std::string>& statements();

} // namespace stagee::sql
