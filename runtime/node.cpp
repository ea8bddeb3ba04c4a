#include "runtime/node.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <iostream>
#include <thread>
#include <variant>

#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/admission.hpp"
#include "actors/approver.hpp"
#include "actors/authorizer.hpp"
#include "actors/dlq_keeper.hpp"
#include "actors/event_bus.hpp"
#include "actors/gateway.hpp"
#include "actors/inspector.hpp"
#include "actors/lock_manager.hpp"
#include "actors/member_recorder.hpp"
#include "actors/membership.hpp"
#include "actors/plan_codec.hpp"
#include "actors/queue_claimer.hpp"
#include "actors/reader.hpp"
#include "actors/reaper.hpp"
#include "actors/secret_resolver.hpp"
#include "actors/timeout_scheduler.hpp"
#include "actors/worker_supervisor.hpp"
#include "config/logging.hpp"
#include "messages/type_ids.hpp"
#include "persistence/member_store.hpp"
#include "persistence/migrator.hpp"
#include "persistence/read_store.hpp"
#include "runtime/embedded_pg.hpp"
#include "runtime/tls.hpp"

namespace stagee {

namespace {

spdlog::logger& lg() {
  static auto l = logging::get("node");
  return *l;
}

std::string default_node_name() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string{host} + "-" + std::to_string(getpid());
}

/// Migrates, retrying while a just-started server still refuses connections.
caf::expected<int> migrate_with_retry(const std::string& url) {
  db_session db{url};
  caf::expected<int> res{0};
  for (int attempt = 0; attempt < 20; ++attempt) {
    res = migrate_up(db);
    if (res || res.error() != stagee_errc::db_unavailable)
      return res;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return res;
}

caf::expected<std::map<std::string, timeout_policy>> load_policies(const std::string& url) {
  db_session db{url};
  read_store store{db};
  auto rows = store.timeout_policies();
  if (!rows)
    return rows.error();
  std::map<std::string, timeout_policy> out;
  for (auto& p : *rows)
    out[p.id] = p;
  return out;
}

/// The actor tree of one node.
struct actor_tree {
  gateway_actor gateway;
  worker_supervisor_actor supervisor;
  event_bus_actor bus;
  admission_actor admission;
  queue_actor queue;       // claims and releases (the supervisor)
  queue_actor leases;      // renewals only: never queued behind a claim or the reaper
  queue_actor maintenance; // the reaper and the lease-sizing statistics
  dlq_actor dlq;
  reaper_actor reaper;
  lock_manager_actor locks;
  timeout_scheduler_actor timeouts;
  std::vector<reader_actor> readers;
  std::vector<authorizer_actor> authorizers;
  secret_resolver_actor secrets;
  approver_actor approver;
  member_recorder_actor recorder;
  membership_actor members;
  inspector_actor inspector;

  void stop_all() {
    auto reason = caf::exit_reason::user_shutdown;
    caf::anon_send_exit(inspector, reason);
    caf::anon_send_exit(gateway, reason);
    caf::anon_send_exit(members, reason);
    caf::anon_send_exit(recorder, reason);
    caf::anon_send_exit(supervisor, reason);
    caf::anon_send_exit(admission, reason);
    caf::anon_send_exit(queue, reason);
    caf::anon_send_exit(leases, reason);
    caf::anon_send_exit(maintenance, reason);
    caf::anon_send_exit(dlq, reason);
    caf::anon_send_exit(reaper, reason);
    caf::anon_send_exit(locks, reason);
    caf::anon_send_exit(timeouts, reason);
    for (auto& r : readers)
      caf::anon_send_exit(r, reason);
    for (auto& a : authorizers)
      caf::anon_send_exit(a, reason);
    caf::anon_send_exit(secrets, reason);
    caf::anon_send_exit(approver, reason);
    caf::anon_send_exit(bus, reason);
  }
};

/// Tells the inspector about the node's long-lived actors (the console lists them).
void register_actors(const actor_tree& t) {
  auto reg = [&](const char* kind, std::string name, inspectable_actor handle) {
    caf::anon_send(t.inspector, actor_registration{kind, std::move(name), std::move(handle)});
  };
  reg("gateway", "gateway", t.gateway);
  reg("worker-supervisor", "worker-supervisor", t.supervisor);
  reg("event-bus", "event-bus", t.bus);
  reg("admission", "admission", t.admission);
  reg("queue-claimer", "claims", t.queue);
  reg("queue-claimer", "lease-renewals", t.leases);
  reg("queue-claimer", "maintenance", t.maintenance);
  reg("dlq-keeper", "dlq-keeper", t.dlq);
  reg("lease-reaper", "lease-reaper", t.reaper);
  reg("lock-manager", "lock-manager", t.locks);
  reg("timeout-scheduler", "timeout-scheduler", t.timeouts);
  for (size_t i = 0; i < t.readers.size(); ++i)
    reg("reader", "reader-" + std::to_string(i + 1), t.readers[i]);
  for (size_t i = 0; i < t.authorizers.size(); ++i)
    reg("authorizer", "authorizer-" + std::to_string(i + 1), t.authorizers[i]);
  reg("secret-resolver", "secret-resolver", t.secrets);
  reg("approver", "approver", t.approver);
  reg("member-recorder", "member-recorder", t.recorder);
  reg("membership", "membership", t.members);
}

actor_tree spawn_tree(caf::actor_system& sys, const node_options& o, const std::string& url,
                      std::map<std::string, timeout_policy> policies, gateway_auth auth,
                      secret_sources secret_src) {
  actor_tree t;
  t.bus = sys.spawn<caf::detached>(event_bus, url, event_bus_settings{});
  t.admission = sys.spawn<caf::detached>(admission, url, admission_settings{});
  t.queue = sys.spawn<caf::detached>(queue_claimer, url);
  t.leases = sys.spawn<caf::detached>(queue_claimer, url);
  t.maintenance = sys.spawn<caf::detached>(queue_claimer, url);
  t.dlq = sys.spawn<caf::detached>(dlq_keeper, url);
  reaper_settings rs;
  rs.node = o.node_name;
  rs.interval_ms = o.reaper_interval_ms;
  rs.stats_interval_ms = o.stats_interval_ms;
  t.reaper = sys.spawn(reaper, rs, t.maintenance);
  for (int i = 0; i < std::max(1, o.readers); ++i)
    t.readers.push_back(sys.spawn<caf::detached>(reader, url));
  t.locks = sys.spawn<caf::detached>(lock_manager,
                                     lock_manager_settings{o.node_name, o.reaper_interval_ms}, url);
  t.timeouts = sys.spawn(timeout_scheduler, o.node_name);
  t.inspector = sys.spawn(inspector, inspector_settings{o.node_name, o.capacity},
                          inspector_peers{t.timeouts, t.readers.front()});
  t.secrets = sys.spawn<caf::detached>(secret_resolver, o.node_name, std::move(secret_src), url);
  supervisor_settings ss;
  ss.node = o.node_name;
  ss.capacity = o.capacity;
  ss.lease = lease_sizing{o.lease_ms, o.lease_buffer_ms};
  ss.claim_interval_ms = o.claim_interval_ms;
  ss.cancel_poll_ms = o.cancel_poll_ms;
  ss.exec.node = o.node_name;
  ss.exec.retry_base_ms = o.retry_base_ms;
  ss.queue_deadline_ms = o.queue_deadline_ms;
  t.supervisor = sys.spawn(worker_supervisor, ss,
                           supervisor_peers{t.bus, t.queue, t.leases, t.readers.front(), t.locks,
                                            t.timeouts, t.secrets, t.inspector});
  t.approver = sys.spawn<caf::detached>(approver, o.node_name, url);
  t.recorder = sys.spawn<caf::detached>(member_recorder, url);
  membership_settings ms;
  ms.node = o.node_name;
  ms.capacity = o.capacity;
  ms.seeds = o.seeds;
  ms.gossip_ms = o.gossip_ms;
  ms.stale_ms = o.member_stale_ms;
  ms.tls = sys.has_openssl_manager();
  t.members = sys.spawn(membership, ms,
                        membership_peers{t.supervisor, t.bus, t.recorder,
                                         ms.tls ? sys.openssl_manager().actor_handle()
                                                : sys.middleman().actor_handle()});
  for (int i = 0; i < std::max(1, o.authorizers); ++i)
    t.authorizers.push_back(sys.spawn<caf::detached>(authorizer, o.node_name, url));
  gateway_settings gs;
  gs.node = o.node_name;
  gs.auth = std::move(auth);
  gs.policies = std::move(policies);
  gs.lease = ss.lease;
  t.gateway = sys.spawn(gateway, gs,
                        gateway_peers{t.admission, t.readers, t.bus, t.supervisor, t.dlq, t.locks,
                                      t.authorizers, t.approver, t.members, t.inspector});
  register_actors(t);
  return t;
}

/// The node's authentication set-up from its options. Bad key files or an unknown
/// mode are fatal at start (the error names the option). Dev mode is announced loudly.
std::variant<gateway_auth, std::string> make_auth(const node_options& o) {
  gateway_auth auth;
  if (o.auth_mode != "token" && o.auth_mode != "dev")
    return "--auth-mode must be token or dev, not '" + o.auth_mode + "'";
  auth.dev_mode = o.auth_mode == "dev";
  auth::key_ring keys;
  try {
    for (auto& f : o.jwt_hmac_key_files)
      keys.add_hmac_file(f);
    for (auto& f : o.jwt_public_key_files)
      keys.add_public_key_file(f);
  } catch (const std::exception& e) {
    return std::string{"--jwt-hmac-key/--jwt-public-key: "} + e.what();
  }
  if (keys.size() == 0 && !auth.dev_mode)
    return "--auth-mode=token needs at least one key: --jwt-hmac-key FILE or "
           "--jwt-public-key FILE (or run a development node with --auth-mode=dev)";
  auto key_ids = keys.key_ids();
  if (keys.size() > 0) {
    auth::verifier_settings vs;
    vs.issuer = o.jwt_issuer;
    vs.audience = o.jwt_audience;
    vs.leeway_s = o.jwt_leeway_s;
    auth.verifier = std::make_shared<const auth::token_verifier>(std::move(keys), vs);
  }
  if (auth.dev_mode)
    logging::write(lg(), spdlog::level::critical,
                   "DEVELOPMENT AUTH MODE: this node trusts the tenant and principal every "
                   "client states; never use it where anyone else can reach the port",
                   {{"node", o.node_name}, {"auth_mode", "dev"}});
  else
    logging::write(lg(), spdlog::level::info, "token authentication",
                   {{"node", o.node_name}, {"issuer", o.jwt_issuer},
                    {"audience", o.jwt_audience},
                    {"key_ids", key_ids}});
  return auth;
}

/// Where the node's secrets come from. A bad key file or directory is fatal at start.
std::variant<secret_sources, std::string> make_secret_sources(const node_options& o) {
  secret_sources src;
  try {
    if (!o.secret_key_file.empty())
      src.key = std::make_shared<const secrets::secret_key>(
        secrets::secret_key::load(o.secret_key_file));
  } catch (const std::exception& e) {
    return std::string{"--secret-key-file: "} + e.what();
  }
  try {
    if (!o.secret_dir.empty())
      src.dir = std::make_shared<const secrets::directory_provider>(o.secret_dir);
  } catch (const std::exception& e) {
    return std::string{"--secret-dir: "} + e.what();
  }
  logging::write(lg(), spdlog::level::info, "secret sources",
                 {{"node", o.node_name},
                  {"store_key_id", src.key ? src.key->key_id() : std::string{}},
                  {"secret_dir", o.secret_dir}});
  return src;
}

/// Cluster options that cannot work together; empty when fine.
std::string check_cluster_options(const node_options& o) {
  if (o.link_timeout_ms < 2 * o.heartbeat_ms)
    return "--link-timeout-ms must be at least twice --heartbeat-ms (a healthy but idle "
           "link would be dropped between two heartbeats)";
  if (o.member_stale_ms < 2 * o.gossip_ms)
    return "--member-stale-ms must be at least twice --gossip-ms (a live member's row would "
           "look stale between two heartbeats)";
  for (auto& seed : o.seeds) {
    std::string host;
    uint16_t port = 0;
    if (!split_host_port(seed, host, port))
      return "--seeds takes HOST:PORT[,HOST:PORT...]; '" + seed + "' is not one";
  }
  if (!o.advertise.empty()) {
    std::string host;
    uint16_t port = 0;
    if (!split_host_port(o.advertise, host, port))
      return "--advertise takes HOST:PORT; '" + o.advertise + "' is not one";
  }
  return {};
}

/// What peers dial to reach us: --advertise, else the bound address and port (the
/// host name when bound to every interface).
std::string advertised_address(const node_options& o, uint16_t port) {
  if (!o.advertise.empty())
    return o.advertise;
  auto host = o.bind;
  if (host.empty() || host == "0.0.0.0" || host == "::") {
    char name[256] = {0};
    gethostname(name, sizeof name - 1);
    host = name;
  }
  return host + ":" + std::to_string(port);
}

/// Leases are owned by node name, so two live processes must never share one. A
/// fresh row under our name from another process means it is (or just was) alive:
/// wait until its heartbeat goes stale, or give up. A stale row is our previous
/// incarnation (killed or frozen): free its leases and locks now (fencing refuses
/// its writes should it wake up), instead of waiting for them to expire.
bool claim_node_name(const std::string& url, const node_options& o, const std::string& node_id) {
  db_session db{url};
  member_store store{db};
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds{o.member_stale_ms + 2 * o.gossip_ms};
  bool announced = false;
  for (;;) {
    auto rows = store.list(false);
    if (!rows) {
      logging::write(lg(), spdlog::level::critical, "cannot read cluster members",
                     {{"node", o.node_name}, {"error", describe(rows.error()).message}});
      return false;
    }
    auto it = std::find_if(rows->begin(), rows->end(),
                           [&](const member_row& r) { return r.name == o.node_name; });
    if (it == rows->end() || it->node_id == node_id)
      return true;
    auto live = (it->state == "up" || it->state == "draining")
                && it->last_seen_ms < o.member_stale_ms;
    if (!live) {
      auto freed = store.declare_dead(o.node_name, o.member_stale_ms, o.node_name);
      if (freed && !freed->empty() && (freed->front().leases_freed > 0 || freed->front().locks_freed > 0))
        logging::write(lg(), spdlog::level::warn,
                       "freed the leases and locks of this node's previous run",
                       {{"node", o.node_name}, {"previous_node_id", it->node_id},
                        {"leases_freed", freed->front().leases_freed},
                        {"locks_freed", freed->front().locks_freed}});
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      logging::write(lg(), spdlog::level::critical,
                     "node name in use by a running node; give each node its own --node-name",
                     {{"node", o.node_name}, {"other_node_id", it->node_id},
                      {"other_address", it->address}, {"last_seen_ms", it->last_seen_ms}});
      return false;
    }
    if (!std::exchange(announced, true))
      logging::write(lg(), spdlog::level::info,
                     "another process used this node name moments ago; waiting for its "
                     "heartbeat to go stale",
                     {{"node", o.node_name}, {"other_node_id", it->node_id},
                      {"other_address", it->address}});
    std::this_thread::sleep_for(std::chrono::milliseconds{std::max<int64_t>(o.gossip_ms / 2, 50)});
  }
}

tls::files tls_files(const node_options& o) { return {o.tls_cert, o.tls_key, o.tls_ca}; }

/// Logs refused TLS handshakes (R-CL-3): at most 20 lines per 10 s, then a count,
/// so that a port scan cannot flood the log.
void audit_handshakes(const std::string& node) {
  struct window {
    std::mutex mtx;
    std::chrono::steady_clock::time_point start;
    int logged = 0;
    int suppressed = 0;
  };
  static window w;
  tls::on_handshake_failure([node](const tls::handshake_failure& f) {
    std::lock_guard<std::mutex> guard{w.mtx};
    auto now = std::chrono::steady_clock::now();
    if (now - w.start > std::chrono::seconds(10)) {
      if (w.suppressed > 0)
        logging::write(lg(), spdlog::level::warn, "more TLS handshakes refused (not logged)",
                       {{"node", node}, {"count", w.suppressed}});
      w.start = now;
      w.logged = 0;
      w.suppressed = 0;
    }
    if (++w.logged > 20) {
      ++w.suppressed;
      return;
    }
    logging::write(lg(), spdlog::level::warn,
                   f.accepting ? "TLS handshake refused: peer has no valid certificate from our CA"
                               : "TLS handshake with a peer failed",
                   {{"node", node}, {"peer", f.peer}, {"reason", f.reason},
                    {"side", f.accepting ? "accepting" : "connecting"}});
  });
}

/// Graceful shutdown (R-Q-6): refuse new submits, stop claiming, let running step
/// runs finish within the grace period and hand the rest back to the queue.
void drain(caf::actor_system& sys, actor_tree& tree, int64_t grace_ms) {
  caf::anon_send(tree.gateway, drain_atom::value);
  caf::scoped_actor self{sys};
  // Peers stop sending work here and will not mistake our exit for a crash.
  self->request(tree.members, std::chrono::seconds(6), drain_atom::value)
    .receive([](bool) {}, [](caf::error&) {});
  self->request(tree.supervisor, std::chrono::milliseconds{grace_ms}, drain_atom::value)
    .receive(
      [&](drained& d) {
        logging::write(lg(), spdlog::level::info, "drained",
                       {{"finished", d.finished}, {"released", d.released}});
      },
      [&](caf::error& err) {
        logging::write(lg(), spdlog::level::warn,
                       "grace period over; remaining executions are resumed elsewhere "
                       "when their leases expire",
                       {{"grace_ms", grace_ms}, {"error", sys.render(err)}});
      });
  self->request(tree.members, std::chrono::seconds(6), caf::close_atom::value)
    .receive([](bool) {}, [](caf::error&) {});
}

void print_ready(const node_options& o, uint16_t port, const std::string& url) {
  nlohmann::ordered_json j{{"event", "node_ready"}, {"node", o.node_name}, {"port", port},
                           {"db_url", redact_url(url)}};
  std::cout << j.dump() << std::endl;
}

/// Set once the actor system of run_node has shut down (read by its watchdog).
std::atomic<bool>& actors_stopped() {
  static std::atomic<bool> done{false};
  return done;
}

/// Blocks SIGTERM/SIGINT in this thread and every thread it creates afterwards.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

/// Runs the node's actors until SIGTERM/SIGINT, then drains and stops them.
int serve(caf::actor_system& sys, const node_options& o, const std::string& url,
          std::map<std::string, timeout_policy> policies, gateway_auth auth,
          secret_sources secret_src, sigset_t signals, const std::function<void()>& stop_pg) {
  if (!claim_node_name(url, o, to_string(sys.node())))
    return 1;
  auto tree = spawn_tree(sys, o, url, std::move(policies), std::move(auth),
                         std::move(secret_src));
  auto port = sys.has_openssl_manager()
                ? caf::openssl::publish(tree.gateway, o.port, o.bind.c_str(), true)
                : sys.middleman().publish(tree.gateway, o.port, o.bind.c_str(), true);
  if (!port) {
    logging::write(lg(), spdlog::level::critical, "cannot listen for the gateway",
                   {{"port", o.port}, {"bind", o.bind},
                    {"error", sys.render(port.error())},
                    {"hint", "pick another --port or use --port 0"}});
    tree.stop_all();
    return 1;
  }
  logging::write(lg(), spdlog::level::info, "node ready",
                 {{"node", o.node_name}, {"port", *port}, {"worker_id", o.node_name},
                  {"capacity", o.capacity}});
  caf::anon_send(tree.members, caf::put_atom::value, advertised_address(o, *port));
  print_ready(o, *port, url);
  int sig = 0;
  sigwait(&signals, &sig);
  logging::write(lg(), spdlog::level::info, "shutting down",
                 {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  drain(sys, tree, o.shutdown_grace_ms);
  if (sys.has_openssl_manager()) // (caf/openssl/unpublish.hpp does not compile in 0.17.6)
    caf::anon_send(sys.openssl_manager().actor_handle(), caf::unpublish_atom::value,
                   caf::actor_cast<caf::actor_addr>(tree.gateway), *port);
  else
    sys.middleman().unpublish(tree.gateway, *port);
  tree.stop_all();
  // The actor system's destructor waits for every actor. Everything durable is
  // in PostgreSQL by now (drained), so an actor that does not stop (a waiter with
  // a long deadline, a reply that never comes) must not keep the process alive:
  // after 5 s say which situation this is and exit anyway.
  std::thread([stop_pg, name = o.node_name] {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    if (actors_stopped().load())
      return; // normal: run_node is past the actor system (stop_pg is its job)
    logging::write(lg(), spdlog::level::critical,
                   "actors still running 5 s after shutdown; exiting without them "
                   "(state is in PostgreSQL; report this with the log)",
                   {{"node", name}});
    stop_pg();
    std::_Exit(0);
  }).detach();
  return 0;
}

} // namespace

int run_migrate(const std::string& url) {
  auto applied = migrate_with_retry(url);
  if (!applied) {
    std::cout << nlohmann::json{{"error", {{"code", describe(applied.error()).code},
                                           {"message", describe(applied.error()).message}}}}
                   .dump()
              << std::endl;
    return 1;
  }
  db_session db{url};
  auto version = schema_version(db);
  std::cout << nlohmann::json{{"applied", *applied}, {"version", version ? *version : -1}}.dump()
            << std::endl;
  return 0;
}

int run_node(node_options o) {
  logging::init({o.log_level, o.log_file, true});
  if (o.node_name.empty())
    o.node_name = default_node_name();
  if (!valid_identifier(o.node_name) || o.node_name.size() > 100) {
    logging::write(lg(), spdlog::level::critical, "invalid --node-name",
                   {{"node", o.node_name},
                    {"hint", "use 1..100 characters of [A-Za-z0-9._@:-], starting alphanumeric"}});
    return 1;
  }
  if (auto err = check_cluster_options(o); !err.empty()) {
    logging::write(lg(), spdlog::level::critical, "invalid cluster options", {{"error", err}});
    return 1;
  }
  if (auto err = tls::check(tls_files(o)); !err.empty()) {
    logging::write(lg(), spdlog::level::critical, "invalid TLS options",
                   {{"error", err}, {"hint", "scripts/make-certs.sh DIR makes a throwaway CA"}});
    return 1;
  }
  auto auth = make_auth(o);
  if (auto err = std::get_if<std::string>(&auth)) {
    logging::write(lg(), spdlog::level::critical, "invalid authentication options",
                   {{"error", *err}});
    return 1;
  }
  auto secret_src = make_secret_sources(o);
  if (auto err = std::get_if<std::string>(&secret_src)) {
    logging::write(lg(), spdlog::level::critical, "invalid secret options", {{"error", *err}});
    return 1;
  }
  auto signals = block_shutdown_signals();
  std::unique_ptr<embedded_pg> pg;
  auto url = o.db_url;
  try {
    if (url.empty()) {
      pg = std::make_unique<embedded_pg>(embedded_pg_options{o.data_dir});
      url = pg->start();
      logging::write(lg(), spdlog::level::info, "embedded PostgreSQL ready",
                     {{"data_dir", o.data_dir}, {"db_url", url},
                      {"started_here", pg->started_here()}});
    }
  } catch (const std::exception& e) {
    logging::write(lg(), spdlog::level::critical, "cannot start embedded PostgreSQL",
                   {{"error", e.what()}});
    return 1;
  }
  auto stop_pg = [&] {
    if (pg && pg->started_here())
      pg->stop();
  };
  auto migrated = migrate_with_retry(url);
  auto policies = migrated ? load_policies(url)
                           : caf::expected<std::map<std::string, timeout_policy>>{migrated.error()};
  if (!policies) {
    logging::write(lg(), spdlog::level::critical, "database not usable",
                   {{"db_url", redact_url(url)}, {"error", describe(policies.error()).message}});
    stop_pg();
    return 1;
  }
  int rc = 0;
  {
    caf::actor_system_config cfg;
    add_stagee_types(cfg);
    cfg.load<caf::io::middleman>();
    // CAF defaults to max(cores, 4) workers whose idle polling costs real CPU on
    // small machines; one per core is enough (detached actors have their own threads).
    auto threads = o.scheduler_threads > 0 ? o.scheduler_threads
                                           : static_cast<int32_t>(std::thread::hardware_concurrency());
    cfg.set("scheduler.max-threads", std::max(threads, 1));
    // Off by default in CAF 0.17: without them a frozen peer is never noticed.
    cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{o.heartbeat_ms}});
    cfg.set("middleman.connection-timeout",
            caf::timespan{std::chrono::milliseconds{o.link_timeout_ms}});
    if (tls_files(o).enabled()) {
      tls::apply(cfg, tls_files(o));
      audit_handshakes(o.node_name);
      if (!tls::audit_installed())
        logging::write(lg(), spdlog::level::err,
                       "refused TLS handshakes cannot be logged: this binary does not export "
                       "the SSL_* wrappers (see runtime/CMakeLists.txt)", {{"node", o.node_name}});
      logging::write(lg(), spdlog::level::info, "mutual TLS on every link",
                     {{"node", o.node_name}, {"cert", o.tls_cert}, {"ca", o.tls_ca}});
    } else {
      logging::write(lg(), spdlog::level::warn,
                     "PLAIN MODE: node links and clients are neither encrypted nor "
                     "authenticated; for local development only (use --tls-cert, --tls-key "
                     "and --tls-ca)",
                     {{"node", o.node_name}});
    }
    caf::actor_system sys{cfg};
    rc = serve(sys, o, url, std::move(*policies), std::get<gateway_auth>(std::move(auth)),
               std::get<secret_sources>(std::move(secret_src)), signals, stop_pg);
  }
  actors_stopped() = true;
  stop_pg();
  logging::write(lg(), spdlog::level::info, "node stopped", {{"node", o.node_name}});
  return rc;
}

} // namespace stagee
