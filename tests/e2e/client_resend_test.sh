#!/usr/bin/env bash
# A quick idempotent request (background submit, status) whose reply does not come
# within 10 s is sent again over a new connection instead of hanging until the
# deadline; the resent submit is deduplicated: one execution. (Here the reply is
# late because admission waits on a table lock; the same path covers a reply lost
# by the network layer.)
source "$(dirname "$0")/lib.sh"

start_node resend-1 --claim-interval-ms 100
GW="127.0.0.1:$NODE_PORT"
jq -nc '{name: "resend", action: "check", action_class: "read", sla_class: "fast",
  environment: "test", targets: ["h1"], steps: [{name: "s", executor: "noop"}]}' >"$WORK/plan.json"

# Hold every write to executions for 13 s.
psql -qtAX "$DB_URL" -c "BEGIN; LOCK TABLE executions IN EXCLUSIVE MODE; SELECT pg_sleep(13); COMMIT;" &
LOCKER=$!
sleep 0.5
rc=0
out=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode background \
      "$WORK/plan.json" 2>"$WORK/submit.err") || rc=$?
wait "$LOCKER"
check "submit succeeded" 0 "$rc"
check "client said it resent" 1 "$(grep -c 'sending the request again (attempt 2, it is idempotent)' "$WORK/submit.err")"
ID=$(jq -r .execution_id <<<"$out")
check "one execution for the two sends" "1|$ID" "$(sql "SELECT count(*) || '|' || min(id::text) FROM executions")"
check "it runs to the end" succeeded "$("$STAGEE_BIN" wait --gateway "$GW" --timeout 20 "$ID" | jq -r .status)"

finish
