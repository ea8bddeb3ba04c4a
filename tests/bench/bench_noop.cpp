/// stagee_bench: throughput and submit latency of no-op plans against a running node.
///
///   stagee_bench --gateway HOST:PORT --count N --concurrency C
///                [--mode background|immediate|auto] [--tenant T] [--steps S] [--targets K]
///
/// One event-based actor keeps C submit requests in flight until N distinct no-op plans
/// (S steps of executor "noop" over K targets, a unique plan name and idempotency key
/// each) are submitted, recording each submit's latency (request sent -> reply). In
/// background mode a submit replies once the execution is queued, so the actor then
/// sends one wait_request per execution, again C at a time, until every execution is
/// terminal. In immediate mode (and auto, which picks immediate for no-op plans) the
/// submit replies when the execution ended, and its reply carries the final status.
/// If the gateway's node goes away, the run stops and counts the rest as lost.
///
/// Output on stdout: one JSON line ({"event":"bench_result",...}) and a human table.
/// Exit code: 0 when every execution succeeded, 1 when any failed or errored,
/// 2 for bad usage or an unreachable gateway.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include "messages/errors.hpp"
#include "messages/gateway.hpp"
#include "messages/type_ids.hpp"
#include "runtime/client.hpp"

namespace {

using namespace stagee;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

struct bench_options;
stagee::credential credential_of(const bench_options& o);

struct bench_options {
  std::string gateway;
  int64_t count = 1000;
  int64_t concurrency = 32;
  std::string mode = "background";
  std::string tenant = "bench";
  std::string principal = "bench";
  std::string token; // JWT; empty: dev-mode credential (tenant, principal)
  int32_t steps = 1;
  int32_t targets = 1;
  std::string action_class = "read"; // modify: per-asset locks, distinct targets per execution
  int64_t submit_timeout_ms = 600000;
  int64_t wait_timeout_ms = 600000;
  std::string label;
  bool quiet = false; // no human table
};

stagee::credential credential_of(const bench_options& o) {
  return stagee::credential{o.token, o.tenant, o.principal};
}

/// What the driver actor hands back to main().
struct bench_result {
  int64_t submitted_ok = 0;
  int64_t submit_errors = 0;
  int64_t duplicates = 0;
  int64_t succeeded = 0;
  int64_t not_succeeded = 0; // terminal, but failed/cancelled/rejected
  int64_t wait_errors = 0;   // wait_request errors (deadline_exceeded, timeouts, ...)
  std::vector<double> submit_latency_ms;
  std::vector<std::string> error_samples;
  clock_type::time_point first_submit;
  clock_type::time_point last_submit_reply;
  clock_type::time_point last_terminal;
};

struct driver_state {
  static inline const char* name = "bench-driver";
  bench_options opts;
  gateway_actor gw;
  requested_mode mode = requested_mode::background;
  std::string run_id;
  std::vector<std::string> target_names;
  std::vector<std::string> execution_ids; // by submit index; "" when the submit failed
  int64_t next_submit = 0;
  int64_t submits_done = 0;
  int64_t in_flight = 0;
  int64_t next_wait = 0;
  int64_t waits_expected = 0;
  int64_t waits_done = 0;
  std::shared_ptr<bench_result> out;
  std::shared_ptr<std::promise<void>> done;
};

using driver_ptr = caf::stateful_actor<driver_state>*;

void note_error(driver_ptr self, const std::string& what) {
  auto& samples = self->state.out->error_samples;
  if (samples.size() < 5)
    samples.push_back(what);
}

std::string render(driver_ptr self, const caf::error& err) {
  auto d = describe(err);
  if (!d.code.empty() && d.code != "error" && d.code != "system_error")
    return d.code + ": " + d.message;
  return self->system().render(err);
}

std::string plan_json(const driver_state& st, int64_t i) {
  json steps = json::array();
  for (int32_t s = 1; s <= st.opts.steps; ++s)
    steps.push_back({{"name", "noop-" + std::to_string(s)}, {"executor", "noop"}});
  // A modify plan takes a lock per target: give each execution targets of its own,
  // so the figure is the cost of locking, not of waiting for a lock.
  auto targets = st.target_names;
  if (st.opts.action_class != "read")
    for (auto& t : targets)
      t += "-" + std::to_string(i);
  json doc{{"name", "bench noop " + st.run_id + " " + std::to_string(i)},
           {"action", "bench-noop"},
           {"action_class", st.opts.action_class},
           {"sla_class", "fast"},
           {"environment", "bench"},
           {"targets", std::move(targets)},
           {"steps", std::move(steps)}};
  return doc.dump();
}

void finish(driver_ptr self) {
  self->state.done->set_value();
  self->quit();
}

void send_waits(driver_ptr self);

void start_waits(driver_ptr self) {
  auto& st = self->state;
  for (auto& id : st.execution_ids)
    st.waits_expected += id.empty() ? 0 : 1;
  if (st.waits_expected == 0) {
    finish(self);
    return;
  }
  send_waits(self);
}

void send_waits(driver_ptr self) {
  auto& st = self->state;
  auto n = static_cast<int64_t>(st.execution_ids.size());
  while (st.in_flight < st.opts.concurrency && st.next_wait < n) {
    auto& id = st.execution_ids[static_cast<size_t>(st.next_wait++)];
    if (id.empty())
      continue;
    ++st.in_flight;
    wait_request req{st.opts.tenant, id, st.opts.wait_timeout_ms};
    self->request(st.gw, std::chrono::milliseconds{st.opts.wait_timeout_ms + 30000},
                  credential_of(st.opts), std::move(req))
      .then(
        [=](status_reply& rep) {
          auto& st = self->state;
          --st.in_flight;
          ++st.waits_done;
          st.out->last_terminal = clock_type::now();
          if (rep.status == execution_status::succeeded) {
            ++st.out->succeeded;
          } else {
            ++st.out->not_succeeded;
            note_error(self, "execution " + rep.execution_id + " ended " + to_string(rep.status)
                               + (rep.error_class.empty() ? "" : " (" + rep.error_class + ": "
                                                                   + rep.error_message + ")"));
          }
          if (st.waits_done == st.waits_expected)
            finish(self);
          else
            send_waits(self);
        },
        [=](caf::error& err) {
          auto& st = self->state;
          --st.in_flight;
          ++st.waits_done;
          ++st.out->wait_errors;
          st.out->last_terminal = clock_type::now();
          note_error(self, "wait: " + render(self, err));
          if (st.waits_done == st.waits_expected)
            finish(self);
          else
            send_waits(self);
        });
  }
}

void send_submits(driver_ptr self) {
  auto& st = self->state;
  while (st.in_flight < st.opts.concurrency && st.next_submit < st.opts.count) {
    auto i = st.next_submit++;
    submit_request req;
    req.tenant_id = st.opts.tenant;
    req.principal = st.opts.principal;
    req.idempotency_key = "bench-" + st.run_id + "-" + std::to_string(i);
    req.mode = st.mode;
    req.plan_json = plan_json(st, i);
    ++st.in_flight;
    auto sent = clock_type::now();
    if (i == 0)
      st.out->first_submit = sent;
    auto on_done = [=](bool ok) {
      auto& st = self->state;
      auto now = clock_type::now();
      --st.in_flight;
      ++st.submits_done;
      if (ok)
        st.out->submit_latency_ms[static_cast<size_t>(i)] =
          std::chrono::duration<double, std::milli>(now - sent).count();
      st.out->last_submit_reply = now;
      if (st.submits_done < st.opts.count) {
        send_submits(self);
        return;
      }
      start_waits(self);
    };
    self->request(st.gw, std::chrono::milliseconds{st.opts.submit_timeout_ms},
                  credential_of(st.opts), std::move(req))
      .then(
        [=](submit_reply& rep) {
          auto& st = self->state;
          ++st.out->submitted_ok;
          if (rep.duplicate) {
            // Keys are unique per run, so this is a dedup bug (or a reused run id).
            ++st.out->duplicates;
            note_error(self, "submit " + std::to_string(i) + " was a duplicate of "
                               + rep.execution_id);
          } else if (rep.mode == execution_mode::immediate) {
            // The reply comes when the execution ended and carries its final status.
            st.out->last_terminal = clock_type::now();
            if (rep.status == execution_status::succeeded) {
              ++st.out->succeeded;
            } else {
              ++st.out->not_succeeded;
              note_error(self, "execution " + rep.execution_id + " ended "
                                 + to_string(rep.status));
            }
          } else {
            st.execution_ids[static_cast<size_t>(i)] = rep.execution_id;
          }
          on_done(true);
        },
        [=](caf::error& err) mutable {
          ++self->state.out->submit_errors;
          note_error(self, "submit " + std::to_string(i) + ": " + render(self, err));
          on_done(false);
        });
  }
}

caf::behavior driver(driver_ptr self, bench_options opts, gateway_actor gw,
                     std::shared_ptr<bench_result> out, std::shared_ptr<std::promise<void>> done) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.gw = std::move(gw);
  st.out = std::move(out);
  st.done = std::move(done);
  from_string(st.opts.mode, st.mode);
  std::random_device rd;
  char buf[17];
  snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  st.run_id = buf;
  for (int32_t k = 1; k <= st.opts.targets; ++k)
    st.target_names.push_back("bench-target-" + std::to_string(k));
  st.execution_ids.resize(static_cast<size_t>(st.opts.count));
  st.out->submit_latency_ms.assign(static_cast<size_t>(st.opts.count), -1.0);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source == self->state.gw.address()) {
      // Requests in flight to a dead node only end at their deadline (field guide,
      // gotcha 12): stop now; main() counts every execution without an outcome as lost.
      note_error(self, "gateway went down: " + self->system().render(dm.reason));
      finish(self);
    }
  });
  self->monitor(st.gw);
  send_submits(self);
  // Everything happens in response handlers; this keeps the actor alive meanwhile.
  return {[](caf::ok_atom) {}};
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty())
    return 0.0;
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

