#!/usr/bin/env bash
# Failure detection and takeover in a three-node cluster (R-CL-1, R-CL-2; test plan
# C1). Leases are long (60 s) on purpose: work finishing well before that proves the
# dead node's leases were expired early, not waited out.
# - kill -9 of a node under load: the others report it down within 3 s; every
#   execution ends terminal; no step the journal shows completed ran twice.
# - SIGSTOP of a node: declared dead, its work taken over; after SIGCONT it starts
#   no step of the work it lost, and it rejoins.
source "$(dirname "$0")/lib.sh"

LEDGER=$WORK/ledger
start_cluster f 3 --claim-interval-ms 200 --capacity 6 --lease-ms 60000 --reaper-interval-ms 60000
GW=("${GWS[@]}")
PID2=${NODE_PIDS[1]}
PID3=${NODE_PIDS[2]}

now_ms() { date +%s%3N; }
# log_ms FILE MESSAGE MEMBER: Unix ms of the first log line MESSAGE about MEMBER.
log_ms() {
  jq -r --arg m "$2" --arg who "$3" 'select(.msg == $m and .member == $who) | .ts' "$1" 2>/dev/null \
    | head -1 | xargs -r -I{} date -d {} +%s%3N
}

# Two-step plans; each start and end goes to the ledger with the step's fence.
N=60
for i in $(seq 1 $N); do
  cat >"$WORK/p$i.json" <<JSON
{"name": "fo $i", "action": "patch", "action_class": "modify", "sla_class": "long",
 "environment": "test", "targets": ["h$i"],
 "steps": [
   {"name": "first", "executor": "shell", "idempotent": true, "timeout_ms": 20000,
    "command": ["sh", "-c", "echo \$STAGEE_EXECUTION_ID first start \$STAGEE_FENCE >> $LEDGER; sleep 1.\$((RANDOM % 8)); echo \$STAGEE_EXECUTION_ID first done \$STAGEE_FENCE >> $LEDGER"]},
   {"name": "second", "executor": "shell", "idempotent": true, "timeout_ms": 20000,
    "command": ["sh", "-c", "echo \$STAGEE_EXECUTION_ID second start \$STAGEE_FENCE >> $LEDGER; sleep 1.\$((RANDOM % 8)); echo \$STAGEE_EXECUTION_ID second done \$STAGEE_FENCE >> $LEDGER"]}
 ]}
JSON
done
submit_range() { # submit_range FROM TO: through f1, six at a time
  local pids=()
  for i in $(seq "$1" "$2"); do
    "$STAGEE_BIN" submit --gateway "${GW[0]}" --mode background "$WORK/p$i.json" >/dev/null &
    pids+=($!)
    if [ ${#pids[@]} -ge 6 ]; then wait "${pids[@]}" || true; pids=(); fi
  done
  [ ${#pids[@]} -eq 0 ] || wait "${pids[@]}" || true
}
terminal_wait() { # terminal_wait SECONDS: until nothing is left unfinished
  for _ in $(seq 1 $(($1 * 5))); do
    left=$(sql "SELECT count(*) FROM executions WHERE status NOT IN ('succeeded','failed','cancelled','rejected')")
    [ "$left" = 0 ] && break
    sleep 0.2
  done
  echo "$left"
}

# --- kill -9 under load -------------------------------------------------------
submit_range 1 30
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM execution_queue WHERE lease_owner = 'f2'")" -ge 3 ] && break
  sleep 0.1
done
check "f2 holds leases before the kill" true \
  "$([ "$(sql "SELECT count(*) FROM execution_queue WHERE lease_owner = 'f2'")" -ge 1 ] && echo true || echo false)"
killed_at=$(now_ms)
kill -9 "$PID2"
sleep 3.5
for n in f1 f3; do
  seen=$(log_ms "$WORK/$n.log" "cluster member down" f2)
  check "$n reported f2 down within 3 s" true \
    "$([ -n "$seen" ] && [ $((seen - killed_at)) -le 3000 ] && echo true || echo "false (${seen:-never})")"
done
check "f2 declared dead in the database" dead "$(sql "SELECT state FROM cluster_members WHERE name = 'f2'")"
check "f2's leases were freed early" 0 \
  "$(sql "SELECT count(*) FROM execution_queue WHERE lease_owner = 'f2'")"
check "all of the first 30 terminal within 40 s (leases are 60 s)" 0 "$(terminal_wait 40)"

# --- SIGSTOP past the staleness bound ---------------------------------------------
submit_range 31 $N
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM execution_queue WHERE lease_owner = 'f3'")" -ge 3 ] && break
  sleep 0.1
done
sql "SELECT execution_id || ' ' || fence FROM execution_queue WHERE lease_owner = 'f3'" >"$WORK/f3.lost"
check "f3 holds leases before the freeze" true "$([ -s "$WORK/f3.lost" ] && echo true || echo false)"
frozen_at=$(now_ms)
kill -STOP "$PID3"
for _ in $(seq 1 50); do
  [ "$(sql "SELECT state FROM cluster_members WHERE name = 'f3'")" = dead ] && break
  sleep 0.1
done
seen=$(log_ms "$WORK/f1.log" "cluster member down" f3)
check "f1 reported frozen f3 down within 3 s" true \
  "$([ -n "$seen" ] && [ $((seen - frozen_at)) -le 3000 ] && echo true || echo "false (${seen:-never})")"
# Its work is taken over: each lost execution ends (on f1) while f3 is still frozen.
for _ in $(seq 1 200); do
  open=$(while read -r id _; do sql "SELECT 1 FROM executions WHERE id = '$id' AND ended_at IS NULL"; done <"$WORK/f3.lost" | wc -l)
  [ "$open" = 0 ] && break
  sleep 0.2
done
check "f3's executions finished elsewhere while it was frozen" 0 "$open"
cp "$LEDGER" "$WORK/ledger.at_thaw"
kill -CONT "$PID3"
for _ in $(seq 1 50); do
  n=$("$STAGEE_BIN" cluster status --gateway "${GW[0]}" | jq -r '.members[] | select(.name == "f3") | "\(.state):\(.link)"')
  [ "$n" = "up:connected" ] && break
  sleep 0.2
done
check "f3 rejoined after SIGCONT" "up:connected" "$n"
sleep 2
# Whatever f3 starts after the thaw under a fence it lost is a violation.
check "f3 started no step of the work it lost" 0 \
  "$(tail -n +$(($(wc -l <"$WORK/ledger.at_thaw") + 1)) "$LEDGER" \
     | awk '$3 == "start" {print $1, $4}' | grep -c -F -f <(awk '{print $1, $2}' "$WORK/f3.lost") || true)"
check "everything terminal" 0 "$(terminal_wait 40)"
check "all $N succeeded" "$N" "$(sql "SELECT count(*) FROM executions WHERE status = 'succeeded'")"
# Steps the journal shows completed at their first attempt were started once.
check "no journaled-complete step ran twice" 0 \
  "$(sql "SELECT execution_id || ' ' || name FROM execution_steps WHERE status = 'succeeded' AND attempt = 1" \
     | while read -r id step; do [ "$(grep -c "^$id $step start" "$LEDGER")" = 1 ] || echo "$id $step"; done | wc -l)"
check "f3 stopped the executions it lost" true \
  "$(grep -qE 'lease renewal overdue|journaled by another owner|lease lost to another owner' "$WORK/f3.log" && echo true || echo false)"
finish
