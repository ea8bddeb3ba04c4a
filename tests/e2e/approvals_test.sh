#!/usr/bin/env bash
# Approvals (R-SAFE-8) with the default policy (read 0, modify 1, deploy 2, deploy in
# prod 3), on a token node:
# - level 0 runs at once; level 1 waits for one approval (the submitter may give it);
# - level 2 needs a runbook_url and an approver other than the submitter;
# - level 3 needs an approval before every step: it waits again before each one,
#   and a step never starts unapproved (ledger);
# - an approval with a stale plan hash is refused (approval_invalidated) and
#   recorded; approving a cancelled or finished execution fails clearly; a
#   rejection ends the execution; approvals record principal, auth method, source;
# - a caller-supplied idempotency key reused with another plan is a conflict.
E2E_KEEP_APPROVAL_POLICY=1
E2E_NO_DEFAULT_GRANTS=1
source "$(dirname "$0")/lib.sh"

LEDGER=$WORK/ledger
"$STAGEE_BIN" token keygen --out "$WORK/hs.key" >/dev/null
NODE_AUTH_ARGS="--jwt-hmac-key $WORK/hs.key"
start_node appr-1 --claim-interval-ms 100
GW="127.0.0.1:$NODE_PORT"
unset STAGEE_TENANT STAGEE_PRINCIPAL
grant acme dev deployer
grant acme ann approver
grant acme dev approver # may approve others' work, never its own at level >= 2
tok() { "$STAGEE_BIN" token issue --key-file "$WORK/hs.key" --sub "$1" --tenant acme; }
DEV=$(tok dev)
ANN=$(tok ann)

plan() { # plan NAME CLASS ENV [RUNBOOK] [STEPS]
  jq -nc --arg n "$1" --arg c "$2" --arg e "$3" --arg rb "${4:-}" --argjson k "${5:-1}" \
    --arg ledger "$LEDGER" '{name: $n, action: "change", action_class: $c, sla_class: "medium",
    environment: $e, targets: ["a-" + $n],
    steps: [range(1; $k + 1) | {name: ("s" + tostring), executor: "shell", timeout_ms: 10000,
            command: ["sh", "-c", ("echo " + $n + " s" + tostring + " >> " + $ledger)]}]}
    | if $rb != "" then .runbook_url = $rb else . end' >"$WORK/$1.json"
  echo "$WORK/$1.json"
}
submit() { "$STAGEE_BIN" submit --gateway "$GW" --token "$1" --mode background "$2"; }
decide() { # decide approve|reject TOKEN ID HASH [extra...]
  local what=$1 t=$2 id=$3 h=$4; shift 4
  "$STAGEE_BIN" "$what" --gateway "$GW" --token "$t" --plan-hash "$h" "$@" "$id" || true
}
wait_status() { "$STAGEE_BIN" wait --gateway "$GW" --token "$DEV" --timeout 20 "$1" | jq -r .status; }
code() { jq -r 'if .error then .error.code else "ok" end' <<<"$1"; }

# --- level 0: a read plan runs at once
out=$(submit "$DEV" "$(plan l0 read test)")
check "level 0: queued at once" queued "$(jq -r .status <<<"$out")"
check "level 0: succeeded" succeeded "$(wait_status "$(jq -r .execution_id <<<"$out")")"

# --- level 1: waits; one approval (by the submitter itself here) runs it
out=$(submit "$DEV" "$(plan l1 modify test)")
L1=$(jq -r .execution_id <<<"$out"); H1=$(jq -r .plan_hash <<<"$out")
check "level 1: awaiting_approval" awaiting_approval "$(jq -r .status <<<"$out")"
sleep 0.5
check "level 1: nothing ran while waiting" 0 "$(grep -c '^l1 ' "$LEDGER" 2>/dev/null || true)"
check "level 1: no queue row while waiting" 0 "$(sql "SELECT count(*) FROM execution_queue WHERE execution_id='$L1'")"
stale=$(decide approve "$DEV" "$L1" "$(printf '0%.0s' {1..64})")
check "stale plan hash: approval_invalidated" approval_invalidated "$(code "$stale")"
check "stale plan hash: recorded as invalidated" "invalidated|dev" \
  "$(sql "SELECT state || '|' || principal FROM approvals WHERE execution_id='$L1'")"
out=$(decide approve "$DEV" "$L1" "$H1" --reason "looks right")
check "level 1: self-approval allowed" "queued|1|dev" "$(jq -r '[.status, .approval_level, .decided_by] | join("|")' <<<"$out")"
check "level 1: ran" succeeded "$(wait_status "$L1")"
check "approval row: principal, auth method, source, plan hash" "approved|1|dev|jwt:HS256|true|true" \
  "$(sql "SELECT state || '|' || level || '|' || principal || '|' || auth_method || '|' || (source_ip LIKE 'node:%') || '|' || (plan_hash = '$H1') FROM approvals WHERE execution_id='$L1' AND state='approved'")"
again=$(decide approve "$ANN" "$L1" "$H1")
check "approving a finished execution fails clearly" "invalid_state|true" \
  "$(code "$again")|$(jq '.error.message | test("is succeeded; there is nothing left to approve")' <<<"$again")"

