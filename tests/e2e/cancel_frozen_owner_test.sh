#!/usr/bin/env bash
# Cancellation when the owner is frozen (test plan D11, last column): node A runs a
# step and is stopped with SIGSTOP; a cancel sent to node B is carried out once A's
# lease has expired (within R = lease + reaper interval + a poll). After SIGCONT, A
# writes nothing more (its lease is gone) and stops the step it had started.
source "$(dirname "$0")/lib.sh"

COMMON=(--claim-interval-ms 100 --cancel-poll-ms 200 --lease-ms 2000 --reaper-interval-ms 300)
start_node frozen-a "${COMMON[@]}"
GW_A="127.0.0.1:$NODE_PORT"
PID_A=${NODE_PIDS[0]}
watch_lock_invariant 2300 # lease 2 s + reaper 0.3 s

cat >"$WORK/long.json" <<JSON
{"name": "long", "action": "patch", "action_class": "modify", "sla_class": "long",
 "environment": "test", "targets": ["f-1"],
 "steps": [{"name": "work", "executor": "shell", "timeout_ms": 600000,
            "command": ["sh", "-c", "echo \$\$ > $WORK/long.pgid; exec sleep 3600"]},
           {"name": "after", "executor": "shell", "timeout_ms": 5000, "command": ["true"]}]}
JSON
ID=$("$STAGEE_BIN" submit --gateway "$GW_A" --tenant t --principal p --mode background "$WORK/long.json" | jq -r .execution_id)
for _ in $(seq 1 100); do [ -s "$WORK/long.pgid" ] && break; sleep 0.1; done
start_node frozen-b "${COMMON[@]}"
GW_B="127.0.0.1:$NODE_PORT"

kill -STOP "$PID_A"
start=$(date +%s%N)
rc=0; out=$("$STAGEE_BIN" cancel --gateway "$GW_B" --principal alice --reason "owner frozen" --wait-ms 10000 "$ID") || rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "cancel with a frozen owner took $elapsed_ms ms" >&2
check "cancelled while the owner is frozen" "0|cancelled|alice" "$rc|$(jq -r '[.status, .cancelled_by] | join("|")' <<<"$out")"
check "within R (lease 2 s + reaper 0.3 s + poll 0.2 s + 1 s)" true \
  "$([ "$elapsed_ms" -le 3500 ] && echo true || echo "false ($elapsed_ms ms)")"
check "carried out by node b" frozen-b "$(sql "SELECT worker_id FROM executions WHERE id='$ID'")"
check "its lock is free" 0 "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id IS NOT NULL")"
seq_before=$(sql "SELECT last_event_seq FROM executions WHERE id='$ID'")

kill -CONT "$PID_A"
sleep 2 # a renewal attempt of A is refused: A stops the step it had started
check "the frozen owner wrote nothing after waking up" "$seq_before|cancelled" \
  "$(sql "SELECT last_event_seq || '|' || status FROM executions WHERE id='$ID'")"
check "its step process is stopped after waking up" "" "$(group_left "$(cat "$WORK/long.pgid")")"
check "node a logged why it stopped the step (lease lost or renewal overdue)" true \
  "$(grep -qE '"msg":"(lease lost to another owner; stopping execution|lease renewal overdue[^"]*)"' "$WORK/frozen-a.log" && echo true || echo false)"

finish
