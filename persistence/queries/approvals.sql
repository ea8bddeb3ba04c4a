-- Approvals (R-SAFE-8; migration 0007).

-- name: approval_level
-- The level the policy asks for: the row of the environment, else '*', else 0.
SELECT stagee_approval_level($1, $2);

-- name: approval_execution_level
SELECT approval_level FROM executions WHERE id = $1::uuid;

-- name: approval_transition
-- The decision's transition of an execution at rest in awaiting_approval (nobody
-- holds it): guarded by the seq it was read at and the status, so two approvers
-- (or an approver and a cancel) cannot both apply. 0 rows: it moved on.
UPDATE executions e
   SET status = $4::execution_status,
       last_transition_at = clock_timestamp(),
       last_transition_by = $5,
       last_transition_from = 'awaiting_approval',
       last_event_seq = $6,
       state_snapshot = decode($7, 'hex'),
       cancelled_by = CASE WHEN $4 = 'cancelled' THEN coalesce(e.cancel_requested_by, $8)
                           ELSE e.cancelled_by END,
       cancelled_at = CASE WHEN $4 = 'cancelled' THEN clock_timestamp() ELSE e.cancelled_at END,
       ended_at = CASE WHEN $4 IN ('cancelled', 'rejected')
                       THEN greatest(clock_timestamp(), e.created_at) ELSE e.ended_at END,
       updated_at = clock_timestamp()
 WHERE e.id = $1::uuid AND e.tenant_id = $2 AND e.last_event_seq = $3
   AND e.status = 'awaiting_approval'
RETURNING e.id;

-- name: approval_record
INSERT INTO approvals (execution_id, level, step_name, state, plan_hash, principal,
                       auth_method, source_ip, reason, decided_at)
VALUES ($1::uuid, $2, nullif($3, ''), $4::approval_state, $5, $6, $7, nullif($8, ''),
        nullif($9, ''), clock_timestamp());

-- name: approval_step_approved
-- Level 3: is this step of this plan approved?
SELECT EXISTS (SELECT 1 FROM approvals a JOIN executions e ON e.id = a.execution_id
                WHERE a.execution_id = $1::uuid AND a.step_name = $2
                  AND a.state = 'approved' AND a.plan_hash = e.plan_hash);

-- name: approval_policies_list
SELECT action_class::text, environment, level FROM approval_policies
 ORDER BY action_class, environment;

-- name: approval_policy_set
INSERT INTO approval_policies (action_class, environment, level)
VALUES ($1::action_class, $2, $3)
ON CONFLICT (action_class, environment) DO UPDATE
   SET level = excluded.level, updated_at = now();
