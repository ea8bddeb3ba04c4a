#include "runtime/client.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <mutex>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/membership.hpp"
#include "config/masker.hpp"
#include "messages/errors.hpp"
#include "messages/type_ids.hpp"
#include "runtime/json_view.hpp"

namespace stagee {

namespace {

using json = nlohmann::json;

constexpr int exit_rejected = 1;    // the gateway answered with an error
constexpr int exit_unreachable = 2; // no gateway / bad usage
constexpr int64_t reply_margin_ms = 10000;

/// Every document the client prints passes the one masker (R-SAFE-5).
void print(const json& j) {
  std::cout << masking::patterns().mask_json(j).dump() << std::endl;
}

int fail(const json& j, int code) {
  print(j);
  return code;
}

/// A client-side actor system with the middleman and our message types.
struct client_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  explicit client_system(const tls::files& tls) {
    configure_client(cfg, tls);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

int unreachable(const caf::error& err) {
  auto d = describe(err);
  auto code = d.code == "error" || d.code == "system_error" ? "unavailable" : d.code;
  return fail(error_json(code, d.message, d.field), exit_unreachable);
}

/// A quick, idempotent request whose reply has not come within this time is sent
/// again over a new connection (see round_trip).
constexpr int64_t quick_resend_ms = 10000;

/// Sends one request and prints its reply (or error) as JSON.
///
/// resend_after_ms > 0 marks the request idempotent and quick (a background
/// submit, a read): if no reply came within that time, the request is sent again
/// over a new connection, until timeout_ms is spent. Under load CAF 0.17's network
/// layer has been seen to drop a reply (the request was handled; the connection
/// stayed up and idle), and a client must not hang for the whole deadline on it.
template <class Reply>
int exit_zero(const Reply&) {
  return 0;
}

template <class Reply, class Request, class ExitCode = int (*)(const Reply&)>
int round_trip(const client_options& c, Request req, int64_t resend_after_ms = 0,
               ExitCode exit_code = exit_zero<Reply>) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{c.timeout_ms};
  for (int attempt = 1;; ++attempt) {
    client_system cs{c.tls};
    auto gw = connect_gateway(*cs.sys, c.gateway, deadline);
    if (!gw)
      return unreachable(gw.error());
    caf::scoped_actor self{*cs.sys};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto wait = resend_after_ms > 0 ? std::min(left, std::chrono::milliseconds{resend_after_ms})
                                    : left;
    int rc = 0;
    bool resend = false;
    self->request(*gw, std::max(wait, std::chrono::milliseconds{1}), c.cred, req)
      .receive([&](Reply& rep) {
                 print(to_json(rep));
                 rc = exit_code(rep);
               },
               [&](caf::error& err) {
                 resend = err == caf::sec::request_timeout && wait < left;
                 if (!resend)
                   rc = fail(error_json(err), exit_rejected);
               });
    if (!resend)
      return rc;
    std::cerr << "stagee: no reply from " << c.gateway << " within " << wait.count()
              << " ms; sending the request again (attempt " << attempt + 1
              << ", it is idempotent)" << std::endl;
  }
}

caf::expected<std::string> read_plan(const std::string& path) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
    return buf.str();
  }
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_stagee_error(stagee_errc::invalid_request, "plan",
                             "cannot read plan file '" + path + "'");
  buf << in.rdbuf();
  return buf.str();
}

} // namespace

/// The reasons of TLS handshakes this client saw fail (the audit), by peer
/// ("ip:port"), to say more than CAF's disconnect_during_handshake. Written by the
/// audit callback on CAF's threads, read under tls_failure_mutex(). Keyed by peer
/// because the console connects to several nodes at once (`stats`).
std::map<std::string, std::string>& tls_failures() {
  static std::map<std::string, std::string> reasons;
  return reasons;
}

std::mutex& tls_failure_mutex() {
  static std::mutex mtx;
  return mtx;
}

