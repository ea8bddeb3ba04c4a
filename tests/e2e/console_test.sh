#!/usr/bin/env bash
# `stagee console -c` against a running 3-node cluster (R-IF-4): every command's
# answer is checked against the state the test set up and reads from PostgreSQL:
# a running execution appears with its node and step, a held lock with its holder,
# a waiting execution in the queue, timers, stats; cancel, approve and requeue act;
# RBAC and tenants are enforced; output is masked; a dead or frozen node gives a
# clear error within seconds.
source "$(dirname "$0")/lib.sh"

grant t viewer viewer
start_cluster k 3 --claim-interval-ms 100
GW1=${GWS[0]}
con() { # con GATEWAY ARGS... : the console's output; never fails the script
  "$STAGEE_BIN" console --node "$1" --history-file - "${@:2}" 2>&1 || true
}
cj() { con "$1" --json -c "$2"; } # cj GATEWAY "COMMAND": JSON answer
gw_of() { # gw_of NODE_NAME: its gateway
  local i
  for i in 1 2 3; do [ "k$i" != "$1" ] || echo "${GWS[$((i - 1))]}"; done
}

# nodes, whereami
nodes=$(cj "$GW1" nodes)
check "nodes: three members, all up" "k1:up k2:up k3:up" \
  "$(jq -r '[.members[] | "\(.name):\(.state)"] | join(" ")' <<<"$nodes")"
check "nodes: the node asked is marked current" k1 "$(jq -r '.members[] | select(.current) | .name' <<<"$nodes")"
check "nodes (text): a table with a marked row" true \
  "$(con "$GW1" -c nodes | grep -qE '^\*  k1 +up +self' && echo true || echo false)"
check "whereami" "k1|$GW1" "$(cj "$GW1" whereami | jq -r '"\(.node)|\(.address)"')"

# A background execution that holds web-1 for a while; its password-looking plan
# name must be masked wherever the console shows it.
cat >"$WORK/hold.json" <<'JSON'
{"name": "hold web-1 password=hunter2", "action": "deploy", "action_class": "modify",
 "sla_class": "medium", "environment": "test", "targets": ["web-1"],
 "steps": [{"name": "warm", "executor": "noop"},
           {"name": "hold", "executor": "shell", "command": ["sleep", "20"], "timeout_ms": 60000}]}
JSON
ID=$("$STAGEE_BIN" submit --gateway "$GW1" --mode background "$WORK/hold.json" | jq -r .execution_id)
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM execution_steps WHERE execution_id = '$ID' AND name = 'hold' AND status = 'running'")" == 1 ] && break
  sleep 0.1
done
OWNER=$(sql "SELECT worker_id FROM executions WHERE id = '$ID'")
GWO=$(gw_of "$OWNER")
OTHER=$(for n in k1 k2 k3; do [ "$n" == "$OWNER" ] || echo "$n"; done | head -1)
echo "execution $ID runs on $OWNER" >&2

# executions: with its node and step, from any node
ex=$(cj "$GW1" "executions --status running")
check "executions: the running execution with its node and step" "$ID|$OWNER|hold|1|web-1" \
  "$(jq -r '.executions[] | "\(.execution_id)|\(.node)|\(.step)|\(.step_index)|\(.target)"' <<<"$ex")"
check "executions: fence of the claim" "$(sql "SELECT fence FROM execution_queue WHERE execution_id = '$ID'")" \
  "$(jq -r '.executions[0].fence' <<<"$ex")"
text=$(con "$GW1" -c "executions --status running")
check "executions (text): id, status, node and step on one line" true \
  "$(grep -E "^$ID +running +$OWNER +1:hold +web-1" <<<"$text" >/dev/null && echo true || echo false)"
check "executions (text): the plan name is masked" "true|false" \
  "$(grep -q 'password=\*\*\*' <<<"$text" && echo true || echo false)|$(grep -q hunter2 <<<"$text" && echo true || echo false)"
check "executions --node filters" "1|0" \
  "$(cj "$GW1" "executions --node $OWNER --status running" | jq '.executions | length')|$(cj "$GW1" "executions --node $OTHER --status running" | jq '.executions | length')"

