-- Dead-letter queue operations (R-Q-4). $1 = '' means any tenant (until
-- authentication lands), otherwise the tenant the caller belongs to.

-- name: dlq_list
SELECT d.id, d.execution_id::text, d.tenant_id, e.action, coalesce(d.error_class, ''),
       d.failure_reason, d.attempts,
       to_char(d.moved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       coalesce(to_char(d.archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ''),
       coalesce(d.requeued_as::text, ''), ''
  FROM execution_dlq d
  JOIN executions e ON e.id = d.execution_id
 WHERE ($1 = '' OR d.tenant_id = $1)
   AND ($2 = '' OR e.action = $2)
   AND ($3 = '' OR d.error_class = $3)
   AND ($4 OR d.archived_at IS NULL)
   AND ($5 = 0 OR d.id < $5)
 ORDER BY d.id DESC
 LIMIT $6;

-- name: dlq_get
SELECT d.id, d.execution_id::text, d.tenant_id, e.action, coalesce(d.error_class, ''),
       d.failure_reason, d.attempts,
       to_char(d.moved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       coalesce(to_char(d.archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ''),
       coalesce(d.requeued_as::text, ''), d.history::text,
       e.actor_id, e.idempotency_key, e.plan_snapshot::text
  FROM execution_dlq d
  JOIN executions e ON e.id = d.execution_id
 WHERE d.id = $2 AND ($1 = '' OR d.tenant_id = $1);

-- name: dlq_archive
-- Idempotent: archiving an archived entry keeps its first archived_at.
UPDATE execution_dlq
   SET archived_at = coalesce(archived_at, now())
 WHERE id = $2 AND ($1 = '' OR tenant_id = $1)
RETURNING id;

-- name: dlq_mark_requeued
UPDATE execution_dlq
   SET requeued_as = $3::uuid, archived_at = coalesce(archived_at, now())
 WHERE id = $2 AND ($1 = '' OR tenant_id = $1)
RETURNING id;

-- name: dlq_summary
SELECT coalesce(error_class, ''), count(*),
       (array_agg(failure_reason ORDER BY id DESC))[1]
  FROM execution_dlq
 WHERE archived_at IS NULL AND ($1 = '' OR tenant_id = $1)
 GROUP BY error_class
 ORDER BY count(*) DESC, error_class;
