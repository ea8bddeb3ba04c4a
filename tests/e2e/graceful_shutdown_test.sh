#!/usr/bin/env bash
# SIGTERM under load (R-Q-6): the node stops claiming, lets its running step runs
# finish, hands the executions back, and another node finishes them at once, long
# before the (deliberately long) lease would expire. Nothing lost, nothing run twice,
# non-idempotent steps are not failed by the hand-over.
source "$(dirname "$0")/lib.sh"

LEDGER=$WORK/ledger
LONG_LEASE=(--lease-ms 60000 --claim-interval-ms 100)
start_node drain-a "${LONG_LEASE[@]}" --capacity 8
GW_A="127.0.0.1:$NODE_PORT"
PID_A=${NODE_PIDS[0]}

IDS=()
for i in $(seq 1 6); do
  cat >"$WORK/p$i.json" <<JSON
{"name": "drain $i", "action": "patch", "action_class": "modify", "sla_class": "medium",
 "environment": "test", "targets": ["h$i"],
 "steps": [
   {"name": "one", "executor": "shell", "command": ["sh", "-c", "sleep 2; echo p$i one >> $LEDGER"], "timeout_ms": 5000},
   {"name": "two", "executor": "shell", "command": ["sh", "-c", "sleep 1; echo p$i two >> $LEDGER"], "timeout_ms": 5000},
   {"name": "three", "executor": "shell", "command": ["sh", "-c", "echo p$i three >> $LEDGER"], "timeout_ms": 5000}
 ]}
JSON
  IDS+=("$("$STAGEE_BIN" submit --gateway "$GW_A" --tenant t --principal p --mode background "$WORK/p$i.json" | jq -r .execution_id)")
done
# Wait until all six have started step one (2 s each) and none has reached step two.
for _ in $(seq 1 100); do
  n=$(sql "SELECT count(*) FILTER (WHERE name='one' AND status <> 'pending') || '|' || count(*) FILTER (WHERE name='two' AND status <> 'pending') FROM execution_steps")
  [ "$n" = "6|0" ] && break
  sleep 0.1
done
check "six executions in step one on A" "6|0" "$n"

start_node drain-b "${LONG_LEASE[@]}"
GW_B="127.0.0.1:$NODE_PORT"
t0=$(date +%s%N)
kill -TERM "$PID_A"
rc=0; wait "$PID_A" || rc=$?
t1=$(date +%s%N)
NODE_PIDS=("${NODE_PIDS[@]:1}")
check "A exits cleanly" 0 "$rc"
check "A drained within the grace period" true "$([ $(( (t1 - t0) / 1000000 )) -lt 10000 ] && echo true || echo false)"
check "A handed executions back" true "$(grep -q '"msg":"drained"' "$WORK/drain-a.log" && echo true || echo false)"
rc=0; out=$("$STAGEE_BIN" submit --gateway "$GW_A" --tenant t --principal p "$WORK/p1.json") || rc=$?
check "A is gone after its drain (no gateway)" 2 "$rc"

for id in "${IDS[@]}"; do
  out=$("$STAGEE_BIN" wait --gateway "$GW_B" --timeout 20 "$id")
  check "finished by B: $id" "succeeded|drain-b" "$(jq -r '[.status, .worker_id] | join("|")' <<<"$out")"
done
t2=$(date +%s%N)
check "taken over long before lease expiry" true "$([ $(( (t2 - t1) / 1000000 )) -lt 20000 ] && echo true || echo false)"
for step in one two three; do
  check "each '$step' ran exactly once" 6 "$(grep -c " $step\$" "$LEDGER")"
done
check "every run attempted once" 0 "$(sql "SELECT count(*) FROM execution_steps WHERE attempt <> 1")"
check "queue empty" 0 "$(sql "SELECT count(*) FROM execution_queue")"

finish