# actors: the execution actor on its owner, with step, fence and lease; not elsewhere
act=$(cj "$GWO" "actors --kind execution")
check "actors: the execution actor on $OWNER with its step" "$ID|running|hold|web-1" \
  "$(jq -r '.actors[] | .executions[0] | "\(.execution_id)|\(.status)|\(.step)|\(.target)"' <<<"$act")"
check "actors: its fence and a lease that has not expired" "$(sql "SELECT fence FROM execution_queue WHERE execution_id = '$ID'")|true" \
  "$(jq -r '.actors[0].executions[0] | "\(.fence)|\(.lease_expires_in_ms > 0)"' <<<"$act")"
check "actors: no execution actor on $OTHER" 0 "$(cj "$(gw_of "$OTHER")" "actors --kind execution" | jq '.actors | length')"
all=$(cj "$GWO" actors)
check "actors: every kind of the node's tree is listed and answered" \
  "admission approver authorizer dlq-keeper event-bus execution gateway inspector lease-reaper lock-manager member-recorder membership queue-claimer reader secret-resolver timeout-scheduler worker-supervisor|0" \
  "$(jq -r '[.actors[].kind] | unique | join(" ")' <<<"$all")|$(jq '[.actors[] | select(.answered | not)] | length' <<<"$all")"
check "actors: capacity, load and scheduler threads" "64|1|true" \
  "$(jq -r '"\(.capacity)|\(.load)|\(.scheduler_threads > 0)"' <<<"$all")"
AID=$(jq -r '.actors[] | select(.kind == "execution") | .id' <<<"$act")
one=$(cj "$GWO" "actor $AID")
check "actor ID: details of the execution actor" "execution|$ID|0|true" \
  "$(jq -r '"\(.kind)|\(.name)|\(.mailbox)|\(.details.plan | test("password=[*]"))"' <<<"$one")"
check "actor ID: an unknown id is not_found" not_found "$(cj "$GWO" "actor 999999" | jq -r .error.code)"

# locks and show
locks=$(cj "$GW1" "locks --target web-1")
check "locks: web-1 held by the execution on its node" "web-1|$ID|$OWNER" \
  "$(jq -r '.locks[] | "\(.target)|\(.execution_id)|\(.node)"' <<<"$locks")"
show=$(cj "$GW1" "show $ID")
check "show: steps" "warm:succeeded hold:running" \
  "$(jq -r '[.execution.steps[] | "\(.name):\(.status)"] | join(" ")' <<<"$show")"
check "show: transitions are the journal" \
  "$(sql "SELECT string_agg(kind::text, ' ' ORDER BY seq) FROM execution_events WHERE execution_id = '$ID'")" \
  "$(jq -r '[.transitions[].event] | join(" ")' <<<"$show")"
check "show: its lock and its deadline timer" "web-1|execution deadline|$OWNER" \
  "$(jq -r '"\(.locks[0].target)|\(.timers[0].kind)|\(.timers[0].node)"' <<<"$show")"
check "show: an id pasted in capitals is the same execution, lock included" "$ID|web-1" \
  "$(cj "$GW1" "show ${ID^^}" | jq -r '"\(.execution.execution_id)|\(.locks[0].target)"')"

# timers: armed on the owner only
check "timers: the deadline is armed on $OWNER" "$ID|true" \
  "$(cj "$GWO" timers | jq -r '.timers[] | select(.execution_id == "'"$ID"'") | "\(.execution_id)|\(.due_in_ms > 0)"')"

# stats: every node answers; the owner runs the one execution, which holds one
# lock, and nothing waits. (Taken before the second web-1 change below: that one is
# claimed again now and then to retry the lock, so while it waits the owner's
# running count is 1 or, for a moment, 2.)
st=$(cj "$GW1" stats)
check "stats: three nodes" "k1 k2 k3" "$(jq -r '[.nodes[].node] | sort | join(" ")' <<<"$st")"
check "stats: the owner runs it; locks and queue depth from the database" "1|1|0" \
  "$(jq -r '.nodes[] | select(.node == "'"$OWNER"'") | "\(.running)|\(.locks_held)|\(.queue_depth)"' <<<"$st")"
