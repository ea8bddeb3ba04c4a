DROP INDEX IF EXISTS ix_approvals_exec_step;
ALTER TABLE executions DROP CONSTRAINT IF EXISTS valid_exec_approval_level;
ALTER TABLE executions DROP COLUMN IF EXISTS approval_level;
DROP FUNCTION IF EXISTS stagee_approval_level(text, text);
DROP TABLE IF EXISTS approval_policies;
