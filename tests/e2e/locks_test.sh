#!/usr/bin/env bash
# Per-asset locks (R-SAFE-2, test plan L1 and L7) with three real nodes:
# 300 background executions over 5 assets, steps of 50-200 ms that append to a
# ledger: no two executions are ever inside the same asset at once, and the lock
# fencing tokens strictly increase per asset. Then a held lock: an immediate submit
# gets resource_busy naming the holder, a background one waits (no attempt used)
# and succeeds after it, and `stagee locks` shows who holds what.
source "$(dirname "$0")/lib.sh"

LEDGER=$WORK/ledger
COMMON=(--capacity 4 --claim-interval-ms 100 --lease-ms 3000 --reaper-interval-ms 1000)
start_node locks-a "${COMMON[@]}"; GW_A="127.0.0.1:$NODE_PORT"
start_node locks-b "${COMMON[@]}"; GW_B="127.0.0.1:$NODE_PORT"
start_node locks-c "${COMMON[@]}"; GW_C="127.0.0.1:$NODE_PORT"
GWS=("$GW_A" "$GW_B" "$GW_C")
watch_lock_invariant 4000 # lease 3 s + reaper 1 s

# One step = one ledger interval: "in ASSET FENCE EXEC" ... "out ASSET FENCE EXEC".
step() { # step NAME SLEEP_S
  printf '{"name": "%s", "executor": "shell", "timeout_ms": 5000, "command": ["sh", "-c", "echo in $STAGEE_TARGET $STAGEE_LOCK_FENCE $STAGEE_EXECUTION_ID >> %s; sleep %s; echo out $STAGEE_TARGET $STAGEE_LOCK_FENCE $STAGEE_EXECUTION_ID >> %s"]}' \
    "$1" "$LEDGER" "$2" "$LEDGER"
}
ms() { printf '0.%03d' $((50 + RANDOM % 151)); } # 50..200 ms

# Every 7th execution changes two neighbouring assets (locks taken in key order).
N=300
RUNS=0
for i in $(seq 1 $N); do
  targets="\"asset-$((i % 5))\""
  ntargets=1
  if [ $((i % 7)) -eq 0 ]; then targets="$targets, \"asset-$(((i + 1) % 5))\""; ntargets=2; fi
  steps="$(step one "$(ms)")"; nsteps=1
  if [ $((i % 2)) -eq 0 ]; then steps="$steps, $(step two "$(ms)")"; nsteps=2; fi
  RUNS=$((RUNS + ntargets * nsteps))
  cat >"$WORK/p$i.json" <<JSON
{"name": "change $i", "action": "patch", "action_class": "modify", "sla_class": "medium",
 "environment": "test", "targets": [$targets], "steps": [$steps]}
