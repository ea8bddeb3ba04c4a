#include <array>
#include <cctype>
#include <cstring>

#include <caf/all.hpp>

#include "messages/type_ids.hpp"

namespace stagee {

namespace {

// Names are the PostgreSQL enum labels and JSON values; keep them in enum order.
constexpr std::array<const char*, 18> errc_names{
  "no_error",    "invalid_plan",      "plan_too_large", "invalid_request",
  "not_found",   "db_unavailable",    "idempotency_conflict", "illegal_transition",
  "owner_lost",  "deadline_exceeded", "shutting_down",  "internal", "resource_busy",
  "invalid_token", "permission_denied", "secret_unavailable", "approval_invalidated",
  "invalid_state"};
constexpr std::array<const char*, 3> action_class_names{"read", "modify", "deploy"};
constexpr std::array<const char*, 3> decision_names{"approve", "reject", "cancel"};
constexpr std::array<const char*, 3> sla_class_names{"fast", "medium", "long"};
constexpr std::array<const char*, 2> executor_names{"noop", "shell"};
constexpr std::array<const char*, 8> execution_status_names{
  "pending", "awaiting_approval", "queued",    "running",
  "succeeded", "failed",          "cancelled", "rejected"};
constexpr std::array<const char*, 7> step_status_names{
  "pending", "running", "succeeded", "failed", "skipped", "cancelled", "timed_out"};
constexpr std::array<const char*, 2> mode_names{"immediate", "background"};
constexpr std::array<const char*, 3> requested_mode_names{"auto", "immediate",
                                                          "background"};
constexpr std::array<const char*, 14> event_kind_names{
  "submitted", "queued",       "awaiting_approval", "approved",
  "started",   "resumed",      "step_started",      "step_finished",
  "succeeded", "failed",       "cancelled",         "rejected",
  "retry_scheduled", "rbac_violation"};

template <class Enum, size_t N>
std::string name_of(const std::array<const char*, N>& names, Enum x) {
  auto i = static_cast<size_t>(x);
  return i < N ? names[i] : "unknown";
}

template <class Enum, size_t N>
bool parse_name(const std::array<const char*, N>& names, const std::string& s, Enum& out) {
  for (size_t i = 0; i < N; ++i) {
    if (s == names[i]) {
      out = static_cast<Enum>(i);
      return true;
    }
  }
  return false;
}

} // namespace

std::string to_string(stagee_errc x) { return name_of(errc_names, x); }
bool from_string(const std::string& s, stagee_errc& out) {
  return parse_name(errc_names, s, out);
}
std::string to_string(action_class x) { return name_of(action_class_names, x); }
std::string to_string(decision x) { return name_of(decision_names, x); }
std::string to_string(sla_class x) { return name_of(sla_class_names, x); }
std::string to_string(executor_kind x) { return name_of(executor_names, x); }
std::string to_string(execution_status x) { return name_of(execution_status_names, x); }
std::string to_string(step_status x) { return name_of(step_status_names, x); }
std::string to_string(execution_mode x) { return name_of(mode_names, x); }
std::string to_string(requested_mode x) { return name_of(requested_mode_names, x); }
std::string to_string(event_kind x) { return name_of(event_kind_names, x); }
bool from_string(const std::string& s, action_class& out) {
  return parse_name(action_class_names, s, out);
}
bool from_string(const std::string& s, sla_class& out) {
  return parse_name(sla_class_names, s, out);
}
bool from_string(const std::string& s, executor_kind& out) {
  return parse_name(executor_names, s, out);
}
bool from_string(const std::string& s, execution_status& out) {
  return parse_name(execution_status_names, s, out);
}
bool from_string(const std::string& s, step_status& out) {
  return parse_name(step_status_names, s, out);
}
bool from_string(const std::string& s, execution_mode& out) {
  return parse_name(mode_names, s, out);
}
bool from_string(const std::string& s, requested_mode& out) {
  return parse_name(requested_mode_names, s, out);
}
bool from_string(const std::string& s, event_kind& out) {
  return parse_name(event_kind_names, s, out);
}

std::string permission::execute(action_class c) { return "execute:" + to_string(c); }

bool valid_uuid(const std::string& s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i])))
      return false;
  }
  return true;
}

