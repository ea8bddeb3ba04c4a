#!/usr/bin/env bash
# Cancellation (R-SAFE-6, test plan D11) at each point: queued, waiting for a lock,
# running (through another node's gateway) and in retry backoff. Each is cancelled
# within 2.5 s, repeats return the same result, no child process is left and no
# lock is held; the running step's later steps are skipped.
source "$(dirname "$0")/lib.sh"

COMMON=(--claim-interval-ms 100 --cancel-poll-ms 200 --lease-ms 10000 --reaper-interval-ms 500
        --retry-base-ms 20000)
start_node cancel-a --capacity 1 "${COMMON[@]}"
GW_A="127.0.0.1:$NODE_PORT"
watch_lock_invariant 10500 # lease 10 s + reaper 0.5 s

plan() { # plan NAME TARGET COMMAND_JSON [IDEMPOTENT]
  cat <<JSON
{"name": "$1", "action": "patch", "action_class": "modify", "sla_class": "long",
 "environment": "test", "targets": ["$2"],
 "steps": [{"name": "work", "executor": "shell", "timeout_ms": 600000, "idempotent": ${4:-false},
            "command": $3},
           {"name": "after", "executor": "shell", "timeout_ms": 5000, "command": ["true"]}]}
JSON
}
submit() { "$STAGEE_BIN" submit --gateway "$1" --tenant t --principal p --mode background "$2" | jq -r .execution_id; }
# cancel_timed GATEWAY ID: cancels, prints "ELAPSED_MS REPLY_JSON"
cancel_timed() {
  local start out rc=0
  start=$(date +%s%N)
  out=$("$STAGEE_BIN" cancel --gateway "$1" --principal alice --reason "change freeze" "$2") || rc=$?
  echo "$(( ($(date +%s%N) - start) / 1000000 )) $rc $out"
}
within() { echo "cancel took $1 ms" >&2; [ "$1" -le 2500 ] && echo true || echo "false ($1 ms)"; }
running_step() { # running_step ID: waits until its first step runs
  for _ in $(seq 1 100); do
    [ "$(sql "SELECT status FROM execution_steps WHERE execution_id='$1' AND run_index=0")" = running ] && return 0
    sleep 0.1
  done
  echo "step of $1 never started" >&2
}
checks_after_cancel() { # NAME ID REPLY
  local name=$1 id=$2 reply=$3
  check "$name: reply says cancelled by alice" "cancelled|true|alice|change freeze|true" \
    "$(jq -r '[.status, .cancelled, .cancelled_by, .reason, (.cancelled_at != null)] | map(tostring) | join("|")' <<<"$reply")"
  check "$name: cancelled_by and cancelled_at stored together" "cancelled|alice|true" \
    "$(sql "SELECT status || '|' || cancelled_by || '|' || (cancelled_at IS NOT NULL) FROM executions WHERE id='$id'")"
  local again rc=0
  again=$("$STAGEE_BIN" cancel --gateway "$GW_A" --principal bob "$id") || rc=$?
  check "$name: a repeat cancel returns the same result" "0|$reply" "$rc|$again"
  check "$name: no lock held" 0 "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id='$id'")"
  check "$name: left the queue" 0 "$(sql "SELECT count(*) FROM execution_queue WHERE execution_id='$id'")"
}

# 1. Queued: the only node is busy (capacity 1), the execution waits for a slot.
plan blocker c-block '["sleep", "3"]' >"$WORK/blocker.json"
plan queued c-queued '["true"]' >"$WORK/queued.json"
B=$(submit "$GW_A" "$WORK/blocker.json")
running_step "$B"
Q=$(submit "$GW_A" "$WORK/queued.json")
sleep 0.3
check "queued: still queued" queued "$(sql "SELECT status FROM executions WHERE id='$Q'")"
read -r ms rc reply <<<"$(cancel_timed "$GW_A" "$Q")"
check "queued: cancelled within 2.5 s" true "$(within "$ms")"
checks_after_cancel queued "$Q" "$reply"
check "queued: no step ran" "skipped,skipped" \
  "$(sql "SELECT string_agg(status::text, ',' ORDER BY run_index) FROM execution_steps WHERE execution_id='$Q'")"
check "queued: the blocker was not disturbed" succeeded "$("$STAGEE_BIN" wait --gateway "$GW_A" --timeout 20 "$B" | jq -r .status)"

