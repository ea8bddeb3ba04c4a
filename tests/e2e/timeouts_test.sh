#!/usr/bin/env bash
# SLA timeouts (R-SAFE-7, test plan D10): a step running `sleep 3600` with a 2 s
# timeout is timed out within 3.5 s, with timed_out = true, the policy recorded, no
# process of its group left and its lock gone. An execution longer than its SLA
# (fast: 10 s) is stopped at the deadline stored when it started, also when a new
# owner took it over after a crash.
source "$(dirname "$0")/lib.sh"

# 6 s leases: a fast execution may renew once (12 s in all), so its 10 s deadline
# comes first; and a crashed owner's work is taken over within a few seconds.
FAST=(--lease-ms 6000 --claim-interval-ms 100 --reaper-interval-ms 300)
start_node timeouts-a "${FAST[@]}"
GW_A="127.0.0.1:$NODE_PORT"
watch_lock_invariant 6300 # lease 6 s + reaper 0.3 s

# 1. Step timeout: two sleeps in the step's process group, 2 s allowed.
cat >"$WORK/sleepy.json" <<JSON
{"name": "sleepy", "action": "restart", "action_class": "modify", "sla_class": "fast",
 "environment": "test", "targets": ["t-1"],
 "steps": [{"name": "hang", "executor": "shell", "timeout_ms": 2000,
            "command": ["sh", "-c", "echo \$\$ > $WORK/sleepy.pgid; sleep 3600 & exec sleep 3600"]},
           {"name": "after", "executor": "shell", "timeout_ms": 2000, "command": ["true"]}]}
JSON
start=$(date +%s%N)
rc=0; out=$("$STAGEE_BIN" submit --gateway "$GW_A" --tenant t --principal p --mode immediate "$WORK/sleepy.json") || rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "the immediate submit answered its end" "0|failed" "$rc|$(jq -r '.status // .error.code' <<<"$out")"
ID=$(jq -r .execution_id <<<"$out")
echo "a 2 s step timeout ended the execution after $elapsed_ms ms" >&2
check "timed out within 3.5 s" true "$([ "$elapsed_ms" -le 3500 ] && echo true || echo "false ($elapsed_ms ms)")"
check "failed: step_timed_out" "failed|step_timed_out" "$(sql "SELECT status || '|' || error_class FROM executions WHERE id='$ID'")"
check "timed_out and its policy" "true|fast_modify" "$(sql "SELECT timed_out || '|' || timeout_policy_id FROM executions WHERE id='$ID'")"
check "the run timed out, the next was skipped" "timed_out,skipped" \
  "$(sql "SELECT string_agg(status::text, ',' ORDER BY run_index) FROM execution_steps WHERE execution_id='$ID'")"
check "no process of its group is left" "" "$(group_left "$(cat "$WORK/sleepy.pgid")")"
check "its lock is gone" 0 "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id='$ID'")"
check "the lock row keeps its fence" 1 "$(sql "SELECT fence FROM execution_locks WHERE target_ref='t-1'")"

# 2. Execution deadline of an immediate execution (fast SLA: 10 s): two 6 s steps,
# on a node with derived leases (8 s step timeout + 30 s buffer: the deadline comes
# long before the renewal cap).
start_node timeouts-i --claim-interval-ms 100
GW_I="127.0.0.1:$NODE_PORT"
cat >"$WORK/slow.json" <<JSON
{"name": "slow", "action": "rotate", "action_class": "modify", "sla_class": "fast",
 "environment": "test", "targets": ["t-3"],
 "steps": [{"name": "a", "executor": "shell", "timeout_ms": 8000, "command": ["sleep", "6"]},
           {"name": "b", "executor": "shell", "timeout_ms": 8000, "command": ["sleep", "6"]}]}
JSON
start=$(date +%s%N)
out=$("$STAGEE_BIN" submit --gateway "$GW_I" --tenant t --principal p --mode immediate "$WORK/slow.json")
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "a 10 s execution deadline ended the immediate execution after $elapsed_ms ms" >&2
check "immediate: failed at the deadline with execution_timeout" "failed|execution_timeout" \
  "$(sql "SELECT status || '|' || error_class FROM executions WHERE id='$(jq -r .execution_id <<<"$out")'")"
check "immediate: answered within 10..11.5 s" true \
  "$([ "$elapsed_ms" -ge 9900 ] && [ "$elapsed_ms" -le 11500 ] && echo true || echo "false ($elapsed_ms ms)")"

kill -TERM "${NODE_PIDS[1]}"; wait "${NODE_PIDS[1]}" || true # only node a claims below
NODE_PIDS=("${NODE_PIDS[0]}")

# 3. Execution deadline (fast SLA: 10 s for the whole execution) across a crash:
# three idempotent 5 s steps; node A dies during the second, node B resumes and must
# stop the execution at the deadline stored at its start, not 10 s after takeover.
step() { printf '{"name": "%s", "executor": "shell", "idempotent": true, "timeout_ms": 6000, "command": ["sh", "-c", "echo $$ >> %s; exec sleep 5"]}' "$1" "$WORK/long.pgids"; }
cat >"$WORK/long.json" <<JSON
{"name": "too long", "action": "migrate", "action_class": "modify", "sla_class": "fast",
 "environment": "test", "targets": ["t-2"], "steps": [$(step one), $(step two), $(step three)]}
JSON
L=$("$STAGEE_BIN" submit --gateway "$GW_A" --tenant t --principal p --mode background "$WORK/long.json" | jq -r .execution_id)
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM execution_steps WHERE execution_id='$L' AND name='two' AND status='running'")" = 1 ] && break
  sleep 0.1
done
kill -9 "${NODE_PIDS[0]}"; wait "${NODE_PIDS[0]}" 2>/dev/null || true
NODE_PIDS=()
start_node timeouts-b "${FAST[@]}"
GW_B="127.0.0.1:$NODE_PORT"
out=$("$STAGEE_BIN" wait --gateway "$GW_B" --timeout 30 "$L")
check "failed at its deadline: execution_timeout, timed_out" "failed|execution_timeout|true" \
  "$(jq -r '[.status, .error_class, .timed_out] | map(tostring) | join("|")' <<<"$out")"
check "taken over by node b" timeouts-b "$(jq -r .worker_id <<<"$out")"
check "status shows the stored deadline" \
  "$(sql "SELECT to_char(deadline_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM executions WHERE id='$L'")" \
  "$(jq -r .deadline_at <<<"$out")"
check "ended within 10..11.5 s of its start (deadline kept over the takeover)" true \
  "$(sql "SELECT (ended_at - started_at BETWEEN interval '9.9 seconds' AND interval '11.5 seconds')::text FROM executions WHERE id='$L'")"
check "the deadline was stored at start" true \
  "$(sql "SELECT (deadline_at - started_at = interval '10 seconds' OR abs(extract(epoch FROM deadline_at - started_at) - 10) < 0.1)::text FROM executions WHERE id='$L'")"
check "the running run timed out, the last never ran" "timed_out|skipped" \
  "$(sql "SELECT string_agg(status::text, '|' ORDER BY run_index) FROM execution_steps WHERE execution_id='$L' AND name IN ('two', 'three')")"
check "node b's step process is gone" "" "$(group_left "$(tail -1 "$WORK/long.pgids")")"
check "its lock is gone" 0 "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id='$L'")"
check "node b re-armed the stored deadline" 1 \
  "$(grep -c '"msg":"execution deadline passed; stopping it"' "$WORK/timeouts-b.log")"

finish
