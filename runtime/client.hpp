/// Command-line clients of a node's gateway: `stagee submit|status|wait`.
/// Each prints one JSON document on stdout (errors: {"error":{...}} on stdout too,
/// with a non-zero exit code) so that scripts can parse every outcome.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "messages/gateway.hpp"
#include "runtime/tls.hpp"

namespace stagee {

struct client_options {
  std::string gateway;           // HOST:PORT
  int64_t timeout_ms = 900000;   // reply deadline
  credential cred;               // sent with every request
  std::string token_file;        // read into cred.token when set
  tls::files tls;                // all set: connect with mutual TLS
};

/// Fills c.cred.token from c.token_file (if given); an error names the file.
caf::error load_token(client_options& c);

struct submit_options {
  std::string mode = "auto";     // auto | immediate | background
  std::string idempotency_key;
  std::string plan_file;         // "-" reads stdin
};

/// Client side of the CAF link: message types, middleman, heartbeats (a node drops
/// a silent link), TLS when `tls` is enabled (check it first with check_client_tls).
/// Every program that talks to a gateway starts from this.
void configure_client(caf::actor_system_config& cfg, const tls::files& tls = {});

/// The --tls-* files of a client: an error naming the problem, or none.
caf::error check_client_tls(const tls::files& tls);

/// Connects to a gateway at HOST:PORT, over TLS when the system has the openssl
/// manager (blocking; call it from main, not an actor).
/// Errors name the problem: bad address, or the node cannot be reached.
/// With middleman.connection-timeout set (the console, nodes), CAF 0.17 cuts a
/// handshake still under way at its next heartbeat tick; such a connect is tried
/// again until retry_until (by then a node that never answers is reported as
/// frozen or overloaded). configure_client sets one, so pass the command's deadline.
caf::expected<gateway_actor>
connect_gateway(caf::actor_system& sys, const std::string& hostport,
                std::chrono::steady_clock::time_point retry_until = {});

int run_submit(const client_options& c, const submit_options& s);
int run_status(const client_options& c, const std::string& execution_id);
/// --follow prints each event after after_seq as a JSON line before the final
/// status; c.gateway may then list several gateways (A,B,...) to resume through
/// when the link to one is lost.
int run_wait(const client_options& c, const std::string& execution_id, bool follow,
             int64_t after_seq = 0);

/// `stagee cancel`: exit 0 once the execution is cancelled; 1 when it ended
/// otherwise or has not ended within the wait (the JSON says which).
int run_cancel(const client_options& c, const cancel_request& req);

/// `stagee approve|reject`: exit 0 once decided.
int run_decide(const client_options& c, const approve_request& req);

/// `stagee locks`.
int run_locks(const client_options& c, const locks_request& req);

/// `stagee cluster status`: members as the node at --gateway sees them.
int run_cluster_status(const client_options& c);

/// `stagee dlq list|show|archive|summary|requeue`.
int run_dlq_list(const client_options& c, const dlq_list_request& req);
int run_dlq_entry(const client_options& c, const dlq_entry_request& req);
int run_dlq_summary(const client_options& c, const dlq_summary_request& req);
int run_dlq_requeue(const client_options& c, const dlq_requeue_request& req);

} // namespace stagee
