#!/usr/bin/env bash
# Authentication and RBAC at the gateway (R-SAFE-3, R-SUB-1), on a node in token
# mode with an HS256 and an RS256 key:
# - requests without a token, with a forged, expired or wrong-audience one are
#   refused with invalid_token, and the node says why without echoing the token;
# - every gateway operation x built-in role matches tests/e2e/rbac_allowed.tsv, and
#   every refusal is an rbac_violation row;
# - a principal of another tenant, even an admin there, gets not_found for every
#   object of this tenant, exactly as for a missing id, and lists none of its rows;
# - identity comes from the token only: tenant/principal flags next to it are ignored.
E2E_NO_DEFAULT_GRANTS=1
source "$(dirname "$0")/lib.sh"

"$STAGEE_BIN" token keygen --out "$WORK/hs.key" >/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rs-priv.pem" 2>/dev/null
openssl pkey -in "$WORK/rs-priv.pem" -pubout -out "$WORK/rsgw.pem" 2>/dev/null
NODE_AUTH_ARGS="--jwt-hmac-key $WORK/hs.key --jwt-public-key $WORK/rsgw.pem"
start_node auth-1 --claim-interval-ms 100 --jwt-leeway-s 0
GW="127.0.0.1:$NODE_PORT"
unset STAGEE_TENANT STAGEE_PRINCIPAL

token() { # token SUB TENANT [extra issue args...]: an RS256 token
  local sub=$1 tenant=$2; shift 2
  "$STAGEE_BIN" token issue --key-file "$WORK/rs-priv.pem" --kid rsgw --sub "$sub" \
    --tenant "$tenant" "$@"
}
code_of() { # the error code of a reply, or ok
  jq -r 'if .error then .error.code else "ok" end' <<<"$1" | tail -1
}

