#!/usr/bin/env bash
# No-op throughput benchmark (docs/benchmarks.md).
#
# Builds `stagee` and `stagee_bench`, starts a throwaway PostgreSQL in a fresh
# /tmp/stagee-bench-XXXX directory and one `stagee node` on it, runs the scenarios
# below with tests/bench/bench_noop.cpp, prints each result plus resource figures
# (CPU seconds of node / PostgreSQL / client, commits and WAL flushes), then stops the
# node and the database and removes the directory, also on failure or Ctrl-C.
# Never touches any other PostgreSQL server: only the one it started in its own dir.
#
# Environment:
#   STAGEE_BUILD_DIR   build directory (default: build)
#   BENCH_SCENARIOS    override the scenario list: "mode:count:concurrency:steps:targets[:class] ..."
#                      (class read: no locks, the default; modify: a lock per target)
#   BENCH_SKIP_BUILD=1 use the binaries already in the build directory
#   BENCH_RESULTS      also append every result JSON line to this file
#   BENCH_NODE_ARGS    extra arguments for `stagee node` (e.g. "--capacity 256")
#   BENCH_ANALYZE=0    do not ANALYZE the fresh tables after the warm-up
#   STAGEE_BIN, STAGEE_BENCH_BIN  use these binaries instead of the build directory's
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${STAGEE_BUILD_DIR:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac

SCENARIOS=${BENCH_SCENARIOS:-"immediate:500:1:1:1 immediate:2000:32:1:1 immediate:2000:32:1:1:modify immediate:2000:32:3:2 background:5000:64:1:1 background:5000:64:1:1:modify background:5000:64:3:2"}
WARMUP="immediate:300:16:1:1 immediate:300:16:1:1:modify" # modify: lock rows exist before ANALYZE

log() { echo "bench: $*" >&2; }

# -- build ---------------------------------------------------------------------------
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  # A build tree configured before tests/bench/bench_noop.cpp existed lacks the target.
  if [ -f "$BUILD_DIR/build.ninja" ] && ! grep -q stagee_bench "$BUILD_DIR/build.ninja"; then
    cmake -S "$ROOT" -B "$BUILD_DIR" >/dev/null
  fi
  STAGEE_BUILD_DIR=$BUILD_DIR STAGEE_BUILD_TARGETS="stagee stagee_bench" scripts/build.sh >&2
fi
STAGEE=${STAGEE_BIN:-$BUILD_DIR/runtime/stagee}
BENCH=${STAGEE_BENCH_BIN:-$BUILD_DIR/tests/stagee_bench}
for bin in "$STAGEE" "$BENCH"; do
  [ -x "$bin" ] || { log "missing $bin (build it, or unset BENCH_SKIP_BUILD)"; exit 2; }
done

# -- throwaway database and node -----------------------------------------------------
DATA_DIR=""
NODE_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$NODE_PID" 2>/dev/null; then
      log "node $NODE_PID ignored SIGTERM for 10 s; killing it"
      kill -KILL "$NODE_PID" 2>/dev/null || true
    fi
    wait "$NODE_PID" 2>/dev/null || true
  fi
  if [ -n "$DATA_DIR" ] && [ -d "$DATA_DIR" ]; then
    "$STAGEE" db stop --data-dir "$DATA_DIR" >/dev/null 2>&1 \
      || log "could not stop the database in $DATA_DIR"
    if [ "$rc" -ne 0 ] && [ -f "$DATA_DIR/node.err" ]; then
      log "last node log lines:"; tail -n 20 "$DATA_DIR/node.err" >&2 || true
    fi
    rm -rf "$DATA_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DATA_DIR=$(mktemp -d /tmp/stagee-bench-XXXX)
chmod 755 "$DATA_DIR" # the server runs as user postgres, which must enter the dir
DB_URL=$("$STAGEE" db start --data-dir "$DATA_DIR" --fresh | tail -n 1)
case "$DB_URL" in postgresql://*) ;; *) log "db start printed '$DB_URL'"; exit 1 ;; esac
PG_PID=$(head -n 1 "$DATA_DIR/pg/postmaster.pid")
log "PostgreSQL $PG_PID at $DB_URL (data in $DATA_DIR)"

# Token authentication as in production: the benchmark measures its cost too.
"$STAGEE" token keygen --out "$DATA_DIR/bench.key" >/dev/null
"$STAGEE" rbac grant --db-url "$DB_URL" --tenant bench --principal bench --role admin >/dev/null
for cls in modify deploy; do # measure execution, not waiting for approvers
  "$STAGEE" approval-policy set --db-url "$DB_URL" --action-class "$cls" --level 0 >/dev/null
done
STAGEE_TOKEN=$("$STAGEE" token issue --key-file "$DATA_DIR/bench.key" --sub bench --tenant bench \
               --ttl-s 86400)
export STAGEE_TOKEN

# shellcheck disable=SC2086
"$STAGEE" node --db-url "$DB_URL" --port 0 --log-level warn --data-dir "$DATA_DIR/node" \
  --jwt-hmac-key "$DATA_DIR/bench.key" \
  ${BENCH_NODE_ARGS:-} >"$DATA_DIR/node.out" 2>"$DATA_DIR/node.err" &
NODE_PID=$!
PORT=""
for _ in $(seq 300); do
  PORT=$(grep -o '"event":"node_ready".*' "$DATA_DIR/node.out" 2>/dev/null \
         | grep -o '"port":[0-9]*' | head -n 1 | cut -d: -f2 || true)
  [ -n "$PORT" ] && break
  kill -0 "$NODE_PID" 2>/dev/null || { log "node exited before node_ready"; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { log "no node_ready line after 30 s"; exit 1; }
GATEWAY=127.0.0.1:$PORT
log "node $NODE_PID, gateway $GATEWAY"

# -- resource probes -----------------------------------------------------------------
TCK=$(getconf CLK_TCK)
# utime+stime ticks of a pid list
ticks_of() {
  local sum=0 p f
  for p in "$@"; do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    f=${f##*) }                       # drop "pid (comm) "; fields start at 3 (state)
    # shellcheck disable=SC2086
    set -- $f
    sum=$((sum + ${12} + ${13}))      # fields 14, 15: utime, stime
  done
  echo "$sum"
}
pg_pids() { echo "$PG_PID"; ps -o pid= --ppid "$PG_PID" 2>/dev/null || true; }
# busy (non-idle, non-iowait) and total jiffies of the whole machine
machine_ticks() { awk '/^cpu /{ t=0; for (i=2;i<=NF;i++) t+=$i; print t-$5-$6, t }' /proc/stat; }
pg_counters() { # commits, WAL records/bytes/flushes, rows read by sequential scans
  psql "$DB_URL" -XAtq -F ' ' -c \
    "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
            wal_records, wal_bytes, wal_sync,
            (SELECT coalesce(sum(seq_tup_read), 0) FROM pg_stat_user_tables)
       FROM pg_stat_wal" 2>/dev/null || echo "0 0 0 0 0"
}
snapshot() { # -> "node_ticks pg_ticks busy total commits wal_records wal_bytes wal_sync seq_rows"
  echo "$(ticks_of "$NODE_PID") $(ticks_of $(pg_pids)) $(machine_ticks) $(pg_counters)"
}

# -- scenarios -----------------------------------------------------------------------
SUMMARY=()
FAILED=0
run_scenario() { # mode count concurrency steps targets [class]
  local mode=$1 count=$2 conc=$3 steps=$4 targets=$5 class=${6:-read}
  local label=$1-$2x$3-${4}s${5}t${6:+-$6}
  local before after late out rc line
  before=($(snapshot))
  set +e
  out=$("$BENCH" --gateway "$GATEWAY" --count "$count" --concurrency "$conc" --mode "$mode" \
                 --steps "$steps" --targets "$targets" --action-class "$class" --label "$label")
  rc=$?
  set -e
  after=($(snapshot))
  # Backends report to pg_stat_* up to a second late: take the CPU figures now and
  # the PostgreSQL counters a second later.
  sleep 1
  late=($(snapshot))
  after=("${after[@]:0:4}" "${late[@]:4}")
  printf '%s\n' "$out" | grep -v '"event":"bench_result"' >&2 || true
  line=$(printf '%s\n' "$out" | grep '"event":"bench_result"' | tail -n 1 || true)
  if [ -z "$line" ]; then
    log "$label: no result (exit $rc): $out"
    FAILED=1
    return
  fi
  [ "$rc" -eq 0 ] || FAILED=1
  # Add the server-side figures to the JSON line.
  line=$(python3 - "$line" "$TCK" "${before[@]}" "${after[@]}" <<'EOF'
import json, sys
r = json.loads(sys.argv[1]); tck = float(sys.argv[2])
b = [float(x) for x in sys.argv[3:12]]; a = [float(x) for x in sys.argv[12:21]]
d = [max(0.0, y - x) for x, y in zip(b, a)]  # a process that died reads as 0
n = max(r["count"], 1)
r["node_cpu_s"] = round(d[0] / tck, 2)
r["pg_cpu_s"] = round(d[1] / tck, 2)
r["machine_busy_pct"] = round(100.0 * d[2] / d[3], 1) if d[3] > 0 else 0.0
r["commits"] = int(d[4]); r["wal_records"] = int(d[5]); r["wal_bytes"] = int(d[6])
r["wal_syncs"] = int(d[7]); r["seq_scan_rows"] = int(d[8])
r["per_execution"] = {
    "commits": round(d[4] / n, 2), "wal_syncs": round(d[7] / n, 2),
    "wal_kib": round(d[6] / n / 1024, 2), "seq_scan_rows": round(d[8] / n, 1),
    "node_cpu_ms": round(1000 * d[0] / tck / n, 3), "pg_cpu_ms": round(1000 * d[1] / tck / n, 3),
    "client_cpu_ms": round(1000 * r.get("client_cpu_s", 0) / n, 3)}
print(json.dumps(r, sort_keys=True))
EOF
)
  echo "$line"
  [ -n "${BENCH_RESULTS:-}" ] && echo "$line" >>"$BENCH_RESULTS"
  SUMMARY+=("$line")
}

log "warm-up ($WARMUP, not reported)"
for w in $WARMUP; do
  IFS=: read -r m c k s t a <<<"$w"
  "$BENCH" --gateway "$GATEWAY" --count "$c" --concurrency "$k" --mode "$m" --steps "$s" \
           --targets "$t" --action-class "${a:-read}" --quiet >/dev/null \
    || { log "warm-up failed"; exit 1; }
done
# Fresh tables have no planner statistics until autovacuum's first ANALYZE (about a
# minute in), which would change query plans in the middle of a scenario. Analyze now
# so that every run starts from the same state (BENCH_ANALYZE=0 skips this).
if [ "${BENCH_ANALYZE:-1}" = 1 ]; then
  psql "$DB_URL" -XAtqc "ANALYZE" >/dev/null || log "ANALYZE failed (is psql installed?)"
fi

for sc in $SCENARIOS; do
  IFS=: read -r m c k s t a <<<"$sc"
  log "scenario $m count=$c concurrency=$k steps=$s targets=$t class=${a:-read}"
  run_scenario "$m" "$c" "$k" "$s" "$t" "$a"
  if ! kill -0 "$NODE_PID" 2>/dev/null; then
    log "the node exited; skipping the remaining scenarios"
    FAILED=1
    break
  fi
done

# -- summary -------------------------------------------------------------------------
echo
{
  echo "host: $(nproc) vCPU, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), PostgreSQL $(psql "$DB_URL" -XAtqc 'SHOW server_version' 2>/dev/null)"
  python3 - "${SUMMARY[@]}" <<'PY'
import json, sys
rows = [json.loads(l) for l in sys.argv[1:] if l.strip()]
print("| mode | N | C | steps x targets | total s | submits/s | executions/s "
      "| submit p50 ms | p90 | p99 | max | failures | commits/exec | WAL flushes/exec "
      "| node CPU ms/exec | PG CPU ms/exec | seq-scanned rows/exec | machine busy |")
print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    l, p = r["submit_latency_ms"], r["per_execution"]
    print(f"| {r['mode']} | {r['count']} | {r['concurrency']} | {r['steps']} x {r['targets']} "
          f"| {r['total_s']:.2f} | {r['submits_per_s']:.0f} | {r['executions_per_s']:.0f} "
          f"| {l['p50']:.1f} | {l['p90']:.1f} | {l['p99']:.1f} | {l['max']:.1f} | {r['failures']} "
          f"| {p['commits']:.2f} | {p['wal_syncs']:.2f} | {p['node_cpu_ms']:.2f} "
          f"| {p['pg_cpu_ms']:.2f} | {p['seq_scan_rows']:.0f} | {r['machine_busy_pct']:.0f}% |")
PY
}
if [ "$FAILED" -ne 0 ]; then
  log "some executions did not succeed (see failure_detail above)"
  exit 1
fi
