#!/usr/bin/env bash
# Console latency benchmark (docs/benchmarks.md, "Console").
#
# Starts a throwaway PostgreSQL in a fresh /tmp/stagee-bench-console-XXXX directory
# and three dev-mode nodes on it, keeps RUNNING background executions running (shell
# `sleep`), then runs each console command ROUNDS times as a script would
# (`stagee console -c CMD --json`: process start, connect, request, print) and prints
# the median and the slowest wall time per command, as one JSON line each.
# Everything it started is stopped and removed on exit. Never touches another server.
#
# Environment: STAGEE_BUILD_DIR (default build), RUNNING (default 64), ROUNDS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${STAGEE_BUILD_DIR:-build}
STAGEE=${STAGEE_BIN:-$BUILD_DIR/runtime/stagee}
RUNNING=${RUNNING:-64}
ROUNDS=${ROUNDS:-20}
[ -x "$STAGEE" ] || { echo "bench-console: build first (scripts/build.sh)" >&2; exit 2; }

DIR=$(mktemp -d /tmp/stagee-bench-console-XXXX)
chmod 755 "$DIR"
PIDS=()
cleanup() {
  # The nodes' step processes (`sleep`, each its own process group) outlive a node
  # that stops before they end: remember them now, kill them last.
  local steps=()
  for p in "${PIDS[@]}"; do steps+=($(pgrep -P "$p" || true)); done
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true # its steps are `sleep`: nothing to finish
    wait "$p" 2>/dev/null || true
  done
  for p in "${steps[@]}"; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
  "$STAGEE" db stop --data-dir "$DIR/pg" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

URL=$("$STAGEE" db start --data-dir "$DIR/pg" --fresh)
"$STAGEE" migrate --db-url "$URL" >/dev/null
psql -qtAX "$URL" -c "UPDATE approval_policies SET level = 0" >/dev/null
"$STAGEE" rbac grant --db-url "$URL" --tenant t --principal p --role admin --environment '*' \
  --by bench >/dev/null
export STAGEE_TENANT=t STAGEE_PRINCIPAL=p
start() { # start NAME [SEED]: sets GW (not in a subshell: PIDS must keep the pid)
  "$STAGEE" node --db-url "$URL" --port 0 --node-name "$1" --auth-mode dev \
    --capacity "$RUNNING" --shutdown-grace-ms 1000 ${2:+--seeds "$2"} \
    >"$DIR/$1.out" 2>"$DIR/$1.log" &
  PIDS+=($!)
  GW=""
  for _ in $(seq 1 100); do
    port=$(jq -r 'select(.event == "node_ready") | .port' "$DIR/$1.out" 2>/dev/null || true)
    [ -n "$port" ] && { GW="127.0.0.1:$port"; return; }
    sleep 0.1
  done
  echo "bench-console: node $1 did not start" >&2; exit 1
}
start b1; GW1=$GW
start b2 "$GW1"; GW2=$GW
start b3 "$GW1"; GW3=$GW
sleep 2

plan='{"name": "N", "action": "probe", "action_class": "read", "sla_class": "long",
 "environment": "bench", "targets": ["h1"],
 "steps": [{"name": "nap", "executor": "shell", "command": ["sleep", "600"], "timeout_ms": 900000}]}'
for i in $(seq 1 "$RUNNING"); do
  "$STAGEE" submit --gateway "$GW1" --mode background - <<<"${plan/\"N\"/\"nap $i\"}" >/dev/null
done
for _ in $(seq 1 300); do
  n=$(psql -qtAX "$URL" -c "SELECT count(*) FROM execution_steps WHERE status = 'running'")
  [ "$n" -ge "$RUNNING" ] && break
  sleep 0.2
done
OWNER_GW=$(psql -qtAX "$URL" -c "SELECT worker_id FROM executions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
case $OWNER_GW in b1) OWNER_GW=$GW1 ;; b2) OWNER_GW=$GW2 ;; b3) OWNER_GW=$GW3 ;; esac
ID=$(psql -qtAX "$URL" -c "SELECT id FROM executions LIMIT 1")
echo "bench-console: $n executions running on 3 nodes, $(psql -qtAX "$URL" -c "SELECT max(c) FROM (SELECT count(*) AS c FROM executions GROUP BY worker_id) x") on the busiest" >&2

measure() { # measure GATEWAY "COMMAND"
  local times=() t0 t1 i
  for i in $(seq 1 "$ROUNDS"); do
    t0=$(date +%s%N)
    "$STAGEE" console --node "$1" --history-file - --json -c "$2" >/dev/null
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  jq -nc --arg cmd "$2" --argjson running "$n" --argjson rounds "$ROUNDS" \
    --argjson median "$(sed -n "$(( (ROUNDS + 1) / 2 ))p" <<<"$sorted")" \
    --argjson max "$(tail -1 <<<"$sorted")" \
    '{command: $cmd, running: $running, rounds: $rounds, median_ms: $median, max_ms: $max}'
}
measure "$GW1" whereami
measure "$OWNER_GW" actors
measure "$OWNER_GW" "actors --kind execution"
measure "$GW1" "executions --status running --limit 100"
measure "$GW1" "show $ID"
measure "$GW1" locks
measure "$GW1" stats
