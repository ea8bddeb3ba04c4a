# Shared helpers for end-to-end tests: a fresh database on the test server, real
# `stagee node` processes, assertions that count and report.
set -euo pipefail

: "${STAGEE_BIN:?STAGEE_BIN must point to the stagee binary (set by ctest)}"
: "${STAGEE_TEST_PG_DIR:?STAGEE_TEST_PG_DIR must be set (ctest fixture pg_server)}"

PASSED=0
FAILED=0
NODE_PIDS=()
EXTRA_CLEANUP=() # commands cleanup runs first (e.g. tmux kill-session -t NAME)
WORK=$(mktemp -d /tmp/stagee-e2e-XXXXXX)
SERVER_URL=$("$STAGEE_BIN" db url --data-dir "$STAGEE_TEST_PG_DIR")
DB_NAME="stagee_e2e_$$"
DB_URL="${SERVER_URL%/*}/$DB_NAME"

alive() { # alive PID: running (a zombie awaiting `wait` is not)
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

cleanup() {
  local rc=$? stuck=0 c
  for c in "${EXTRA_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
  [ -z "${WATCH_PID:-}" ] || kill "$WATCH_PID" 2>/dev/null || true
  for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # A node must stop within its drain grace after SIGTERM; one that does not is a
  # bug: show where it was, kill it, fail the test (instead of a ctest timeout).
  for pid in "${NODE_PIDS[@]}"; do
    for _ in $(seq 1 400); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      echo "FAIL: node pid $pid did not stop within 40 s of SIGTERM; its log ends:" >&2
      tail -5 "$WORK/$(cat /proc/"$pid"/cmdline | tr '\0' '\n' | grep -A1 -x -- --node-name | tail -1).log" >&2 || true
      kill -9 "$pid" 2>/dev/null || true
      stuck=1
    fi
    wait "$pid" 2>/dev/null || true
  done
  psql -q "${SERVER_URL%/*}/postgres" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "${STAGEE_E2E_KEEP:-}" ]; then echo "kept $WORK (logs, outputs)" >&2; else rm -rf "$WORK"; fi
  [ "$stuck" -eq 0 ] || exit 1
  exit "$rc"
}
trap cleanup EXIT

psql -q "${SERVER_URL%/*}/postgres" -c "CREATE DATABASE $DB_NAME" >/dev/null

sql() { psql -qtAX "$DB_URL" -c "$1"; }

# Identity. Unless a test sets NODE_AUTH_ARGS (e.g. to --jwt-hmac-key FILE), nodes
# run in development auth mode and clients state who they are (STAGEE_TENANT and
# STAGEE_PRINCIPAL, or --tenant/--principal); RBAC applies either way, so the
# identities the tests use get roles here (auth_test.sh covers tokens and RBAC).
NODE_AUTH_ARGS=${NODE_AUTH_ARGS:---auth-mode dev}
export STAGEE_TENANT=${STAGEE_TENANT:-t} STAGEE_PRINCIPAL=${STAGEE_PRINCIPAL:-p}
grant() { # grant TENANT PRINCIPAL ROLE [ENVIRONMENT]
  "$STAGEE_BIN" rbac grant --db-url "$DB_URL" --tenant "$1" --principal "$2" --role "$3" \
    --environment "${4:-*}" --by e2e >/dev/null
}
"$STAGEE_BIN" migrate --db-url "$DB_URL" >/dev/null
# Approvals (R-SAFE-8) are off in tests that are not about them: every level 0.
[ -n "${E2E_KEEP_APPROVAL_POLICY:-}" ] || sql "UPDATE approval_policies SET level = 0" >/dev/null
if [ -z "${E2E_NO_DEFAULT_GRANTS:-}" ]; then
  for who in t:p t:ops t:alice t:bob acme:alice acme:bob acme:carol acme:ops globex:alice other:p; do
    grant "${who%%:*}" "${who#*:}" admin
  done
