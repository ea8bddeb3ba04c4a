#!/usr/bin/env bash
# Three nodes join through one seed and list the same members; 300 background
# executions submitted through one node run on all three, none above 1.25x an even
# share; a node that stops leaves, and comes back under its name on a new port.
source "$(dirname "$0")/lib.sh"

CLUSTER=("${CLUSTER_FAST[@]}" --claim-interval-ms 200 --capacity 8)
start_cluster c 3 --claim-interval-ms 200 --capacity 8
GW=("${GWS[@]}")
SEED=${GW[0]}

# members GATEWAY: "name:state:link" of every member, sorted, one line.
members() {
  "$STAGEE_BIN" cluster status --gateway "$1" --timeout-ms 5000 \
    | jq -r '[.members[] | "\(.name):\(.state):\(.link)"] | join(" ")'
}
# converged GATEWAY EXPECTED: waits up to 10 s for the member list to read EXPECTED.
converged() {
  local got=""
  for _ in $(seq 1 50); do
    got=$(members "$1" || true)
    [ "$got" = "$2" ] && break
    sleep 0.2
  done
  echo "$got"
}
check "c1 sees all three" "c1:up:self c2:up:connected c3:up:connected" \
  "$(converged "${GW[0]}" "c1:up:self c2:up:connected c3:up:connected")"
check "c2 sees all three" "c1:up:connected c2:up:self c3:up:connected" \
  "$(converged "${GW[1]}" "c1:up:connected c2:up:self c3:up:connected")"
check "c3 sees all three (it learned c2 from the seed)" "c1:up:connected c2:up:connected c3:up:self" \
  "$(converged "${GW[2]}" "c1:up:connected c2:up:connected c3:up:self")"
check "membership rows in PostgreSQL" "c1:up c2:up c3:up" \
  "$(sql "SELECT string_agg(name || ':' || state, ' ' ORDER BY name) FROM cluster_members")"
status=$("$STAGEE_BIN" cluster status --gateway "${GW[1]}")
check "status shows addresses, capacity and a recent heartbeat" "${GW[0]}|8|true" \
  "$(jq -r '.members[] | select(.name == "c1") | "\(.address)|\(.capacity)|\(.last_seen_ms < 5000)"' <<<"$status")"

# Work spreads: 300 background executions, all submitted to c1.
N=300
cat >"$WORK/plan.json" <<'JSON'
{"name": "spread", "action": "probe", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["h1"],
 "steps": [{"name": "probe", "executor": "shell", "command": ["sleep", "0.3"], "timeout_ms": 10000}]}
JSON
submit_one() {
  jq --arg i "$1" '.name = "spread \($i)"' "$WORK/plan.json" >"$WORK/p$1.json"
  "$STAGEE_BIN" submit --gateway "$GW0" --mode background "$WORK/p$1.json" >/dev/null \
    || echo "submit $1 failed" >&2
}
export -f submit_one
export STAGEE_BIN WORK GW0=${GW[0]}
seq 1 $N | xargs -P 6 -I{} bash -c 'submit_one {}'
for _ in $(seq 1 600); do
  left=$(sql "SELECT count(*) FROM executions WHERE status NOT IN ('succeeded','failed','cancelled','rejected')")
  [ "$left" = 0 ] && break
  sleep 0.2
done
check "all $N succeeded" "$N|$N" \
  "$(sql "SELECT count(*) FILTER (WHERE status = 'succeeded') || '|' || count(*) FROM executions")"
shares=$(sql "SELECT payload->>'by' || ':' || count(DISTINCT execution_id) FROM execution_events
               WHERE kind = 'step_started' GROUP BY payload->>'by' ORDER BY 1" | tr '\n' ' ')
echo "shares of $N: $shares" >&2
check "all three nodes ran work" 3 "$(wc -w <<<"$shares")"
check "no node above 1.25x an even share ($((N * 125 / 300)))" "" \
  "$(for s in $shares; do [ "${s#*:}" -le $((N * 125 / 300)) ] || echo "$s"; done)"

# A node stopping on purpose leaves (no "down" alarm) and rejoins under its name.
PID3=${NODE_PIDS[2]}
kill -TERM "$PID3"
for _ in $(seq 1 100); do alive "$PID3" || break; sleep 0.1; done
check "c1 sees c3 left" "c1:up:self c2:up:connected c3:left:down" \
  "$(converged "${GW[0]}" "c1:up:self c2:up:connected c3:left:down")"
check "no down alarm for a node that left" 0 "$(grep -c 'cluster member down' "$WORK/c1.log" || true)"
check "row marked left" left "$(sql "SELECT state FROM cluster_members WHERE name = 'c3'")"
start_node c3 "${CLUSTER[@]}" --seeds "$SEED"
NEW3="127.0.0.1:$NODE_PORT"
check "c3 is back under its name on its new port" "c1:up:self c2:up:connected c3:up:connected|$NEW3" \
  "$(converged "${GW[0]}" "c1:up:self c2:up:connected c3:up:connected")|$("$STAGEE_BIN" cluster status --gateway "${GW[0]}" | jq -r '.members[] | select(.name == "c3") | .address')"
check "c2 learned the new address too" "c1:up:connected c2:up:self c3:up:connected" \
  "$(converged "${GW[1]}" "c1:up:connected c2:up:self c3:up:connected")"

# A second process under a live node's name is refused (leases are owned by name).
rc=0; "$STAGEE_BIN" node --db-url "$DB_URL" --port 0 --node-name c2 $NODE_AUTH_ARGS \
  "${CLUSTER[@]}" >"$WORK/dup.out" 2>"$WORK/dup.log" || rc=$?
check "duplicate name refused" "1|true" \
  "$rc|$(grep -q 'node name in use by a running node' "$WORK/dup.log" && echo true || echo false)"

# Bad cluster options are named.
rc=0; out=$("$STAGEE_BIN" node --db-url "$DB_URL" --port 0 --node-name bad $NODE_AUTH_ARGS \
  --seeds "nohost" 2>&1) || rc=$?
check "a bad seed is named" "1|true" "$rc|$(grep -q "'nohost' is not one" <<<"$out" && echo true || echo false)"
finish