JSON
done
start=$(date +%s)
pids=()
for i in $(seq 1 $N); do
  "$STAGEE_BIN" submit --gateway "${GWS[$((i % 3))]}" --tenant t --principal p --mode background \
    "$WORK/p$i.json" | jq -r .execution_id >>"$WORK/ids" &
  pids+=($!)
  if [ ${#pids[@]} -eq 20 ]; then wait "${pids[@]}"; pids=(); fi
done
[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
check "all submitted" $N "$(sort -u "$WORK/ids" | grep -c .)"
for _ in $(seq 1 240); do
  left=$(sql "SELECT count(*) FROM executions WHERE status NOT IN ('succeeded','failed','cancelled','rejected')")
  [ "$left" = 0 ] && break
  sleep 0.5
done
echo "300 executions over 5 assets took $(( $(date +%s) - start )) s" >&2
check "all ended" 0 "$left"
check "all succeeded" $N "$(sql "SELECT count(*) FROM executions WHERE status = 'succeeded'")"
check "every node ran some" 3 "$(sql "SELECT count(DISTINCT worker_id) FROM executions")"
check "steps ran once each" "$RUNS|1" "$(sql "SELECT count(*) || '|' || max(attempt) FROM execution_steps")"
check "ledger: an in and an out per step run" $((2 * RUNS)) "$(wc -l <"$LEDGER")"
# Mutual exclusion and fences, in ledger (append) order, per asset.
verdict=$(awk '
  $1 == "in" {
    if (($2 in inside) && inside[$2] != "") { print "overlap on " $2 ": " inside[$2] " and " $4; bad = 1 }
    inside[$2] = $4
    if (($2 in last) && last[$2] != $4 && $3 + 0 <= fence[$2] + 0) { print "fence not increasing on " $2 ": " fence[$2] " then " $3; bad = 1 }
    if (($2 in last) && last[$2] == $4 && $3 != fence[$2]) { print "fence changed within an execution on " $2; bad = 1 }
    last[$2] = $4; fence[$2] = $3
  }
  $1 == "out" { if (inside[$2] == $4) inside[$2] = "" }
  END { if (!bad) print "ok" }' "$LEDGER" | head -3)
check "ledger: no two executions inside an asset at once; fences strictly increase" ok "$verdict"
check "fences: one grant per execution per asset" "5|$((N + N / 7))" \
  "$(sql "SELECT count(*) || '|' || sum(fence) FROM execution_locks WHERE lock_key LIKE 'lock:v1:t:asset-%'")"
check "no lock held after the run" 0 "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id IS NOT NULL")"

# --- A held lock: immediate refused, background waits without an attempt.
hold() { # hold NAME SECONDS
  cat <<JSON
{"name": "$1", "action": "deploy", "action_class": "deploy", "sla_class": "medium",
 "environment": "test", "targets": ["busy-1"],
 "steps": [{"name": "work", "executor": "shell", "timeout_ms": 20000, "command": ["sleep", "$2"]}]}
JSON
}
hold holder 4 >"$WORK/holder.json"
hold other 0.1 >"$WORK/other.json"
H=$("$STAGEE_BIN" submit --gateway "$GW_A" --tenant t --principal p --mode background "$WORK/holder.json" | jq -r .execution_id)
for _ in $(seq 1 50); do
  [ "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id = '$H'")" = 1 ] && break
  sleep 0.1
done
locks=$("$STAGEE_BIN" locks --gateway "$GW_C" --target busy-1)
check "locks: the holder, its node and fence" "lock:v1:t:busy-1:deploy|$H|1|true" \
  "$(jq -r '.locks[0] | [.key, .execution_id, .fence, (.expires_in_ms > 0 and .node != "")] | map(tostring) | join("|")' <<<"$locks")"
check "locks: another tenant sees none" 0 "$("$STAGEE_BIN" locks --gateway "$GW_C" --tenant other | jq '.locks | length')"
rc=0; out=$("$STAGEE_BIN" submit --gateway "$GW_B" --tenant t --principal p --mode immediate "$WORK/other.json") || rc=$?
check "immediate against a held lock: resource_busy" "1|resource_busy|targets" "$rc|$(jq -r '[.error.code, .error.field] | join("|")' <<<"$out")"
check "resource_busy names the holder and its expiry" true \
  "$(jq -r --arg h "$H" '.error.message | (contains($h) and contains("busy-1") and test("until 20[0-9]{2}-"))' <<<"$out")"
check "nothing of the refused submit remains" 1 "$(sql "SELECT count(*) FROM executions WHERE plan_name IN ('holder', 'other')")"
W=$("$STAGEE_BIN" submit --gateway "$GW_B" --tenant t --principal p --mode background "$WORK/other.json" | jq -r .execution_id)
waits=""
for _ in $(seq 1 40); do
  waits=$(sql "SELECT attempts || '|' || lock_waits FROM execution_queue WHERE execution_id = '$W' AND lock_waits > 0 AND lease_owner IS NULL")
  [ -n "$waits" ] && break
  sleep 0.1
done
check "background waits for the lock, no attempt used" "0|" "$(cut -d'|' -f1 <<<"$waits")|"
check "status says which lock it waits for" "queued|lock:v1:t:busy-1:deploy|true" \
  "$("$STAGEE_BIN" status --gateway "$GW_A" "$W" | jq -r '[.status, .waiting_for_lock, (.lock_waits > 0)] | map(tostring) | join("|")')"
out=$("$STAGEE_BIN" wait --gateway "$GW_B" --timeout 30 "$W")
check "background one succeeds after the holder, first attempt" "succeeded|1" \
  "$(jq -r '[.status, .steps[0].attempt] | map(tostring) | join("|")' <<<"$out")"
check "it started after the holder ended" true \
  "$(sql "SELECT (w.started_at >= h.ended_at)::text FROM executions w, executions h WHERE w.id = '$W' AND h.id = '$H'")"
check "the waiter got the next fence" 2 "$(sql "SELECT fence FROM execution_locks WHERE lock_key = 'lock:v1:t:busy-1:deploy'")"
# A read-only plan on the busy target while the waiter's lock is free again: it runs at
# once, takes no lock row, and did not have to wait for anything.
cat >"$WORK/probe.json" <<JSON
{"name": "probe", "action": "check", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["busy-1"],
 "steps": [{"name": "look", "executor": "shell", "timeout_ms": 5000, "command": ["true"]}]}
JSON
hold holder2 3 >"$WORK/holder2.json"
H2=$("$STAGEE_BIN" submit --gateway "$GW_A" --tenant t --principal p --mode background "$WORK/holder2.json" | jq -r .execution_id)
for _ in $(seq 1 50); do
  [ "$(sql "SELECT count(*) FROM execution_locks WHERE owner_execution_id = '$H2'")" = 1 ] && break
  sleep 0.1
done
check "a read-only plan runs beside a held deploy lock" "succeeded|true" \
  "$("$STAGEE_BIN" submit --gateway "$GW_C" --tenant t --principal p --mode immediate "$WORK/probe.json" | jq -r '.status')|$(sql "SELECT (owner_execution_id = '$H2')::text FROM execution_locks WHERE target_ref = 'busy-1'")"
check "read-only plans take no lock rows" 0 "$(sql "SELECT count(*) FROM execution_locks WHERE action = 'check'")"
check "the second holder succeeds" succeeded "$("$STAGEE_BIN" wait --gateway "$GW_A" --timeout 30 "$H2" | jq -r .status)"

finish