bool is_terminal(execution_status x) {
  switch (x) {
    case execution_status::succeeded:
    case execution_status::failed:
    case execution_status::cancelled:
    case execution_status::rejected:
      return true;
    case execution_status::pending:
    case execution_status::awaiting_approval:
    case execution_status::queued:
    case execution_status::running:
      return false;
  }
  return false;
}

bool is_terminal(step_status x) {
  switch (x) {
    case step_status::succeeded:
    case step_status::failed:
    case step_status::skipped:
    case step_status::cancelled:
    case step_status::timed_out:
      return true;
    case step_status::pending:
    case step_status::running:
      return false;
  }
  return false;
}

caf::error make_stagee_error(stagee_errc code, std::string field, std::string message) {
  return caf::make_error(code, std::move(field), std::move(message));
}

error_detail describe(const caf::error& err) {
  error_detail out;
  if (err.category() == caf::atom("stagee")) {
    out.code = to_string(static_cast<stagee_errc>(err.code()));
    auto& ctx = err.context();
    if (ctx.match_elements<std::string, std::string>()) {
      out.field = ctx.get_as<std::string>(0);
      out.message = ctx.get_as<std::string>(1);
    } else {
      out.message = caf::to_string(ctx);
    }
    return out;
  }
  if (err.category() == caf::atom("system")) {
    auto code = static_cast<caf::sec>(err.code());
    out.code = "system_error";
    switch (code) {
      case caf::sec::request_timeout:
        out.code = "timeout";
        out.message = "no reply in time; the node may be down or overloaded";
        return out;
      case caf::sec::request_receiver_down:
        out.code = "unavailable";
        out.message = "the receiving actor is down";
        return out;
      default:
        // Our own system errors carry one sentence (caf::make_error(sec, "...")).
        if (err.context().match_elements<std::string>()) {
          out.message = err.context().get_as<std::string>(0);
          return out;
        }
        break;
    }
  }
  if (out.code.empty())
    out.code = "error";
  out.message = caf::to_string(err);
  return out;
}

namespace {

std::vector<std::string>& type_names() {
  static std::vector<std::string> names;
  return names;
}

template <class T>
void add(caf::actor_system_config& cfg, const char* name) {
  cfg.add_message_type<T>(name);
  type_names().emplace_back(name);
}

} // namespace

