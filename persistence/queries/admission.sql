-- Admission: batched, idempotent insert of new executions (R-SUB-3, R-SAFE-1).
-- Every batch parameter is a JSON array of records (jsonb_to_recordset): one
-- statement per table per batch, whatever the batch size.

-- name: admit_expire_keys
-- Frees idempotency keys older than the dedup window ($2 seconds) so the key can be
-- used again; the old execution keeps a marked key for audit.
UPDATE executions e
   SET idempotency_key = left(e.idempotency_key, 80) || ':expired:' || e.id::text
  FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id text, idempotency_key text)
 WHERE e.tenant_id = x.tenant_id
   AND e.idempotency_key = x.idempotency_key
   AND e.created_at < now() - make_interval(secs => $2::double precision);

-- name: admit_insert_executions
-- The unique index ux_exec_tenant_idem is the arbiter: conflicting rows are skipped
-- and reported as duplicates by admit_find_existing.
INSERT INTO executions (id, tenant_id, actor_id, request_id, plan_name, action,
                        action_class, sla_class, environment, priority, mode, status,
                        plan_snapshot, plan_hash, idempotency_key, timeout_ms,
                        timeout_policy_id, last_transition_at, last_transition_by,
                        last_transition_from, last_event_seq, state_snapshot, worker_id,
                        approval_level)
SELECT x.id, x.tenant_id, x.actor_id, x.request_id, x.plan_name, x.action,
       x.action_class::action_class, x.sla_class::sla_class, x.environment, x.priority,
       x.mode::execution_mode, x.status::execution_status, x.plan_snapshot, x.plan_hash,
       x.idempotency_key, x.timeout_ms, x.timeout_policy_id, now(), x.transition_by,
       x.transition_from::execution_status, x.last_event_seq,
       decode(x.state_snapshot, 'hex'), nullif(x.worker_id, ''), x.approval_level
  FROM jsonb_to_recordset($1::jsonb) AS x(
         id uuid, tenant_id text, actor_id text, request_id text, plan_name text,
         action text, action_class text, sla_class text, environment text, priority int,
         mode text, status text, plan_snapshot jsonb, plan_hash text,
         idempotency_key text, timeout_ms int, timeout_policy_id text,
         transition_by text, transition_from text, last_event_seq bigint,
         state_snapshot text, worker_id text, approval_level int)
ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
RETURNING id;

-- name: admit_find_existing
SELECT e.id, e.tenant_id, e.idempotency_key, e.status, e.plan_hash, e.mode
  FROM executions e
  JOIN jsonb_to_recordset($1::jsonb) AS x(tenant_id text, idempotency_key text)
    ON e.tenant_id = x.tenant_id AND e.idempotency_key = x.idempotency_key;

-- name: admit_insert_steps
INSERT INTO execution_steps (execution_id, run_index, step_index, name, target)
SELECT x.execution_id, x.run_index, x.step_index, x.name, x.target
  FROM jsonb_to_recordset($1::jsonb) AS x(
         execution_id uuid, run_index int, step_index int, name text, target text);

-- name: admit_insert_queue
-- Background rows are free (lease_owner NULL); immediate ones are pre-claimed by the
-- receiving node so that a crash leaves them to lease expiry like any other; their
-- lease is sized like a claim's (stagee_lease_ms with the node's fixed lease and
-- buffer) and returned so the node renews it on time.
WITH sized AS (
  SELECT x.*, CASE WHEN x.lease_owner IS NULL THEN NULL
                   ELSE stagee_lease_ms(x.execution_id, x.fixed_lease_ms, x.lease_buffer_ms) END
                AS lease_ms
    FROM jsonb_to_recordset($1::jsonb) AS x(
           execution_id uuid, tenant_id text, priority int, lease_owner text,
           fixed_lease_ms bigint, lease_buffer_ms bigint)
)
INSERT INTO execution_queue (execution_id, tenant_id, priority, lease_owner,
                             lease_expires_at, fence, attempts)
SELECT execution_id, tenant_id, priority, lease_owner,
       now() + make_interval(secs => lease_ms / 1000.0),
       CASE WHEN lease_owner IS NULL THEN 0 ELSE 1 END,
       CASE WHEN lease_owner IS NULL THEN 0 ELSE 1 END
  FROM sized
RETURNING execution_id::text, (extract(epoch FROM lease_expires_at - now()) * 1000)::bigint;

-- name: admit_withdraw
-- An immediate execution whose targets are locked is not admitted: its rows go
-- (cascade) in the same transaction, so a later retry can use the same key.
DELETE FROM executions WHERE id = $1::uuid;
