/// Structured logging: one spdlog logger per subsystem, JSON lines.
///
/// Every line is one JSON object: {"ts","level","logger","msg", ...fields}. Fields come
/// from a log_context (execution context, R-OBS-1) and/or ad-hoc key/values; they are
/// JSON-encoded, never spliced into the message text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace stagee::logging {

struct settings {
  std::string level = "info"; // trace|debug|info|warn|error|off
  std::string file;           // also append to this file when set
  bool to_stderr = true;
};

/// Creates the subsystem loggers. Call once at process start; safe to call again.
void init(const settings& s);

/// Logger of a subsystem: "node", "gateway", "exec", "queue", "db", "bus", "executor",
/// "cli". Unknown names get a logger created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& subsystem);

/// Execution context attached to every log line about an execution (R-OBS-1).
/// Empty strings and negative numbers are left out of the line.
struct log_context {
  log_context() {} // not an aggregate: keeps write(lg, lvl, msg, {{k, v}}) unambiguous

  std::string request_id;
  std::string plan_hash;
  std::string exec_id;
  std::string actor_id;
  std::string tenant_id;
  std::string action;
  std::vector<std::string> targets;
  int32_t approval_level = -1;
  std::string status;
  std::string error_class;
  int64_t duration_ms = -1;
  int64_t retries_total = -1;
  int64_t queue_wait_ms = -1;
  std::string worker_id;
  int64_t lease_renewals = -1;
  int64_t cancel_checks_performed = -1;
  std::string step;
  std::string target;

  nlohmann::json to_json() const;
};

/// Writes one JSON line: msg plus the context fields plus extra fields.
void write(spdlog::logger& lg, spdlog::level::level_enum lvl, const std::string& msg,
           const nlohmann::json& fields = nlohmann::json::object());
void write(spdlog::logger& lg, spdlog::level::level_enum lvl, const std::string& msg,
           const log_context& ctx,
           const nlohmann::json& extra = nlohmann::json::object());

} // namespace stagee::logging