check "stats: the other nodes run nothing" "0 0" \
  "$(jq -r '[.nodes[] | select(.node != "'"$OWNER"'") | .running] | join(" ")' <<<"$st")"

# queue: a second change of web-1 waits for the lock
jq '.name = "second web-1 change" | .steps = [{"name": "quick", "executor": "noop"}]' \
  "$WORK/hold.json" >"$WORK/second.json"
ID2=$("$STAGEE_BIN" submit --gateway "$GW1" --mode background "$WORK/second.json" | jq -r .execution_id)
for _ in $(seq 1 50); do
  [ -n "$(sql "SELECT blocked_by FROM execution_queue WHERE execution_id = '$ID2' AND blocked_by IS NOT NULL")" ] && break
  sleep 0.1
done
q=$(cj "$GW1" queue)
check "queue: the waiting execution and the lock it waits for" "$ID2|true" \
  "$(jq -r '.queue[] | select(.execution_id == "'"$ID2"'") | "\(.execution_id)|\(.blocked_by | test("web-1"))"' <<<"$q")"
check "queue --priority filters" 0 "$(cj "$GW1" "queue --priority 7" | jq '.queue | length')"


# RBAC and tenants: a viewer lists executions but may not inspect actors
check "viewer: executions allowed" 1 \
  "$(STAGEE_PRINCIPAL=viewer cj "$GW1" "executions --status running" | jq '.executions | length')"
check "viewer: actors refused (admin)" permission_denied \
  "$(STAGEE_PRINCIPAL=viewer cj "$GWO" actors | jq -r .error.code)"
