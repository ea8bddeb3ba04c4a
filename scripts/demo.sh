#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the demo: a Stage E
# node on an embedded, self-managed PostgreSQL executes three sample plans (a
# read-only plan, a 3-step plan with one step per target, a plan with a failing
# step), prints their progress live, a summary, and shuts down cleanly.
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
LOG=$DEMO_DIR/node.log
NODE_PID=
stop_node() {
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID"
    wait "$NODE_PID" || true
  fi
}
trap stop_node EXIT

# Token authentication, as in production: a signing key made once for the demo.
[ -f "$DEMO_DIR/demo-hs256.key" ] || "$BIN" token keygen --out "$DEMO_DIR/demo-hs256.key" >/dev/null

echo "== starting a node with an embedded PostgreSQL in $DEMO_DIR (log: $LOG)"
"$BIN" node --data-dir "$DEMO_DIR" --node-name demo-node --port 0 \
  --jwt-hmac-key "$DEMO_DIR/demo-hs256.key" >"$DEMO_DIR/ready.json" 2>"$LOG" &
NODE_PID=$!
for _ in $(seq 1 300); do
  grep -q node_ready "$DEMO_DIR/ready.json" 2>/dev/null && break
  kill -0 "$NODE_PID" 2>/dev/null || { echo "node failed to start:" >&2; tail -5 "$LOG" >&2; exit 1; }
  sleep 0.1
done
PORT=$(jq -r .port "$DEMO_DIR/ready.json")
GW=127.0.0.1:$PORT
DB_URL=$(jq -r .db_url "$DEMO_DIR/ready.json")
echo "   node ready: gateway $GW, database $DB_URL"

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

for i in "${!IDS[@]}"; do
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

echo "== summary"
printf '   %-38s %-10s %s\n' EXECUTION STATUS STEPS
for id in "${IDS[@]}"; do
  "$BIN" status --gateway "$GW" "$id" | jq -r '"   \(.execution_id) \(.status | . + " " * (10 - length)) "
    + ([.steps[] | "\(.name)@\(.target)=\(.status)"] | join(", "))'
done

echo "== stopping the node (it stops the PostgreSQL it started)"
stop_node
NODE_PID=
echo "== done. Step outputs are in PostgreSQL: scripts/demo.sh leaves the data in $DEMO_DIR"
