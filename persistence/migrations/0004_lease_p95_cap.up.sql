-- The p95 term of stagee_lease_ms is capped at the plan's longest step timeout: a
-- run cannot legitimately last longer (the runner kills it), and without the cap
-- runs interrupted by a crash (which end about one lease later) could raise p95,
-- hence the next leases, hence the next interrupted durations, without bound.
CREATE OR REPLACE FUNCTION stagee_lease_ms(exec_id uuid, fixed_ms bigint, buffer_ms bigint)
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
