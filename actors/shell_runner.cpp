#include "actors/shell_runner.hpp"

#include "actors/subprocess.hpp"
#include "actors/utf8.hpp"
#include "config/logging.hpp"

namespace stagee {

namespace {

step_result run(const run_step& req, const shell_runner_settings& settings,
               const stop_flag& stop) {
  process_spec spec;
  spec.argv = req.argv;
  spec.env = {{"STAGEE_EXECUTION_ID", req.execution_id},
              {"STAGEE_STEP", req.step_name},
              {"STAGEE_ATTEMPT", std::to_string(req.attempt)},
              {"STAGEE_TARGET", req.target},
              {"STAGEE_IDEMPOTENCY_KEY", req.idempotency_key},
              {"STAGEE_REQUEST_ID", req.request_id},
              {"STAGEE_FENCE", std::to_string(req.fence)}};
  if (!req.lock_key.empty()) { // the target's lock: a target can refuse stale holders
    spec.env.emplace_back("STAGEE_LOCK_KEY", req.lock_key);
    spec.env.emplace_back("STAGEE_LOCK_FENCE", std::to_string(req.lock_fence));
  }
  for (auto& [name, value] : req.env) // the plan's (STAGEE_* names are refused there)
    spec.env.emplace_back(name, value);
  // Captured output passes a masker that knows this run's secret values (streamed:
  // a value split across two reads is still caught, R-SAFE-5).
  std::shared_ptr<const masking::masker> mask;
  if (!req.secret_values.empty())
    mask = std::make_shared<const masking::masker>(req.secret_values);
  spec.mask = mask;
  spec.timeout = std::chrono::milliseconds{req.timeout_ms};
  spec.kill_grace = std::chrono::milliseconds{settings.kill_grace_ms};
  spec.output_cap = static_cast<size_t>(req.output_cap_bytes);
  spec.stop = stop;
  auto res = run_process(spec);
  step_result out;
  out.run_index = req.run_index;
  out.duration_ms = res.duration_ms;
  out.output.run_index = req.run_index;
  // Steps may print anything; the journal stores text (valid UTF-8, no NUL).
  out.output.stdout_text = storable_text(res.stdout_text);
  out.output.stderr_text = storable_text(res.stderr_text);
  out.output.truncated = res.stdout_truncated || res.stderr_truncated;
  out.output.error = mask ? mask->mask(res.error) : res.error; // e.g. a secret in argv[0]
  if (res.timed_out) {
    out.status = step_status::timed_out;
    out.output.error = "timed out after " + std::to_string(req.timeout_ms) + " ms";
  } else if (res.stopped) {
    out.status = step_status::failed;
    out.output.error = "stopped";
  } else if (res.started && res.term_signal == 0 && res.exit_code == 0) {
    out.status = step_status::succeeded;
  } else {
    out.status = step_status::failed;
    if (res.term_signal != 0 && out.output.error.empty())
      out.output.error = "killed by signal " + std::to_string(res.term_signal);
  }
  if (res.exit_code >= 0)
    out.exit_code = res.exit_code;
  return out;
}

} // namespace

std::vector<std::string> expand_argv(const std::vector<std::string>& argv,
                                     const std::string& target) {
  static const std::string placeholder = "{{target}}";
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (auto arg : argv) {
    for (auto pos = arg.find(placeholder); pos != std::string::npos;
         pos = arg.find(placeholder, pos + target.size()))
      arg.replace(pos, placeholder.size(), target);
    out.push_back(std::move(arg));
  }
  return out;
}

step_runner_actor::behavior_type shell_runner(step_runner_actor::pointer self,
                                              shell_runner_settings settings, stop_flag stop) {
  return {
    [=](const run_step& req) {
      auto result = run(req, settings, stop);
      self->quit();
      return result;
    },
  };
}

} // namespace stagee
