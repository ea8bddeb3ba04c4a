-- Back to the uncapped function of 0003.
CREATE OR REPLACE FUNCTION stagee_lease_ms(exec_id uuid, fixed_ms bigint, buffer_ms bigint)
RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN fixed_ms > 0 THEN fixed_ms ELSE
    greatest(
      coalesce((SELECT max(coalesce(nullif((s ->> 'timeout_ms')::bigint, 0), p.step_timeout_ms))
                  FROM jsonb_array_elements(e.plan_snapshot -> 'steps') s), p.step_timeout_ms, 0)
        + buffer_ms,
      2 * coalesce((SELECT d.p95_ms FROM step_duration_stats d WHERE d.action = e.action), 0))
  END
    FROM executions e
    LEFT JOIN timeout_policies p ON p.id = e.timeout_policy_id
   WHERE e.id = exec_id
$$;
