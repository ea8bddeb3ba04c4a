#!/usr/bin/env bash
# RBAC at the second tier (R-SAFE-3): the worker checks the submitter's permission
# again before every step. Revoking the role while an execution runs its first step
# stops it before the second: it fails with rbac_violation, an rbac_violation event
# is journaled, the node logs it, and the second step never starts (ledger).
source "$(dirname "$0")/lib.sh"

LEDGER=$WORK/ledger
start_node revoke-1 --claim-interval-ms 100
GW="127.0.0.1:$NODE_PORT"
grant t rev operator
export STAGEE_PRINCIPAL=rev

cat >"$WORK/two.json" <<JSON
{"name": "two steps", "action": "patch", "action_class": "modify", "sla_class": "medium",
 "environment": "test", "targets": ["r-1"],
 "steps": [{"name": "first", "executor": "shell", "timeout_ms": 10000,
            "command": ["sh", "-c", "echo first >> $LEDGER; sleep 2"]},
           {"name": "second", "executor": "shell", "timeout_ms": 10000,
            "command": ["sh", "-c", "echo second >> $LEDGER"]}]}
JSON
ID=$("$STAGEE_BIN" submit --gateway "$GW" --mode background "$WORK/two.json" | jq -r .execution_id)
for _ in $(seq 1 100); do [ -s "$LEDGER" ] && break; sleep 0.1; done
check "the first step started" first "$(cat "$LEDGER")"
"$STAGEE_BIN" rbac revoke --db-url "$DB_URL" --tenant t --principal rev --role operator >/dev/null
# The revoked principal can no longer read it either: wait as an admin of tenant t.
out=$(STAGEE_PRINCIPAL=p "$STAGEE_BIN" wait --gateway "$GW" --timeout 20 "$ID")
check "failed with rbac_violation" "failed|rbac_violation" "$(jq -r '[.status, .error_class] | join("|")' <<<"$out")"
check "the second step never started" first "$(cat "$LEDGER")"
check "an rbac_violation event, then failed" "rbac_violation,failed" \
  "$(sql "SELECT string_agg(kind, ',' ORDER BY seq) FROM (SELECT kind, seq FROM execution_events WHERE execution_id='$ID' ORDER BY seq DESC LIMIT 2) x")"
check "the event names the lost permission" true \
  "$(sql "SELECT (payload->>'message' LIKE '%''rev'' no longer holds ''execute:modify''%')::text FROM execution_events WHERE execution_id='$ID' AND kind='rbac_violation'")"
check "the node logged it" 1 "$(grep -c '"msg":"rbac_violation: submitter lost the permission; stopping before the next step"' "$WORK/revoke-1.log")"
check "first step succeeded, second did not run" "succeeded,failed" \
  "$(sql "SELECT string_agg(status::text, ',' ORDER BY run_index) FROM execution_steps WHERE execution_id='$ID'")"
check "its locks are gone" 0 "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id='$ID'")"
rc=0; out=$("$STAGEE_BIN" submit --gateway "$GW" --mode background "$WORK/two.json") || rc=$?
check "the gateway refuses the revoked principal too" "1|permission_denied" "$rc|$(jq -r .error.code <<<"$out")"

finish