# 2. Waiting for a lock: the holder runs on one node, the waiter is deferred.
start_node cancel-b --capacity 2 "${COMMON[@]}"
GW_B="127.0.0.1:$NODE_PORT"
plan holder c-lock "[\"sh\", \"-c\", \"echo \$\$ > $WORK/holder.pgid; sleep 3600 & exec sleep 3600\"]" >"$WORK/holder.json"
plan waiter c-lock '["true"]' >"$WORK/waiter.json"
H=$(submit "$GW_A" "$WORK/holder.json")
running_step "$H"
W=$(submit "$GW_B" "$WORK/waiter.json")
for _ in $(seq 1 50); do
  [ "$(sql "SELECT lock_waits > 0 FROM execution_queue WHERE execution_id='$W'")" = t ] && break
  sleep 0.1
done
check "lock wait: deferred while the holder runs" "queued|true" \
  "$(sql "SELECT e.status || '|' || (q.lock_waits > 0) FROM executions e JOIN execution_queue q ON q.execution_id = e.id WHERE e.id='$W'")"
read -r ms rc reply <<<"$(cancel_timed "$GW_A" "$W")"
check "lock wait: status shows who asked to cancel" alice \
  "$("$STAGEE_BIN" status --gateway "$GW_B" "$W" | jq -r .cancel_requested_by)"
check "lock wait: cancelled within 2.5 s" true "$(within "$ms")"
checks_after_cancel "lock wait" "$W" "$reply"
check "lock wait: the holder still runs and holds its lock" "running|1" \
  "$(sql "SELECT e.status || '|' || count(l.*) FROM executions e LEFT JOIN execution_locks l ON l.owner_execution_id = e.id WHERE e.id='$H' GROUP BY e.status")"

# 3. Running, cancelled through the gateway of the node that does not run it.
owner=$(sql "SELECT worker_id FROM executions WHERE id='$H'")
other_gw=$GW_A; [ "$owner" = cancel-a ] && other_gw=$GW_B
read -r ms rc reply <<<"$(cancel_timed "$other_gw" "$H")"
check "running: cancelled within 2.5 s from another node" true "$(within "$ms")"
checks_after_cancel running "$H" "$reply"
check "running: no process of its group is left" "" "$(group_left "$(cat "$WORK/holder.pgid")")"
check "running: the running step cancelled, the next skipped" "cancelled,skipped" \
  "$(sql "SELECT string_agg(status::text, ',' ORDER BY run_index) FROM execution_steps WHERE execution_id='$H'")"
check "running: the owner node carried it out" 1 \
  "$(grep -c '"msg":"cancellation requested; stopping execution"' "$WORK/$owner.log")"
check "running: cancel checks counted" true \
  "$(sql "SELECT (cancel_checks_performed >= 1)::text FROM executions WHERE id='$H'")"
check "running: the cancelled event names who asked" "principal:alice|change freeze" \
  "$(sql "SELECT payload->>'by' || '|' || (payload->>'message') FROM execution_events WHERE execution_id='$H' AND kind='cancelled'")"

# 4. In retry backoff (20 s base): an idempotent step failed once and waits.
plan flaky c-retry '["sh", "-c", "exit 3"]' true >"$WORK/flaky.json"
R=$(submit "$GW_B" "$WORK/flaky.json")
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM execution_events WHERE execution_id='$R' AND kind='retry_scheduled'")" = 1 ] && break
  sleep 0.1
done
check "backoff: a retry is scheduled" 1 "$(sql "SELECT count(*) FROM execution_events WHERE execution_id='$R' AND kind='retry_scheduled'")"
read -r ms rc reply <<<"$(cancel_timed "$GW_A" "$R")"
check "backoff: cancelled within 2.5 s" true "$(within "$ms")"
checks_after_cancel backoff "$R" "$reply"
check "backoff: the step ran once" 1 "$(sql "SELECT attempt FROM execution_steps WHERE execution_id='$R' AND run_index=0")"

# 5. Cancelling what already ended changes nothing and says so.
rc=0; out=$("$STAGEE_BIN" cancel --gateway "$GW_A" --principal alice "$B") || rc=$?
check "ended: not cancelled, status kept, exit 1" "1|succeeded|false|null" \
  "$rc|$(jq -r '[.status, .cancelled, .requested_by] | map(tostring) | join("|")' <<<"$out")"
rc=0; out=$("$STAGEE_BIN" cancel --gateway "$GW_A" --principal alice 00000000-0000-4000-8000-000000000000) || rc=$?
check "missing: not_found" "1|not_found" "$rc|$(jq -r .error.code <<<"$out")"
rc=0; out=$("$STAGEE_BIN" cancel --gateway "$GW_A" --principal 'bad principal!' "$B") || rc=$?
check "bad principal: refused as a credential" "1|invalid_token|credential" "$rc|$(jq -r '[.error.code, .error.field] | join("|")' <<<"$out")"
check "no lock held at the end" 0 "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id IS NOT NULL")"

finish
