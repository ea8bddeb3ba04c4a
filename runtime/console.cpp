#include "runtime/console.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <variant>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/membership.hpp"
#include "config/masker.hpp"
#include "messages/errors.hpp"
#include "messages/type_ids.hpp"
#include "runtime/console_args.hpp"
#include "runtime/console_view.hpp"
#include "runtime/json_view.hpp"
#include "runtime/line_editor.hpp"

namespace stagee {

namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

constexpr int exit_failed = 1;
constexpr int exit_unreachable = 2;

/// Actor kinds a node registers with its inspector (actors --kind, completion).
const std::vector<std::string>& actor_kinds() {
  static const std::vector<std::string> kinds{
    "admission",    "approver",        "authorizer",  "dlq-keeper",     "event-bus",
    "execution",    "gateway",         "inspector",   "lease-reaper",   "lock-manager",
    "member-recorder", "membership",   "queue-claimer", "reader",       "secret-resolver",
    "timeout-scheduler", "worker-supervisor"};
  return kinds;
}

/// Errors that mean the node is gone or not answering (not a refusal).
bool link_error(const caf::error& err) {
  return err == caf::sec::request_receiver_down || err == caf::sec::request_timeout
         || err == caf::sec::cannot_connect_to_node || err == caf::sec::no_route_to_receiving_node
         || err == caf::sec::connection_timeout;
}

std::string format_step(const json& row) {
  auto step = cell_text(row.value("step", json()));
  if (step == "-")
    return "-";
  auto idx = row.value("step_index", -1);
  return (idx >= 0 ? std::to_string(idx) + ":" : std::string{}) + step;
}

/// Splits "use n2; actors" at the semicolons outside quotes (the tokenizer reports
/// quoting errors in each part).
std::vector<std::string> split_commands(const std::string& line) {
  std::vector<std::string> out{""};
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    auto c = line[i];
    if (quote == 0 && c == ';') {
      out.emplace_back();
      continue;
    }
    if (c == '\\' && quote != '\'' && i + 1 < line.size()) {
      out.back() += c;
      c = line[++i];
    } else if (quote == 0 && (c == '\'' || c == '"')) {
      quote = c;
    } else if (c == quote) {
      quote = 0;
    }
    out.back() += c;
  }
  return out;
}

class console;
using handler = int (console::*)(const parsed_args&);

struct command {
  command_spec spec;
  std::string usage;
  std::string summary;
  handler run;
};

/// One interactive or one-shot session against a node (switchable with `use`).
class console {
public:
  explicit console(const console_options& o) : opts_(o) {
    configure_client(cfg_, o.client.tls);
    // A frozen node sends no heartbeats: drop the link after 10 s of silence, so that
    // `tail` ends instead of waiting for ever (nodes beat every --heartbeat-ms, 500 ms).
    // It also makes CAF cut a handshake under way at a heartbeat tick: connects are
    // tried again until their deadline (connect_gateway).
    cfg_.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds{10}});
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    self_ = std::make_unique<caf::scoped_actor>(*sys_);
    node_.address = o.client.gateway;
    define_commands();
  }

  ~console() {
    self_.reset();
    if (abandoned_connects_ > 0) {
      // A connect to a frozen node is still blocked inside CAF: the actor system
      // cannot shut down under it. Everything is printed; leave now.
      std::cout.flush();
      std::_Exit(final_rc_);
    }
  }

  /// Runs `-c` commands (several: separated by ';'), stopping at the first that fails.
  int run_one(const std::string& line) {
    for (auto& cmd : split_commands(line)) {
      last_rc_ = execute(cmd);
      if (last_rc_ != 0 || quit_)
        break;
    }
    return final_rc_ = last_rc_;
  }

  int run_interactive() {
    line_editor editor{history_path()};
    editing_ = true;
    editor.set_completer([this](const std::string& before, const std::string& word) {
      return complete(before, word);
    });
    if (editor.interactive())
      std::cout << "Stage E console. `help` lists the commands; Tab completes; Ctrl-D leaves."
                << std::endl;
    if (ensure_link())
      learn_name();
    while (!quit_) {
      auto line = editor.read(prompt());
      if (!line)
        break;
      for (auto& cmd : split_commands(*line))
        if (!quit_)
          last_rc_ = execute(cmd);
    }
    return final_rc_ = 0;
  }

