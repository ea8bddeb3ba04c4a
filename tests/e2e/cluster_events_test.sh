#!/usr/bin/env bash
# Events, cancel and approve across nodes (R-CL-4, R-CL-2): a follower connected to
# node A sees every event of an execution running on node B, live, in order and
# without gaps; it resumes after a seq (also through another node when A dies);
# a cancel sent to A and an approval sent to C reach work owned elsewhere.
source "$(dirname "$0")/lib.sh"

start_cluster e 3 --claim-interval-ms 200
GW_A=${GWS[0]}
GW_B=${GWS[1]}
GW_C=${GWS[2]}
PID_A=${NODE_PIDS[0]}

stamp() { while IFS= read -r line; do echo "$(date +%s%3N) $line"; done; }
exec_id() { # exec_id PLAN_NAME: waits for the execution to exist
  local id=""
  for _ in $(seq 1 100); do
    id=$(sql "SELECT id FROM executions WHERE plan_name = '$1'")
    [ -n "$id" ] && break
    sleep 0.1
  done
  echo "$id"
}

# An immediate execution runs on the node that received it: B.
cat >"$WORK/follow.json" <<'JSON'
{"name": "follow me", "action": "probe", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["h1"],
 "steps": [{"name": "one", "executor": "shell", "command": ["sleep", "1"], "timeout_ms": 10000},
           {"name": "two", "executor": "shell", "command": ["sleep", "1"], "timeout_ms": 10000},
           {"name": "three", "executor": "shell", "command": ["sleep", "1"], "timeout_ms": 10000}]}
JSON
"$STAGEE_BIN" submit --gateway "$GW_B" --mode immediate "$WORK/follow.json" >"$WORK/follow.out" &
SUBMIT=$!
ID=$(exec_id "follow me")
"$STAGEE_BIN" wait --gateway "$GW_A" --follow --timeout 30 "$ID" | stamp >"$WORK/followed"
wait "$SUBMIT" || true
check "it ran on B" "succeeded|e2" "$(sql "SELECT status || '|' || worker_id FROM executions WHERE id = '$ID'")"
journal=$(sql "SELECT string_agg(seq || ':' || kind, ' ' ORDER BY seq) FROM execution_events WHERE execution_id = '$ID'")
followed=$(grep '"execution_id"' "$WORK/followed" | cut -d' ' -f2- | jq -r 'select(.seq) | "\(.seq):\(.event)"' | tr '\n' ' ' | sed 's/ $//')
check "the follower on A saw every event of B's execution, in order" "$journal" "$followed"
# Live: each event printed soon after its commit (at_us is the transition time on B).
lat=$(grep '"at_us"' "$WORK/followed" | while read -r t json; do
        echo $((t - $(jq -r .at_us <<<"$json") / 1000)); done | sort -n)
echo "follow latencies (ms): $(tr '\n' ' ' <<<"$lat")" >&2
check "most events arrived within 500 ms (forwarded, not polled)" true \
  "$([ "$(awk '$1 <= 500' <<<"$lat" | wc -l)" -ge $(( $(wc -l <<<"$lat") / 2 + 1 )) ] && echo true || echo false)"
last_seq=$(sql "SELECT max(seq) FROM execution_events WHERE execution_id = '$ID'")
resumed=$("$STAGEE_BIN" wait --gateway "$GW_C" --follow --after-seq 3 --timeout 10 "$ID" \
          | jq -r 'select(.seq) | .seq' | tr '\n' ' ' | sed 's/ $//')
check "resume after seq 3 through C" "$(seq -s ' ' 4 "$last_seq")" "$resumed"

# A follow through A that loses A mid-run resumes through C without a gap.
jq '.name = "outlive a"' "$WORK/follow.json" >"$WORK/outlive.json"
"$STAGEE_BIN" submit --gateway "$GW_B" --mode immediate "$WORK/outlive.json" >/dev/null &
SUBMIT=$!
ID2=$(exec_id "outlive a")
"$STAGEE_BIN" wait --gateway "$GW_A,$GW_C" --follow --timeout 30 "$ID2" >"$WORK/outlive.followed" 2>"$WORK/outlive.err" &
FOLLOW=$!
sleep 1.2
kill -9 "$PID_A"
wait "$FOLLOW" || true
wait "$SUBMIT" || true
journal=$(sql "SELECT string_agg(seq::text, ' ' ORDER BY seq) FROM execution_events WHERE execution_id = '$ID2'")
check "the follower resumed through C without a gap" "$journal" \
  "$(jq -r 'select(.seq) | .seq' "$WORK/outlive.followed" | tr '\n' ' ' | sed 's/ $//')"
check "it said it reconnected" true "$(grep -q 'following again through' "$WORK/outlive.err" && echo true || echo false)"

# Cancel through C of a background execution running on B.
jq '.name = "cancel me" | .steps = [{"name": "long", "executor": "shell", "command": ["sleep", "30"], "timeout_ms": 60000}]' \
  "$WORK/follow.json" >"$WORK/cancel.json"
"$STAGEE_BIN" submit --gateway "$GW_B" --mode immediate "$WORK/cancel.json" >/dev/null &
SUBMIT=$!
ID3=$(exec_id "cancel me")
for _ in $(seq 1 50); do
  [ "$(sql "SELECT status FROM execution_steps WHERE execution_id = '$ID3'")" = running ] && break
  sleep 0.1
done
t0=$(date +%s%3N)
rc=0; out=$("$STAGEE_BIN" cancel --gateway "$GW_C" --reason "cross-node" --wait-ms 10000 "$ID3") || rc=$?
t1=$(date +%s%3N)
wait "$SUBMIT" || true
check "cancel through C of B's execution" "0|cancelled" "$rc|$(jq -r .status <<<"$out")"
echo "cross-node cancel took $((t1 - t0)) ms" >&2
check "cancelled within 3 s" true "$([ $((t1 - t0)) -le 3000 ] && echo true || echo false)"

# Approve through C of an execution submitted to B (level 1 in environment appr).
"$STAGEE_BIN" approval-policy set --db-url "$DB_URL" --action-class read --environment appr --level 1 >/dev/null
jq '.name = "approve me" | .environment = "appr" | .steps = [.steps[0]]' "$WORK/follow.json" >"$WORK/approve.json"
out=$("$STAGEE_BIN" submit --gateway "$GW_B" --mode background "$WORK/approve.json")
ID4=$(jq -r .execution_id <<<"$out")
check "waits for approval" awaiting_approval "$(jq -r .status <<<"$out")"
rc=0; out=$("$STAGEE_BIN" approve --gateway "$GW_C" --principal alice --plan-hash "$(jq -r .plan_hash <<<"$out")" "$ID4") || rc=$?
check "approved through C" "0|queued" "$rc|$(jq -r .status <<<"$out")"
rc=0; out=$("$STAGEE_BIN" wait --gateway "$GW_B" --timeout 20 "$ID4") || rc=$?
check "the approved execution ran" "0|succeeded" "$rc|$(jq -r .status <<<"$out")"
finish
