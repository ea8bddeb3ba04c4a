/// `stagee console` (R-IF-4): inspect and steer a live cluster through one node's
/// gateway. Interactive (line editing, history, tab completion, `help`) on a
/// terminal; `-c "COMMAND"` runs one command and exits (scripts, tests), and
/// `--json` prints the JSON document behind every answer. Every request carries the
/// console's credential: the gateway authenticates and authorizes it exactly as it
/// does for `stagee submit|cancel|...` (docs/console.md lists the permissions).
#pragma once

#include <string>

#include "runtime/client.hpp"

namespace stagee {

struct console_options {
  client_options client;    // client.gateway: the node to start on (--node HOST:PORT)
  std::string command;      // -c: run these commands ("A; B") and exit
  bool one_shot = false;    // -c was given (an empty one is an error, not a session)
  bool json = false;        // print JSON documents instead of tables
  std::string history_file; // empty: $HOME/.stagee_console_history; "-": none
};

/// Exit code: 0, or (with -c) 1 when the command was refused or failed, 2 when no
/// node could be reached or the command line was wrong.
int run_console(const console_options& o);

} // namespace stagee
