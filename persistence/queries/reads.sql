-- Reads for status, wait and restart.

-- name: read_execution
-- $2 = '' reads any tenant (until authentication lands); otherwise tenant-scoped.
SELECT id, tenant_id, actor_id, status, plan_hash, mode, timed_out,
       coalesce(error_class, '') AS error_class,
       coalesce(error_message, '') AS error_message,
       coalesce(worker_id, '') AS worker_id, idempotency_key,
       plan_snapshot::text AS plan_json, state_snapshot,
       coalesce(request_id, '') AS request_id,
       coalesce((SELECT fence FROM execution_queue q WHERE q.execution_id = executions.id),
                0) AS fence,
       -1::bigint AS queue_wait_ms,
       0::bigint AS lease_ms, -- a restart keeps the lease length its holder knows
       coalesce((SELECT step_timeout_ms FROM timeout_policies p
                  WHERE p.id = executions.timeout_policy_id), 0) AS step_timeout_ms
  FROM executions
 WHERE id = $1::uuid AND ($2 = '' OR tenant_id = $2);

-- name: read_steps
SELECT run_index, step_index, name, target, status, exit_code, attempt
  FROM execution_steps
 WHERE execution_id = $1::uuid
 ORDER BY run_index;

-- name: read_timeout_policies
SELECT id, sla_class::text, action_class::text, execution_timeout_ms, step_timeout_ms
  FROM timeout_policies
 ORDER BY id;