void add_stagee_types(caf::actor_system_config& cfg) {
  type_names().clear();
  add<submit_request>(cfg, "stagee::submit_request");
  add<submit_reply>(cfg, "stagee::submit_reply");
  add<status_request>(cfg, "stagee::status_request");
  add<status_reply>(cfg, "stagee::status_reply");
  add<wait_request>(cfg, "stagee::wait_request");
  add<subscribe_request>(cfg, "stagee::subscribe_request");
  add<subscribed>(cfg, "stagee::subscribed");
  add<execution_event>(cfg, "stagee::execution_event");
  add<execution_snapshot>(cfg, "stagee::execution_snapshot");
  add<execution_record>(cfg, "stagee::execution_record");
  add<stored_execution>(cfg, "stagee::stored_execution");
  add<journal_append>(cfg, "stagee::journal_append");
  add<journal_committed>(cfg, "stagee::journal_committed");
  add<admit_request>(cfg, "stagee::admit_request");
  add<admit_reply>(cfg, "stagee::admit_reply");
  add<load_request>(cfg, "stagee::load_request");
  add<claim_request>(cfg, "stagee::claim_request");
  add<claimed_batch>(cfg, "stagee::claimed_batch");
  add<renew_request>(cfg, "stagee::renew_request");
  add<renewed>(cfg, "stagee::renewed");
  add<run_request>(cfg, "stagee::run_request");
  add<execution_done>(cfg, "stagee::execution_done");
  add<execution_released>(cfg, "stagee::execution_released");
  add<stop_execution>(cfg, "stagee::stop_execution");
  add<drained>(cfg, "stagee::drained");
  add<release_request>(cfg, "stagee::release_request");
  add<reap_request>(cfg, "stagee::reap_request");
  add<reaped>(cfg, "stagee::reaped");
  add<dlq_list_request>(cfg, "stagee::dlq_list_request");
  add<dlq_page>(cfg, "stagee::dlq_page");
  add<dlq_entry_request>(cfg, "stagee::dlq_entry_request");
  add<dlq_entry>(cfg, "stagee::dlq_entry");
  add<dlq_source_request>(cfg, "stagee::dlq_source_request");
  add<dlq_requeue_source>(cfg, "stagee::dlq_requeue_source");
  add<dlq_summary_request>(cfg, "stagee::dlq_summary_request");
  add<dlq_summary>(cfg, "stagee::dlq_summary");
  add<dlq_requeue_request>(cfg, "stagee::dlq_requeue_request");
  add<run_step>(cfg, "stagee::run_step");
  add<step_result>(cfg, "stagee::step_result");
  add<lock_grant>(cfg, "stagee::lock_grant");
  add<lock_spec>(cfg, "stagee::lock_spec");
  add<acquire_locks>(cfg, "stagee::acquire_locks");
  add<locks_outcome>(cfg, "stagee::locks_outcome");
  add<locks_request>(cfg, "stagee::locks_request");
  add<lock_list>(cfg, "stagee::lock_list");
  add<arm_deadline>(cfg, "stagee::arm_deadline");
  add<disarm_deadline>(cfg, "stagee::disarm_deadline");
  add<deadline_tick>(cfg, "stagee::deadline_tick");
  add<cancel_request>(cfg, "stagee::cancel_request");
  add<cancel_reply>(cfg, "stagee::cancel_reply");
  add<cancel_poll_request>(cfg, "stagee::cancel_poll_request");
  add<cancel_batch>(cfg, "stagee::cancel_batch");
  add<credential>(cfg, "stagee::credential");
  add<caller>(cfg, "stagee::caller");
  add<authz_request>(cfg, "stagee::authz_request");
  add<authz_reply>(cfg, "stagee::authz_reply");
  add<approve_request>(cfg, "stagee::approve_request");
  add<approve_reply>(cfg, "stagee::approve_reply");
  add<resolve_secrets>(cfg, "stagee::resolve_secrets");
  add<resolved_secrets>(cfg, "stagee::resolved_secrets");
  add<member_hello>(cfg, "stagee::member_hello");
  add<member_leaving>(cfg, "stagee::member_leaving");
  add<cluster_status_request>(cfg, "stagee::cluster_status_request");
  add<cluster_status>(cfg, "stagee::cluster_status");
  add<member_heartbeat>(cfg, "stagee::member_heartbeat");
  add<member_rows>(cfg, "stagee::member_rows");
  add<remote_interest>(cfg, "stagee::remote_interest");
  add<peer_buses>(cfg, "stagee::peer_buses");
  add<execution_probe>(cfg, "stagee::execution_probe");
  add<actor_probe>(cfg, "stagee::actor_probe");
  add<actor_registration>(cfg, "stagee::actor_registration");
  add<actor_view>(cfg, "stagee::actor_view");
  add<node_inspect_request>(cfg, "stagee::node_inspect_request");
  add<node_inspection>(cfg, "stagee::node_inspection");
  add<actor_inspect_request>(cfg, "stagee::actor_inspect_request");
  add<timers_request>(cfg, "stagee::timers_request");
  add<timer_view>(cfg, "stagee::timer_view");
  add<timer_list>(cfg, "stagee::timer_list");
  add<node_stats_request>(cfg, "stagee::node_stats_request");
  add<node_stats>(cfg, "stagee::node_stats");
  add<execution_list_request>(cfg, "stagee::execution_list_request");
  add<execution_row>(cfg, "stagee::execution_row");
  add<execution_list>(cfg, "stagee::execution_list");
  add<queue_list_request>(cfg, "stagee::queue_list_request");
  add<queue_row>(cfg, "stagee::queue_row");
  add<queue_list>(cfg, "stagee::queue_list");
  add<journal_request>(cfg, "stagee::journal_request");
  add<journal_page>(cfg, "stagee::journal_page");
  add<node_counts_request>(cfg, "stagee::node_counts_request");
  add<node_counts>(cfg, "stagee::node_counts");
  cfg.add_error_category(caf::atom("stagee"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           auto s = "stagee_error(" + to_string(static_cast<stagee_errc>(code));
                           if (!ctx.empty())
                             s += ", " + caf::to_string(ctx);
                           return s + ")";
                         });
}

const std::vector<std::string>& registered_type_names() { return type_names(); }

} // namespace stagee
