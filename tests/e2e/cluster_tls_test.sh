#!/usr/bin/env bash
# Mutual TLS (R-CL-3): with --tls-cert/--tls-key/--tls-ca every node link and every
# client connection uses CAF's openssl module. A client or node without a
# certificate from the CA is refused, and the refusal is logged by the node; the
# cluster works normally otherwise.
source "$(dirname "$0")/lib.sh"

MAKE_CERTS="$(dirname "$0")/../../scripts/make-certs.sh"
"$MAKE_CERTS" "$WORK/pki" t1 t2 client >/dev/null
"$MAKE_CERTS" "$WORK/rogue" rogue >/dev/null
tls() { echo --tls-cert "$WORK/pki/$1.pem" --tls-key "$WORK/pki/$1.key" --tls-ca "$WORK/pki/ca.pem"; }
CLUSTER=("${CLUSTER_FAST[@]}")
# shellcheck disable=SC2046
start_node t1 "${CLUSTER[@]}" $(tls t1)
GW1="127.0.0.1:$NODE_PORT"
# shellcheck disable=SC2046
start_node t2 "${CLUSTER[@]}" $(tls t2) --seeds "$GW1"
GW2="127.0.0.1:$NODE_PORT"
CLIENT=($(tls client))

for _ in $(seq 1 50); do
  n=$("$STAGEE_BIN" cluster status --gateway "$GW1" "${CLIENT[@]}" 2>/dev/null \
      | jq -r '[.members[] | "\(.name):\(.link):\(.tls)"] | join(" ")' || true)
  [ "$n" = "t1:self:true t2:connected:true" ] && break
  sleep 0.2
done
check "two TLS nodes joined" "t1:self:true t2:connected:true" "$n"
check "both logged mutual TLS" 2 "$(grep -l 'mutual TLS on every link' "$WORK"/t1.log "$WORK"/t2.log | wc -l)"

cat >"$WORK/plan.json" <<'JSON'
{"name": "over tls", "action": "probe", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["h1"],
 "steps": [{"name": "probe", "executor": "shell", "command": ["true"], "timeout_ms": 10000}]}
JSON
rc=0; out=$("$STAGEE_BIN" submit --gateway "$GW2" "${CLIENT[@]}" --mode immediate "$WORK/plan.json") || rc=$?
check "a client with a certificate runs a plan" "0|succeeded" "$rc|$(jq -r '.status // .error.code' <<<"$out")"
rc=0; out=$(STAGEE_TLS_CERT=$WORK/pki/client.pem STAGEE_TLS_KEY=$WORK/pki/client.key \
            STAGEE_TLS_CA=$WORK/pki/ca.pem "$STAGEE_BIN" cluster status --gateway "$GW2") || rc=$?
check "TLS settings from the environment" "0|2" "$rc|$(jq '.members | length' <<<"$out")"
rc=0; out=$("$STAGEE_BIN" console --node "$GW1" "${CLIENT[@]}" --history-file - --json -c "use t2; whereami") || rc=$?
check "the console works over TLS, also after use" "0|t2|true" "$rc|$(tail -1 <<<"$out" | jq -r '"\(.node)|\(.tls)"')"

# Refused: a plain client, a client with a certificate from another CA. (A client
# whose certificate does not chain to its own --tls-ca is refused before it
# connects: check_client_tls.)
refusals() { grep -c 'TLS handshake refused' "$WORK/t1.log" || true; }
before=$(refusals)
rc=0; out=$("$STAGEE_BIN" status --gateway "$GW1" --timeout-ms 5000 00000000-0000-0000-0000-000000000000) || rc=$?
check "plain client refused" "2|true" "$rc|$(grep -q 'may require TLS' <<<"$out" && echo true || echo false)"
rc=0; out=$("$STAGEE_BIN" status --gateway "$GW1" --timeout-ms 5000 --tls-cert "$WORK/rogue/rogue.pem" \
            --tls-key "$WORK/rogue/rogue.key" --tls-ca "$WORK/rogue/ca.pem" \
            00000000-0000-0000-0000-000000000000) || rc=$?
check "client with a foreign certificate refused" "2|true" \
  "$rc|$(grep -q 'TLS handshake refused' <<<"$out" && echo true || echo false)"
sleep 0.5
check "the node logged both refusals" 2 $(( $(refusals) - before ))
check "the log names the reasons" "true|true" \
  "$(grep -q '"reason":"wrong version number"' "$WORK/t1.log" && echo true || echo false)|$(grep -qE 'certificate verify failed|unknown ca' "$WORK/t1.log" && echo true || echo false)"

# Refused: a node from another CA, and a plain node, cannot join.
start_node rogue "${CLUSTER[@]}" --tls-cert "$WORK/rogue/rogue.pem" --tls-key "$WORK/rogue/rogue.key" \
  --tls-ca "$WORK/rogue/ca.pem" --seeds "$GW1"
start_node plain "${CLUSTER[@]}" --seeds "$GW1"
sleep 2
check "rogue and plain nodes could not reach the seed" "true|true" \
  "$(grep -q 'cannot reach cluster member' "$WORK/rogue.log" && echo true || echo false)|$(grep -q 'cannot reach cluster member' "$WORK/plain.log" && echo true || echo false)"
check "plain node logged its plain mode" true "$(grep -q 'PLAIN MODE' "$WORK/plain.log" && echo true || echo false)"
check "t1's members are still only t1 and t2" "t1:self t2:connected" \
  "$("$STAGEE_BIN" cluster status --gateway "$GW1" "${CLIENT[@]}" | jq -r '[.members[] | select(.link != "none") | "\(.name):\(.link)"] | join(" ")')"
rc=0; out=$("$STAGEE_BIN" submit --gateway "$GW1" "${CLIENT[@]}" --mode immediate "$WORK/plan.json") || rc=$?
check "the cluster still works" "0|succeeded" "$rc|$(jq -r '.status // .error.code' <<<"$out")"

# Bad files are fatal at start, with the option named.
rc=0; "$STAGEE_BIN" node --db-url "$DB_URL" --port 0 --node-name badtls $NODE_AUTH_ARGS \
  --tls-cert "$WORK/pki/t1.pem" --tls-key "$WORK/pki/t2.key" --tls-ca "$WORK/pki/ca.pem" \
  >/dev/null 2>"$WORK/badtls.log" || rc=$?
check "mismatched key refused at start" "1|true" \
  "$rc|$(grep -q 'invalid TLS options' "$WORK/badtls.log" && grep -q -- '--tls-key' "$WORK/badtls.log" && echo true || echo false)"
finish
