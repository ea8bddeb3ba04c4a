#!/usr/bin/env bash
# An interactive `stagee console` session in a pseudo-terminal (tmux), R-IF-4:
# prompt, help, tab completion of commands and node names, history (recalled with
# Up, kept across sessions), `use` to switch nodes, a clear error when the node
# being inspected dies, `tail` stopped with Ctrl-C, Ctrl-D to leave.
source "$(dirname "$0")/lib.sh"

start_cluster t 2 --claim-interval-ms 100
GW1=${GWS[0]}
S=console
HIST=$WORK/history
# A tmux server of this test's own (its socket in WORK, no user configuration): no
# other tmux server or setting on the machine can disturb it, and it goes with WORK.
tm() { tmux -S "$WORK/tmux.sock" -f /dev/null "$@"; }
EXTRA_CLEANUP+=("tmux -S $WORK/tmux.sock kill-server")

# The pane stays when its processes end (remain-on-exit), so a console that died
# shows how ("Pane is dead (signal ...)") in the screen dump of a failed wait_for.
console_in_tmux() {
  tm new-session -d -s "$S" -x 200 -y 50 \
    "env STAGEE_TENANT=t STAGEE_PRINCIPAL=p $STAGEE_BIN console --node $GW1 --history-file $HIST; echo EXIT=\$?; sleep 60" \; \
    set-option -w -t "$S" remain-on-exit on
}
# A tmux command that fails means the session (or its server) is gone: say so and
# what the screen last showed, instead of tmux's bare "server exited unexpectedly".
tmux_lost() {
  echo "FAIL: tmux '$*' failed: the session is gone; last screen:" >&2
  cat "$WORK/last-screen" >&2 2>/dev/null || true
  exit 1
}
screen() { tm capture-pane -p -t "$S" -S -500 | tee "$WORK/last-screen"; }
last_line() { screen | grep -v '^$' | tail -1; }
wait_for() { # wait_for REGEX [SECONDS]: true once the screen shows it (else dumps it)
  local tries=$(( ${2:-5} * 20 ))
  for _ in $(seq 1 "$tries"); do screen | grep -qE -e "$1" && return 0; sleep 0.05; done
  { echo "--- screen while waiting for /$1/:"; screen | grep -v '^$' | tail -15; echo "---"; } >&2
  return 1
}
count() { screen | grep -cE -e "$1" || true; }
keys() { tm send-keys -t "$S" "$@" || tmux_lost send-keys "$@"; }
type_text() { tm send-keys -t "$S" -l "$1" || tmux_lost send-keys -l "$1"; }
run() { type_text "$1"; keys Enter; }
ok() { if "$@"; then echo true; else echo false; fi; }

console_in_tmux
check "prompt names the node" true "$(ok wait_for '^stagee:t1>$')"
run help
check "help lists the commands" true "$(ok wait_for 'tail EXECUTION_ID')"

# Completion: a unique prefix, then an ambiguous one listed by a second Tab.
type_text whe; keys Tab
check "Tab completes a unique command" true "$(ok wait_for '^stagee:t1> whereami$')"
keys Enter
check "the completed command ran" true "$(ok wait_for '^node: +t1$')"
type_text act; keys Tab
check "Tab inserts the common prefix" true "$(ok wait_for '^stagee:t1> actor$')"
keys Tab
check "a second Tab lists the candidates" true "$(ok wait_for '^actor +actors$')"
type_text s; keys Enter
check "actors ran" true "$(ok wait_for '^ID +KIND +NAME +STATE +MAILBOX')"

# History: Up recalls the last command.
keys Up
check "Up recalls the previous command" true "$(ok wait_for '^stagee:t1> actors$')"
keys Enter
sleep 0.5
check "and runs it again" 2 "$(count '^ID +KIND +NAME +STATE +MAILBOX')"

# Node names complete; use switches the prompt.
type_text "use t"; keys Tab; keys Tab
check "node names complete" true "$(ok wait_for '^t1 +t2$')"
type_text 2; keys Enter
check "use switches nodes" true "$(ok wait_for '^stagee:t2>$')"

# The node being inspected dies: a clear error within seconds, and the prompt back.
kill -9 "${NODE_PIDS[1]}"
sleep 0.3
t0=$(date +%s%3N)
run actors
check "a dead node's error" true "$(ok wait_for 'error: .*(did not answer|cannot reach|refused)' 10)"
t1=$(date +%s%3N)
check "within 5 s" true "$([ $((t1 - t0)) -lt 5000 ] && echo true || echo "false ($((t1 - t0)) ms)")"
check "the prompt is back" true "$(ok wait_for '^stagee:t2>$')"
run "use t1"
check "back on t1" true "$(ok wait_for 'now inspecting t1')"

# tail follows live events; Ctrl-C stops it, not the console.
cat >"$WORK/slow.json" <<'JSON'
{"name": "slow", "action": "probe", "action_class": "read", "sla_class": "fast",
 "environment": "test", "targets": ["h1"],
 "steps": [{"name": "nap", "executor": "shell", "command": ["sleep", "30"], "timeout_ms": 60000}]}
JSON
ID=$("$STAGEE_BIN" submit --gateway "$GW1" --mode background "$WORK/slow.json" | jq -r .execution_id)
run "tail $ID"
check "tail shows events as they come" true "$(ok wait_for "#[0-9]+ step_started .* step nap@h1" 10)"
keys C-c
check "Ctrl-C stops tail" true "$(ok wait_for "stopped following $ID")"
check "the console is still there" true "$(ok wait_for '^stagee:t1>$')"
# A second tail shows only its own execution: the first one's events (its
# cancellation, from another client) must not leak in.
jq '.name = "slow two"' "$WORK/slow.json" >"$WORK/slow2.json"
ID2=$("$STAGEE_BIN" submit --gateway "$GW1" --mode background "$WORK/slow2.json" | jq -r .execution_id)
run "tail $ID2"
check "the second tail follows" true "$(ok wait_for "following $ID2")"
# The node's bus forgot the first tail's subscriber when Ctrl-C stopped it: it
# watches one execution now (ID2), not ID as well.
check "the first tail's subscription is gone from the bus" 1 \
  "$("$STAGEE_BIN" console --node "$GW1" --json -c "actors --kind event-bus" | jq -r '.actors[0].details.watched_executions')"
"$STAGEE_BIN" cancel --gateway "$GW1" "$ID" >/dev/null
sleep 1
check "the first tail's events do not leak into the second" 0 "$(count 'cancelled running -> cancelled')"
keys C-c
check "Ctrl-C stops the second tail" true "$(ok wait_for "stopped following $ID2")"
run "cancel $ID2"
check "cancel from the prompt" true "$(ok wait_for '^status: +cancelled$' 15)"

# Ctrl-D leaves; the history was saved and comes back in the next session.
keys C-d
check "Ctrl-D leaves" true "$(ok wait_for '^EXIT=0$')"
check "history saved" true "$(grep -q '^use\\040t2$' "$HIST" && echo true || echo false)"
tm kill-session -t "$S"
console_in_tmux
wait_for '^stagee:t1>$' >/dev/null || true
keys Up
check "history survives a restart" true "$(ok wait_for "^stagee:t1> cancel $ID2$")"
keys C-u C-d

finish