# --- authentication
plan() { # plan NAME CLASS [COMMAND...]: a one-step plan on target h-NAME
  local name=$1 class=$2; shift 2
  local cmd='["true"]'
  [ $# -gt 0 ] && cmd=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
  jq -nc --arg n "$name" --arg c "$class" --argjson cmd "$cmd" '{name: $n, action: "probe",
    action_class: $c, sla_class: "fast", environment: "test", targets: ["h-" + $n],
    steps: [{name: "s", executor: "shell", command: $cmd, idempotent: false}]}' >"$WORK/$name.json"
  echo "$WORK/$name.json"
}
P=$(plan auth read)
rc=0; out=$("$STAGEE_BIN" submit --gateway "$GW" --tenant acme --principal admin-u "$P") || rc=$?
check "no token: invalid_token" "1|invalid_token" "$rc|$(code_of "$out")"
check "no token: says what to do" true "$(jq '.error.message | test("a JWT must come with every request")' <<<"$out")"
HS_TOKEN=$("$STAGEE_BIN" token issue --key-file "$WORK/hs.key" --kid hs --sub hs-user --tenant acme)
"$STAGEE_BIN" token keygen --out "$WORK/other.key" >/dev/null
FORGED=$("$STAGEE_BIN" token issue --key-file "$WORK/other.key" --kid hs --sub admin-u --tenant acme)
EXPIRED=$(token admin-u acme --ttl-s 1) # this node allows no clock skew (--jwt-leeway-s 0)
WRONG_AUD=$(token admin-u acme --aud someone-else)
FUTURE=$(token admin-u acme --nbf-in-s 600)
sleep 2
for case in "forged:$FORGED:signature verification failed" \
            "expired:$EXPIRED:expired" \
            "wrong audience:$WRONG_AUD:audience 'someone-else' not accepted" \
            "not yet valid:$FUTURE:not valid yet" \
            "garbage:not.a.token:"; do
  IFS=: read -r name tok why <<<"$case"
  rc=0; out=$("$STAGEE_BIN" submit --gateway "$GW" --token "$tok" "$P") || rc=$?
  check "$name token: invalid_token" "1|invalid_token" "$rc|$(code_of "$out")"
  [ -z "$why" ] || check "$name token: says why" true "$(jq --arg w "$why" '.error.message | contains($w)' <<<"$out")"
  [ "$name" = garbage ] || check "$name token: its signature never echoed" false \
    "$(grep -qF -e "${tok##*.}" <<<"$out" && echo true || echo false)"
done
check "the node logged each refusal" true \
  "$([ "$(grep -c '"msg":"request refused: not authenticated"' "$WORK/auth-1.log")" -ge 6 ] && echo true || echo false)"
check "no token in the node's log" 0 "$(grep -cF -e "${FORGED##*.}" "$WORK/auth-1.log" || true)"

# --- roles: one principal per built-in role in tenant acme, one with none; an
# admin of tenant globex as the outsider.
ROLES=(viewer operator deployer approver admin)
declare -A TOK
for r in "${ROLES[@]}"; do
  grant acme "$r-u" "$r"
  TOK[$r]=$(token "$r-u" acme)
done
TOK[none]=$(token none-u acme)
grant globex outsider admin
OUTSIDER=$(token outsider globex)
check "an HS256 token authenticates; with no role bound, RBAC refuses" permission_denied \
  "$(code_of "$("$STAGEE_BIN" submit --gateway "$GW" --token "$HS_TOKEN" "$P")")"
grant acme hs-user operator
check "the same HS256 token once its principal holds a role" ok \
  "$(code_of "$("$STAGEE_BIN" submit --gateway "$GW" --token "$HS_TOKEN" "$P")")"

# Objects of tenant acme: a finished execution and a DLQ entry.
ADMIN=${TOK[admin]}
out=$("$STAGEE_BIN" submit --gateway "$GW" --token "$ADMIN" --mode immediate "$(plan done read)")
E=$(jq -r .execution_id <<<"$out"); E_HASH=$(jq -r .plan_hash <<<"$out")
F=$("$STAGEE_BIN" submit --gateway "$GW" --token "$ADMIN" --mode immediate "$(plan broken read false)" | jq -r .execution_id)
DLQ_ID=$("$STAGEE_BIN" dlq list --gateway "$GW" --token "$ADMIN" | jq -r ".entries[] | select(.execution_id == \"$F\") | .id")
check "fixtures: an execution and a DLQ entry" true "$([ -n "$E" ] && [ -n "$DLQ_ID" ] && echo true || echo false)"

n=0
run_op() { # run_op OPERATION TOKEN: prints the reply's error code, or ok
  local op=$1 tok=$2 out
  n=$((n + 1))
  case "$op" in
    submit:*) out=$("$STAGEE_BIN" submit --gateway "$GW" --token "$tok" --mode background \
                      "$(plan "m$n" "${op#submit:}")" || true) ;;
    status) out=$("$STAGEE_BIN" status --gateway "$GW" --token "$tok" "$E" || true) ;;
    wait) out=$("$STAGEE_BIN" wait --gateway "$GW" --token "$tok" --timeout 5 "$E" || true) ;;
    follow) out=$("$STAGEE_BIN" wait --follow --gateway "$GW" --token "$tok" --timeout 5 "$E" || true) ;;
    cancel) out=$("$STAGEE_BIN" cancel --gateway "$GW" --token "$tok" --wait-ms 0 "$E" || true) ;;
    locks) out=$("$STAGEE_BIN" locks --gateway "$GW" --token "$tok" || true) ;;
    dlq:list) out=$("$STAGEE_BIN" dlq list --gateway "$GW" --token "$tok" || true) ;;
    dlq:show) out=$("$STAGEE_BIN" dlq show --gateway "$GW" --token "$tok" "$DLQ_ID" || true) ;;
    dlq:summary) out=$("$STAGEE_BIN" dlq summary --gateway "$GW" --token "$tok" || true) ;;
    dlq:archive) out=$("$STAGEE_BIN" dlq archive --gateway "$GW" --token "$tok" "$DLQ_ID" || true) ;;
    dlq:requeue) out=$("$STAGEE_BIN" dlq requeue --gateway "$GW" --token "$tok" "$DLQ_ID" || true) ;;
    approve|reject) # E is finished: an authorized decision is refused as invalid_state
      out=$("$STAGEE_BIN" "$op" --gateway "$GW" --token "$tok" --plan-hash "$E_HASH" "$E" || true)
      [ "$(jq -r '.error.code // ""' <<<"$out")" != invalid_state ] || out='{}' ;;
    console:actor) # an id no actor has: an authorized request is answered not_found
      out=$("$STAGEE_BIN" console --node "$GW" --token "$tok" --json -c "actor 999999" || true)
      [ "$(jq -r '.error.code // ""' <<<"$out")" != not_found ] || out='{}' ;;
    console:show) out=$("$STAGEE_BIN" console --node "$GW" --token "$tok" --json -c "show $E" || true) ;;
    console:*) out=$("$STAGEE_BIN" console --node "$GW" --token "$tok" --json -c "${op#console:}" || true) ;;
    *) echo "unknown operation $op" >&2; return 1 ;;
  esac
  code_of "$out"
}

