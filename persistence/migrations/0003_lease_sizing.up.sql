-- Issue 3: lease length per execution (R-Q-1) and the statistics it uses.
--
-- lease = max(longest step timeout of the plan + buffer, 2 x p95 step duration of
-- the action), in milliseconds. One definition, used by the claim (background) and
-- the admission pre-claim (immediate), so both always agree.

-- p95 duration of finished step runs per plan action over the last day, refreshed
-- by the reaper (queue_refresh_step_stats); only actions with enough samples.
CREATE TABLE step_duration_stats (
  action       VARCHAR(100) PRIMARY KEY,
  p95_ms       BIGINT      NOT NULL,
  samples      INT         NOT NULL,
  refreshed_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT valid_step_stats CHECK (p95_ms >= 0 AND samples > 0)
);

-- The refresh reads recent finished runs only.
CREATE INDEX ix_steps_ended_at ON execution_steps (ended_at) WHERE ended_at IS NOT NULL;

-- fixed_ms > 0 replaces the formula (test configurations: --lease-ms). A step
-- without its own timeout_ms runs under the policy's step_timeout_ms. The p95 term
-- is capped at the longest step timeout: a run cannot legitimately last longer (the
-- runner kills it), and runs interrupted by a crash (which end about one lease
-- later) could otherwise raise p95, hence the next leases, without bound.
CREATE FUNCTION stagee_lease_ms(exec_id uuid, fixed_ms bigint, buffer_ms bigint)
RETURNS bigint LANGUAGE sql STABLE AS $$
  WITH t AS (
    SELECT e.action,
           coalesce((SELECT max(coalesce(nullif((s ->> 'timeout_ms')::bigint, 0), p.step_timeout_ms))
                       FROM jsonb_array_elements(e.plan_snapshot -> 'steps') s),
                    p.step_timeout_ms, 0) AS longest
      FROM executions e
      LEFT JOIN timeout_policies p ON p.id = e.timeout_policy_id
     WHERE e.id = exec_id)
  SELECT CASE WHEN fixed_ms > 0 THEN fixed_ms ELSE
    greatest(t.longest + buffer_ms,
             2 * least(t.longest,
                       coalesce((SELECT d.p95_ms FROM step_duration_stats d WHERE d.action = t.action), 0)))
  END
    FROM t
$$;

-- Renewals are counted on the queue row, so that a renewal writes one table only
-- (renewing while the journal finishes the same execution could otherwise lock
-- executions and execution_queue in opposite orders: deadlock). The journal copies
-- the count into executions.lease_renewals with every write.
ALTER TABLE execution_queue ADD COLUMN lease_renewals INT NOT NULL DEFAULT 0;
