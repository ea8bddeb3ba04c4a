#!/usr/bin/env bash
# One real `stagee node` process on a real PostgreSQL, driven by `stagee submit`:
# the acceptance checks of the single-node vertical slice.
export STAGEE_TENANT=acme STAGEE_PRINCIPAL=alice # reads below are acme's
source "$(dirname "$0")/lib.sh"

start_node e2e-1
GW="127.0.0.1:$NODE_PORT"
submit() { "$STAGEE_BIN" submit --gateway "$GW" "$@"; }

# --- a 2-step shell plan over two targets ends succeeded with four step rows
cat >"$WORK/plan.json" <<'JSON'
{"name": "e2e two steps", "action": "check", "action_class": "modify", "sla_class": "fast",
 "environment": "test", "targets": ["host-b", "host-a"],
 "steps": [
   {"name": "hello", "executor": "shell", "command": ["sh", "-c", "echo hello $STAGEE_TARGET $STAGEE_STEP $STAGEE_ATTEMPT; echo $STAGEE_EXECUTION_ID $STAGEE_IDEMPOTENCY_KEY $STAGEE_REQUEST_ID >&2"], "idempotent": true, "timeout_ms": 2000},
   {"name": "literal", "executor": "shell", "command": ["printf", "%s|", "{{target}}", "; touch /tmp/stagee-pwned-$$", "$(id)"], "timeout_ms": 2000}
 ]}
JSON
out=$(submit --tenant acme --principal alice --mode immediate "$WORK/plan.json")
ID=$(jq -r .execution_id <<<"$out")
check "immediate status" succeeded "$(jq -r .status <<<"$out")"
check "immediate duplicate flag" false "$(jq -r .duplicate <<<"$out")"
check "plan_hash length" 64 "$(jq -r '.plan_hash | length' <<<"$out")"
check "four step rows" 4 "$(sql "SELECT count(*) FROM execution_steps WHERE execution_id='$ID' AND status='succeeded' AND exit_code=0")"
check "captured output" "hello host-a hello 1" "$(sql "SELECT trim(stdout) FROM execution_steps WHERE execution_id='$ID' AND run_index=0")"
check "step environment" "$ID $ID/hello/host-a $(sql "SELECT request_id FROM executions WHERE id='$ID'")" "$(sql "SELECT trim(stderr) FROM execution_steps WHERE execution_id='$ID' AND run_index=0")"
check "request id recorded" 36 "$(sql "SELECT length(request_id) FROM executions WHERE id='$ID'")"
check "argv passed literally" "host-b|; touch /tmp/stagee-pwned-\$\$|\$(id)|" "$(sql "SELECT stdout FROM execution_steps WHERE execution_id='$ID' AND run_index=3")"
check "events numbered without gaps" "t" "$(sql "SELECT min(seq)=1 AND max(seq)=count(*) FROM execution_events WHERE execution_id='$ID'")"
check "last_transition_* set" "t|running" "$(sql "SELECT last_transition_at IS NOT NULL AND last_transition_by <> '', last_transition_from FROM executions WHERE id='$ID'")"
check "queue row released" 0 "$(sql "SELECT count(*) FROM execution_queue WHERE execution_id='$ID'")"

# --- status and wait --follow
st=$("$STAGEE_BIN" status --gateway "$GW" "$ID")
check "status steps" 4 "$(jq '.steps | length' <<<"$st")"
check "status fields" "succeeded|acme|false|1" "$(jq -r '[.status, .tenant_id, .timed_out, .steps[0].attempt] | join("|")' <<<"$st")"
rc=0; out=$("$STAGEE_BIN" status --gateway "$GW" --tenant globex --principal alice "$ID") || rc=$?
check "another tenant's execution is not_found" "1|not_found" "$rc|$(jq -r .error.code <<<"$out")"
follow=$("$STAGEE_BIN" wait --gateway "$GW" --follow --timeout 10 "$ID")
check "follow prints every event then the status" "$(sql "SELECT count(*) + 1 FROM execution_events WHERE execution_id='$ID'")" "$(wc -l <<<"$follow")"
check "follow ends with succeeded" succeeded "$(tail -1 <<<"$follow" | jq -r .status)"

# --- resubmit with keys and targets in another order: same execution, no new row
jq -S '.targets |= reverse' "$WORK/plan.json" >"$WORK/plan2.json"
rows=$(sql "SELECT count(*) FROM executions")
out=$(submit --tenant acme --principal alice --mode immediate "$WORK/plan2.json")
check "reordered duplicate id" "$ID" "$(jq -r .execution_id <<<"$out")"
check "reordered duplicate flag" true "$(jq -r .duplicate <<<"$out")"
check "no new row" "$rows" "$(sql "SELECT count(*) FROM executions")"

# --- the same plan from another tenant is a new execution
out=$(submit --tenant globex --principal alice --mode immediate "$WORK/plan.json")
check "other tenant gets a new id" true "$(jq -r ".execution_id != \"$ID\"" <<<"$out")"

# --- 8 concurrent identical submits create one row
jq '.name = "concurrent"' "$WORK/plan.json" >"$WORK/plan3.json"
pids=()
for i in $(seq 1 8); do
  submit --tenant acme --principal bob --mode background "$WORK/plan3.json" >"$WORK/c$i.json" &
  pids+=($!)
done
wait "${pids[@]}"
check "8 concurrent submits, one id" 1 "$(cat "$WORK"/c*.json | jq -r .execution_id | sort -u | wc -l)"
check "8 concurrent submits, one row" 1 "$(sql "SELECT count(*) FROM executions WHERE plan_name='concurrent'")"

