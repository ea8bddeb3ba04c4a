#!/usr/bin/env bash
# Lease length and renewal cap (R-Q-1, R-Q-2):
# - with the derived lease, a claimed fast_read execution is leased for its step
#   timeout + the buffer, by the database clock;
# - leases are renewed at a third of their length and every renewal is counted in
#   executions.lease_renewals (immediate and background executions alike);
# - an execution that reaches its SLA's renewal cap (fast: 1) is ended by its own
#   node before the lease expires: its step's whole process group is killed and it
#   fails with lease_renewals_exhausted; it is never taken over while it runs.
source "$(dirname "$0")/lib.sh"

plan() { # plan NAME SLA COMMAND_JSON_ARRAY
  jq -nc --arg n "$1" --arg sla "$2" --argjson cmd "$3" '{name: $n, action: "probe",
    action_class: "read", sla_class: $sla, environment: "test", targets: ["h1"],
    steps: [{name: "s", executor: "shell", command: $cmd, timeout_ms: 60000}]}'
}

# 1. Derived lease: fast_read has a 5 s step timeout, but this step sets 60 s.
start_node derived --claim-interval-ms 100 --lease-buffer-ms 20000
GW="127.0.0.1:$NODE_PORT"
# (the step runs 5 s so that the lease is still there when it is read on a busy machine)
plan derived fast '["sleep", "5"]' >"$WORK/derived.json"
D=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode background "$WORK/derived.json" | jq -r .execution_id)
for _ in $(seq 1 150); do
  [ -n "$(sql "SELECT 1 FROM execution_queue WHERE execution_id='$D' AND lease_owner IS NOT NULL")" ] && break
  sleep 0.1
done
# (read some time after the claim: on a busy machine up to a few seconds have passed)
check "derived lease = step timeout 60 s + buffer 20 s" true \
  "$(sql "SELECT (extract(epoch FROM lease_expires_at - now()) BETWEEN 75 AND 80)::text FROM execution_queue WHERE execution_id='$D'")"
check "derived one succeeded" succeeded "$("$STAGEE_BIN" wait --gateway "$GW" --timeout 30 "$D" | jq -r .status)"
check "claim logged the lease length" 80000 \
  "$(grep '"msg":"claimed execution"' "$WORK/derived.log" | jq -s 'map(.lease_ms) | max')"
kill -TERM "${NODE_PIDS[0]}"; wait "${NODE_PIDS[0]}" || true

# 2. Fixed 900 ms leases (test configuration): renewals every ~300 ms.
start_node renew --lease-ms 900 --claim-interval-ms 50 --reaper-interval-ms 200
GW="127.0.0.1:$NODE_PORT"
plan long-one long '["sleep", "2"]' >"$WORK/long.json"
out=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode immediate "$WORK/long.json")
L=$(jq -r .execution_id <<<"$out")
check "long immediate execution succeeded" succeeded "$(jq -r .status <<<"$out")"
check "its lease was renewed 5..10 times" true \
  "$(sql "SELECT (lease_renewals BETWEEN 5 AND 10)::text FROM executions WHERE id='$L'")"

plan fast-one fast "[\"sh\", \"-c\", \"echo \$\$ > $WORK/fast.pgid; exec sleep 30\"]" >"$WORK/fast.json"
F=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode background "$WORK/fast.json" | jq -r .execution_id)
start=$(date +%s%N)
out=$("$STAGEE_BIN" wait --gateway "$GW" --timeout 20 "$F")
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "fast execution failed with lease_renewals_exhausted" "failed|lease_renewals_exhausted" \
  "$(jq -r '[.status, .error_class] | join("|")' <<<"$out")"
check "it ended within 3 s (1 renewal of a 900 ms lease)" true "$([ "$elapsed_ms" -lt 3000 ] && echo true || echo "false ($elapsed_ms ms)")"
check "exactly the cap of renewals was taken" 1 "$(sql "SELECT lease_renewals FROM executions WHERE id='$F'")"
check "the stopped step is failed, tried once" "failed|1" \
  "$(sql "SELECT status || '|' || attempt FROM execution_steps WHERE execution_id='$F'")"
check "its step output says why" true \
  "$(sql "SELECT (error LIKE 'stopped: lease renewed 1 times%')::text FROM execution_steps WHERE execution_id='$F'")"
pgid=$(cat "$WORK/fast.pgid")
sleep 0.3
check "no process of its group is left" "" "$(pgrep -g "$pgid" || true)"
check "it was claimed once, never taken over" 1 \
  "$(grep '"msg":"claimed execution"' "$WORK/renew.log" | jq -s --arg id "$F" 'map(select(.exec_id == $id)) | length')"
check "the node logged why it stopped it" 1 \
  "$(grep -c '"msg":"lease renewal cap reached; stopping execution"' "$WORK/renew.log")"
check "its lease is gone with it" 0 "$(sql "SELECT count(*) FROM execution_queue WHERE execution_id='$F'")"

# 3. Renewals that cannot get through (the queue table is locked for 3 s, as by a
# stalled database): shortly before the lease would lapse, the node stops the step
# and abandons the execution without writing; after expiry it is resumed like after
# a crash. The step is non-idempotent: flagged, never started a second time, and no
# process of it outlives the abandonment.
plan stalled long "[\"sh\", \"-c\", \"echo \$\$ >> $WORK/stalled.pgids; exec sleep 30\"]" \
  | jq -c '.steps[0].idempotent = false' >"$WORK/stalled.json"
S=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode background "$WORK/stalled.json" | jq -r .execution_id)
for _ in $(seq 1 50); do [ -s "$WORK/stalled.pgids" ] && break; sleep 0.1; done
psql -qtAX "$DB_URL" -c "BEGIN; LOCK TABLE execution_queue IN EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" >/dev/null &
LOCKER=$!
sleep 2 # the lock is still held: renewals are overdue by now
check "the step was stopped while renewals could not get through" "" "$(pgrep -g "$(head -1 "$WORK/stalled.pgids")" || true)"
wait "$LOCKER"
out=$("$STAGEE_BIN" wait --gateway "$GW" --timeout 20 "$S")
check "resumed after expiry: non-idempotent step flagged" "failed|interrupted_non_idempotent" \
  "$(jq -r '[.status, .error_class] | join("|")' <<<"$out")"
check "the step was started once" 1 "$(wc -l <"$WORK/stalled.pgids")"
check "the node logged the overdue renewal" 1 \
  "$(grep -c '"msg":"lease renewal overdue; stopping the step and leaving the execution to the next owner"' "$WORK/renew.log")"

finish