/// Takes the failure seen with host:port: the peer itself, or, when host is a
/// name, the one failed peer on that port.
std::string take_tls_failure(const std::string& host, uint16_t port) {
  std::lock_guard<std::mutex> guard{tls_failure_mutex()};
  auto& all = tls_failures();
  auto i = all.find(host + ":" + std::to_string(port));
  if (i == all.end()) {
    auto suffix = ":" + std::to_string(port);
    auto same_port = [&](auto& kv) {
      return kv.first.size() > suffix.size()
             && kv.first.compare(kv.first.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (std::count_if(all.begin(), all.end(), same_port) == 1)
      i = std::find_if(all.begin(), all.end(), same_port);
  }
  if (i == all.end())
    return {};
  auto reason = std::move(i->second);
  all.erase(i);
  return reason;
}

caf::error check_client_tls(const tls::files& f) {
  if (auto err = tls::check(f); !err.empty())
    return make_stagee_error(stagee_errc::invalid_request, "tls", err);
  return caf::none;
}

void configure_client(caf::actor_system_config& cfg, const tls::files& f) {
  add_stagee_types(cfg);
  cfg.load<caf::io::middleman>();
  if (f.enabled()) {
    tls::apply(cfg, f);
    tls::on_handshake_failure([](const tls::handshake_failure& hf) {
      std::lock_guard<std::mutex> guard{tls_failure_mutex()};
      tls_failures()[hf.peer] = hf.reason;
    });
  }
  cfg.set("scheduler.max-threads", 2);
  // Nodes drop links that stay silent past their --link-timeout-ms (at least
  // 500 ms): heartbeats keep an idle client (wait --follow) connected.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{100}});
  // Longer than the longest --heartbeat-ms (60 s): a healthy idle link is never
  // dropped, a frozen node's is after 2 min. Without any timeout CAF never gives up
  // on a frozen node's handshake; with one, it cuts it at a tick and connect_gateway
  // tries again until the command's deadline.
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::minutes{2}});
}

namespace {

/// One connect attempt: the gateway, or CAF's error as it came.
caf::expected<gateway_actor> connect_once(caf::actor_system& sys, const std::string& host,
                                          uint16_t port) {
  auto gw = sys.has_openssl_manager()
              ? caf::openssl::remote_actor<gateway_actor>(sys, host, port)
              : sys.middleman().remote_actor<gateway_actor>(host, port);
  if (gw)
    return *gw;
  return std::move(gw.error());
}

} // namespace

caf::expected<gateway_actor> connect_gateway(caf::actor_system& sys, const std::string& hostport,
                                             std::chrono::steady_clock::time_point retry_until) {
  std::string host;
  uint16_t port = 0;
  if (!split_host_port(hostport, host, port))
    return make_stagee_error(stagee_errc::invalid_request, "gateway",
                             "--gateway must be HOST:PORT with a port 1..65535, got '" + hostport
                               + "'");
  auto started = std::chrono::steady_clock::now();
  take_tls_failure(host, port); // an earlier connect's
  auto gw = connect_once(sys, host, port);
  // CAF 0.17.6 stamps a connection it opens with "last heard from" = the clock's
  // epoch until the node's handshake arrives, and its heartbeat tick closes every
  // connection not heard from within middleman.connection-timeout: a handshake
  // still under way at the first tick fails with connection_timeout. That is every
  // handshake of a frozen node, and a live node's when it is slow (TLS, load). A
  // new attempt meets the next tick at another point: try again until retry_until.
  while (!gw && gw.error() == caf::sec::connection_timeout
         && std::chrono::steady_clock::now() < retry_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    take_tls_failure(host, port);
    gw = connect_once(sys, host, port);
  }
  if (gw)
    return *gw;
  if (gw.error() == caf::sec::connection_timeout) {
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
    return caf::make_error(caf::sec::cannot_connect_to_node,
                           "cannot reach gateway at " + hostport + ": no handshake within "
                             + std::to_string(waited)
                             + " ms (the node accepts connections but does not answer: it "
                               "may be frozen or overloaded)");
  }
  // A refused handshake surfaces as disconnect_during_handshake or, depending on
  // when the peer closes, as cannot_connect_to_node: the audit says which it was.
  auto tls_reason = take_tls_failure(host, port);
  auto tls_refused = sys.has_openssl_manager()
                     && (gw.error() == caf::sec::disconnect_during_handshake || !tls_reason.empty());
  std::string hint = " (is `stagee node` running there?)";
  if (tls_refused)
    hint = " (TLS handshake refused" + (tls_reason.empty() ? "" : ": " + tls_reason)
           + "; is --tls-cert signed by the nodes' CA, and --tls-ca theirs?)";
  else if (gw.error() == caf::sec::disconnect_during_handshake)
    hint = " (the node may require TLS: give --tls-cert, --tls-key and --tls-ca)";
  auto why = gw.error() == caf::sec::cannot_connect_to_node && !tls_refused
               ? std::string{"connection refused or host unreachable"}
               : sys.render(gw.error());
  return caf::make_error(caf::sec::cannot_connect_to_node,
                         "cannot reach gateway at " + hostport + ": " + why + hint);
}