other=$(STAGEE_TENANT=other cj "$GWO" "actors --kind execution")
check "another tenant's admin sees the actor, not what identifies it" "true||" \
  "$(jq -r '.actors[0].executions[0] | "\(.hidden)|\(.execution_id // "")|\(.step // "")"' <<<"$other")"
check "another tenant's admin: the id appears nowhere" false "$(grep -q "$ID" <<<"$other" && echo true || echo false)"
check "another tenant's executions listing is empty" 0 \
  "$(STAGEE_TENANT=other cj "$GW1" "executions --status running" | jq '.executions | length')"
check "--tenant of someone else is refused" permission_denied \
  "$(cj "$GW1" "executions --tenant other" | jq -r .error.code)"

# cancel through the console, sent to a node that does not own the execution
t0=$(date +%s%3N)
out=$(cj "$(gw_of "$OTHER")" "cancel $ID --reason console-test")
t1=$(date +%s%3N)
check "cancel: cancelled through $OTHER" "cancelled|p" "$(jq -r '"\(.status)|\(.cancelled_by)"' <<<"$out")"
check "cancel: the database agrees" cancelled "$(sql "SELECT status FROM executions WHERE id = '$ID'")"
echo "cancel through the console took $((t1 - t0)) ms" >&2

# approve: a gated environment needs level 1
"$STAGEE_BIN" approval-policy set --db-url "$DB_URL" --action-class modify --environment gated \
  --level 1 >/dev/null
jq '.name = "gated change" | .environment = "gated" | .targets = ["db-1"] | .steps = [{"name": "go", "executor": "noop"}]' \
  "$WORK/hold.json" >"$WORK/gated.json"
GID=$("$STAGEE_BIN" submit --gateway "$GW1" --mode background "$WORK/gated.json" | jq -r .execution_id)
check "approve: waiting" awaiting_approval "$(sql "SELECT status FROM executions WHERE id = '$GID'")"
check "approve: refused without a plan the approver saw" plan_hash \
  "$(cj "$GW1" "approve $GID" | jq -r .error.field)"
out=$(cj "$GW1" "show $GID; approve $GID --reason 'looks fine'" | tail -1)
check "approve: after show, queued by the console" "queued|p" "$(jq -r '"\(.status)|\(.decided_by)"' <<<"$out")"
check "approve: then it ran" succeeded "$("$STAGEE_BIN" wait --gateway "$GW1" --timeout 20 "$GID" | jq -r .status)"

# dlq and requeue
cat >"$WORK/fail.json" <<'JSON'
{"name": "fails once", "action": "probe", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["h1"],
 "steps": [{"name": "boom", "executor": "shell", "command": ["sh", "-c", "exit 3"], "timeout_ms": 5000}]}
JSON
FID=$("$STAGEE_BIN" submit --gateway "$GW1" --mode immediate "$WORK/fail.json" | jq -r .execution_id)
d=$(cj "$GW1" dlq)
DLQ_ID=$(jq -r '.entries[] | select(.execution_id == "'"$FID"'") | .id' <<<"$d")
check "dlq: the failed execution is listed" "$(sql "SELECT id FROM execution_dlq WHERE execution_id = '$FID'")" "$DLQ_ID"
out=$(cj "$GW1" "requeue $DLQ_ID")
NEW=$(jq -r .execution_id <<<"$out")
check "requeue: a new execution of the same plan" "fails once|$DLQ_ID" \
  "$(sql "SELECT e.plan_name || '|' || d.id FROM executions e JOIN execution_dlq d ON d.requeued_as = e.id WHERE e.id = '$NEW'")"

# several commands in one -c; bad input names the problem
check "-c runs ';'-separated commands on the node chosen by use" "$OTHER" \
  "$(con "$GW1" --json -c "use $OTHER; whereami" | tail -1 | jq -r .node)"
check "unknown command: exit code 2" 2 "$(rc=0; "$STAGEE_BIN" console --node "$GW1" -c frobnicate >/dev/null 2>&1 || rc=$?; echo $rc)"
check "unterminated quote is named" true \
  "$(con "$GW1" -c "show 'abc" | grep -q 'unterminated single quote' && echo true || echo false)"
check "an empty -c is refused, not a session" 2 \
  "$(rc=0; "$STAGEE_BIN" console --node "$GW1" -c "" </dev/null >/dev/null 2>&1 || rc=$?; echo $rc)"
check "hostile bytes are not echoed raw" false \
  "$(con "$GW1" -c "$(printf 'show \033[31mred')" | grep -q $'\033' && echo true || echo false)"

# A node that died answers with a clear error within seconds, never a hang.
GW3=${GWS[2]}
kill -9 "${NODE_PIDS[2]}"
t0=$(date +%s%3N)
out=$(cj "$GW3" actors)
t1=$(date +%s%3N)
check "dead node: unavailable, quickly" "unavailable|true" \
  "$(jq -r .error.code <<<"$out")|$([ $((t1 - t0)) -lt 5000 ] && echo true || echo "false ($((t1 - t0)) ms)")"
kill -STOP "${NODE_PIDS[1]}"
t0=$(date +%s%3N)
out=$("$STAGEE_BIN" console --node "${GWS[1]}" --timeout-ms 3000 --json -c actors 2>&1 || true)
t1=$(date +%s%3N)
t2=$(date +%s%3N)
st_rc=0
st_out=$("$STAGEE_BIN" status --gateway "${GWS[1]}" --timeout-ms 2000 "$ID" 2>&1) || st_rc=$?
t3=$(date +%s%3N)
kill -CONT "${NODE_PIDS[1]}"
check "frozen node: a client command gives up at its deadline too, saying why" "2|true|true" \
  "$st_rc|$(grep -q 'frozen or overloaded' <<<"$st_out" && echo true || echo "false: $st_out")|$([ $((t3 - t2)) -lt 6000 ] && echo true || echo "false ($((t3 - t2)) ms)")"
check "frozen node: unavailable within the timeout, said to be frozen" "unavailable|true|true" \
  "$(jq -r '"\(.error.code)|\(.error.message | test("frozen or overloaded"))"' <<<"$out")|$([ $((t1 - t0)) -lt 8000 ] && echo true || echo "false ($((t1 - t0)) ms)")"
echo "frozen node answered in $((t1 - t0)) ms" >&2

finish
