#!/usr/bin/env bash
# Schedule-to-start deadline: an execution that waited in the queue longer than its
# deadline fails with queue_timeout instead of starting; one that did not, runs.
source "$(dirname "$0")/lib.sh"

start_node deadline-1 --capacity 1 --queue-deadline-ms 700 --claim-interval-ms 100
GW="127.0.0.1:$NODE_PORT"
plan() {
  cat <<JSON
{"name": "$1", "action": "probe", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["h1"],
 "steps": [{"name": "s", "executor": "shell", "command": ["sleep", "$2"], "timeout_ms": 5000}]}
JSON
}
plan blocker 3 >"$WORK/blocker.json"
plan late 0 >"$WORK/late.json"
B=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode background "$WORK/blocker.json" | jq -r .execution_id)
sleep 0.3 # the only slot is taken by the blocker (3 s: the late one must queue > 700 ms
          # even when its submit is slow on a loaded machine)
L=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode background "$WORK/late.json" | jq -r .execution_id)
check "blocker succeeded" succeeded "$("$STAGEE_BIN" wait --gateway "$GW" --timeout 20 "$B" | jq -r .status)"
out=$("$STAGEE_BIN" wait --gateway "$GW" --timeout 20 "$L")
check "late one failed with queue_timeout" "failed|queue_timeout" "$(jq -r '[.status, .error_class] | join("|")' <<<"$out")"
check "late step never started" "skipped|0" "$(jq -r '[.steps[0].status, .steps[0].attempt] | join("|")' <<<"$out")"
check "claim logged its queue wait" true "$(grep '"msg":"claimed execution"' "$WORK/deadline-1.log" | jq -s 'map(.queue_wait_ms) | max > 700')"

finish
