DROP INDEX IF EXISTS ix_security_events_tenant;
DROP TABLE IF EXISTS security_events;
DROP FUNCTION IF EXISTS stagee_rbac_allowed(text, text, text, text, jsonb);
DROP TABLE IF EXISTS rbac_bindings;
DROP TABLE IF EXISTS rbac_roles;
