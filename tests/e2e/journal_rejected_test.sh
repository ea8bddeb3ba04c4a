#!/usr/bin/env bash
# A journal write the database refuses for good (here: a trigger rejects one step's
# output) fails the execution visibly with journal_rejected instead of being
# retried forever; other executions are not affected.
source "$(dirname "$0")/lib.sh"

start_node rejected-1 --claim-interval-ms 100
GW="127.0.0.1:$NODE_PORT"
sql "CREATE FUNCTION e2e_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN
       IF NEW.stdout LIKE '%POISON%' THEN RAISE EXCEPTION 'e2e: output refused'; END IF;
       RETURN NEW;
     END \$\$;
     CREATE TRIGGER e2e_refuse_poison BEFORE UPDATE ON execution_steps
       FOR EACH ROW EXECUTE FUNCTION e2e_refuse_poison();"
plan() {
  jq -nc --arg n "$1" --arg out "$2" '{name: $n, action: "check", action_class: "read",
    sla_class: "fast", environment: "test", targets: ["h1"],
    steps: [{name: "say", executor: "shell", command: ["echo", $out]},
            {name: "after", executor: "noop"}]}'
}
plan poisoned POISON >"$WORK/poisoned.json"
plan healthy fine >"$WORK/healthy.json"

start=$(date +%s%N)
out=$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode immediate "$WORK/poisoned.json")
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
P=$(jq -r .execution_id <<<"$out")
check "refused write fails the execution" failed "$(jq -r .status <<<"$out")"
check "within 5 s, not retried forever" true "$([ "$elapsed_ms" -lt 5000 ] && echo true || echo "false ($elapsed_ms ms)")"
status=$("$STAGEE_BIN" status --gateway "$GW" "$P")
check "error_class names it" journal_rejected "$(jq -r .error_class <<<"$status")"
check "error message carries the database's reason" true \
  "$(jq -r '.error_message | contains("e2e: output refused")' <<<"$status")"
check "steps: failed, skipped" "failed,skipped" \
  "$(sql "SELECT string_agg(status::text, ',' ORDER BY run_index) FROM execution_steps WHERE execution_id='$P'")"
check "failure logged for on-call" 1 \
  "$(grep -c '"msg":"database refused a journal write; failing execution"' "$WORK/rejected-1.log")"
check "its queue row is gone" 0 "$(sql "SELECT count(*) FROM execution_queue WHERE execution_id='$P'")"
check "another execution still succeeds" succeeded \
  "$("$STAGEE_BIN" submit --gateway "$GW" --tenant t --principal p --mode immediate "$WORK/healthy.json" | jq -r .status)"

finish