/// CPU time (user + system) this process used so far.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

} // namespace

int main(int argc, char** argv) {
  bench_options o;
  CLI::App app{"Stage E no-op benchmark: executions/s and submit latency against a node"};
  app.add_option("--gateway", o.gateway, "gateway address HOST:PORT")->required();
  app.add_option("--count", o.count, "executions to submit")
    ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  app.add_option("--concurrency", o.concurrency, "requests in flight")
    ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_option("--mode", o.mode, "background|immediate|auto")
    ->capture_default_str()->check(CLI::IsMember({"background", "immediate", "auto"}));
  app.add_option("--tenant", o.tenant, "tenant id")->capture_default_str();
  app.add_option("--principal", o.principal, "submitting principal")->capture_default_str();
  app.add_option("--token", o.token, "JWT for token-mode nodes (or STAGEE_TOKEN)")
    ->envname("STAGEE_TOKEN");
  app.add_option("--steps", o.steps, "noop steps per plan")
    ->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--targets", o.targets, "targets per plan")
    ->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--submit-timeout-ms", o.submit_timeout_ms, "deadline of one submit")
    ->capture_default_str();
  app.add_option("--wait-timeout-ms", o.wait_timeout_ms, "deadline of one wait")
    ->capture_default_str();
  app.add_option("--action-class", o.action_class,
                 "read (no locks) or modify (a lock per target, targets distinct per execution)")
    ->capture_default_str()->check(CLI::IsMember({"read", "modify"}));
  app.add_option("--label", o.label, "scenario name copied into the output");
  app.add_flag("--quiet", o.quiet, "print only the JSON line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  caf::actor_system_config cfg;
  configure_client(cfg);
  caf::actor_system sys{cfg};
  auto gw = connect_gateway(sys, o.gateway,
                            std::chrono::steady_clock::now() + std::chrono::seconds(10));
  if (!gw) {
    std::cout << json{{"event", "bench_error"},
                      {"error", "cannot reach gateway at " + o.gateway + ": "
                                  + sys.render(gw.error())}}
                   .dump()
              << std::endl;
    return 2;
  }

  auto out = std::make_shared<bench_result>();
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  sys.spawn(driver, o, *gw, out, done);
  finished.wait();

  auto& r = *out;
  std::vector<double> lat;
  lat.reserve(r.submit_latency_ms.size());
  for (auto x : r.submit_latency_ms)
    if (x >= 0)
      lat.push_back(x);
  std::sort(lat.begin(), lat.end());
  double mean = 0;
  for (auto x : lat)
    mean += x;
  mean = lat.empty() ? 0 : mean / static_cast<double>(lat.size());
  if (r.last_terminal < r.last_submit_reply)
    r.last_terminal = r.last_submit_reply; // nothing waited for (or nothing ended)
  auto submit_s = seconds_between(r.first_submit, r.last_submit_reply);
  auto total_s = seconds_between(r.first_submit, r.last_terminal);
  auto drain_s = seconds_between(r.last_submit_reply, r.last_terminal);
  // Executions with no outcome at all (the gateway went down before answering).
  auto lost = std::max<int64_t>(0, o.count - r.succeeded - r.not_succeeded - r.submit_errors
                                     - r.duplicates - r.wait_errors);
  auto failures = r.submit_errors + r.duplicates + r.not_succeeded + r.wait_errors + lost;
  auto rate = [](double n, double s) { return s > 0 ? n / s : 0.0; };
  auto round3 = [](double x) { return std::round(x * 1000.0) / 1000.0; };
  auto round1 = [](double x) { return std::round(x * 10.0) / 10.0; };

  json j{{"event", "bench_result"},
         {"label", o.label},
         {"mode", o.mode},
         {"count", o.count},
         {"concurrency", o.concurrency},
         {"steps", o.steps},
         {"targets", o.targets},
         {"total_s", round3(total_s)},
         {"submit_phase_s", round3(submit_s)},
         {"drain_s", round3(drain_s)},
         {"submits_per_s", round1(rate(static_cast<double>(r.submitted_ok), submit_s))},
         {"executions_per_s", round1(rate(static_cast<double>(r.succeeded), total_s))},
         {"submit_latency_ms",
          {{"mean", round3(mean)},
           {"p50", round3(percentile(lat, 50))},
           {"p90", round3(percentile(lat, 90))},
           {"p99", round3(percentile(lat, 99))},
           {"max", round3(lat.empty() ? 0.0 : lat.back())}}},
         {"succeeded", r.succeeded},
         {"failures", failures},
         {"failure_detail",
          {{"submit_errors", r.submit_errors},
           {"duplicates", r.duplicates},
           {"not_succeeded", r.not_succeeded},
           {"wait_errors", r.wait_errors},
           {"lost", lost}}},
         {"client_cpu_s", round3(cpu_seconds())},
         {"error_samples", r.error_samples}};
  std::cout << j.dump() << std::endl;

  if (!o.quiet) {
    auto& l = j["submit_latency_ms"];
    std::printf("\n%-30s %s\n", "scenario", o.label.empty() ? "-" : o.label.c_str());
    std::printf("%-30s %s, %lld executions, concurrency %lld, %d step(s) x %d target(s)\n",
                "workload", o.mode.c_str(), static_cast<long long>(o.count),
                static_cast<long long>(o.concurrency), o.steps, o.targets);
    std::printf("%-30s %.3f s (submits %.3f s, drain %.3f s)\n", "first submit -> last terminal",
                total_s, submit_s, drain_s);
    std::printf("%-30s %.1f\n", "submits/s", j["submits_per_s"].get<double>());
    std::printf("%-30s %.1f\n", "executions/s", j["executions_per_s"].get<double>());
    std::printf("%-30s p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  mean %.2f\n", "submit latency ms",
                l["p50"].get<double>(), l["p90"].get<double>(), l["p99"].get<double>(),
                l["max"].get<double>(), l["mean"].get<double>());
    std::printf("%-30s %lld succeeded, %lld failures\n", "outcome",
                static_cast<long long>(r.succeeded), static_cast<long long>(failures));
    for (auto& e : r.error_samples)
      std::printf("  error: %s\n", e.c_str());
    std::fflush(stdout);
  }
  return failures == 0 && r.succeeded == o.count ? 0 : 1;
}
