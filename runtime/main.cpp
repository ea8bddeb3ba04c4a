/// `stagee`: one binary, several subcommands (see `stagee help`).
#include <cstdlib>
#include <iostream>
#include <limits>

#include <CLI/CLI.hpp>

#include "config/masker.hpp"
#include "runtime/admin.hpp"
#include "runtime/client.hpp"
#include "runtime/console.hpp"
#include "runtime/embedded_pg.hpp"
#include "runtime/json_view.hpp"
#include "runtime/node.hpp"

namespace {

using namespace stagee;

/// Who the client is: a token (token mode), or a stated tenant and principal that
/// only a node started with --auth-mode=dev accepts.
void add_credential_options(CLI::App* cmd, client_options& c) {
  cmd->add_option("--token", c.cred.token, "JWT to present (default: $STAGEE_TOKEN)");
  cmd->add_option("--token-file", c.token_file,
                  "file holding the JWT (default: $STAGEE_TOKEN_FILE)");
  cmd->add_option("--tenant", c.cred.tenant_id,
                  "dev-mode nodes only: tenant (default: $STAGEE_TENANT)");
  cmd->add_option("--principal", c.cred.principal,
                  "dev-mode nodes only: principal (default: $STAGEE_PRINCIPAL)");
  cmd->add_option("--tls-cert", c.tls.cert, "client certificate (default: $STAGEE_TLS_CERT)");
  cmd->add_option("--tls-key", c.tls.key, "its private key (default: $STAGEE_TLS_KEY)");
  cmd->add_option("--tls-ca", c.tls.ca, "CA of the nodes (default: $STAGEE_TLS_CA)");
}

/// Fills what the command line left empty from the environment. (Not CLI11's
/// envname: the options are bound on every client subcommand, and CLI11 applies
/// environment values of subcommands that were not used over the one that was.)
void credential_from_env(client_options& c) {
  auto fill = [](std::string& field, const char* var) {
    if (auto v = std::getenv(var); field.empty() && v != nullptr)
      field = v;
  };
  fill(c.cred.token, "STAGEE_TOKEN");
  if (c.cred.token.empty())
    fill(c.token_file, "STAGEE_TOKEN_FILE");
  fill(c.cred.tenant_id, "STAGEE_TENANT");
  fill(c.cred.principal, "STAGEE_PRINCIPAL");
  fill(c.tls.cert, "STAGEE_TLS_CERT");
  fill(c.tls.key, "STAGEE_TLS_KEY");
  fill(c.tls.ca, "STAGEE_TLS_CA");
}

void add_client_options(CLI::App* cmd, client_options& c) {
  cmd->add_option("--gateway", c.gateway, "gateway address HOST:PORT")->required();
  cmd->add_option("--timeout-ms", c.timeout_ms, "reply deadline in milliseconds")
    ->capture_default_str();
  add_credential_options(cmd, c);
}

int db_command(const std::string& action, const std::string& dir, bool fresh) {
  try {
    embedded_pg pg{embedded_pg_options{dir, "stagee", fresh}};
    if (action == "start") {
      std::cout << pg.start() << std::endl;
    } else if (action == "stop") {
      pg.stop();
    } else if (auto url = pg.url()) {
      std::cout << *url << std::endl;
    } else {
      std::cout << error_json("not_running", "no PostgreSQL running in " + dir
                                               + "; start it with `stagee db start --data-dir "
                                               + dir + "`")
                     .dump()
                << std::endl;
      return 1;
    }
  } catch (const std::exception& e) {
    std::cout << error_json("db_error", e.what()).dump() << std::endl;
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Stage E: durable execution of operations plans on a CAF actor cluster.\n"
               "Run `stagee CMD --help` for the options of a command."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "describe every command and option");

  auto help = app.add_subcommand("help", "describe every command and option");

  node_options node;
  auto node_cmd = app.add_subcommand("node", "run a node (prints a node_ready JSON line)");
  node_cmd->add_option("--data-dir", node.data_dir, "directory of the embedded PostgreSQL")
    ->capture_default_str();
  node_cmd->add_option("--db-url", node.db_url, "use this PostgreSQL instead of an embedded one");
  node_cmd->add_option("--port", node.port, "gateway CAF port (0 picks a free one)")
    ->capture_default_str();
  node_cmd->add_option("--bind", node.bind, "address the gateway listens on")
    ->capture_default_str();
  node_cmd->add_option("--node-name", node.node_name, "node name (default: host-pid)");
  node_cmd->add_option("--capacity", node.capacity, "background executions run at once")
    ->capture_default_str()->check(CLI::Range(1, 100000));
  node_cmd->add_option("--lease-ms", node.lease_ms,
                       "fixed queue lease for every execution, for tests (0: derived, "
                       "max(longest step timeout + buffer, 2 x p95 step duration))")
    ->capture_default_str()
    ->check([](const std::string& v) {
      char* end = nullptr;
      auto ms = std::strtoll(v.c_str(), &end, 10);
      auto ok = !v.empty() && *end == '\0' && (ms == 0 || (ms >= 300 && ms <= 3600000));
      return ok ? std::string{} : std::string{"--lease-ms must be 0 (derived) or 300..3600000"};
    });
  node_cmd->add_option("--lease-buffer-ms", node.lease_buffer_ms,
                       "derived lease: added to the longest step timeout of the plan")
    ->capture_default_str()->check(CLI::Range(int64_t{1000}, int64_t{3600000}));
  node_cmd->add_option("--stats-interval-ms", node.stats_interval_ms,
                       "how often the p95 step durations that size leases are refreshed")
    ->capture_default_str()->check(CLI::Range(int64_t{100}, int64_t{86400000}));
  node_cmd->add_option("--claim-interval-ms", node.claim_interval_ms, "queue poll period")
    ->capture_default_str()->check(CLI::Range(int64_t{10}, int64_t{60000}));
  node_cmd->add_option("--cancel-poll-ms", node.cancel_poll_ms,
                       "how often cancellation requests for this node's work are looked for")
    ->capture_default_str()->check(CLI::Range(int64_t{10}, int64_t{60000}));
  node_cmd->add_option("--scheduler-threads", node.scheduler_threads,
                       "CAF scheduler threads (0: one per core)")
    ->capture_default_str()->check(CLI::Range(0, 256));
  node_cmd->add_option("--shutdown-grace-ms", node.shutdown_grace_ms,
                       "on SIGTERM/SIGINT: time for running steps to finish")
    ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{3600000}));
  node_cmd->add_option("--retry-base-ms", node.retry_base_ms,
                       "backoff base of failed idempotent step runs (x 2^failures)")
    ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{600000}));
  node_cmd->add_option("--reaper-interval-ms", node.reaper_interval_ms,
                       "how often expired leases and locks are freed")
    ->capture_default_str()->check(CLI::Range(int64_t{100}, int64_t{3600000}));
  node_cmd->add_option("--queue-deadline-ms", node.queue_deadline_ms,
                       "schedule-to-start deadline for every SLA (0: fast 60 s, medium 5 min, long 30 min)")
    ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{86400000}));
  node_cmd->add_option("--log-level", node.log_level, "trace|debug|info|warn|error")
    ->capture_default_str()
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  node_cmd->add_option("--log-file", node.log_file, "also write JSON log lines here");
  node_cmd->add_option("--auth-mode", node.auth_mode,
                       "token: every request needs a valid JWT; dev: trust the tenant and "
                       "principal clients state (development only, logged loudly)")
    ->capture_default_str()->check(CLI::IsMember({"token", "dev"}));
  node_cmd->add_option("--jwt-hmac-key", node.jwt_hmac_key_files,
                       "HS256 secret file (>= 32 bytes; key id = file name without extension)");
  node_cmd->add_option("--jwt-public-key", node.jwt_public_key_files,
                       "RS256/ES256 public key PEM file (key id = file name without extension)");
  node_cmd->add_option("--jwt-issuer", node.jwt_issuer, "required iss claim")
    ->capture_default_str();
  node_cmd->add_option("--jwt-audience", node.jwt_audience, "required aud claim")
    ->capture_default_str();
  node_cmd->add_option("--jwt-leeway-s", node.jwt_leeway_s, "clock skew allowed on exp/nbf/iat")
    ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{300}));
  node_cmd->add_option("--secret-key-file", node.secret_key_file,
                       "AES-256 key (64 hex, mode 0600) that opens the secret store's values");
  node_cmd->add_option("--secret-dir", node.secret_dir,
                       "directory of mounted secret files, DIR/TENANT/NAME");
  node_cmd->add_option("--tls-cert", node.tls_cert, "PEM certificate of this node (mutual TLS)");
  node_cmd->add_option("--tls-key", node.tls_key, "its unencrypted PEM private key");
  node_cmd->add_option("--tls-ca", node.tls_ca, "PEM CA every peer and client must chain to");
  node_cmd->add_option("--seeds", node.seeds,
                       "other nodes to join through, HOST:PORT of their gateway ports")
    ->delimiter(',');
  node_cmd->add_option("--advertise", node.advertise,
                       "HOST:PORT other nodes reach this one at (default: --bind and the port)");
  node_cmd->add_option("--heartbeat-ms", node.heartbeat_ms,
                       "CAF heartbeat interval on every link")
    ->capture_default_str()->check(CLI::Range(int64_t{100}, int64_t{60000}));
  node_cmd->add_option("--link-timeout-ms", node.link_timeout_ms,
                       "a link silent this long is dropped: its peer is down")
    ->capture_default_str()->check(CLI::Range(int64_t{500}, int64_t{600000}));
  node_cmd->add_option("--gossip-ms", node.gossip_ms,
                       "hello to every peer and database heartbeat, this often")
    ->capture_default_str()->check(CLI::Range(int64_t{50}, int64_t{60000}));
  node_cmd->add_option("--member-stale-ms", node.member_stale_ms,
                       "a member without a database heartbeat this long may be declared dead")
    ->capture_default_str()->check(CLI::Range(int64_t{100}, int64_t{600000}));

  client_options client;
  submit_options sub;
  auto submit_cmd = app.add_subcommand("submit", "submit a plan (JSON file, '-' for stdin)");
  add_client_options(submit_cmd, client);
  submit_cmd->add_option("--mode", sub.mode, "auto|immediate|background")
    ->capture_default_str()->check(CLI::IsMember({"auto", "immediate", "background"}));
  submit_cmd->add_option("--idempotency-key", sub.idempotency_key,
                         "client key (default: derived from plan, tenant, principal)");
  submit_cmd->add_option("plan", sub.plan_file, "plan JSON file")->required();

  std::string execution_id;
  auto status_cmd = app.add_subcommand("status", "show an execution and its step runs");
  add_client_options(status_cmd, client);
  status_cmd->add_option("execution_id", execution_id, "execution id")->required();

  bool follow = false;
  int64_t wait_s = 60;
  auto wait_cmd = app.add_subcommand("wait", "wait until an execution is terminal");
  int64_t after_seq = 0;
  wait_cmd->add_option("--gateway", client.gateway,
                       "gateway address HOST:PORT (--follow: HOST:PORT[,HOST:PORT...] to "
                       "resume through when one goes away)")
    ->required();
  add_credential_options(wait_cmd, client);
  wait_cmd->add_option("--timeout", wait_s, "seconds to wait")->capture_default_str();
  wait_cmd->add_flag("--follow", follow, "print every event as a JSON line first");
  wait_cmd->add_option("--after-seq", after_seq, "--follow: only events after this seq (resume)")
    ->check(CLI::Range(int64_t{0}, std::numeric_limits<int64_t>::max()));
  wait_cmd->add_option("execution_id", execution_id, "execution id")->required();

  auto dlq_cmd = app.add_subcommand("dlq", "inspect and act on the dead-letter queue");
  dlq_cmd->require_subcommand(1);
  dlq_list_request dlq_list;
  auto dlq_list_cmd = dlq_cmd->add_subcommand("list", "failed executions, newest first");
  add_client_options(dlq_list_cmd, client);
  dlq_list_cmd->add_option("--action", dlq_list.action, "only this plan action");
  dlq_list_cmd->add_option("--error-class", dlq_list.error_class, "only this error class");
  dlq_list_cmd->add_flag("--all", dlq_list.include_archived, "include archived entries");
  dlq_list_cmd->add_option("--before-id", dlq_list.before_id, "page: entries older than this id");
  dlq_list_cmd->add_option("--limit", dlq_list.limit, "page size (1..500)")
    ->capture_default_str()->check(CLI::Range(1, 500));
  dlq_entry_request dlq_entry_req;
  auto dlq_show_cmd = dlq_cmd->add_subcommand("show", "one entry with its attempt history");
  auto dlq_archive_cmd = dlq_cmd->add_subcommand("archive", "archive an entry (idempotent)");
  for (auto c : {dlq_show_cmd, dlq_archive_cmd}) {
    add_client_options(c, client);
    c->add_option("id", dlq_entry_req.id, "DLQ entry id")->required();
  }
  dlq_requeue_request dlq_requeue;
  auto dlq_requeue_cmd = dlq_cmd->add_subcommand(
    "requeue", "run the entry's plan again as a new execution (fresh attempts)");
  add_client_options(dlq_requeue_cmd, client);
  dlq_requeue_cmd->add_option("id", dlq_requeue.id, "DLQ entry id")->required();
  dlq_summary_request dlq_summary_req;
  auto dlq_summary_cmd = dlq_cmd->add_subcommand("summary", "open entries by error class");
  add_client_options(dlq_summary_cmd, client);

  cancel_request cancel_req;
  auto cancel_cmd = app.add_subcommand(
    "cancel", "cancel an execution (idempotent); replies once it ended or --wait-ms passed");
  add_client_options(cancel_cmd, client);
  cancel_cmd->add_option("--reason", cancel_req.reason, "why (recorded, at most 1000 bytes)");
  cancel_cmd->add_option("--wait-ms", cancel_req.wait_ms, "how long to wait for the execution to end")
    ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{60000}));
  cancel_cmd->add_option("execution_id", cancel_req.execution_id, "execution id")->required();

  approve_request decide_req;
  auto approve_cmd = app.add_subcommand(
    "approve", "approve an execution waiting for approval (level 3: one step)");
  auto reject_cmd = app.add_subcommand("reject", "reject an execution waiting for approval");
  for (auto c : {approve_cmd, reject_cmd}) {
    add_client_options(c, client);
    c->add_option("--plan-hash", decide_req.plan_hash,
                  "the plan_hash you reviewed (stagee status shows it)")->required();
    c->add_option("--reason", decide_req.reason, "why (recorded, at most 1000 bytes)");
    c->add_option("execution_id", decide_req.execution_id, "execution id")->required();
  }
  approve_cmd->add_option("--step", decide_req.step, "level 3: the step you approve");

  approvals_options apol;
  auto policy_cmd = app.add_subcommand(
    "approval-policy", "approval level per action class and environment (needs --db-url)");
  policy_cmd->require_subcommand(1);
  auto policy_list_cmd = policy_cmd->add_subcommand("list", "the policy rows");
  auto policy_set_cmd = policy_cmd->add_subcommand(
    "set", "set the level (0..3) for an action class in an environment (* = default)");
  for (auto c : {policy_list_cmd, policy_set_cmd})
    c->add_option("--db-url", apol.db_url, "PostgreSQL URL")->required();
  policy_set_cmd->add_option("--action-class", apol.action_class, "read|modify|deploy")
    ->required()->check(CLI::IsMember({"read", "modify", "deploy"}));
  policy_set_cmd->add_option("--environment", apol.environment, "environment (* = default)")
    ->capture_default_str();
  policy_set_cmd->add_option("--level", apol.level, "0..3")->required()->check(CLI::Range(0, 3));

  locks_request locks_req;
  auto cluster_cmd = app.add_subcommand("cluster", "the cluster as one node sees it");
  cluster_cmd->require_subcommand(1);
  auto cluster_status_cmd = cluster_cmd->add_subcommand(
    "status", "members: state, link, load, leases and locks held");
  add_client_options(cluster_status_cmd, client);

  auto locks_cmd = app.add_subcommand("locks", "per-asset locks held now: holder, since, fence, expiry");
  add_client_options(locks_cmd, client);
  locks_cmd->add_option("--target", locks_req.target, "only this target");

  console_options console;
  auto console_cmd = app.add_subcommand(
    "console", "inspect and steer the live cluster through one node (interactive, or -c CMD)");
  console_cmd->add_option("--node", client.gateway, "node to start on: HOST:PORT of its gateway")
    ->required();
  auto console_c = console_cmd->add_option(
    "-c,--command", console.command,
    "run this console command (or several: \"A; B\"), print the answers and exit");
  console_cmd->add_flag("--json", console.json, "print JSON documents instead of tables");
  console_cmd->add_option("--history-file", console.history_file,
                          "where the command history is kept ('-': nowhere; default "
                          "~/.stagee_console_history)");
  console_cmd->add_option("--timeout-ms", console.client.timeout_ms,
                          "how long to wait for a node's answer")
    ->default_val(5000)->check(CLI::Range(int64_t{100}, int64_t{600000}));
  add_credential_options(console_cmd, client);

  auto token_cmd = app.add_subcommand("token", "make JWTs and HS256 keys for gateways");
  token_cmd->require_subcommand(1);
  token_issue_options tok;
  auto token_issue_cmd = token_cmd->add_subcommand(
    "issue", "sign a token (printed alone on stdout) with a key file");
  token_issue_cmd->add_option("--key-file", tok.key_file,
                              "HS256 secret file, or RSA / EC P-256 private key PEM")
    ->required();
  token_issue_cmd->add_option("--sub", tok.sub, "principal (sub claim)")->required();
  token_issue_cmd->add_option("--tenant", tok.tenant, "tenant claim")->required();
  token_issue_cmd->add_option("--roles", tok.roles,
                              "limit the token to these bound roles (comma-separated; "
                              "default: no limit)")
    ->delimiter(',');
  token_issue_cmd->add_option("--kid", tok.kid, "key id header (the verifying node's key file stem)");
  token_issue_cmd->add_option("--iss", tok.issuer, "issuer claim")->capture_default_str();
  token_issue_cmd->add_option("--aud", tok.audience, "audience claim")->capture_default_str();
  token_issue_cmd->add_option("--ttl-s", tok.ttl_s, "lifetime in seconds")
    ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{31 * 86400}));
  token_issue_cmd->add_option("--nbf-in-s", tok.nbf_in_s, "not valid before now + this (tests)");
  std::string keygen_out;
  auto token_keygen_cmd = token_cmd->add_subcommand(
    "keygen", "write a new random HS256 secret file (mode 0600)");
  token_keygen_cmd->add_option("--out", keygen_out, "file to create")->required();

  rbac_options rbac;
  auto rbac_cmd = app.add_subcommand(
    "rbac", "roles and who holds them, per tenant and environment (needs --db-url)");
  rbac_cmd->require_subcommand(1);
  for (auto action : {"grant", "revoke", "list", "roles", "role-put", "role-delete"}) {
    std::string a = action;
    auto desc = a == "grant"    ? "bind a role to a principal in a tenant (idempotent)"
              : a == "revoke"   ? "remove a binding; running executions stop before their next step"
              : a == "list"     ? "bindings, optionally of one tenant / principal"
              : a == "roles"    ? "roles and their permissions"
              : a == "role-put" ? "create or replace a custom role"
                                : "delete a custom role (and its bindings)";
    auto c = rbac_cmd->add_subcommand(action, desc);
    c->add_option("--db-url", rbac.db_url, "PostgreSQL URL")->required();
    if (a == "grant" || a == "revoke") {
      c->add_option("--tenant", rbac.tenant, "tenant")->required();
      c->add_option("--principal", rbac.principal, "principal (a token's sub)")->required();
      c->add_option("--role", rbac.role, "role name")->required();
      c->add_option("--environment", rbac.environment, "only this environment (* = all)")
        ->capture_default_str();
      if (a == "grant")
        c->add_option("--by", rbac.granted_by, "recorded as granted_by (default cli:$USER)");
    } else if (a == "list") {
      c->add_option("--tenant", rbac.tenant, "only this tenant");
      c->add_option("--principal", rbac.principal, "only this principal");
    } else if (a == "role-put" || a == "role-delete") {
      c->add_option("name", rbac.role, "role name ([a-z][a-z0-9_-]*)")->required();
      if (a == "role-put") {
        c->add_option("--permissions", rbac.permissions,
                      "comma-separated: execute:read, execute:modify, execute:deploy, "
                      "approve, cancel, view, admin")
          ->required()->delimiter(',');
        c->add_option("--description", rbac.description, "what the role is for");
      }
    }
  }

  secret_options sec;
  auto secret_cmd = app.add_subcommand(
    "secret", "the encrypted secret store: values go in, never come out");
  secret_cmd->require_subcommand(1);
  for (auto action : {"put", "list", "delete", "keygen"}) {
    std::string a = action;
    auto desc = a == "put"    ? "store a secret read from stdin (or --from-file), sealed with the key"
              : a == "list"   ? "names of a tenant's secrets (never their values)"
              : a == "delete" ? "remove a secret"
                              : "write a new random store key (64 hex characters, mode 0600)";
    auto c = secret_cmd->add_subcommand(action, desc);
    if (a == "keygen") {
      c->add_option("--out", sec.key_file, "file to create")->required();
      continue;
    }
    c->add_option("--db-url", sec.db_url, "PostgreSQL URL")->required();
    c->add_option("--tenant", sec.tenant, "tenant")->required();
    if (a != "list")
      c->add_option("name", sec.name, "secret name ([A-Za-z0-9][A-Za-z0-9._-]*)")->required();
    if (a == "put") {
      c->add_option("--key-file", sec.key_file, "store key (as the nodes' --secret-key-file)")
        ->required();
      c->add_option("--from-file", sec.from_file, "read the value from this file, not stdin");
      c->add_option("--by", sec.by, "recorded as updated_by (default cli:$USER)");
    }
  }

  std::string db_url;
  auto migrate_cmd = app.add_subcommand("migrate", "apply pending schema migrations");
  migrate_cmd->add_option("--db-url", db_url, "PostgreSQL URL")->required();

  std::string data_dir = "stagee-data";
  bool fresh = false;
  auto db_cmd = app.add_subcommand("db", "manage an embedded PostgreSQL by hand");
  db_cmd->require_subcommand(1);
  for (auto action : {"start", "stop", "url"}) {
    auto c = db_cmd->add_subcommand(action, std::string{action} + " the server in --data-dir");
    c->add_option("--data-dir", data_dir, "directory of the server")->capture_default_str();
    if (std::string{action} == "start")
      c->add_flag("--fresh", fresh, "wipe any existing server there first (tests)");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*help) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  }
  credential_from_env(client);
  if (auto err = load_token(client)) {
    std::cout << error_json(err).dump() << std::endl;
    return 2;
  }
  if (*node_cmd)
    return run_node(node);
  if (auto err = check_client_tls(client.tls)) {
    std::cout << masking::patterns().mask_json(error_json(err)).dump() << std::endl;
    return 2;
  }
  if (*submit_cmd)
    return run_submit(client, sub);
  if (*status_cmd)
    return run_status(client, execution_id);
  if (*wait_cmd) {
    client.timeout_ms = wait_s * 1000;
    return run_wait(client, execution_id, follow, after_seq);
  }
  if (*migrate_cmd)
    return run_migrate(db_url);
  if (*token_issue_cmd)
    return run_token_issue(tok);
  if (*token_keygen_cmd)
    return run_token_keygen(keygen_out);
  for (auto sub : secret_cmd->get_subcommands()) {
    if (sub->parsed()) {
      sec.action = sub->get_name();
      return run_secret(sec);
    }
  }
  for (auto sub : rbac_cmd->get_subcommands()) {
    if (sub->parsed()) {
      rbac.action = sub->get_name();
      return run_rbac(rbac);
    }
  }
  if (*console_cmd) {
    auto timeout = console.client.timeout_ms;
    console.one_shot = console_c->count() > 0;
    console.client = client;
    console.client.timeout_ms = timeout;
    return run_console(console);
  }
  if (*cancel_cmd)
    return run_cancel(client, cancel_req);
  if (*locks_cmd)
    return run_locks(client, locks_req);
  if (*cluster_status_cmd)
    return run_cluster_status(client);
  if (*approve_cmd || *reject_cmd) {
    decide_req.kind = *approve_cmd ? decision::approve : decision::reject;
    return run_decide(client, decide_req);
  }
  if (*policy_list_cmd || *policy_set_cmd) {
    apol.action = *policy_set_cmd ? "set" : "list";
    return run_approval_policy(apol);
  }
  if (*dlq_list_cmd)
    return run_dlq_list(client, dlq_list);
  if (*dlq_show_cmd || *dlq_archive_cmd) {
    dlq_entry_req.op = *dlq_show_cmd ? dlq_op::show : dlq_op::archive;
    return run_dlq_entry(client, dlq_entry_req);
  }
  if (*dlq_summary_cmd)
    return run_dlq_summary(client, dlq_summary_req);
  if (*dlq_requeue_cmd)
    return run_dlq_requeue(client, dlq_requeue);
  for (auto action : {"start", "stop", "url"})
    if (db_cmd->got_subcommand(action))
      return db_command(action, data_dir, fresh);
  return 0;
}
