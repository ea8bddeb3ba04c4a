/// Names of the prepared statements in persistence/queries/*.sql.
/// The pgtests check that every name here exists and prepares against the schema.
#pragma once

#include <array>

namespace stagee::stmt {

constexpr const char* admit_expire_keys = "admit_expire_keys";
constexpr const char* admit_insert_executions = "admit_insert_executions";
constexpr const char* admit_find_existing = "admit_find_existing";
constexpr const char* admit_insert_steps = "admit_insert_steps";
constexpr const char* admit_insert_queue = "admit_insert_queue";
constexpr const char* admit_withdraw = "admit_withdraw";
constexpr const char* journal_update_executions = "journal_update_executions";
constexpr const char* journal_update_steps = "journal_update_steps";
constexpr const char* journal_insert_events = "journal_insert_events";
constexpr const char* journal_release_queue = "journal_release_queue";
constexpr const char* journal_insert_dlq = "journal_insert_dlq";
constexpr const char* events_after = "events_after";
constexpr const char* dlq_list = "dlq_list";
constexpr const char* dlq_get = "dlq_get";
constexpr const char* dlq_archive = "dlq_archive";
constexpr const char* dlq_mark_requeued = "dlq_mark_requeued";
constexpr const char* dlq_summary = "dlq_summary";
constexpr const char* queue_claim = "queue_claim";
constexpr const char* queue_renew = "queue_renew";
constexpr const char* queue_release = "queue_release";
constexpr const char* queue_reap = "queue_reap";
constexpr const char* queue_refresh_step_stats = "queue_refresh_step_stats";
constexpr const char* read_execution = "read_execution";
constexpr const char* read_steps = "read_steps";
constexpr const char* read_timeout_policies = "read_timeout_policies";
constexpr const char* queue_renew_locks = "queue_renew_locks";
constexpr const char* queue_rows_gone = "queue_rows_gone";
constexpr const char* cancel_poll_owned = "cancel_poll_owned";
constexpr const char* cancel_claim_free = "cancel_claim_free";
constexpr const char* cancel_record = "cancel_record";
constexpr const char* cancel_state = "cancel_state";
constexpr const char* locks_queue_lease = "locks_queue_lease";
constexpr const char* locks_insert_keys = "locks_insert_keys";
constexpr const char* locks_lock_rows = "locks_lock_rows";
constexpr const char* locks_grant = "locks_grant";
constexpr const char* locks_clear_blocked = "locks_clear_blocked";
constexpr const char* locks_release_execution = "locks_release_execution";
constexpr const char* locks_defer_queue = "locks_defer_queue";
constexpr const char* locks_reap = "locks_reap";
constexpr const char* locks_list = "locks_list";
constexpr const char* journal_release_locks = "journal_release_locks";
constexpr const char* locks_lock_owned = "locks_lock_owned";

/// Every statement above, for the prepare-all test.
constexpr const char* rbac_allowed = "rbac_allowed";
constexpr const char* rbac_execution_scope = "rbac_execution_scope";
constexpr const char* rbac_grant = "rbac_grant";
constexpr const char* rbac_revoke = "rbac_revoke";
constexpr const char* rbac_list_bindings = "rbac_list_bindings";
constexpr const char* rbac_list_roles = "rbac_list_roles";
constexpr const char* rbac_role_exists = "rbac_role_exists";
constexpr const char* rbac_put_role = "rbac_put_role";
constexpr const char* rbac_delete_role = "rbac_delete_role";
constexpr const char* security_event_insert = "security_event_insert";

constexpr const char* secret_put = "secret_put";
constexpr const char* secret_get = "secret_get";
constexpr const char* secret_list = "secret_list";
constexpr const char* secret_delete = "secret_delete";

constexpr const char* approval_level = "approval_level";
constexpr const char* approval_execution_level = "approval_execution_level";
constexpr const char* approval_transition = "approval_transition";
constexpr const char* approval_record = "approval_record";
constexpr const char* approval_step_approved = "approval_step_approved";
constexpr const char* approval_policies_list = "approval_policies_list";
constexpr const char* approval_policy_set = "approval_policy_set";

constexpr const char* member_upsert = "member_upsert";
constexpr const char* member_list = "member_list";
constexpr const char* member_holdings = "member_holdings";
constexpr const char* member_declare_dead = "member_declare_dead";
constexpr const char* member_free_leases = "member_free_leases";
constexpr const char* member_free_locks = "member_free_locks";

constexpr const char* console_executions = "console_executions";
constexpr const char* console_queue = "console_queue";
constexpr const char* console_journal = "console_journal";
constexpr const char* console_node_counts = "console_node_counts";

constexpr std::array<const char*, 73> all{
  admit_expire_keys,
  admit_insert_executions,
  admit_find_existing,
  admit_insert_steps,
  admit_insert_queue,
  admit_withdraw,
  journal_update_executions,
  journal_update_steps,
  journal_insert_events,
  journal_release_queue,
  journal_insert_dlq,
  events_after,
  dlq_list,
  dlq_get,
  dlq_archive,
  dlq_mark_requeued,
  dlq_summary,
  queue_claim,
  queue_renew,
  queue_release,
  queue_reap,
  queue_refresh_step_stats,
  read_execution,
  read_steps,
  read_timeout_policies,
  queue_renew_locks,
  queue_rows_gone,
  cancel_poll_owned,
  cancel_claim_free,
  cancel_record,
  cancel_state,
  locks_queue_lease,
  locks_insert_keys,
  locks_lock_rows,
  locks_grant,
  locks_clear_blocked,
  locks_release_execution,
  locks_defer_queue,
  locks_reap,
  locks_list,
  journal_release_locks,
  locks_lock_owned,
  rbac_allowed,
  rbac_execution_scope,
  rbac_grant,
  rbac_revoke,
  rbac_list_bindings,
  rbac_list_roles,
  rbac_role_exists,
  rbac_put_role,
  rbac_delete_role,
  security_event_insert,
  secret_put,
  secret_get,
  secret_list,
  secret_delete,
  approval_level,
  approval_execution_level,
  approval_transition,
  approval_record,
  approval_step_approved,
  approval_policies_list,
  approval_policy_set,
  member_upsert,
  member_list,
  member_holdings,
  member_declare_dead,
  member_free_leases,
  member_free_locks,
  console_executions,
  console_queue,
  console_journal,
  console_node_counts,
};

} // namespace stagee::stmt
