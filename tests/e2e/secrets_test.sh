#!/usr/bin/env bash
# Secrets (R-SAFE-4, R-SAFE-5; test plan X1-X3): 20 random canaries, 10 in the
# encrypted store and 10 as mounted files, used by steps that print them whole,
# split across two writes with a pause between, inside JSON, base64-encoded, in
# argv and on stderr of a failing step, with debug logging on. The steps prove they
# got the right values (sha256 of what they received). Then every log line, every
# CLI reply and event, and a pg_dump of the database are searched: 0 canaries in
# any form; the store holds only sealed values.
source "$(dirname "$0")/lib.sh"

"$STAGEE_BIN" secret keygen --out "$WORK/store.key" >/dev/null
mkdir -p "$WORK/secret-dir/t"
declare -a CANARY
for i in $(seq -w 0 19); do
  CANARY[10#$i]=$(openssl rand -hex 16) # 32 characters
done
for i in $(seq 0 9); do
  printf '%s\n' "${CANARY[$i]}" \
    | "$STAGEE_BIN" secret put --db-url "$DB_URL" --tenant t --key-file "$WORK/store.key" \
        "canary$i" >/dev/null
done
for i in $(seq 10 19); do
  printf '%s\n' "${CANARY[$i]}" >"$WORK/secret-dir/t/canary$i"
done
check "secret list shows names, never values" "10|0" \
  "$("$STAGEE_BIN" secret list --db-url "$DB_URL" --tenant t >"$WORK/list.json"; jq '.secrets | length' "$WORK/list.json")|$(grep -c "${CANARY[0]}" "$WORK/list.json" || true)"

start_node sec-1 --claim-interval-ms 100 --log-level debug --log-file "$WORK/sec-1.file.log" \
  --secret-key-file "$WORK/store.key" --secret-dir "$WORK/secret-dir"
GW="127.0.0.1:$NODE_PORT"

# One plan per canary; the way it is printed varies with i.
for i in $(seq 0 19); do
  case $((i % 5)) in
    0) body='echo "value=$S"' ;;                                        # whole
    1) body='printf "%s" "${S%????????????????}"; sleep 0.3; printf "%s\n" "${S#????????????????}"' ;; # split, pause
    2) body='printf "{\"data\": {\"v\": \"%s\"}}\n" "$S"' ;;            # inside JSON
    3) body='printf "%s" "$S" | base64; echo "$S" >&2' ;;                # base64, stderr
    4) body='echo "arg=$1"; echo "failing with $S" >&2; exit 3' ;;      # argv, failing step
  esac
  jq -nc --arg i "$i" --arg body "$body; printf \"%s\" \"\$S\" | sha256sum | cut -c1-64 >> $WORK/hashes" \
    '{name: ("canary " + $i), action: "probe", action_class: "read", sla_class: "fast",
      environment: "test", targets: ["c-" + $i],
      steps: [{name: "show", executor: "shell", idempotent: false,
               env: {S: ("secret:canary" + $i)},
               command: ["sh", "-c", $body, "sh", ("{{secret:canary" + $i + "}}")]}]}' \
    >"$WORK/plan$i.json"
done
# Make the hash line come before the failing exit in case 4.
for i in 4 9 14 19; do
  jq -c '.steps[0].command[2] |= sub("; exit 3"; "") + "; exit 3"' "$WORK/plan$i.json" >"$WORK/p.tmp"
  mv "$WORK/p.tmp" "$WORK/plan$i.json"
done
: >"$WORK/replies"
for i in $(seq 0 19); do
  rc=0; "$STAGEE_BIN" submit --gateway "$GW" --mode immediate "$WORK/plan$i.json" >>"$WORK/replies" || rc=$?
done
mapfile -t IDS < <(jq -r .execution_id "$WORK/replies")
check "20 executions ran" 20 "${#IDS[@]}"
check "16 succeeded, 4 failed as planned" "16|4" \
  "$(sql "SELECT count(*) FILTER (WHERE status='succeeded') || '|' || count(*) FILTER (WHERE status='failed') FROM executions")"
for id in "${IDS[@]}"; do
  "$STAGEE_BIN" status --gateway "$GW" "$id" >>"$WORK/replies"
  "$STAGEE_BIN" wait --gateway "$GW" --follow --timeout 5 "$id" >>"$WORK/replies"
done
# Every step received its value (the runtime resolved it), as the hashes show.
expected=$(for i in $(seq 0 19); do printf '%s' "${CANARY[$i]}" | sha256sum | cut -c1-64; done | sort)
check "each step got exactly its secret" "$expected" "$(sort "$WORK/hashes")"
check "the output was masked where it was printed" true \
  "$([ "$(sql "SELECT count(*) FROM execution_steps WHERE stdout LIKE '%***REDACTED***%' OR stderr LIKE '%***REDACTED***%'")" -ge 16 ] && echo true || echo false)"
check "a value split across two writes was caught" true \
  "$(sql "SELECT bool_and(stdout LIKE '***REDACTED***%')::text FROM execution_steps s JOIN executions e ON e.id = s.execution_id WHERE e.plan_name IN ('canary 1', 'canary 6', 'canary 11', 'canary 16')")"
check "the resolver logged names only" true \
  "$([ "$(grep -c '"msg":"secrets resolved for a step"' "$WORK/sec-1.log")" -ge 20 ] && echo true || echo false)"

# The sweep: raw, base64, hex (upper and lower), URL-escaped and 12-character
# prefix/suffix forms of every canary, in every sink.
pg_dump "$DB_URL" >"$WORK/dump.sql"
check "pg_dump has the sealed store" 10 "$(sql "SELECT count(*) FROM secrets")"
SINKS=("$WORK/sec-1.log" "$WORK/sec-1.file.log" "$WORK/sec-1.out" "$WORK/replies" "$WORK/dump.sql")
hits=0
for i in $(seq 0 19); do
  c=${CANARY[$i]}
  b64=$(printf '%s' "$c" | base64 -w0)
  hex=$(printf '%s' "$c" | od -An -tx1 | tr -d ' \n')
  HEX=$(tr 'a-f' 'A-F' <<<"$hex")
  for form in "$c" "${b64%=*}" "$hex" "$HEX" "${c:0:12}" "${c: -12}"; do
    for f in "${SINKS[@]}"; do
      if grep -qF -- "$form" "$f"; then
        hits=$((hits + 1))
        echo "canary $i found in $(basename "$f") as ${form:0:6}..." >&2
      fi
    done
  done
done
check "canaries found in logs, replies, events or pg_dump" 0 "$hits"
check "debug logging was on" true "$(grep -q '"level":"debug"' "$WORK/sec-1.log" && echo true || echo false)"

# A missing secret: the step does not start and the error names the secret, not a value.
jq '.steps[0].env.S = "secret:nowhere" | .name = "missing"' "$WORK/plan0.json" >"$WORK/missing.json"
out=$("$STAGEE_BIN" submit --gateway "$GW" --mode immediate "$WORK/missing.json")
MID=$(jq -r .execution_id <<<"$out")
check "missing secret: failed" failed "$(jq -r .status <<<"$out")"
check "missing secret: the step says which" true \
  "$(sql "SELECT (error LIKE 'the step''s secrets could not be resolved (no secret ''nowhere'' for tenant ''t''%')::text FROM execution_steps WHERE execution_id='$MID'")"
check "missing secret: the process never ran" 20 "$(wc -l <"$WORK/hashes")"

finish