caf::error load_token(client_options& c) {
  if (c.token_file.empty())
    return caf::none;
  std::ifstream in{c.token_file, std::ios::binary};
  if (!in)
    return make_stagee_error(stagee_errc::invalid_request, "token_file",
                             "cannot read token file '" + c.token_file + "'");
  std::string token;
  std::getline(in, token, '\0');
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
    token.pop_back();
  if (token.empty())
    return make_stagee_error(stagee_errc::invalid_request, "token_file",
                             "token file '" + c.token_file + "' is empty");
  c.cred.token = std::move(token);
  return caf::none;
}

int run_submit(const client_options& c, const submit_options& s) {
  submit_request req;
  req.idempotency_key = s.idempotency_key;
  if (!from_string(s.mode, req.mode))
    return fail(error_json("invalid_request", "--mode must be auto, immediate or background",
                           "mode"),
                exit_unreachable);
  auto plan = read_plan(s.plan_file);
  if (!plan)
    return fail(error_json(plan.error()), exit_unreachable);
  req.plan_json = std::move(*plan);
  // A background submit is answered once admitted; resending it is deduplicated by
  // its idempotency key (given or derived). Immediate ones reply at the end of the run.
  auto quick = req.mode == requested_mode::background ? quick_resend_ms : 0;
  return round_trip<submit_reply>(c, std::move(req), quick);
}

int run_dlq_list(const client_options& c, const dlq_list_request& req) {
  return round_trip<dlq_page>(c, req, quick_resend_ms);
}

int run_dlq_entry(const client_options& c, const dlq_entry_request& req) {
  return round_trip<dlq_entry>(c, req);
}

int run_dlq_summary(const client_options& c, const dlq_summary_request& req) {
  return round_trip<dlq_summary>(c, req, quick_resend_ms);
}

int run_dlq_requeue(const client_options& c, const dlq_requeue_request& req) {
  return round_trip<submit_reply>(c, req);
}

int run_cancel(const client_options& c, const cancel_request& req) {
  // Idempotent (the first request is recorded, repeats only read): resend freely.
  auto rt = c;
  rt.timeout_ms = std::max(c.timeout_ms, req.wait_ms + reply_margin_ms);
  auto rc = round_trip<cancel_reply>(rt, req, req.wait_ms + quick_resend_ms, [](const cancel_reply& r) {
    return r.status == execution_status::cancelled ? 0 : exit_rejected;
  });
  return rc;
}

int run_decide(const client_options& c, const approve_request& req) {
  return round_trip<approve_reply>(c, req);
}

int run_locks(const client_options& c, const locks_request& req) {
  return round_trip<lock_list>(c, req, quick_resend_ms);
}

int run_cluster_status(const client_options& c) {
  return round_trip<cluster_status>(c, cluster_status_request{}, quick_resend_ms);
}

int run_status(const client_options& c, const std::string& execution_id) {
  return round_trip<status_reply>(c, status_request{"", execution_id}, quick_resend_ms);
}