fi

check() { # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    echo "FAIL: $1: expected [$2], got [$3]" >&2
  fi
}

# start_node NAME [extra args...]: starts a node on DB_URL, sets NODE_PORT.
start_node() {
  local name=$1; shift
  # shellcheck disable=SC2086
  "$STAGEE_BIN" node --db-url "$DB_URL" --port 0 --node-name "$name" $NODE_AUTH_ARGS "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.log" &
  NODE_PIDS+=($!)
  for _ in $(seq 1 100); do
    if grep -q node_ready "$WORK/$name.out" 2>/dev/null; then
      NODE_PORT=$(jq -r .port "$WORK/$name.out")
      return 0
    fi
    sleep 0.1
  done
  echo "node $name did not become ready; log:" >&2
  tail -20 "$WORK/$name.log" >&2
  exit 1
}

# The cluster test configuration (docs/cluster.md): a dead or frozen node is noticed
# in about a second.
CLUSTER_FAST=(--heartbeat-ms 250 --link-timeout-ms 1000 --gossip-ms 250 --member-stale-ms 1000)

# start_cluster PREFIX N [extra args...]: nodes PREFIX1..PREFIXN on DB_URL, PREFIX1 the
# seed of the others; sets GWS (their gateways, in order) and waits up to 10 s until
# PREFIX1 is linked to all of them.
start_cluster() {
  local prefix=$1 n=$2 i linked=""; shift 2
  GWS=()
  start_node "${prefix}1" "${CLUSTER_FAST[@]}" "$@"
  GWS+=("127.0.0.1:$NODE_PORT")
  for i in $(seq 2 "$n"); do
    start_node "$prefix$i" "${CLUSTER_FAST[@]}" "$@" --seeds "${GWS[0]}"
    GWS+=("127.0.0.1:$NODE_PORT")
  done
  for _ in $(seq 1 50); do
    linked=$("$STAGEE_BIN" cluster status --gateway "${GWS[0]}" \
             | jq '[.members[] | select(.link == "connected")] | length' || true)
    [ "$linked" = $((n - 1)) ] && return 0
    sleep 0.2
  done
  echo "cluster $prefix did not form: ${prefix}1 is linked to ${linked:-0} of $((n - 1))" >&2
  exit 1
}

# group_left PGID: the live processes of a process group, after giving the ones
# just killed up to a second to be reaped (prints nothing when the group is gone).
group_left() {
  local left
  for _ in $(seq 1 20); do
    left=$(ps -e -o pgid=,stat=,pid= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {print $3}')
    [ -z "$left" ] && return 0
    sleep 0.05
  done
  echo "$left"
}

# watch_lock_invariant BOUND_MS: every second, in the background, records locks
# owned by a missing execution or by one that ended more than BOUND_MS ago (test
# plan L7: lease + reaper interval); finish fails the test if any was seen.
# (It is a background job: after this, `wait` only with explicit pids.)
watch_lock_invariant() {
  local bound_ms=$1
  : >"$WORK/invariant.violations"
  (
    while sleep 1; do
      psql -qtAX "$DB_URL" -c "SELECT now(), l.lock_key, l.owner_execution_id, coalesce(e.status::text, 'missing')
          FROM execution_locks l LEFT JOIN executions e ON e.id = l.owner_execution_id
         WHERE l.owner_execution_id IS NOT NULL
           AND (e.id IS NULL OR e.ended_at < now() - make_interval(secs => $bound_ms / 1000.0))" \
        >>"$WORK/invariant.violations" 2>/dev/null || true
    done
  ) &
  WATCH_PID=$!
}

finish() {
  if [ -n "${WATCH_PID:-}" ]; then
    kill "$WATCH_PID" 2>/dev/null || true
    check "lock invariant: no lock held for an ended or missing execution" "" \
      "$(head -3 "$WORK/invariant.violations")"
  fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
