-- Reads for status, wait and restart.

-- name: read_execution
-- $2 = '' reads any tenant (until authentication lands); otherwise tenant-scoped.
SELECT r.*, e.timed_out,
       coalesce(e.error_class, '') AS error_class,
       coalesce(e.error_message, '') AS error_message,
       coalesce((SELECT fence FROM execution_queue q WHERE q.execution_id = e.id), 0) AS fence,
       coalesce((SELECT lock_waits FROM execution_queue q WHERE q.execution_id = e.id), 0)
         AS lock_waits,
       -- set while it waits for a lock, cleared when the lock is granted
       coalesce((SELECT blocked_by FROM execution_queue q WHERE q.execution_id = e.id), '')
         AS blocked_by,
       coalesce(to_char(e.deadline_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '')
         AS deadline_at,
       -1::bigint AS queue_wait_ms,
       0::bigint AS lease_ms -- a restart keeps the lease length its holder knows
  FROM execution_runnable r
  JOIN executions e ON e.id = r.id
 WHERE r.id = $1::uuid AND ($2 = '' OR r.tenant_id = $2);

-- name: read_steps
SELECT run_index, step_index, name, target, status, exit_code, attempt
  FROM execution_steps
 WHERE execution_id = $1::uuid
 ORDER BY run_index;

-- name: read_timeout_policies
SELECT id, sla_class::text, action_class::text, execution_timeout_ms, step_timeout_ms
  FROM timeout_policies
 ORDER BY id;

-- name: cancel_record
-- Records a cancellation request unless one exists or the execution ended: the
-- first request wins, repeats change nothing. The node holding the execution (or,
-- when nobody does, any node) carries it out (cancel_poll_owned, cancel_claim_free).
UPDATE executions e
   SET cancel_requested_at = now(), cancel_requested_by = $3, cancel_reason = nullif($4, '')
 WHERE e.id = $1::uuid AND ($2 = '' OR e.tenant_id = $2) AND e.cancel_requested_at IS NULL
   AND e.ended_at IS NULL
RETURNING e.id;

-- name: cancel_state
SELECT id::text, status::text, coalesce(cancelled_by, ''),
       coalesce(to_char(cancelled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''),
       coalesce(cancel_requested_by, ''),
       coalesce(to_char(cancel_requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''),
       coalesce(cancel_reason, '')
  FROM executions
 WHERE id = $1::uuid AND ($2 = '' OR tenant_id = $2);
