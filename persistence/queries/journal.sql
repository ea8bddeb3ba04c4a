-- Journal: batched, guarded application of FSM transitions (R-FSM-3, R-FSM-4).

-- name: journal_update_executions
-- Applies only where last_event_seq still equals the writer's expected_seq AND the
-- writer (worker_id, fence) still holds the execution's queue lease: 0 rows for an id
-- means another owner claimed it or journaled in between, or the lease expired by
-- the database clock (owner_lost: its locks may be someone else's by now).
-- The start sets the SLA deadline (deadline_at); a write that starts a run counts
-- a cancellation check, and every write returns the pending cancellation request
-- (the check between steps, R-SAFE-6); the cancelled status records who asked.
-- A write that starts a run also re-checks the submitter's permission (rbac_denied).
UPDATE executions e
   SET status = x.status::execution_status,
       last_transition_at = CASE WHEN x.status::execution_status <> e.status
                                 THEN clock_timestamp() ELSE e.last_transition_at END,
       last_transition_by = x.transition_by,
       last_transition_from = x.transition_from::execution_status,
       last_event_seq = x.last_seq,
       state_snapshot = decode(x.state_snapshot, 'hex'),
       error_class = nullif(x.error_class, ''),
       error_message = nullif(x.error_message, ''),
       worker_id = x.worker_id,
       timed_out = e.timed_out OR x.timed_out,
       lease_renewals = greatest(e.lease_renewals,
                                 coalesce((SELECT q.lease_renewals FROM execution_queue q
                                            WHERE q.execution_id = e.id), 0)),
       started_at = CASE WHEN x.status = 'running' AND e.started_at IS NULL
                         THEN greatest(statement_timestamp(), e.created_at)
                         ELSE e.started_at END,
       deadline_at = CASE WHEN x.status = 'running' AND e.started_at IS NULL
                               AND e.timeout_ms IS NOT NULL
                          THEN greatest(statement_timestamp(), e.created_at)
                               + make_interval(secs => e.timeout_ms / 1000.0)
                          ELSE e.deadline_at END,
       cancel_checks_performed = e.cancel_checks_performed + CASE WHEN x.cancel_check THEN 1 ELSE 0 END,
       cancelled_by = CASE WHEN x.status = 'cancelled' AND e.cancelled_by IS NULL
                           THEN coalesce(e.cancel_requested_by, x.transition_by)
                           ELSE e.cancelled_by END,
       cancelled_at = CASE WHEN x.status = 'cancelled' AND e.cancelled_at IS NULL
                           THEN clock_timestamp() ELSE e.cancelled_at END,
       ended_at = CASE WHEN x.terminal
                       THEN greatest(clock_timestamp(), e.started_at, e.created_at)
                       ELSE e.ended_at END,
       updated_at = clock_timestamp()
  FROM jsonb_to_recordset($1::jsonb) AS x(
         id uuid, expected_seq bigint, last_seq bigint, status text, transition_by text,
         transition_from text, state_snapshot text, error_class text,
         error_message text, worker_id text, timed_out boolean, terminal boolean,
         fence bigint, cancel_check boolean, run_step text)
 WHERE e.id = x.id AND e.last_event_seq = x.expected_seq
   AND EXISTS (SELECT 1 FROM execution_queue q
                WHERE q.execution_id = x.id AND q.lease_owner = x.worker_id
                  AND q.fence = x.fence AND q.lease_expires_at >= now())
RETURNING e.id, coalesce(e.cancel_requested_by, '') AS cancel_by,
          coalesce(e.cancel_reason, '') AS cancel_reason,
          -- RBAC again before every step (R-SAFE-3): the submitter must still hold
          -- the permission; '' when it does (or no run starts here).
          CASE WHEN x.cancel_check
                    AND NOT stagee_rbac_allowed(e.tenant_id, e.actor_id,
                                                'execute:' || e.action_class::text,
                                                e.environment, NULL)
               THEN format('principal %L no longer holds %L in tenant %L, environment %L',
                           e.actor_id, 'execute:' || e.action_class::text, e.tenant_id,
                           e.environment)
               ELSE '' END AS rbac_denied,
          -- Level 3 (R-SAFE-8): every step needs its own approval of this plan first.
          CASE WHEN x.cancel_check AND e.approval_level = 3
                    AND NOT EXISTS (SELECT 1 FROM approvals a
                                     WHERE a.execution_id = e.id AND a.step_name = x.run_step
                                       AND a.state = 'approved' AND a.plan_hash = e.plan_hash)
               THEN x.run_step ELSE '' END AS approval_needed;

-- name: journal_update_steps
UPDATE execution_steps s
   SET status = x.status::step_status,
       attempt = x.attempt,
       exit_code = x.exit_code,
       stdout = coalesce(x.stdout, s.stdout),
       stderr = coalesce(x.stderr, s.stderr),
       output_truncated = coalesce(x.truncated, s.output_truncated),
       error = coalesce(nullif(x.error, ''), s.error),
       started_at = CASE WHEN x.status = 'running' THEN clock_timestamp() ELSE s.started_at END,
       ended_at = CASE WHEN x.status NOT IN ('pending', 'running')
                       THEN greatest(clock_timestamp(), s.started_at) ELSE NULL END,
       updated_at = clock_timestamp()
  FROM jsonb_to_recordset($1::jsonb) AS x(
         execution_id uuid, run_index int, status text, attempt int, exit_code int,
         stdout text, stderr text, truncated boolean, error text)
 WHERE s.execution_id = x.execution_id AND s.run_index = x.run_index
   -- Redundant, but lets the planner use ux_steps_exec_run instead of hashing the
   -- whole table against the batch (a join on jsonb_to_recordset is estimated at 100
   -- rows).
   AND s.execution_id = ANY (ARRAY(SELECT (r ->> 'execution_id')::uuid
                                     FROM jsonb_array_elements($1::jsonb) r));

-- name: journal_insert_events
INSERT INTO execution_events (execution_id, seq, kind, payload)
SELECT x.execution_id, x.seq, x.kind, x.payload
  FROM jsonb_to_recordset($1::jsonb) AS x(
         execution_id uuid, seq bigint, kind text, payload jsonb);

-- name: journal_release_queue
-- Terminal executions leave the queue in the same transaction as their final status.
DELETE FROM execution_queue
 WHERE execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::uuid));

-- name: journal_insert_dlq
-- Failed executions land in the dead-letter queue with their last error and the
-- history of their step attempts (R-Q-3), in the transaction of the final status.
INSERT INTO execution_dlq (execution_id, tenant_id, failure_reason, error_class, attempts,
                           history)
SELECT x.execution_id, e.tenant_id, x.failure_reason, x.error_class, x.attempts,
       coalesce((SELECT jsonb_agg(ev.payload ORDER BY ev.seq) FROM execution_events ev
                  WHERE ev.execution_id = x.execution_id AND ev.kind = 'step_finished'),
                '[]'::jsonb)
  FROM jsonb_to_recordset($1::jsonb) AS x(execution_id uuid, failure_reason text,
                                          error_class text, attempts int)
  JOIN executions e ON e.id = x.execution_id;

-- name: events_after
SELECT execution_id, seq, kind, payload
  FROM execution_events
 WHERE execution_id = $1::uuid AND seq > $2
 ORDER BY seq
 LIMIT $3;
