#!/usr/bin/env bash
# Retries with exponential backoff, then the dead-letter queue (R-Q-3): an
# always-failing idempotent step runs exactly max-attempts times (fast SLA: 3) with
# growing gaps, the execution fails, and one DLQ row keeps the last error and the
# history of the attempts. A non-idempotent failing step is not retried.
source "$(dirname "$0")/lib.sh"

LEDGER=$WORK/ledger
start_node retry-1 --retry-base-ms 150 --claim-interval-ms 100
GW="127.0.0.1:$NODE_PORT"

cat >"$WORK/flaky.json" <<JSON
{"name": "always failing", "action": "probe", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["h1"],
 "steps": [{"name": "probe", "executor": "shell", "idempotent": true, "timeout_ms": 2000,
            "command": ["sh", "-c", "date +%s%N >> $LEDGER; echo 'connection refused' >&2; exit 4"]}]}
JSON
out=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode immediate "$WORK/flaky.json")
ID=$(jq -r .execution_id <<<"$out")
check "failed after retries" failed "$(jq -r .status <<<"$out")"
check "exactly max attempts" 3 "$(wc -l <"$LEDGER")"
mapfile -t T <"$LEDGER"
gap1=$(( (T[1] - T[0]) / 1000000 )); gap2=$(( (T[2] - T[1]) / 1000000 ))
# base 150 ms x 2^failures, +-10 %: 300 ms then 600 ms (plus process start-up)
check "first backoff ~300 ms" true "$([ "$gap1" -ge 270 ] && [ "$gap1" -lt 1500 ] && echo true || echo "false ($gap1 ms)")"
check "second backoff ~600 ms" true "$([ "$gap2" -ge 540 ] && [ "$gap2" -lt 2500 ] && echo true || echo "false ($gap2 ms)")"
check "backoff grows" true "$([ "$gap2" -gt "$gap1" ] && echo true || echo false)"
check "retry events" 2 "$(sql "SELECT count(*) FROM execution_events WHERE execution_id='$ID' AND kind='retry_scheduled'")"
check "step row: attempt 3, exit 4" "failed|3|4" "$(sql "SELECT status, attempt, exit_code FROM execution_steps WHERE execution_id='$ID'" | tr -d '\n')"
check "one DLQ row" 1 "$(sql "SELECT count(*) FROM execution_dlq WHERE execution_id='$ID'")"
check "DLQ keeps last error, attempts and history" "step_failed|3|3|t" \
  "$(sql "SELECT error_class, attempts, jsonb_array_length(history), failure_reason LIKE '%exit code 4%after 3 failed attempts%' FROM execution_dlq WHERE execution_id='$ID'" | tr -d '\n')"
check "queue empty" 0 "$(sql "SELECT count(*) FROM execution_queue")"

jq '.name = "non idempotent" | .steps[0].idempotent = false' "$WORK/flaky.json" >"$WORK/once.json"
: >"$LEDGER"
out=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode immediate "$WORK/once.json")
check "non-idempotent: failed" failed "$(jq -r .status <<<"$out")"
check "non-idempotent: one attempt" 1 "$(wc -l <"$LEDGER")"
check "non-idempotent: in the DLQ" 1 "$(sql "SELECT count(*) FROM execution_dlq WHERE execution_id='$(jq -r .execution_id <<<"$out")' AND attempts = 1")"

# --- DLQ operations (R-Q-4)
dlq() { "$STAGEE_BIN" dlq "$@"; }
list=$(dlq list --gateway "$GW")
check "list: two open entries, newest first" "2|non idempotent" \
  "$(jq -r '[(.entries | length), (.entries[0].failure_reason | test("after 1 failed attempt") | if . then "non idempotent" else "?" end)] | join("|")' <<<"$list")"
DLQ_ID=$(jq -r ".entries[] | select(.execution_id == \"$ID\") | .id" <<<"$list")
check "list: filter by error class and action" 2 "$(dlq list --gateway "$GW" --error-class step_failed --action probe | jq '.entries | length')"
check "list: filter excludes" 0 "$(dlq list --gateway "$GW" --action nope | jq '.entries | length')"
check "list: other tenant sees nothing" 0 "$(dlq list --gateway "$GW" --tenant other | jq '.entries | length')"
check "list: pagination" "1|1" "$(p1=$(dlq list --gateway "$GW" --limit 1); p2=$(dlq list --gateway "$GW" --limit 1 --before-id "$(jq .next_before_id <<<"$p1")"); echo "$(jq '.entries|length' <<<"$p1")|$(jq '.entries|length' <<<"$p2")")"
show=$(dlq show --gateway "$GW" "$DLQ_ID")
check "show: history of 3 attempts" "3|1,2,3" "$(jq -r '[(.history | length), ([.history[].attempt] | map(tostring) | join(","))] | join("|")' <<<"$show")"
check "summary" "2|step_failed|2" "$(dlq summary --gateway "$GW" | jq -r '[.open, .by_error_class[0].error_class, .by_error_class[0].count] | join("|")')"

: >"$LEDGER"
req=$(dlq requeue --gateway "$GW" --principal ops "$DLQ_ID")
NEW=$(jq -r .execution_id <<<"$req")
check "requeue: a new queued execution" "queued|false" "$(jq -r '[.status, .duplicate] | join("|")' <<<"$req")"
check "requeue: new id" true "$([ "$NEW" != "$ID" ] && echo true || echo false)"
out=$("$STAGEE_BIN" wait --gateway "$GW" --timeout 30 "$NEW")
check "requeue: ran again with fresh attempts" "failed|3" "$(jq -r '[.status, .steps[0].attempt] | join("|")' <<<"$out")"
check "requeue: three new attempts" 3 "$(wc -l <"$LEDGER")"
check "requeue: old entry archived and linked" "$NEW|true" "$(dlq show --gateway "$GW" "$DLQ_ID" | jq -r '[.requeued_as, (.archived_at != null)] | join("|")')"
check "requeue: old history kept" 3 "$(sql "SELECT count(*) FROM execution_events WHERE execution_id='$ID' AND kind='step_finished'")"
check "requeue twice: same execution" "$NEW|true" "$(dlq requeue --gateway "$GW" --principal ops "$DLQ_ID" | jq -r '[.execution_id, .duplicate] | join("|")')"
check "archived entries hidden by default" false "$(dlq list --gateway "$GW" | jq "[.entries[].id] | index($DLQ_ID) != null")"
check "archive is idempotent" "true|true" "$(a=$(dlq archive --gateway "$GW" "$DLQ_ID" | jq '.archived_at != null'); b=$(dlq archive --gateway "$GW" "$DLQ_ID" | jq '.archived_at != null'); echo "$a|$b")"
rc=0; out=$(dlq show --gateway "$GW" 999999) || rc=$?
check "missing entry" "1|not_found" "$rc|$(jq -r .error.code <<<"$out")"

finish