private:
  struct link {
    std::string address;
    std::string name; // learned from the node (cluster status); empty until then
    std::optional<gateway_actor> gateway;
  };

  console_options opts_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<caf::scoped_actor> self_;
  link node_;
  std::map<std::string, gateway_actor> others_; // by address (stats)
  std::vector<command> commands_;
  std::vector<member_status> members_;           // last `nodes`
  std::set<std::string> execution_ids_, actor_ids_, dlq_ids_; // for completion
  int abandoned_connects_ = 0;
  int last_rc_ = 0;  // of the command running or last run
  int final_rc_ = 0; // the process's
  bool quit_ = false;
  bool editing_ = false; // interactive: the line editor owns SIGINT
  std::map<std::string, std::string> shown_hashes_; // plan hash `show` displayed, by execution

  // -- plumbing --------------------------------------------------------------------

  std::string history_path() const {
    if (opts_.history_file == "-")
      return {};
    if (!opts_.history_file.empty())
      return opts_.history_file;
    auto home = std::getenv("HOME");
    return home ? std::string{home} + "/.stagee_console_history" : std::string{};
  }

  std::string prompt() const {
    return "stagee:" + cell_text(node_.name.empty() ? node_.address : node_.name) + "> ";
  }

  std::string node_label() const {
    return node_.name.empty() ? node_.address : node_.name + " (" + node_.address + ")";
  }

  milliseconds timeout() const { return milliseconds{opts_.client.timeout_ms}; }

  /// Prints a document: as JSON, or laid out by `text`. Masked either way.
  void emit(const json& doc, const std::function<std::string(const json&)>& text) {
    auto masked = masking::patterns().mask_json(doc);
    if (opts_.json)
      std::cout << masked.dump() << std::endl;
    else
      std::cout << text(masked) << std::flush;
  }

  int fail(const std::string& code, const std::string& message, int rc,
           const std::string& field = {}) {
    last_rc_ = rc;
    auto doc = masking::patterns().mask_json(error_json(code, message, field));
    if (opts_.json)
      std::cout << doc.dump() << std::endl;
    else
      std::cerr << "error: " << cell_text(doc["error"]["message"]) << " ("
                << cell_text(doc["error"]["code"]) << ")" << std::endl;
    return rc;
  }

  int fail(const caf::error& err, const std::string& what) {
    if (link_error(err)) {
      node_.gateway.reset(); // reconnect before the next command
      return fail("unavailable",
                  "node " + node_label() + " did not answer " + what + ": "
                    + (err == caf::sec::request_timeout
                         ? "no reply within " + human_ms(timeout().count())
                         : std::string{"the link is down"})
                    + " (it may have stopped; `nodes` lists the members, `use NODE` switches)",
                  exit_unreachable);
    }
    auto d = describe(err);
    return fail(d.code, d.message, exit_failed, d.field);
  }

  /// Connects, giving up after a few seconds. A frozen node's handshake never
  /// comes: with our connection timeout set, CAF cuts it at its next heartbeat tick
  /// and connect_gateway tries again until the deadline. The connect still runs on
  /// its own thread, so that a connect stuck inside CAF cannot hold the console.
  using pending_connect = std::future<caf::expected<gateway_actor>>;
  using steady = std::chrono::steady_clock;

  milliseconds connect_limit() const {
    return milliseconds{std::clamp<int64_t>(opts_.client.timeout_ms, 1000, 10000)};
  }

  pending_connect start_connect(const std::string& address, steady::time_point deadline) {
    auto task = std::make_shared<std::promise<caf::expected<gateway_actor>>>();
    auto result = task->get_future();
    std::thread([sys = sys_.get(), address, deadline, task] {
      task->set_value(connect_gateway(*sys, address, deadline));
    }).detach();
    return result;
  }

  caf::expected<gateway_actor> finish_connect(pending_connect& c, const std::string& address,
                                              steady::time_point deadline) {
    // The connect gives up by itself at the deadline; a second more for its answer.
    if (c.wait_until(deadline + std::chrono::seconds(1)) == std::future_status::ready)
      return c.get();
    ++abandoned_connects_;
    return caf::make_error(caf::sec::cannot_connect_to_node,
                           "no handshake from " + address + " within "
                             + human_ms(connect_limit().count())
                             + " (the node may be frozen or overloaded)");
  }

  caf::expected<gateway_actor> connect(const std::string& address) {
    auto deadline = steady::now() + connect_limit();
    auto c = start_connect(address, deadline);
    return finish_connect(c, address, deadline);
  }

  /// Forgets the link when the node went away since the last command: CAF 0.17
  /// silently drops a request sent to a dead node's proxy (it would only time out),
  /// but the monitor's down_msg is waiting in our mailbox.
  void notice_lost_link() {
    for (bool more = true; more;)
      (*self_)->receive(
        [&](caf::down_msg& dm) {
          if (node_.gateway && dm.source == node_.gateway->address())
            node_.gateway.reset();
          for (auto i = others_.begin(); i != others_.end();)
            i = i->second.address() == dm.source ? others_.erase(i) : std::next(i);
        },
        caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
  }

  void set_link(std::string address, gateway_actor gw) {
    if (node_.gateway)
      (*self_)->demonitor(node_.gateway->address());
    (*self_)->monitor(gw);
    node_ = link{std::move(address), {}, std::move(gw)};
  }

  /// The current node's gateway, connecting (again) if needed; prints why not.
  bool ensure_link() {
    notice_lost_link();
    if (node_.gateway)
      return true;
    auto gw = connect(node_.address);
    if (!gw) {
      auto d = describe(gw.error());
      fail("unavailable", d.message, exit_unreachable);
      return false;
    }
    auto name = node_.name;
    set_link(node_.address, *gw);
    node_.name = name;
    return true;
  }

  /// Asks the current node; nullopt when it refused or did not answer (printed).
  template <class Reply, class Request>
  std::optional<Reply> ask(Request req, const std::string& what,
                           std::optional<milliseconds> wait = {}) {
    if (!ensure_link())
      return std::nullopt;
    std::optional<Reply> out;
    caf::error error;
    (*self_)
      ->request(*node_.gateway, wait.value_or(timeout()), opts_.client.cred, std::move(req))
      .receive([&](Reply& r) { out = std::move(r); }, [&](caf::error& err) { error = err; });
    if (!out)
      fail(error, what);
    return out;
  }

  /// Asks other nodes (stats) all at once: connects in parallel, then every request
  /// in flight together, so a slow member costs one timeout, not one each. Per
  /// address: the reply, or the error as text.
  template <class Reply, class Request>
  std::map<std::string, std::variant<Reply, std::string>>
  ask_all(const std::vector<std::string>& addresses, const Request& req) {
    std::map<std::string, std::variant<Reply, std::string>> out;
    notice_lost_link(); // forget links to nodes that went away
    std::map<std::string, pending_connect> connecting;
    auto deadline = steady::now() + connect_limit();
    for (auto& a : addresses)
      if (others_.count(a) == 0)
        connecting.emplace(a, start_connect(a, deadline));
    for (auto& [a, c] : connecting) {
      auto gw = finish_connect(c, a, deadline);
      if (!gw) {
        out[a] = describe(gw.error()).message;
        continue;
      }
      (*self_)->monitor(*gw);
      others_[a] = *gw;
    }
    std::vector<std::function<void()>> replies;
    for (auto& a : addresses) {
      auto i = others_.find(a);
      if (i == others_.end())
        continue;
      auto h = (*self_)->request(i->second, timeout(), opts_.client.cred, req);
      replies.emplace_back([this, h, a, &out]() mutable {
        h.receive([&](Reply& r) { out[a] = std::move(r); },
                  [&](caf::error& err) {
                    if (link_error(err))
                      others_.erase(a);
                    out[a] = describe(err).message;
                  });
      });
    }
    for (auto& collect : replies)
      collect();
    return out;
  }

  /// Learns the current node's name (for the prompt and `whereami`).
  void learn_name() {
    if (!ensure_link())
      return;
    (*self_)->request(*node_.gateway, timeout(), opts_.client.cred, cluster_status_request{})
      .receive(
        [&](cluster_status& s) {
          node_.name = s.node;
          members_ = s.members;
        },
        [](caf::error&) {});
  }

  int execute(const std::string& line) {
    std::vector<command_spec> specs;
    for (auto& c : commands_)
      specs.push_back(c.spec);
    auto args = parse_line(line, specs);
    if (!args.ok())
      return fail("invalid_request", args.error, exit_unreachable);
    if (args.command.empty())
      return 0;
    for (auto& c : commands_)
      if (c.spec.name == args.command) {
        last_rc_ = 0;
        auto rc = (this->*c.run)(args);
        return last_rc_ != 0 ? last_rc_ : rc;
      }
    return fail("invalid_request", "unknown command '" + args.command + "'; `help` lists them",
                exit_unreachable);
  }

  // -- completion --------------------------------------------------------------------

  std::vector<std::string> complete(const std::string& before, const std::string& word) {
    auto words = tokenize(before).words;
    bool first = words.empty() || (words.size() == 1 && !before.empty() && before.back() != ' ');
    std::vector<std::string> out;
    if (first) {
      for (auto& c : commands_)
        out.push_back(c.spec.name);
      return out;
    }
    auto& cmd = words.front();
    // The value of the option just before the cursor.
    auto prev = words.size() >= 2 && before.back() != ' ' ? words[words.size() - 2]
                                                          : words.back();
    if (prev == "--kind")
      return actor_kinds();
    if (prev == "--status") {
      out = {"active", "pending", "awaiting_approval", "queued", "running",
             "succeeded", "failed", "cancelled", "rejected"};
      return out;
    }
    if (prev == "--node" || cmd == "use") {
      if (members_.empty())
        quietly([&] { learn_name(); });
      for (auto& m : members_)
        out.push_back(m.name);
      return out;
    }
    if (!word.empty() && word[0] == '-') {
      for (auto& c : commands_)
        if (c.spec.name == cmd)
          for (auto& o : c.spec.options)
            out.push_back("--" + o.name);
      return out;
    }
    if (cmd == "actor") {
      if (actor_ids_.empty())
        quietly([&] { refresh_actor_ids(); });
      return {actor_ids_.begin(), actor_ids_.end()};
    }
    if (cmd == "requeue")
      return {dlq_ids_.begin(), dlq_ids_.end()};
    if (cmd == "show" || cmd == "tail" || cmd == "cancel" || cmd == "approve" || cmd == "reject") {
      if (execution_ids_.empty())
        quietly([&] { refresh_execution_ids(); });
      return {execution_ids_.begin(), execution_ids_.end()};
    }
    if (cmd == "help")
      for (auto& c : commands_)
        out.push_back(c.spec.name);
    return out;
  }

  /// Runs f with errors not printed (completion must not scribble on the line).
  template <class F>
  void quietly(F f) {
    auto* old = std::cerr.rdbuf(nullptr);
    auto json_mode = std::exchange(opts_.json, false);
    f();
    opts_.json = json_mode;
    std::cerr.rdbuf(old);
  }

  void refresh_execution_ids() {
    if (auto l = ask<execution_list>(execution_list_request{"", "", "", 100}, "executions"))
      for (auto& r : l->rows)
        execution_ids_.insert(r.execution_id);
  }

  void refresh_actor_ids() {
    if (auto n = ask<node_inspection>(node_inspect_request{"", ""}, "actors"))
      for (auto& a : n->actors)
        actor_ids_.insert(std::to_string(a.id));
  }

  // -- commands ----------------------------------------------------------------------

  void define_commands() {
    auto opt = [](std::string name, std::string value = {}) {
      return option_spec{std::move(name), std::move(value)};
    };
    commands_ = {
      {{"help", {"a command"}, 0, {}}, "help [COMMAND]", "list the commands, or explain one",
       &console::cmd_help},
      {{"nodes", {}, 0, {}}, "nodes", "the cluster's members as this node sees them",
       &console::cmd_nodes},
      {{"use", {"a node name or HOST:PORT"}, 1, {}}, "use NODE",
       "inspect another node (a member name from `nodes`, or HOST:PORT)", &console::cmd_use},
      {{"whereami", {}, 0, {}}, "whereami", "the node being inspected and who you are",
       &console::cmd_whereami},
      {{"actors", {}, 0, {opt("kind", "K")}}, "actors [--kind K]",
       "this node's live actors: kind, state, mailbox size, age", &console::cmd_actors},
      {{"actor", {"an actor id"}, 1, {}}, "actor ID",
       "one actor in detail (ids from `actors`)", &console::cmd_actor},
      {{"executions", {}, 0, {opt("status", "S"), opt("tenant", "T"), opt("node", "N"),
                              opt("limit", "N")}},
       "executions [--status S|active] [--tenant T] [--node N] [--limit N]",
       "executions of your tenant, newest first, with node and step", &console::cmd_executions},
      {{"show", {"an execution id"}, 1, {}}, "show EXECUTION_ID",
       "an execution: steps, transitions, locks, timers", &console::cmd_show},
      {{"tail", {"an execution id"}, 1, {opt("after", "SEQ")}}, "tail EXECUTION_ID [--after SEQ]",
       "follow an execution's events live (Ctrl-C stops)", &console::cmd_tail},
      {{"locks", {}, 0, {opt("target", "REF")}}, "locks [--target REF]",
       "per-asset locks held now: holder, node, fence, expiry", &console::cmd_locks},
      {{"queue", {}, 0, {opt("priority", "P"), opt("limit", "N")}},
       "queue [--priority P] [--limit N]", "queued executions of your tenant, in claim order",
       &console::cmd_queue},
      {{"dlq", {}, 0, {opt("error-class", "C"), opt("all"), opt("limit", "N")}},
       "dlq [--error-class C] [--all] [--limit N]", "dead-letter queue entries, newest first",
       &console::cmd_dlq},
      {{"timers", {}, 0, {}}, "timers", "deadlines armed on this node, soonest first",
       &console::cmd_timers},
      {{"stats", {}, 0, {}}, "stats",
       "per node: executions/s, queue depth, locks, mailbox maxima", &console::cmd_stats},
      {{"cancel", {"an execution id"}, 1, {opt("reason", "R"), opt("wait-ms", "MS")}},
       "cancel EXECUTION_ID [--reason R] [--wait-ms MS]",
       "cancel an execution (waits for it to end)", &console::cmd_cancel},
      {{"approve", {"an execution id"}, 1, {opt("step", "S"), opt("reason", "R"),
                                            opt("plan-hash", "H")}},
       "approve EXECUTION_ID [--step S] [--reason R] [--plan-hash H]",
       "approve an execution waiting for approval", &console::cmd_approve},
      {{"reject", {"an execution id"}, 1, {opt("reason", "R"), opt("plan-hash", "H")}},
       "reject EXECUTION_ID [--reason R] [--plan-hash H]",
       "reject an execution waiting for approval", &console::cmd_reject},
      {{"requeue", {"a DLQ entry id"}, 1, {}}, "requeue DLQ_ID",
       "run a dead-lettered plan again (a new execution)", &console::cmd_requeue},
      {{"quit", {}, 0, {}}, "quit", "leave (Ctrl-D too)", &console::cmd_quit},
      {{"exit", {}, 0, {}}, "exit", "leave (Ctrl-D too)", &console::cmd_quit},
    };
  }

  int cmd_help(const parsed_args& a) {
    json rows = json::array();
    for (auto& c : commands_)
      if (a.positionals.empty() || a.positionals[0] == c.spec.name)
        rows.push_back({{"command", c.spec.name}, {"usage", c.usage}, {"summary", c.summary}});
    if (rows.empty())
      return fail("invalid_request", "no command '" + a.positionals[0] + "'; `help` lists them",
                  exit_unreachable);
    emit({{"commands", rows}}, [](const json& d) {
      return render_table(d["commands"], {{"USAGE", "usage", 70}, {"WHAT", "summary", 70}});
    });
    return 0;
  }

  int cmd_nodes(const parsed_args&) {
    auto s = ask<cluster_status>(cluster_status_request{}, "nodes");
    if (!s)
      return exit_failed;
    node_.name = s->node;
    members_ = s->members;
    auto doc = to_json(*s);
    for (auto& m : doc["members"])
      m["current"] = m["name"] == s->node;
    emit(doc, [](const json& d) {
      json rows = json::array();
      for (auto m : d["members"]) {
        m["here"] = m["current"].get<bool>() ? "*" : " ";
        m["load_text"] = std::to_string(m["load"].get<int>()) + "/"
                         + std::to_string(m["capacity"].get<int>());
        m["seen"] = m["last_seen_ms"].get<int64_t>() < 0 ? "-"
                                                          : human_ms(m["last_seen_ms"]) + " ago";
        rows.push_back(m);
      }
      return render_table(rows, {{"", "here"}, {"NODE", "name"}, {"STATE", "state"},
                                 {"LINK", "link"}, {"ADDRESS", "address"},
                                 {"LOAD", "load_text"}, {"LEASES", "leases_held"},
                                 {"LOCKS", "locks_held"}, {"HEARTBEAT", "seen"},
                                 {"TLS", "tls"}});
    });
    return 0;
  }

  int cmd_use(const parsed_args& a) {
    auto want = a.positionals[0];
    std::string address;
    if (members_.empty() || std::none_of(members_.begin(), members_.end(),
                                         [&](auto& m) { return m.name == want; }))
      learn_name(); // refresh the member list
    for (auto& m : members_)
      if (m.name == want || m.address == want)
        address = m.address;
    std::string host;
    uint16_t port = 0;
    if (address.empty() && split_host_port(want, host, port))
      address = want;
    if (address.empty())
      return fail("not_found",
                  "no member named '" + want + "' (`nodes` lists them; HOST:PORT works too)",
                  exit_failed, "node");
    auto gw = connect(address);
    if (!gw)
      return fail("unavailable", describe(gw.error()).message, exit_unreachable);
    set_link(address, *gw);
    learn_name();
    actor_ids_.clear();
    emit({{"node", node_.name}, {"address", address}}, [](const json& d) {
      return "now inspecting " + cell_text(d["node"]) + " at " + cell_text(d["address"]) + "\n";
    });
    return 0;
  }

  int cmd_whereami(const parsed_args&) {
    if (ensure_link())
      learn_name();
    auto& cred = opts_.client.cred;
    json doc{{"node", node_.name},
             {"address", node_.address},
             {"connected", node_.gateway.has_value()},
             {"tls", opts_.client.tls.enabled()},
             {"identity", cred.token.empty() ? "stated (dev-mode nodes only)" : "from your token"}};
    if (cred.token.empty()) {
      doc["tenant_id"] = cred.tenant_id;
      doc["principal"] = cred.principal;
    }
    emit(doc, [](const json& d) {
      return render_fields(d, {{"node", "node"}, {"address", "address"}, {"connected", "connected"},
                               {"tls", "tls"}, {"identity", "identity"}, {"tenant", "tenant_id"},
                               {"principal", "principal"}});
    });
    return node_.gateway ? 0 : exit_unreachable;
  }

  int cmd_actors(const parsed_args& a) {
    auto kind = a.value("kind");
    auto& kinds = actor_kinds();
    if (!kind.empty() && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
      std::string all;
      for (auto& k : kinds)
        all += (all.empty() ? "" : ", ") + k;
      return fail("invalid_request", "unknown actor kind '" + kind + "'; kinds: " + all,
                  exit_unreachable, "kind");
    }
    auto n = ask<node_inspection>(node_inspect_request{"", kind}, "actors");
    if (!n)
      return exit_failed;
    for (auto& v : n->actors) {
      actor_ids_.insert(std::to_string(v.id));
      for (auto& e : v.probe.executions)
        if (!e.hidden && v.kind == "execution")
          execution_ids_.insert(e.execution_id);
    }
    emit(to_json(*n), [](const json& d) {
      std::string head = "node " + cell_text(d["node"]) + ", up " + human_ms(d["uptime_ms"])
                         + ": load " + std::to_string(d["load"].get<int>()) + "/"
                         + std::to_string(d["capacity"].get<int>()) + ", "
                         + std::to_string(d["scheduler_threads"].get<int>())
                         + " scheduler threads, "
                         + std::to_string(d["caf_running_actors"].get<int64_t>())
                         + " CAF actors running\n";
      json rows = json::array();
      for (auto v : d["actors"]) {
        v["age"] = human_ms(v["age_ms"]);
        v["what"] = actor_summary(v);
        if (v["kind"] == "execution" && cell_text(v["name"]) == "-")
          v["name"] = "(another tenant's)";
        rows.push_back(v);
      }
      return head + render_table(rows, {{"ID", "id"}, {"KIND", "kind"}, {"NAME", "name", 36},
                                        {"STATE", "state"}, {"MAILBOX", "mailbox"},
                                        {"AGE", "age"}, {"WHAT", "what", 70}});
    });
    return 0;
  }

  /// One line about an actor: an execution's tenant, status, step and lease; for
  /// the others their details.
  static std::string actor_summary(const json& v) {
    if (v["kind"] == "execution" || v["kind"] == "worker-supervisor") {
      if (v["kind"] == "worker-supervisor") {
        auto& d = v["details"];
        return "running " + cell_text(d.value("children", json())) + ", finished "
               + cell_text(d.value("finished_total", json()));
      }
      if (v["executions"].empty())
        return "";
      return execution_summary(v["executions"][0]);
    }
    std::string out;
    for (auto& [k, val] : v["details"].items())
      out += (out.empty() ? "" : " ") + k + "=" + cell_text(val);
    return out;
  }

  static std::string execution_summary(const json& e) {
    if (e.value("hidden", false))
      return "another tenant's execution, " + cell_text(e["status"]);
    std::string out = cell_text(e["tenant_id"]) + " " + cell_text(e["status"]);
    if (cell_text(e["step"]) != "-")
      out += " step " + format_step(e) + "@" + cell_text(e["target"]) + " attempt "
             + std::to_string(e["attempt"].get<int>());
    out += " fence " + std::to_string(e["fence"].get<int64_t>());
    if (e["lease_expires_in_ms"].get<int64_t>() != 0)
      out += " lease " + human_ms(e["lease_expires_in_ms"]);
    return out;
  }

  int cmd_actor(const parsed_args& a) {
    char* end = nullptr;
    auto id = std::strtoll(a.positionals[0].c_str(), &end, 10);
    if (a.positionals[0].empty() || *end != '\0' || id <= 0)
      return fail("invalid_request",
                  "`actor` needs a numeric actor id (the ID column of `actors`), got '"
                    + a.positionals[0] + "'",
                  exit_unreachable, "id");
    auto v = ask<actor_view>(actor_inspect_request{"", id}, "actor " + a.positionals[0]);
    if (!v)
      return exit_failed;
    emit(to_json(*v), [](const json& d) {
      json fields = d;
      fields["age"] = human_ms(d["age_ms"]);
      auto out = render_fields(fields, {{"id", "id"}, {"kind", "kind"}, {"name", "name"},
                                        {"state", "state"}, {"mailbox", "mailbox"},
                                        {"age", "age"}, {"answered", "answered"}});
      if (!d["details"].empty()) {
        std::vector<column> cols;
        for (auto& [k, _] : d["details"].items())
          cols.push_back({k, k});
        out += "details:\n" + render_fields(d["details"], cols);
      }
      if (!d["executions"].empty()) {
        json rows = json::array();
        for (auto e : d["executions"]) {
          e["step_text"] = format_step(e);
          e["lease"] = e.value("lease_expires_in_ms", 0) != 0 ? human_ms(e["lease_expires_in_ms"])
                                                               : "-";
          if (e.value("hidden", false))
            e["execution_id"] = "(another tenant's)";
          rows.push_back(e);
        }
        out += "executions:\n"
               + render_table(rows, {{"EXECUTION", "execution_id"}, {"TENANT", "tenant_id"},
                                     {"STATUS", "status"}, {"STEP", "step_text"},
                                     {"TARGET", "target"}, {"FENCE", "fence"},
                                     {"LEASE_LEFT", "lease"}, {"IMMEDIATE", "immediate"}});
      }
      return out;
    });
    return 0;
  }

  /// A non-negative number option, or an error naming it.
  std::optional<int64_t> number_option(const parsed_args& a, const std::string& name,
                                       int64_t fallback, int64_t lo, int64_t hi) {
    if (!a.has(name))
      return fallback;
    auto s = a.value(name);
    char* end = nullptr;
    auto v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v < lo || v > hi) {
      fail("invalid_request",
           "--" + name + " takes a number " + std::to_string(lo) + ".." + std::to_string(hi)
             + ", got '" + s + "'",
           exit_unreachable, name);
      return std::nullopt;
    }
    return v;
  }

  /// The execution id argument of `cmd`, in the lowercase form events, locks and
  /// listings carry (a UUID pasted in capitals must match them too).
  std::optional<std::string> execution_id_arg(const std::string& raw, const std::string& cmd) {
    if (!valid_uuid(raw)) {
      fail("invalid_request",
           "`" + cmd + "` needs an execution id (a UUID, from `executions`), got '" + raw + "'",
           exit_unreachable, "execution_id");
      return std::nullopt;
    }
    std::string id = raw;
    std::transform(id.begin(), id.end(), id.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return id;
  }

  int cmd_executions(const parsed_args& a) {
    auto limit = number_option(a, "limit", 50, 1, 500);
    if (!limit)
      return exit_unreachable;
    execution_list_request req{a.value("tenant"), a.value("status"), a.value("node"),
                               static_cast<int32_t>(*limit)};
    auto l = ask<execution_list>(req, "executions");
    if (!l)
      return exit_failed;
    for (auto& r : l->rows)
      execution_ids_.insert(r.execution_id);
    emit(to_json(*l), [](const json& d) {
      json rows = json::array();
      for (auto r : d["executions"]) {
        r["step_text"] = format_step(r);
        rows.push_back(r);
      }
      auto out = render_table(rows, {{"EXECUTION", "execution_id"}, {"STATUS", "status"},
                                     {"NODE", "node"}, {"STEP", "step_text"},
                                     {"TARGET", "target"}, {"FENCE", "fence"},
                                     {"LEASE_EXPIRES", "lease_expires_at"}, {"PLAN", "plan", 30},
                                     {"CREATED", "created_at"}});
      if (d["more"].get<bool>())
        out += "(more: raise --limit or narrow with --status / --node)\n";
      return out;
    });
    return 0;
  }

  int cmd_show(const parsed_args& a) {
    auto parsed_id = execution_id_arg(a.positionals[0], "show");
    if (!parsed_id)
      return exit_unreachable;
    auto& id = *parsed_id;
    auto s = ask<status_reply>(status_request{"", id}, "show");
    if (!s)
      return exit_failed;
    auto j = ask<journal_page>(journal_request{"", id, 200}, "show (transitions)");
    if (!j)
      return exit_failed;
    auto l = ask<lock_list>(locks_request{}, "show (locks)");
    if (!l)
      return exit_failed;
    execution_ids_.insert(id);
    shown_hashes_[id] = s->plan_hash;
    json locks = json::array();
    auto all_locks = to_json(*l);
    for (auto& lk : all_locks["locks"])
      if (lk["execution_id"] == id)
        locks.push_back(lk);
    json timers = json::array();
    if (!s->deadline_at.empty() && !is_terminal(s->status))
      timers.push_back({{"kind", "execution deadline"}, {"at", s->deadline_at},
                        {"node", s->worker_id}});
    auto page = to_json(*j);
    json doc{{"execution", to_json(*s)}, {"transitions", page["events"]},
             {"earlier_transitions", page["more"]}, {"locks", locks}, {"timers", timers}};
    emit(doc, [](const json& d) {
      auto& e = d["execution"];
      auto out = render_fields(e, {{"execution", "execution_id"}, {"tenant", "tenant_id"},
                                   {"status", "status"}, {"mode", "mode"},
                                   {"node", "worker_id"}, {"plan_hash", "plan_hash"},
                                   {"error_class", "error_class"},
                                   {"error", "error_message"},
                                   {"waiting_for_lock", "waiting_for_lock"},
                                   {"cancel_requested_by", "cancel_requested_by"}});
      out += "steps:\n" + render_table(e["steps"], {{"STEP", "name"}, {"TARGET", "target"},
                                                    {"STATUS", "status"}, {"ATTEMPT", "attempt"},
                                                    {"EXIT", "exit_code"}});
      out += std::string{"transitions"}
             + (d["earlier_transitions"].get<bool>() ? " (the latest; earlier ones: tail ID)"
                                                    : "")
             + ":\n" + render_table(d["transitions"],
                                             {{"SEQ", "seq"}, {"EVENT", "event"},
                                              {"FROM", "from"}, {"TO", "status"},
                                              {"STEP", "step"}, {"TARGET", "target"},
                                              {"BY", "by", 30}, {"MESSAGE", "message", 50}});
      out += "locks:\n" + render_table(d["locks"], {{"TARGET", "target"}, {"ACTION", "action"},
                                                    {"NODE", "node"}, {"FENCE", "fence"},
                                                    {"EXPIRES", "expires_at"}});
      out += "timers:\n" + render_table(d["timers"], {{"KIND", "kind"}, {"AT", "at"},
                                                      {"NODE", "node"}});
      return out;
    });
    return 0;
  }

  int cmd_tail(const parsed_args& a) {
    auto parsed_id = execution_id_arg(a.positionals[0], "tail");
    if (!parsed_id)
      return exit_unreachable;
    auto& id = *parsed_id;
    auto after = number_option(a, "after", 0, 0, INT64_MAX);
    if (!after || !ensure_link())
      return exit_unreachable;
    // Ctrl-C stops the tail (and only the tail: with -c, SIGINT keeps its default
    // meaning for every other command).
    std::optional<line_editor> sigint;
    if (!editing_)
      sigint.emplace("");
    line_editor::clear_interrupted();
    // A subscriber of its own: when it goes, the bus drops the subscription, and
    // events of an earlier tail can never mix in.
    caf::scoped_actor sub{*sys_};
    auto gw = *node_.gateway;
    sub->monitor(gw);
    subscribe_request req{"", id, *after, caf::actor_cast<event_subscriber_actor>(sub)};
    bool ok = false;
    caf::error error;
    sub->request(gw, timeout(), opts_.client.cred, std::move(req))
      .receive([&](subscribed&) { ok = true; }, [&](caf::error& err) { error = err; });
    if (!ok)
      return fail(error, "tail");
    if (!opts_.json)
      std::cout << "following " << id << " (Ctrl-C stops)" << std::endl;
    auto last = *after;
    bool done = false, lost = false;
    while (!done && !lost && !line_editor::interrupted()) {
      sub->receive(
        [&](execution_event& ev) {
          if (ev.execution_id != id || ev.seq <= last)
            return;
          last = ev.seq;
          done = is_terminal(ev.status);
          emit(to_json(ev), [](const json& e) {
            return "#" + std::to_string(e["seq"].get<int64_t>()) + " " + cell_text(e["event"])
                   + " " + cell_text(e["from"]) + " -> " + cell_text(e["status"])
                   + (e.contains("step") ? " step " + cell_text(e["step"]) + "@"
                                             + cell_text(e["target"])
                                         : std::string{})
                   + (e.contains("exit_code") ? " exit " + cell_text(e["exit_code"]) : "")
                   + (e.contains("message") ? " " + cell_text(e["message"]) : "") + "\n";
          });
        },
        [&](caf::down_msg& dm) { lost = dm.source == gw.address(); },
        caf::after(milliseconds{200}) >> [] {});
    }
    if (lost) {
      node_.gateway.reset();
      return fail("unavailable", "lost the link to " + node_label() + " while following " + id
                                   + "; `tail " + id + " --after " + std::to_string(last)
                                   + "` resumes (on another node: `use NODE` first)",
                  exit_unreachable);
    }
    if (!opts_.json && !done)
      std::cout << "stopped following " << id << " after #" << last << std::endl;
    return 0;
  }

  int cmd_locks(const parsed_args& a) {
    auto l = ask<lock_list>(locks_request{"", a.value("target")}, "locks");
    if (!l)
      return exit_failed;
    emit(to_json(*l), [](const json& d) {
      json rows = json::array();
      for (auto r : d["locks"]) {
        r["left"] = human_ms(r["expires_in_ms"]);
        rows.push_back(r);
      }
      return render_table(rows, {{"TARGET", "target"}, {"ACTION", "action"},
                                 {"HOLDER", "execution_id"}, {"NODE", "node"},
                                 {"FENCE", "fence"}, {"ACQUIRED", "acquired_at"},
                                 {"EXPIRES_IN", "left"}});
    });
    return 0;
  }

  int cmd_queue(const parsed_args& a) {
    auto priority = number_option(a, "priority", -1, 0, 100);
    auto limit = number_option(a, "limit", 50, 1, 500);
    if (!priority || !limit)
      return exit_unreachable;
    auto l = ask<queue_list>(queue_list_request{"", static_cast<int32_t>(*priority),
                                                static_cast<int32_t>(*limit)},
                             "queue");
    if (!l)
      return exit_failed;
    for (auto& r : l->rows)
      execution_ids_.insert(r.execution_id);
    emit(to_json(*l), [](const json& d) {
      auto out = render_table(d["queue"], {{"EXECUTION", "execution_id"}, {"PRIORITY", "priority"},
                                           {"STATUS", "status"}, {"ENQUEUED", "enqueued_at"},
                                           {"VISIBLE_AT", "visible_at"}, {"HELD_BY", "lease_owner"},
                                           {"LEASE_EXPIRES", "lease_expires_at"},
                                           {"ATTEMPTS", "attempts"},
                                           {"WAITING_FOR", "blocked_by", 40}});
      if (d["more"].get<bool>())
        out += "(more: raise --limit)\n";
      return out;
    });
    return 0;
  }

  int cmd_dlq(const parsed_args& a) {
    auto limit = number_option(a, "limit", 50, 1, 500);
    if (!limit)
      return exit_unreachable;
    dlq_list_request req;
    req.error_class = a.value("error-class");
    req.include_archived = a.has("all");
    req.limit = static_cast<int32_t>(*limit);
    auto p = ask<dlq_page>(req, "dlq");
    if (!p)
      return exit_failed;
    for (auto& e : p->entries)
      dlq_ids_.insert(std::to_string(e.id));
    emit(to_json(*p), [](const json& d) {
      return render_table(d["entries"], {{"ID", "id"}, {"EXECUTION", "execution_id"},
                                         {"ACTION", "action"}, {"ERROR_CLASS", "error_class"},
                                         {"ATTEMPTS", "attempts"}, {"MOVED_AT", "moved_at"},
                                         {"REQUEUED_AS", "requeued_as"},
                                         {"REASON", "failure_reason", 50}});
    });
    return 0;
  }

  int cmd_timers(const parsed_args&) {
    auto t = ask<timer_list>(timers_request{}, "timers");
    if (!t)
      return exit_failed;
    emit(to_json(*t), [](const json& d) {
      json rows = json::array();
      for (auto r : d["timers"]) {
        r["due"] = human_ms(r["due_in_ms"]);
        if (r.value("hidden", false))
          r["execution_id"] = "(another tenant's)";
        rows.push_back(r);
      }
      return "node " + cell_text(d["node"]) + "\n"
             + render_table(rows, {{"EXECUTION", "execution_id"}, {"KIND", "kind"},
                                   {"DUE_IN", "due"}});
    });
    return 0;
  }

  int cmd_stats(const parsed_args&) {
    auto s = ask<cluster_status>(cluster_status_request{}, "stats (members)");
    if (!s)
      return exit_failed;
    node_.name = s->node;
    members_ = s->members;
    // This node first: a refusal (permission) ends the command with its error.
    auto here = ask<node_stats>(node_stats_request{}, "stats");
    if (!here)
      return exit_failed;
    std::vector<std::string> others;
    for (auto& m : s->members)
      if (m.link == "connected") // down, left, dead: nothing to ask
        others.push_back(m.address);
    auto answers = ask_all<node_stats>(others, node_stats_request{});
    json rows = json::array();
    for (auto& m : s->members) {
      if (m.link == "self") {
        rows.push_back(to_json(*here));
      } else if (auto i = answers.find(m.address); i != answers.end()) {
        if (auto err = std::get_if<std::string>(&i->second))
          rows.push_back(json{{"node", m.name}, {"error", *err}});
        else
          rows.push_back(to_json(std::get<node_stats>(i->second)));
      }
    }
    emit({{"nodes", rows}}, [](const json& d) {
      json rows = json::array();
      for (auto r : d["nodes"]) {
        if (r.contains("running"))
          r["running_text"] = std::to_string(r["running"].get<int>()) + "/"
                              + std::to_string(r["capacity"].get<int>());
        rows.push_back(r);
      }
      return render_table(rows, {{"NODE", "node"}, {"RUNNING", "running_text"},
                                 {"EXEC/S_10S", "executions_per_s_10s"},
                                 {"EXEC/S_60S", "executions_per_s_60s"},
                                 {"FINISHED", "finished_total"}, {"QUEUE", "queue_depth"},
                                 {"LOCKS", "locks_held"}, {"MAILBOX_MAX", "mailbox_max"},
                                 {"AT", "mailbox_max_actor", 30}, {"NO_ANSWER", "unanswered"},
                                 {"ERROR", "error", 60}});
    });
    return 0;
  }

  int cmd_cancel(const parsed_args& a) {
    auto parsed_id = execution_id_arg(a.positionals[0], "cancel");
    if (!parsed_id)
      return exit_unreachable;
    auto& id = *parsed_id;
    auto wait = number_option(a, "wait-ms", 10000, 0, 60000);
    if (!wait)
      return exit_unreachable;
    cancel_request req;
    req.execution_id = id;
    req.reason = a.value("reason");
    req.wait_ms = *wait;
    auto r = ask<cancel_reply>(req, "cancel", milliseconds{*wait + 10000});
    if (!r)
      return exit_failed;
    emit(to_json(*r), [](const json& d) {
      return render_fields(d, {{"execution", "execution_id"}, {"status", "status"},
                               {"cancelled_by", "cancelled_by"}, {"cancelled_at", "cancelled_at"},
                               {"requested_by", "requested_by"}, {"reason", "reason"}});
    });
    return r->status == execution_status::cancelled ? 0 : exit_failed;
  }

  int decide(const parsed_args& a, decision kind) {
    auto name = kind == decision::approve ? "approve" : "reject";
    auto parsed_id = execution_id_arg(a.positionals[0], name);
    if (!parsed_id)
      return exit_unreachable;
    auto& id = *parsed_id;
    approve_request req;
    req.execution_id = id;
    req.kind = kind;
    req.step = a.value("step");
    req.reason = a.value("reason");
    // The hash the approver reviewed: given, or the one `show` displayed in this
    // session. Never read now: the gateway's check (approval_invalidated) must see
    // what the person looked at.
    req.plan_hash = a.value("plan-hash");
    if (req.plan_hash.empty()) {
      auto i = shown_hashes_.find(id);
      if (i == shown_hashes_.end())
        return fail("invalid_request",
                    std::string{"`"} + name + "` needs the plan you reviewed: `show " + id
                      + "` first in this session, or --plan-hash H",
                    exit_unreachable, "plan_hash");
      req.plan_hash = i->second;
    }
    auto r = ask<approve_reply>(req, name);
    if (!r)
      return exit_failed;
    emit(to_json(*r), [](const json& d) {
      return render_fields(d, {{"execution", "execution_id"}, {"status", "status"},
                               {"approval_level", "approval_level"},
                               {"decided_by", "decided_by"}, {"plan_hash", "plan_hash"}});
    });
    return 0;
  }

  int cmd_approve(const parsed_args& a) { return decide(a, decision::approve); }
  int cmd_reject(const parsed_args& a) { return decide(a, decision::reject); }

  int cmd_requeue(const parsed_args& a) {
    char* end = nullptr;
    auto id = std::strtoll(a.positionals[0].c_str(), &end, 10);
    if (a.positionals[0].empty() || *end != '\0' || id <= 0)
      return fail("invalid_request",
                  "`requeue` needs a DLQ entry id (the ID column of `dlq`), got '"
                    + a.positionals[0] + "'",
                  exit_unreachable, "id");
    auto r = ask<submit_reply>(dlq_requeue_request{"", id, ""}, "requeue");
    if (!r)
      return exit_failed;
    execution_ids_.insert(r->execution_id);
    emit(to_json(*r), [](const json& d) {
      return render_fields(d, {{"new execution", "execution_id"}, {"status", "status"},
                               {"mode", "mode"}, {"duplicate", "duplicate"}});
    });
    return 0;
  }

  int cmd_quit(const parsed_args&) {
    quit_ = true;
    return 0;
  }
};

} // namespace

int run_console(const console_options& o) {
  if (o.one_shot && o.command.find_first_not_of(" \t;") == std::string::npos) {
    std::cerr << "error: -c needs a command (`stagee console --node HOST:PORT -c help` lists "
                 "them)" << std::endl;
    return exit_unreachable;
  }
  auto c = std::make_unique<console>(o);
  if (o.one_shot) {
    auto rc = c->run_one(o.command);
    c.reset();
    return rc;
  }
  auto rc = c->run_interactive();
  c.reset();
  return rc;
}

} // namespace stagee
