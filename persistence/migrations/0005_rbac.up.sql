-- RBAC (R-SAFE-3): roles with permissions, bound to principals per tenant and,
-- optionally, per environment. Deny by default: no binding, no access. Every node
-- reads the same rows, so a grant or a revoke holds cluster-wide at once.

CREATE TABLE rbac_roles (
  name         VARCHAR(64) PRIMARY KEY,
  permissions  TEXT[] NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  builtin      BOOLEAN NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT valid_role_name CHECK (name ~ '^[a-z][a-z0-9_-]{0,63}$'),
  CONSTRAINT valid_permissions CHECK (
    permissions <@ ARRAY['execute:read', 'execute:modify', 'execute:deploy', 'approve',
                         'cancel', 'view', 'admin']::text[])
);

INSERT INTO rbac_roles (name, permissions, description, builtin) VALUES
  ('viewer',   ARRAY['view'],
               'reads executions, events, locks and the DLQ', true),
  ('operator', ARRAY['view', 'execute:read', 'execute:modify', 'cancel'],
               'runs read and modify plans, cancels', true),
  ('deployer', ARRAY['view', 'execute:read', 'execute:modify', 'execute:deploy', 'cancel'],
               'runs every plan, cancels', true),
  ('approver', ARRAY['view', 'approve'],
               'approves or rejects executions waiting for approval', true),
  ('admin',    ARRAY['view', 'execute:read', 'execute:modify', 'execute:deploy', 'approve',
                     'cancel', 'admin'],
               'everything, including DLQ archiving', true);

-- environment '*': every environment of the tenant.
CREATE TABLE rbac_bindings (
  tenant_id    VARCHAR(128) NOT NULL,
  principal    VARCHAR(128) NOT NULL,
  role         VARCHAR(64) NOT NULL REFERENCES rbac_roles (name) ON DELETE CASCADE,
  environment  VARCHAR(100) NOT NULL DEFAULT '*',
  granted_by   VARCHAR(128) NOT NULL,
  granted_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, principal, role, environment)
);

-- Does the principal hold the permission in the tenant and environment?
-- environment NULL: in any environment (listings that span environments).
-- roles NULL: every bound role counts; otherwise only bound roles in this JSON array
-- (a token's `roles` claim narrows what its bindings grant, never widens it).
CREATE FUNCTION stagee_rbac_allowed(p_tenant text, p_principal text, p_permission text,
                                    p_environment text, p_roles jsonb)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM rbac_bindings b JOIN rbac_roles r ON r.name = b.role
     WHERE b.tenant_id = p_tenant AND b.principal = p_principal
       AND p_permission = ANY (r.permissions)
       AND (p_environment IS NULL OR b.environment IN ('*', p_environment))
       AND (p_roles IS NULL OR jsonb_typeof(p_roles) <> 'array' OR p_roles ? b.role))
$$;

-- Audit trail of refused requests (rbac_violation), whether or not an execution is
-- involved. Written by the node that refused; never holds credentials.
CREATE TABLE security_events (
  id            BIGSERIAL PRIMARY KEY,
  kind          VARCHAR(32) NOT NULL,
  tenant_id     VARCHAR(128) NOT NULL,
  principal     VARCHAR(128) NOT NULL,
  operation     VARCHAR(64) NOT NULL,
  permission    VARCHAR(32) NOT NULL,
  environment   VARCHAR(100),
  execution_id  uuid,
  auth_method   VARCHAR(50) NOT NULL,
  node          VARCHAR(100) NOT NULL,
  source        VARCHAR(200),
  reason        TEXT NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX ix_security_events_tenant ON security_events (tenant_id, created_at);
