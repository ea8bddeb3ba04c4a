#!/usr/bin/env bash
# R-FSM-4 with real processes: kill -9 the node while a step runs; another node
# takes the execution over once the lease expires and resumes from the last
# snapshot. Completed runs never run again; an interrupted idempotent run is re-run,
# an interrupted non-idempotent one fails the execution without a second attempt.
source "$(dirname "$0")/lib.sh"

LEDGER=$WORK/ledger
FAST=(--lease-ms 1500 --claim-interval-ms 100 --reaper-interval-ms 200)
start_node crash-a "${FAST[@]}"
GW_A="127.0.0.1:$NODE_PORT"

plan() { # plan NAME IDEMPOTENT TARGET (one target each: their locks must not collide)
  cat <<JSON
{"name": "$1", "action": "patch", "action_class": "modify", "sla_class": "long",
 "environment": "test", "targets": ["$3"],
 "steps": [
   {"name": "quick", "executor": "shell", "command": ["sh", "-c", "echo $1 quick \$STAGEE_ATTEMPT >> $LEDGER"], "timeout_ms": 5000},
   {"name": "slow", "executor": "shell", "idempotent": $2, "command": ["sh", "-c", "echo $1 slow-start \$STAGEE_ATTEMPT >> $LEDGER; sleep 1.5; echo $1 slow-end \$STAGEE_ATTEMPT >> $LEDGER"], "timeout_ms": 10000},
   {"name": "after", "executor": "shell", "command": ["sh", "-c", "echo $1 after \$STAGEE_ATTEMPT >> $LEDGER"], "timeout_ms": 5000}
 ]}
JSON
}
plan idem true h1 >"$WORK/idem.json"
plan once false h2 >"$WORK/once.json"
IDEM=$("$STAGEE_BIN" submit --gateway "$GW_A" --tenant t --principal p --mode background "$WORK/idem.json" | jq -r .execution_id)
ONCE=$("$STAGEE_BIN" submit --gateway "$GW_A" --tenant t --principal p --mode background "$WORK/once.json" | jq -r .execution_id)

# Wait until both slow steps have started, then kill the node without warning.
for _ in $(seq 1 100); do
  n=$(sql "SELECT count(*) FROM execution_steps WHERE name='slow' AND status='running'")
  [ "$n" = 2 ] && break
  sleep 0.1
done
check "both slow steps running before the kill" 2 "$n"
kill -9 "${NODE_PIDS[0]}"
wait "${NODE_PIDS[0]}" 2>/dev/null || true
NODE_PIDS=()
sleep 2 # let the orphaned step processes finish their first attempt

start_node crash-b "${FAST[@]}"
GW_B="127.0.0.1:$NODE_PORT"
r1=$("$STAGEE_BIN" wait --gateway "$GW_B" --timeout 30 "$IDEM")
r2=$("$STAGEE_BIN" wait --gateway "$GW_B" --timeout 30 "$ONCE")

check "idempotent: succeeded after takeover" succeeded "$(jq -r .status <<<"$r1")"
check "idempotent: attempts per step" "1,2,1" "$(jq -r '[.steps[].attempt] | join(",")' <<<"$r1")"
check "idempotent: quick ran once" 1 "$(grep -c '^idem quick' "$LEDGER")"
check "idempotent: slow re-run once" "idem slow-start 2" "$(grep '^idem slow-start' "$LEDGER" | tail -1)"
check "idempotent: after ran once" 1 "$(grep -c '^idem after' "$LEDGER")"
check "idempotent: taken over by node b" crash-b "$(jq -r .worker_id <<<"$r1")"
check "idempotent: resumed event journaled" 1 "$(sql "SELECT count(*) FROM execution_events WHERE execution_id='$IDEM' AND kind='resumed'")"

check "non-idempotent: failed" failed "$(jq -r .status <<<"$r2")"
check "non-idempotent: error class" interrupted_non_idempotent "$(jq -r .error_class <<<"$r2")"
check "non-idempotent: slow started exactly once" 1 "$(grep -c '^once slow-start' "$LEDGER")"
check "non-idempotent: later step never ran" 0 "$(grep -c '^once after' "$LEDGER" || true)"
check "non-idempotent: later step skipped" skipped "$(jq -r '.steps[2].status' <<<"$r2")"
check "events gapless after takeover" "t" "$(sql "SELECT bool_and(ok) FROM (SELECT min(seq)=1 AND max(seq)=count(*) AS ok FROM execution_events GROUP BY execution_id) x")"
check "queue empty" 0 "$(sql "SELECT count(*) FROM execution_queue")"

finish
