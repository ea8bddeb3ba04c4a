#include "persistence/journal_store.hpp"

#include <map>

#include "config/masker.hpp"
#include "messages/errors.hpp"
#include "persistence/snapshot_codec.hpp"
#include "persistence/statements.hpp"

namespace stagee {

namespace {

using json = nlohmann::json;

/// Free text on its way to the database passes the one masker (R-SAFE-5).
std::string masked(const std::string& text) {
  return masking::current()->mask(text);
}

json execution_update(const journal_append& a) {
  auto& s = a.snapshot;
  // A run that timed out, or the execution's own deadline (R-SAFE-7).
  bool timed_out = s.error_class == "execution_timeout";
  for (auto& r : s.runs)
    timed_out = timed_out || r.status == step_status::timed_out;
  return json{{"id", s.execution_id},
              {"expected_seq", a.expected_seq},
              {"last_seq", s.last_seq},
              {"status", to_string(s.status)},
              {"transition_by", s.last_transition_by},
              {"transition_from", to_string(s.last_transition_from)},
              {"state_snapshot", to_hex(encode_snapshot(s))},
              {"error_class", s.error_class},
              {"error_message", masked(s.error_message)},
              {"worker_id", a.node},
              {"fence", a.fence},
              {"timed_out", timed_out},
              {"terminal", is_terminal(s.status)},
              {"cancel_check", a.cancel_check},
              {"run_step", a.starting_step}};
}

void add_step_rows(const journal_append& a, json& steps) {
  auto& s = a.snapshot;
  for (auto idx : a.changed_runs) {
    if (idx < 0 || static_cast<size_t>(idx) >= s.runs.size())
      continue;
    auto& run = s.runs[static_cast<size_t>(idx)];
    json row{{"execution_id", s.execution_id},
             {"run_index", idx},
             {"status", to_string(run.status)},
             {"attempt", run.attempt}};
    row["exit_code"] = run.exit_code ? json(*run.exit_code) : json(nullptr);
    for (auto& out : a.outputs) {
      if (out.run_index != idx)
        continue;
      row["stdout"] = masked(out.stdout_text); // masked at capture already; cheap to repeat
      row["stderr"] = masked(out.stderr_text);
      row["truncated"] = out.truncated;
      row["error"] = masked(out.error);
    }
    steps.push_back(std::move(row));
  }
}

} // namespace

journal_store::journal_store(db_session& db) : db_(db) {
  // nop
}

caf::expected<std::vector<journal_outcome>>
journal_store::append(const std::vector<journal_append>& batch) {
  return db_.transact("journal batch", [&](pqxx::work& txn) {
    json updates = json::array();
    for (auto& a : batch)
      updates.push_back(execution_update(a));
    std::map<std::string, journal_outcome> applied;
    for (auto row : txn.exec_prepared(stmt::journal_update_executions, updates.dump()))
      applied[row[0].as<std::string>()] = journal_outcome{
        true, row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
        row[4].as<std::string>()};
    json steps = json::array(), events = json::array(), released = json::array();
    json unlocked = json::array(), dead = json::array();
    std::vector<journal_outcome> out;
    for (auto& a : batch) {
      auto i = applied.find(a.snapshot.execution_id);
      out.push_back(i == applied.end() ? journal_outcome{} : i->second);
      if (i == applied.end())
        continue;
      add_step_rows(a, steps);
      for (auto& ev : a.events)
        events.push_back(json{{"execution_id", ev.execution_id},
                              {"seq", ev.seq},
                              {"kind", to_string(ev.kind)},
                              {"payload", masking::current()->mask_json(event_payload(ev))}});
      // Terminal, or paused for a level 3 approval: nobody holds it any more.
      if (is_terminal(a.snapshot.status)
          || a.snapshot.status == execution_status::awaiting_approval) {
        released.push_back(a.snapshot.execution_id);
        if (a.locking)
          unlocked.push_back(a.snapshot.execution_id);
      }
      if (a.snapshot.status == execution_status::failed) {
        int32_t attempts = 0;
        for (auto& r : a.snapshot.runs)
          attempts += r.attempt;
        dead.push_back(json{{"execution_id", a.snapshot.execution_id},
                            {"failure_reason", a.snapshot.error_message},
                            {"error_class", a.snapshot.error_class},
                            {"attempts", attempts}});
      }
    }
    if (!steps.empty())
      txn.exec_prepared(stmt::journal_update_steps, steps.dump());
    if (!events.empty())
      txn.exec_prepared(stmt::journal_insert_events, events.dump());
    if (!released.empty()) // queue rows first, then locks (the order every writer uses)
      txn.exec_prepared(stmt::journal_release_queue, released.dump());
    if (!unlocked.empty()) {
      txn.exec_prepared(stmt::locks_lock_owned, unlocked.dump()); // in key order
      txn.exec_prepared(stmt::journal_release_locks, unlocked.dump());
    }
    if (!dead.empty()) // after the events: the DLQ row copies their history
      txn.exec_prepared(stmt::journal_insert_dlq, dead.dump());
    return out;
  });
}

caf::expected<std::vector<execution_event>>
journal_store::events_after(const std::string& execution_id, int64_t after_seq,
                            int32_t limit) {
  auto rows = db_.transact("read events", [&](pqxx::work& txn) {
    return txn.exec_prepared(stmt::events_after, execution_id, after_seq, limit);
  });
  if (!rows)
    return rows.error();
  return events_from_rows(*rows);
}

caf::expected<std::vector<execution_event>> events_from_rows(const pqxx::result& rows) {
  std::vector<execution_event> out;
  for (auto row : rows) {
    auto ev = event_from_row(row[0].as<std::string>(), row[1].as<int64_t>(),
                             row[2].as<std::string>(), row[3].as<std::string>());
    if (!ev)
      return ev.error();
    out.push_back(std::move(*ev));
  }
  return out;
}

} // namespace stagee
