#include "runtime/client.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

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
  client_system() {
    add_stagee_types(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", 2);
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
    client_system cs;
    auto gw = connect_gateway(*cs.sys, c.gateway);
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

caf::expected<gateway_actor> connect_gateway(caf::actor_system& sys, const std::string& hostport) {
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == hostport.size())
    return make_stagee_error(stagee_errc::invalid_request, "gateway",
                             "--gateway must be HOST:PORT, got '" + hostport + "'");
  uint16_t port = 0;
  try {
    auto p = std::stoul(hostport.substr(colon + 1));
    if (p == 0 || p > 65535)
      throw std::out_of_range("port");
    port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return make_stagee_error(stagee_errc::invalid_request, "gateway",
                             "--gateway port must be 1..65535, got '" + hostport + "'");
  }
  auto gw = sys.middleman().remote_actor<gateway_actor>(hostport.substr(0, colon), port);
  if (!gw)
    return caf::make_error(caf::sec::cannot_connect_to_node,
                           "cannot reach gateway at " + hostport + ": " + sys.render(gw.error())
                             + " (is `stagee node` running there?)");
  return *gw;
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

int run_status(const client_options& c, const std::string& execution_id) {
  return round_trip<status_reply>(c, status_request{"", execution_id}, quick_resend_ms);
}

int run_wait(const client_options& c, const std::string& execution_id, bool follow) {
  if (!follow) {
    // The gateway answers deadline_exceeded at timeout_ms; give the reply time to arrive.
    auto rt = c;
    rt.timeout_ms = c.timeout_ms + reply_margin_ms;
    return round_trip<status_reply>(rt, wait_request{"", execution_id, c.timeout_ms});
  }
  client_system cs;
  auto gw = connect_gateway(*cs.sys, c.gateway);
  if (!gw)
    return unreachable(gw.error());
  caf::scoped_actor self{*cs.sys};
  subscribe_request sub{"", execution_id, 0, caf::actor_cast<event_subscriber_actor>(self)};
  int rc = 0;
  self->request(*gw, std::chrono::seconds(30), c.cred, std::move(sub))
    .receive([](subscribed&) {}, [&](caf::error& err) { rc = fail(error_json(err), exit_rejected); });
  if (rc != 0)
    return rc;
  // Print events until the terminal one (or the deadline), then the final status.
  // Events of an execution running on another node do not reach this node's bus
  // (yet): after two quiet seconds, ask for the status instead.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{c.timeout_ms};
  bool done = false;
  int quiet = 0;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    self->receive(
      [&](execution_event& ev) {
        print(to_json(ev));
        done = is_terminal(ev.status);
        quiet = 0;
      },
      caf::after(std::chrono::milliseconds{500}) >> [&] {
        if (++quiet % 4 != 0)
          return;
        self->request(*gw, std::chrono::seconds(10), c.cred, status_request{"", execution_id})
          .receive([&](status_reply& rep) { done = is_terminal(rep.status); },
                   [](caf::error&) {});
      });
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - std::chrono::steady_clock::now());
  self->request(*gw, std::chrono::milliseconds{std::max<int64_t>(left.count(), 0) + reply_margin_ms},
                c.cred, wait_request{"", execution_id, std::max<int64_t>(left.count(), 0)})
    .receive([&](status_reply& rep) { print(to_json(rep)); },
             [&](caf::error& err) { rc = fail(error_json(err), exit_rejected); });
  return rc;
}

} // namespace stagee