# --- the matrix, against the committed table
violations_before=$(sql "SELECT count(*) FROM security_events")
denied=0
COLS=(viewer operator deployer approver admin none)
while IFS=$'\t' read -r op rest; do
  [[ -z $op || $op == \#* || $op == operation ]] && continue
  read -r -a want <<<"$rest"
  for i in "${!COLS[@]}"; do
    role=${COLS[$i]}
    expected=$([ "${want[$i]}" = yes ] && echo ok || echo permission_denied)
    [ "$expected" = ok ] || denied=$((denied + 1))
    check "$op as $role" "$expected" "$(run_op "$op" "${TOK[$role]}")"
  done
done <"$(dirname "$0")/rbac_allowed.tsv"
check "every refusal wrote an rbac_violation row" "$denied" \
  "$(sql "SELECT count(*) - $violations_before FROM security_events WHERE kind = 'rbac_violation' AND tenant_id = 'acme'")"

# --- another tenant: not_found for every object, exactly like a missing id; no rows
MISSING=00000000-0000-4000-8000-000000000000
for op in status wait follow cancel approve; do
  check "outsider $op: not_found" not_found "$(run_op "$op" "$OUTSIDER")"
done
out_foreign=$("$STAGEE_BIN" status --gateway "$GW" --token "$OUTSIDER" "$E" || true)
out_missing=$("$STAGEE_BIN" status --gateway "$GW" --token "$OUTSIDER" "$MISSING" || true)
check "a foreign id reads exactly like a missing one" "$(sed "s/$MISSING/ID/g" <<<"$out_missing")" \
  "$(sed "s/$E/ID/g" <<<"$out_foreign")"
for op in dlq:show dlq:archive dlq:requeue; do
  check "outsider $op: not_found" not_found "$(run_op "$op" "$OUTSIDER")"
done
check "outsider lists no DLQ entry of acme" 0 \
  "$("$STAGEE_BIN" dlq list --gateway "$GW" --token "$OUTSIDER" --all | jq '.entries | length')"
check "outsider lists no lock of acme" 0 \
  "$("$STAGEE_BIN" locks --gateway "$GW" --token "$OUTSIDER" | jq '[.locks[] | select(.tenant_id == "acme")] | length')"
check "cross-tenant successes: none recorded as acme rows" 0 \
  "$(sql "SELECT count(*) FROM executions WHERE tenant_id = 'acme' AND actor_id = 'outsider'")"

# --- identity from the token only: flags next to it change nothing
out=$("$STAGEE_BIN" submit --gateway "$GW" --token "$OUTSIDER" --tenant acme --principal admin-u \
        --mode immediate "$(plan spoof read)")
check "stated tenant/principal ignored next to a token" "globex|outsider" \
  "$(sql "SELECT tenant_id || '|' || actor_id FROM executions WHERE id = '$(jq -r .execution_id <<<"$out")'")"

finish
