/// A Stage E node: wiring of the actor tree (the only place that knows every
/// component), embedded or external PostgreSQL, signal handling.
///
///   node ── gateway (published on --port)
///        ├─ worker-supervisor ── execution actors ── shell runners (detached)
///        ├─ event-bus (detached: journal + fan-out)
///        ├─ lock-manager (detached)   ├─ timeout-scheduler
///        ├─ admission (detached)      ├─ readers x2 (detached)
///        ├─ authorizers x2 (detached: RBAC checks, audit of refusals)
///        ├─ secret-resolver (detached: store + directory, just before a step)
///        ├─ queue-claimers x3 (detached: claims, renewals, maintenance)
///        ├─ membership ── member-recorder (detached: cluster_members rows)
///        └─ reaper, DLQ keeper
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stagee {

struct node_options {
  std::string node_name;           // default: hostname-pid
  std::string data_dir = "stagee-data";
  std::string db_url;              // empty: embedded PostgreSQL in data_dir
  uint16_t port = 0;               // gateway CAF port; 0 picks a free one
  std::string bind = "127.0.0.1";  // address the gateway listens on
  int32_t capacity = 64;           // background executions at once
  int64_t lease_ms = 0;            // > 0: every queue lease this long (tests); 0: derived
  int64_t lease_buffer_ms = 30000; // derived lease: longest step timeout + this
  int64_t claim_interval_ms = 500;
  int64_t cancel_poll_ms = 500;    // how often cancellation requests are looked for
  int32_t readers = 2;
  int32_t scheduler_threads = 0;   // CAF scheduler workers; 0: one per core
  int64_t shutdown_grace_ms = 30000; // SIGTERM: time for running step runs to finish
  int64_t retry_base_ms = 1000;      // failed idempotent run: backoff base x 2^failures
  int64_t reaper_interval_ms = 60000; // how often expired leases and locks are freed
  int64_t stats_interval_ms = 60000;  // how often lease-sizing step statistics refresh
  int64_t queue_deadline_ms = 0;     // > 0: schedule-to-start deadline for every SLA
  std::string log_level = "info";
  std::string log_file;
  // Authentication (R-SAFE-3): "token" (default) or "dev" (trusts stated identities).
  std::string auth_mode = "token";
  std::vector<std::string> jwt_hmac_key_files;  // HS256 secrets, kid = file stem
  std::vector<std::string> jwt_public_key_files; // RS256/ES256 PEM public keys
  std::string jwt_issuer = "stagee";
  std::string jwt_audience = "stagee";
  int64_t jwt_leeway_s = 60;
  int32_t authorizers = 2;
  // Secrets (R-SAFE-4): the key that opens the store's values, and a directory of
  // mounted secret files (DIR/TENANT/NAME). Either may be empty.
  std::string secret_key_file;
  std::string secret_dir;
  // Cluster (R-CL-1..3, docs/cluster.md).
  std::vector<std::string> seeds;   // HOST:PORT of other nodes' gateway ports
  std::string advertise;            // HOST:PORT peers reach us at; default bind:port
  int64_t heartbeat_ms = 500;       // CAF middleman heartbeat interval (every link)
  int64_t link_timeout_ms = 3000;   // CAF connection timeout: a silent link is dropped
  int64_t gossip_ms = 1000;         // hello to every peer and database heartbeat
  int64_t member_stale_ms = 3000;   // a member whose row is older is stale (may be dead)
  // Mutual TLS on every link (R-CL-3): all three or none.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
};

/// Runs a node until SIGTERM/SIGINT; returns the process exit code. Prints one
/// node_ready JSON line on stdout once the gateway accepts connections.
int run_node(node_options opts);

/// Migrates the database at url; prints {"applied":N,"version":V}.
int run_migrate(const std::string& url);

} // namespace stagee
