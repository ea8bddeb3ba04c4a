/// Error codes of Stage E, shared by every protocol (category "stagee").
///
/// Errors travel as caf::error. Their context is (field, message): `field` names the
/// offending input where one applies (e.g. "steps[1].command"), `message` says what
/// is wrong and what to do. Use make_stagee_error() to build them.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace stagee {

enum class stagee_errc : uint8_t {
  no_error = 0,
  invalid_plan,        // plan JSON malformed or fails validation (field names the culprit)
  plan_too_large,      // plan bigger than the configured byte limit
  invalid_request,     // request fields (tenant, principal, key, ids) are malformed
  not_found,           // no such execution (for this tenant)
  db_unavailable,      // PostgreSQL cannot be reached; retry later
  idempotency_conflict,// client key reused with a different plan
  illegal_transition,  // the execution FSM refused an event
  owner_lost,          // a guarded write matched 0 rows: another owner took over
  deadline_exceeded,   // a wait or immediate run hit its deadline
  shutting_down,       // the node is stopping and accepts no new work
  internal,            // a bug: report it
  resource_busy,       // a target's lock is held by another execution (immediate submit)
  invalid_token,       // no credential, or a token that fails verification (says why)
  permission_denied,   // authenticated, but no role grants the permission (RBAC)
  secret_unavailable,  // a referenced secret is in neither the store nor the secret directory
  approval_invalidated,// the approver reviewed another plan (plan_hash differs): review again
  invalid_state,       // the execution is not in a state the request applies to (names it)
};

} // namespace stagee

CAF_ERROR_CODE_ENUM(stagee::stagee_errc, "stagee")

namespace stagee {

/// Stable snake_case name of an error code (used in JSON `error.code`).
std::string to_string(stagee_errc x);

/// Parses a name produced by to_string(); returns false for unknown names.
bool from_string(const std::string& name, stagee_errc& out);

/// Builds an error with the (field, message) context every Stage E error carries.
caf::error make_stagee_error(stagee_errc code, std::string field, std::string message);

/// Extracts (field, message) from an error built by make_stagee_error().
struct error_detail {
  std::string code;
  std::string field;
  std::string message;
};
error_detail describe(const caf::error& err);

} // namespace stagee
