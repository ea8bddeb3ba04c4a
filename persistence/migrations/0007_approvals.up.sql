-- Approvals (R-SAFE-8): the level an execution needs comes from a policy on
-- action_class and environment (the most specific row wins); the level is fixed at
-- admission and kept on the execution.
CREATE TABLE approval_policies (
  action_class  action_class NOT NULL,
  environment   VARCHAR(100) NOT NULL DEFAULT '*',
  level         INT NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (action_class, environment),
  CONSTRAINT valid_policy_level CHECK (level BETWEEN 0 AND 3)
);

INSERT INTO approval_policies (action_class, environment, level) VALUES
  ('read', '*', 0), ('modify', '*', 1), ('deploy', '*', 2), ('deploy', 'prod', 3);

CREATE FUNCTION stagee_approval_level(p_class text, p_environment text)
RETURNS int LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT level FROM approval_policies
                    WHERE action_class = p_class::action_class
                      AND environment IN (p_environment, '*')
                    ORDER BY environment = '*'
                    LIMIT 1), 0)
$$;

ALTER TABLE executions ADD COLUMN approval_level INT NOT NULL DEFAULT 0;
ALTER TABLE executions ADD CONSTRAINT valid_exec_approval_level
  CHECK (approval_level BETWEEN 0 AND 3);

-- Level 3: the approval of a step is looked up before the step starts.
CREATE INDEX ix_approvals_exec_step ON approvals (execution_id, step_name);
