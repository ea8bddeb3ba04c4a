#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the demo: a local
# cluster of three Stage E nodes on one embedded, self-managed PostgreSQL (node 1
# starts it; nodes 2 and 3 join through node 1 as their seed) executes three sample
# plans (a read-only plan, a 3-step plan with one step per target, a plan with a
# failing step) plus a batch of probes, prints progress live, which node ran what,
# and shuts down cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO_DIR=${STAGEE_DEMO_DIR:-/var/tmp/stagee-demo}

scripts/install-deps.sh
echo "== building (first build takes a few minutes on 2 cores)"
STAGEE_BUILD_TARGETS=stagee scripts/build.sh | grep -vE '^\[[0-9]+/[0-9]+\]' || true
BIN=$ROOT/${STAGEE_BUILD_DIR:-build}/runtime/stagee
[ -x "$BIN" ] || { echo "build failed: $BIN missing" >&2; exit 1; }

mkdir -p "$DEMO_DIR"
NODE_PIDS=()
stop_nodes() { # the joiners first: node 1 owns the embedded PostgreSQL
  local i
  for ((i = ${#NODE_PIDS[@]} - 1; i >= 0; i--)); do
    if kill -0 "${NODE_PIDS[$i]}" 2>/dev/null; then
      kill -TERM "${NODE_PIDS[$i]}"
      wait "${NODE_PIDS[$i]}" || true
    fi
  done
  NODE_PIDS=()
}
trap stop_nodes EXIT

# Token authentication, as in production: a signing key made once for the demo.
[ -f "$DEMO_DIR/demo-hs256.key" ] || "$BIN" token keygen --out "$DEMO_DIR/demo-hs256.key" >/dev/null

# start_node N ARGS...: starts demo-node-N, waits for its node_ready line.
start_node() {
  local n=$1; shift
  "$BIN" node --node-name "demo-node-$n" --port 0 --jwt-hmac-key "$DEMO_DIR/demo-hs256.key"     --capacity 4 "$@" >"$DEMO_DIR/ready-$n.json" 2>"$DEMO_DIR/node-$n.log" &
  NODE_PIDS+=($!)
  for _ in $(seq 1 300); do
    grep -q node_ready "$DEMO_DIR/ready-$n.json" 2>/dev/null && return 0
    kill -0 "${NODE_PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "node $n failed to start:" >&2
  tail -5 "$DEMO_DIR/node-$n.log" >&2
  exit 1
}

echo "== starting node 1 with an embedded PostgreSQL in $DEMO_DIR (logs: $DEMO_DIR/node-N.log)"
start_node 1 --data-dir "$DEMO_DIR"
GW=127.0.0.1:$(jq -r .port "$DEMO_DIR/ready-1.json")
DB_URL=$(jq -r .db_url "$DEMO_DIR/ready-1.json")
echo "   node 1 ready: gateway $GW, database $DB_URL"
echo "== starting nodes 2 and 3 on the same database, joining through node 1"
start_node 2 --db-url "$DB_URL" --seeds "$GW"
start_node 3 --db-url "$DB_URL" --seeds "$GW"

echo "== granting demo-operator the deployer role in tenant demo; issuing its token"
"$BIN" rbac grant --db-url "$DB_URL" --tenant demo --principal demo-operator --role deployer \
  --by demo.sh >/dev/null
STAGEE_TOKEN=$("$BIN" token issue --key-file "$DEMO_DIR/demo-hs256.key" --sub demo-operator \
               --tenant demo --ttl-s 3600)
export STAGEE_TOKEN
# A second person approves modify and deploy plans (policy: modify 1, deploy 2).
"$BIN" rbac grant --db-url "$DB_URL" --tenant demo --principal demo-approver --role approver \
  --by demo.sh >/dev/null
APPROVER_TOKEN=$("$BIN" token issue --key-file "$DEMO_DIR/demo-hs256.key" --sub demo-approver \
                 --tenant demo --ttl-s 3600)

# Each demo run is a new submission: a fresh idempotency key per run.
RUN=$(date +%s)
IDS=()
for plan in read-only three-step failing; do
  out=$("$BIN" submit --gateway "$GW" \
        --mode background --idempotency-key "demo-$RUN-$plan" "scripts/plans/$plan.json")
  id=$(jq -r .execution_id <<<"$out")
  IDS+=("$id")
  echo "== submitted $plan.json -> $id ($(jq -r .status <<<"$out"), $(jq -r .mode <<<"$out"))"
  if [ "$(jq -r .status <<<"$out")" = awaiting_approval ]; then
    dec=$("$BIN" approve --gateway "$GW" --token "$APPROVER_TOKEN" \
          --plan-hash "$(jq -r .plan_hash <<<"$out")" --reason "reviewed in the demo" "$id")
    echo "   approved by $(jq -r .decided_by <<<"$dec") (level $(jq -r .approval_level <<<"$dec")) -> $(jq -r .status <<<"$dec")"
  fi
done

echo "== cluster members as node 1 sees them"
for _ in $(seq 1 50); do
  members=$("$BIN" cluster status --gateway "$GW")
  [ "$(jq '[.members[] | select(.state == "up")] | length' <<<"$members")" = 3 ] && break
  sleep 0.2
done
jq -r '.members[] | "   \(.name)  \(.state)  link=\(.link)  \(.address)  load \(.load)/\(.capacity)"' <<<"$members"

# A batch of probes, all submitted to node 1: the cluster spreads them.
for i in $(seq 1 12); do
  out=$(jq --arg i "$i" '.name = "probe \($i)"' scripts/plans/read-only.json \
        | "$BIN" submit --gateway "$GW" --mode background --idempotency-key "demo-$RUN-probe-$i" -)
  IDS+=("$(jq -r .execution_id <<<"$out")")
done
echo "== submitted 12 probes to node 1"

for i in 0 1 2; do
  id=${IDS[$i]}
  echo "== progress of ${id}"
  "$BIN" wait --gateway "$GW" --follow --timeout 60 "$id" | jq -r '
    if .event then
      "   #\(.seq) \(.event)" + (if .step then " \(.step)@\(.target) (attempt \(.attempt))" else "" end)
      + (if .exit_code != null then " exit=\(.exit_code)" else "" end)
      + (if .error_class then " error=\(.error_class)" else "" end)
      + "  -> \(.status)"
    else
      "   final: \(.status)" + (if .error_message then " (\(.error_message))" else "" end)
    end'
done

echo "== summary: which node ran what"
printf '   %-38s %-10s %-12s %s\n' EXECUTION STATUS NODE STEPS
for id in "${IDS[@]}"; do
  "$BIN" wait --gateway "$GW" --timeout 60 "$id" | jq -r '"   \(.execution_id) \(.status | . + " " * (10 - length)) \((.worker_id // "-") | . + " " * (12 - length)) "
    + ([.steps[] | "\(.name)@\(.target)=\(.status)"] | join(", "))'
done

echo "== the console: figures per node, then the latest executions (stagee console -c)"
"$BIN" rbac grant --db-url "$DB_URL" --tenant demo --principal demo-admin --role admin \
  --by demo.sh >/dev/null
ADMIN_TOKEN=$("$BIN" token issue --key-file "$DEMO_DIR/demo-hs256.key" --sub demo-admin \
              --tenant demo --ttl-s 3600)
"$BIN" console --node "$GW" --token "$ADMIN_TOKEN" --history-file - \
  -c "stats; executions --limit 5" | sed 's/^/   /'
echo "   interactive: $BIN console --node $GW --token <a token of an admin> (docs/console.md)"

echo "== stopping the nodes (node 1 stops the PostgreSQL it started)"
stop_nodes
echo "== done. Step outputs are in PostgreSQL: scripts/demo.sh leaves the data in $DEMO_DIR"