namespace {

/// The gateways a follow may use: --gateway A[,B...], tried in turn.
std::vector<std::string> gateway_list(const std::string& spec) {
  std::vector<std::string> out;
  std::stringstream in{spec};
  for (std::string g; std::getline(in, g, ',');)
    if (!g.empty())
      out.push_back(g);
  return out;
}

/// `wait --follow`: prints events after after_seq as JSON lines, in seq order, then
/// the final status. If the gateway's node goes away, reconnects (to the same or
/// the next gateway of the list) and resumes after the last seq printed (R-CL-4).
int follow_events(const client_options& c, const std::string& execution_id, int64_t after_seq) {
  using steady = std::chrono::steady_clock;
  auto deadline = steady::now() + std::chrono::milliseconds{c.timeout_ms};
  auto gateways = gateway_list(c.gateway);
  if (gateways.empty())
    return fail(error_json("invalid_request", "--gateway must be HOST:PORT[,HOST:PORT...]",
                           "gateway"),
                exit_unreachable);
  client_system cs{c.tls};
  caf::scoped_actor self{*cs.sys};
  auto last = after_seq;
  caf::error last_error;
  for (size_t attempt = 0; steady::now() < deadline; ++attempt) {
    if (attempt > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds{std::min<size_t>(attempt, 10) * 100});
    auto& addr = gateways[attempt % gateways.size()];
    auto gw = connect_gateway(*cs.sys, addr, deadline);
    if (!gw) {
      last_error = gw.error();
      continue;
    }
    self->monitor(*gw);
    subscribe_request sub{"", execution_id, last, caf::actor_cast<event_subscriber_actor>(self)};
    bool subscribed_ok = false;
    self->request(*gw, std::chrono::seconds(30), c.cred, std::move(sub))
      .receive([&](subscribed&) { subscribed_ok = true; },
               [&](caf::error& err) { last_error = err; });
    if (!subscribed_ok) {
      if (last_error == caf::sec::request_timeout || last_error == caf::sec::cannot_connect_to_node)
        continue; // the node went away meanwhile
      return fail(error_json(last_error), exit_rejected);
    }
    if (attempt > 0)
      std::cerr << "stagee: following again through " << addr << " after seq " << last
                << std::endl;
    // Events until the terminal one, the deadline, or the link going down.
    bool done = false, lost = false;
    int quiet = 0;
    while (!done && !lost && steady::now() < deadline) {
      self->receive(
        [&](execution_event& ev) {
          if (ev.seq <= last && ev.seq > 0)
            return; // a resubscription replays from last: nothing twice
          print(to_json(ev));
          last = std::max(last, ev.seq);
          done = is_terminal(ev.status);
          quiet = 0;
        },
        [&](caf::down_msg& dm) {
          if (dm.source == gw->address())
            lost = true;
        },
        caf::after(std::chrono::milliseconds{500}) >> [&] {
          // Belt and braces: an execution that ended without a last event reaching
          // us (the node's bus catches up from the journal every second anyway).
          if (++quiet % 6 != 0)
            return;
          self->request(*gw, std::chrono::seconds(10), c.cred, status_request{"", execution_id})
            .receive([&](status_reply& rep) { done = is_terminal(rep.status); },
                     [](caf::error&) {});
        });
    }
    if (lost) {
      std::cerr << "stagee: lost the link to " << addr << "; reconnecting" << std::endl;
      last_error = caf::make_error(caf::sec::cannot_connect_to_node,
                                   "lost the link to " + addr);
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    int rc = 0;
    self->request(*gw, std::chrono::milliseconds{std::max<int64_t>(left.count(), 0) + reply_margin_ms},
                  c.cred, wait_request{"", execution_id, std::max<int64_t>(left.count(), 0)})
      .receive([&](status_reply& rep) { print(to_json(rep)); },
               [&](caf::error& err) { rc = fail(error_json(err), exit_rejected); });
    return rc;
  }
  return unreachable(last_error ? last_error
                                : caf::make_error(caf::sec::request_timeout, "no gateway answered"));
}

} // namespace

int run_wait(const client_options& c, const std::string& execution_id, bool follow,
             int64_t after_seq) {
  if (!follow) {
    // The gateway answers deadline_exceeded at timeout_ms; give the reply time to arrive.
    auto rt = c;
    rt.timeout_ms = c.timeout_ms + reply_margin_ms;
    return round_trip<status_reply>(rt, wait_request{"", execution_id, c.timeout_ms});
  }
  return follow_events(c, execution_id, after_seq);
}

} // namespace stagee