# --- level 2: runbook required; no self-approval
out=$(submit "$DEV" "$(plan l2norunbook deploy test)" || true)
check "level 2 without runbook_url: invalid_plan naming it" "invalid_plan|runbook_url" \
  "$(jq -r '[.error.code, .error.field] | join("|")' <<<"$out")"
out=$(submit "$DEV" "$(plan l2 deploy test https://runbooks.example/l2)")
L2=$(jq -r .execution_id <<<"$out"); H2=$(jq -r .plan_hash <<<"$out")
check "level 2: awaiting_approval" awaiting_approval "$(jq -r .status <<<"$out")"
self=$(decide approve "$DEV" "$L2" "$H2")
check "level 2: self-approval refused" "permission_denied|true" \
  "$(code "$self")|$(jq '.error.message | test("cannot approve it; another approver must")' <<<"$self")"
out=$(decide approve "$ANN" "$L2" "$H2")
check "level 2: another approver" "queued|2|ann" "$(jq -r '[.status, .approval_level, .decided_by] | join("|")' <<<"$out")"
check "level 2: ran" succeeded "$(wait_status "$L2")"

# --- rejection, and approval after a cancel
out=$(submit "$DEV" "$(plan rej modify test)")
R=$(jq -r .execution_id <<<"$out"); HR=$(jq -r .plan_hash <<<"$out")
out=$(decide reject "$ANN" "$R" "$HR" --reason "not today")
check "reject: rejected" rejected "$(jq -r .status <<<"$out")"
check "reject: never ran" 0 "$(grep -c '^rej ' "$LEDGER" || true)"
out=$(submit "$DEV" "$(plan can modify test)")
C=$(jq -r .execution_id <<<"$out"); HC=$(jq -r .plan_hash <<<"$out")
rc=0; cout=$("$STAGEE_BIN" cancel --gateway "$GW" --token "$DEV" --reason "changed my mind, password=hunter2" "$C") || rc=$?
check "cancel while awaiting approval" "0|cancelled|dev" "$rc|$(jq -r '[.status, .cancelled_by] | join("|")' <<<"$cout")"
check "a secret in the cancel reason is stored masked" "changed my mind, password=***REDACTED***" \
  "$(sql "SELECT cancel_reason FROM executions WHERE id='$C'")"
late=$(decide approve "$ANN" "$C" "$HC")
check "approving a cancelled execution fails clearly" "invalid_state|true" \
  "$(code "$late")|$(jq '.error.message | test("is cancelled")' <<<"$late")"

# --- level 3: deploy in prod, three steps, approved step by step
out=$(submit "$DEV" "$(plan l3 deploy prod https://runbooks.example/l3 3)")
L3=$(jq -r .execution_id <<<"$out"); H3=$(jq -r .plan_hash <<<"$out")
check "level 3: awaiting_approval" awaiting_approval "$(jq -r .status <<<"$out")"
wrong=$(decide approve "$ANN" "$L3" "$H3" --step s2)
check "level 3: only the waiting step can be approved" "invalid_request|step" \
  "$(jq -r '[.error.code, .error.field] | join("|")' <<<"$wrong")"
for s in s1 s2 s3; do
  out=$(decide approve "$ANN" "$L3" "$H3" --step "$s")
  check "level 3: $s approved" "queued|3|$s" "$(jq -r '[.status, .approval_level, .step] | join("|")' <<<"$out")"
  for _ in $(seq 1 100); do
    st=$(sql "SELECT status FROM executions WHERE id='$L3'")
    [ "$st" = awaiting_approval ] || [ "$st" = succeeded ] && [ "$(grep -c "^l3 $s" "$LEDGER" || true)" = 1 ] && break
    sleep 0.1
  done
  check "level 3: $s ran, and nothing after it" "l3 $s" "$(grep '^l3 ' "$LEDGER" | tail -1)"
done
check "level 3: succeeded" succeeded "$(wait_status "$L3")"
check "level 3: each step ran once, in order" "l3 s1,l3 s2,l3 s3" "$(grep '^l3 ' "$LEDGER" | paste -sd,)"
check "level 3: three approvals, one per step" "s1,s2,s3" \
  "$(sql "SELECT string_agg(step_name, ',' ORDER BY step_name) FROM approvals WHERE execution_id='$L3' AND state='approved'")"
check "level 3: it waited before steps 2 and 3 (events)" 3 \
  "$(sql "SELECT count(*) FROM execution_events WHERE execution_id='$L3' AND kind='awaiting_approval'")"
check "level 3: no lock left" 0 "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id='$L3'")"

# --- an idempotency key reused with another plan: conflict
K=client-key-1
"$STAGEE_BIN" submit --gateway "$GW" --token "$DEV" --idempotency-key "$K" "$(plan k1 read test)" >/dev/null
out=$("$STAGEE_BIN" submit --gateway "$GW" --token "$DEV" --idempotency-key "$K" "$(plan k2 read test)" || true)
check "same key, other plan: idempotency_conflict" idempotency_conflict "$(code "$out")"

finish