# --- background mode: queued at once, then run by the node
CID=$(jq -r .execution_id "$WORK/c1.json")
check "background wait" succeeded "$("$STAGEE_BIN" wait --gateway "$GW" --timeout 20 "$CID" | jq -r .status)"

# --- a failing step fails the execution and skips the rest
cat >"$WORK/fail.json" <<'JSON'
{"name": "e2e failing", "action": "check", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["h1"],
 "steps": [{"name": "boom", "executor": "shell", "command": ["sh", "-c", "echo oops >&2; exit 7"]},
           {"name": "never", "executor": "noop"}]}
JSON
out=$(submit --tenant acme --principal alice --mode immediate "$WORK/fail.json")
FID=$(jq -r .execution_id <<<"$out")
check "failing plan status" failed "$(jq -r .status <<<"$out")"
check "failing step row" "failed|7|oops" "$(sql "SELECT status, exit_code, trim(stderr) FROM execution_steps WHERE execution_id='$FID' AND run_index=0" | tr -d '\n')"
check "later step skipped" skipped "$(sql "SELECT status FROM execution_steps WHERE execution_id='$FID' AND run_index=1")"
check "error_class" step_failed "$("$STAGEE_BIN" status --gateway "$GW" "$FID" | jq -r .error_class)"

# --- any bytes a step prints (NUL, invalid UTF-8, a sequence cut by the output cap)
# are stored: malformed bytes become U+FFFD, the rest is kept
cat >"$WORK/binary.json" <<'JSON'
{"name": "e2e binary output", "action": "check", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["h1"],
 "steps": [{"name": "bytes", "executor": "shell", "command": ["printf", "a\\000b\\377c\\303\\251"]}]}
JSON
out=$(submit --tenant acme --principal alice --mode immediate "$WORK/binary.json")
check "binary output: execution succeeded" succeeded "$(jq -r .status <<<"$out")"
check "binary output: stored as valid text" "a�b�cé" \
  "$(sql "SELECT stdout FROM execution_steps WHERE execution_id='$(jq -r .execution_id <<<"$out")'")"

# --- malformed input: precise errors, nothing written
before=$(sql "SELECT count(*) FROM executions")
reject() { # reject NAME CODE FIELD FILE
  local out rc=0
  out=$(submit --tenant acme --principal alice "$4") || rc=$?
  check "$1: exit code" 1 "$rc"
  check "$1: error" "$2|$3" "$(jq -r '[.error.code, (.error.field // "")] | join("|")' <<<"$out")"
}
echo '{"name": "x", ' >"$WORK/bad.json"
reject "invalid JSON" invalid_plan "" "$WORK/bad.json"
jq 'del(.action_class)' "$WORK/plan.json" >"$WORK/bad.json"
reject "missing field" invalid_plan action_class "$WORK/bad.json"
jq '.priority = "high"' "$WORK/plan.json" >"$WORK/bad.json"
reject "wrong type" invalid_plan priority "$WORK/bad.json"
jq '.steps[1].executor = "telnet"' "$WORK/plan.json" >"$WORK/bad.json"
reject "unknown executor" invalid_plan "steps[1].executor" "$WORK/bad.json"
jq '.steps = []' "$WORK/plan.json" >"$WORK/bad.json"
reject "empty steps" invalid_plan steps "$WORK/bad.json"
jq '.targets = ["ok", "a;rm -rf /"]' "$WORK/plan.json" >"$WORK/bad.json"
reject "hostile target" invalid_plan "targets[1]" "$WORK/bad.json"
jq '.steps[0].targets = ["$(reboot)"]' "$WORK/plan.json" >"$WORK/bad.json"
reject "hostile step target" invalid_plan "steps[0].targets[0]" "$WORK/bad.json"
jq '.extra = 1' "$WORK/plan.json" >"$WORK/bad.json"
reject "unknown field" invalid_plan extra "$WORK/bad.json"
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'a' | jq -Rs --slurpfile p "$WORK/plan.json" '$p[0] + {name: .}' >"$WORK/big.json"
reject "10 MB plan" plan_too_large "" "$WORK/big.json"
rc=0; out=$(submit --tenant 'ac me' --principal alice "$WORK/plan.json") || rc=$?
check "bad tenant" "invalid_token|credential" "$(jq -r '[.error.code, .error.field] | join("|")' <<<"$out")"
check "nothing written for bad input" "$before" "$(sql "SELECT count(*) FROM executions")"
rc=0; out=$("$STAGEE_BIN" status --gateway "$GW" not-a-uuid) || rc=$?
check "bad execution id" "invalid_request|execution_id" "$(jq -r '[.error.code, .error.field] | join("|")' <<<"$out")"
rc=0; out=$("$STAGEE_BIN" status --gateway "$GW" 00000000-0000-4000-8000-000000000000) || rc=$?
check "missing execution" not_found "$(jq -r .error.code <<<"$out")"
rc=0; out=$("$STAGEE_BIN" status --gateway 127.0.0.1:1 "$ID") || rc=$?
check "unreachable gateway exit code" 2 "$rc"
check "no injected file" no "$( [ -e /tmp/stagee-pwned-\$\$ ] && echo yes || echo no)"

# --- the node still works after all that, and stops cleanly on SIGTERM
out=$(submit --tenant acme --principal carol --mode immediate "$WORK/plan.json")
check "node alive after bad input" succeeded "$(jq -r .status <<<"$out")"
kill -TERM "${NODE_PIDS[0]}"
rc=0; wait "${NODE_PIDS[0]}" || rc=$?
check "clean shutdown exit code" 0 "$rc"
NODE_PIDS=()
check "JSON log lines with execution context" true "$(grep '"msg":"execution finished"' "$WORK/e2e-1.log" | head -1 | jq '.exec_id != null and .tenant_id != null and .plan_hash != null and .duration_ms != null')"

finish
