/// Plan codec: parses, validates and normalizes submitted plan JSON (R-SUB-1, R-PROD-1),
/// serializes the canonical form and its hash (R-SUB-2), derives idempotency keys
/// (R-SUB-3) and decides the execution mode (R-SUB-4).
///
/// Pure functions: no actors, no I/O, no exceptions escaping (parse failures come back
/// as plan_error values). Used by the gateway; every other actor only sees `plan`.
///
/// Canonical JSON (what plan_hash covers and what is stored as the plan snapshot):
/// every object key sorted, no whitespace, plan and step target lists sorted, each step
/// listing its *effective* targets, defaults filled in (`priority`, `targets`,
/// `command`, `idempotent`). Fields whose "unset" value is not a legal input value are
/// omitted when unset: `runbook_url` when empty, a step's `timeout_ms` when 0. Hence
/// parse_plan(canonical_json(p)) accepts the document and reproduces the same plan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "messages/execution.hpp"
#include "messages/gateway.hpp"
#include "messages/plan.hpp"

namespace stagee {

/// Upper bounds applied while parsing; every violation is a plan_error naming the field.
struct plan_limits {
  size_t max_bytes = 1 << 20; ///< whole document, checked before parsing
  size_t max_steps = 256;
  size_t max_targets = 1024;  ///< per target list
  size_t max_argv = 256;      ///< entries of one step's command
  size_t max_string = 4096;   ///< bytes of any single string (argv entry, runbook_url...)
};

/// Why a plan was refused.
struct plan_error {
  std::string field;      ///< e.g. "steps[1].command[0]", "targets[3]"; "" for the whole document
  std::string message;    ///< what is wrong, e.g. "expected an integer 0..100, got string"
  bool too_large = false; ///< the size check failed: map to stagee_errc::plan_too_large
};

/// A validated, normalized plan with its canonical serialization and hash.
struct parsed_plan {
  plan value;
  std::string canonical_json;
  std::string plan_hash; ///< sha256_hex(canonical_json)
};

/// Either the parsed plan or the first error found (checks run in document-schema order).
using plan_result = std::variant<parsed_plan, plan_error>;

/// Parses and validates a plan document, then normalizes it (sorted targets, effective
/// step targets, defaults). The size limit is checked before any parsing; malformed
/// JSON, duplicate keys, unknown fields, wrong types and hostile strings are refused.
/// @param json the raw plan document.
/// @param limits size bounds.
/// @returns parsed_plan, or plan_error (with `too_large` set for the size check).
plan_result parse_plan(std::string_view json, const plan_limits& limits = {});

/// Deterministic serialization of `p` (see the file comment): sorted keys, sorted
/// target lists, no whitespace. Invalid UTF-8 is replaced by U+FFFD, never thrown.
std::string canonical_json(const plan& p);

/// SHA-256 of `data` as 64 lowercase hex digits (OpenSSL EVP); "" if OpenSSL fails.
std::string sha256_hex(std::string_view data);

/// Idempotency key of a submit without a client key (R-SUB-3):
/// sha256_hex(canonical + tenant_id + actor_id). Keys are unique per tenant only
/// (index ux_exec_tenant_idem), so the same plan from two tenants never collides.
std::string derive_idempotency_key(const std::string& canonical, const std::string& tenant_id,
                                   const std::string& actor_id);

/// Expected duration: for each step, (timeout_ms, or default_step_ms when unset, for
/// shell; 0 for noop) times its number of targets, summed. Runs are sequential, so
/// the sum is the estimate. Saturates at INT64_MAX; negative inputs count as 0.
int64_t estimate_duration_ms(const plan& p, int64_t default_step_ms);

/// Whether runs of `p` may execute concurrently. Always false in this version: the
/// execution FSM runs one step on one target at a time (a single cursor over the
/// runs, R-FSM-4), so the estimate above must not be divided by any parallelism.
bool can_parallelize(const plan& p);

/// Threshold of decide_mode(): plans expected to take less run immediately.
constexpr int64_t immediate_threshold_ms = 10000;

/// Mode decision (R-SUB-4): a forced `immediate`/`background` wins; `automatic` picks
/// immediate when the estimate is below immediate_threshold_ms, background otherwise.
execution_mode decide_mode(const plan& p, requested_mode requested, int64_t default_step_ms);

/// The timeout_policies row of a plan: "{sla}_{action_class}", e.g. "fast_read".
std::string timeout_policy_id(const plan& p);

/// Tenant ids, principals, environments: ^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$
bool valid_identifier(std::string_view s);

/// Target references: ^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,252}$ with no empty, "." or ".."
/// path segments (so no spaces, quotes, shell metacharacters, control characters).
bool valid_target_ref(std::string_view s);

} // namespace stagee
