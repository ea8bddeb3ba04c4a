#include "persistence/admission_store.hpp"

#include <map>
#include <set>

#include "messages/errors.hpp"
#include "persistence/lock_store.hpp"
#include "persistence/snapshot_codec.hpp"
#include "persistence/statements.hpp"

namespace stagee {

namespace {

using json = nlohmann::json;

json executions_row_json(const admit_request& r) {
  auto& rec = r.record;
  auto& p = rec.frozen_plan;
  return json{{"id", rec.execution_id},
              {"tenant_id", rec.tenant_id},
              {"actor_id", rec.actor_id},
              {"request_id", r.record.request_id},
              {"plan_name", p.name},
              {"action", p.action},
              {"action_class", to_string(p.action_cls)},
              {"sla_class", to_string(p.sla)},
              {"environment", p.environment},
              {"priority", p.priority},
              {"mode", to_string(rec.mode)},
              {"status", to_string(rec.snapshot.status)},
              {"plan_snapshot", json::parse(r.canonical_json)},
              {"plan_hash", rec.plan_hash},
              {"idempotency_key", rec.idempotency_key},
              {"timeout_ms", r.execution_timeout_ms},
              {"timeout_policy_id", r.timeout_policy_id},
              {"transition_by", rec.snapshot.last_transition_by},
              {"transition_from", to_string(rec.snapshot.last_transition_from)},
              {"last_event_seq", rec.snapshot.last_seq},
              {"state_snapshot", to_hex(encode_snapshot(rec.snapshot))},
              {"worker_id", r.node},
              {"approval_level", r.approval_level}};
}

void add_children(const admit_request& r, json& steps, json& events, json& queue) {
  auto& rec = r.record;
  int32_t idx = 0;
  for (auto& run : rec.snapshot.runs)
    steps.push_back(json{{"execution_id", rec.execution_id},
                         {"run_index", idx++},
                         {"step_index", run.step_index},
                         {"name", run.step_name},
                         {"target", run.target}});
  for (auto& ev : r.events)
    events.push_back(json{{"execution_id", rec.execution_id},
                          {"seq", ev.seq},
                          {"kind", to_string(ev.kind)},
                          {"payload", event_payload(ev)}});
  if (rec.snapshot.status == execution_status::awaiting_approval)
    return; // queued (and so claimable) once approved
  json q{{"execution_id", rec.execution_id},
         {"tenant_id", rec.tenant_id},
         {"priority", rec.frozen_plan.priority},
         {"fixed_lease_ms", r.lease.fixed_ms},
         {"lease_buffer_ms", r.lease.buffer_ms}};
  q["lease_owner"] = r.node.empty() ? json(nullptr) : json(r.node);
  queue.push_back(std::move(q));
}

using key = std::pair<std::string, std::string>; // tenant, idempotency key

/// Immediate executions take their locks in the admission transaction (their queue
/// rows are pre-claimed by this node): one whose targets are locked is withdrawn and
/// answered resource_busy, so nothing of it remains and its key stays usable. Every
/// key of the batch is row-locked first, in key order, like any other acquirer.
void take_immediate_locks(pqxx::work& txn, const std::vector<admit_request>& batch,
                          const std::map<std::string, size_t>& new_ones,
                          std::vector<caf::expected<admit_reply>>& out) {
  std::map<std::string, lock_spec> all; // by key: sorted, unique
  for (auto& r : batch)
    if (new_ones.count(r.record.execution_id) > 0 && !r.node.empty())
      for (auto& l : r.locks)
        all.emplace(l.key, l);
  if (all.empty())
    return;
  std::vector<lock_spec> sorted;
  for (auto& [key, spec] : all)
    sorted.push_back(spec);
  lock_in_key_order(txn, sorted);
  std::map<std::string, caf::error> withdrawn; // execution id -> why
  for (auto& r : batch) {
    auto i = new_ones.find(r.record.execution_id);
    if (i == new_ones.end() || r.node.empty() || r.locks.empty())
      continue;
    auto got = take_locks(txn, r.record.execution_id, r.node, r.locks);
    if (got.granted) {
      out[i->second]->locks = std::move(got.grants);
      continue;
    }
    txn.exec_prepared(stmt::admit_withdraw, r.record.execution_id);
    withdrawn[r.record.execution_id] = make_stagee_error(
      stagee_errc::resource_busy, "targets",
      "a target is locked: " + busy_message(got.holder)
        + "; retry when it ends, or submit in background mode to wait for the lock");
  }
  // A duplicate of a withdrawn submit in the same batch gets the same answer.
  for (auto& rep : out)
    if (rep)
      if (auto w = withdrawn.find(rep->execution_id); w != withdrawn.end())
        rep = w->second;
}} // namespace

admission_store::admission_store(db_session& db, admission_settings settings)
  : db_(db), settings_(settings) {
  // nop
}

caf::expected<std::vector<caf::expected<admit_reply>>>
admission_store::admit(const std::vector<admit_request>& batch) {
  return db_.transact("admit executions", [&](pqxx::work& txn) {
    json keys = json::array(), rows = json::array();
    for (auto& r : batch) {
      keys.push_back({{"tenant_id", r.record.tenant_id},
                      {"idempotency_key", r.record.idempotency_key}});
      rows.push_back(executions_row_json(r));
    }
    txn.exec_prepared(stmt::admit_expire_keys, keys.dump(),
                      static_cast<double>(settings_.dedup_window_s));
    std::set<std::string> inserted;
    for (auto row : txn.exec_prepared(stmt::admit_insert_executions, rows.dump()))
      inserted.insert(row[0].as<std::string>());
    std::map<key, admit_reply> existing;
    for (auto row : txn.exec_prepared(stmt::admit_find_existing, keys.dump())) {
      admit_reply rep;
      rep.execution_id = row[0].as<std::string>();
      from_string(row[3].as<std::string>(), rep.status);
      rep.plan_hash = row[4].as<std::string>();
      from_string(row[5].as<std::string>(), rep.mode);
      existing[{row[1].as<std::string>(), row[2].as<std::string>()}] = rep;
    }
    json steps = json::array(), events = json::array(), queue = json::array();
    std::vector<caf::expected<admit_reply>> out;
    std::map<std::string, size_t> new_ones; // execution id -> index in out
    for (auto& r : batch) {
      auto& rec = r.record;
      if (inserted.count(rec.execution_id) > 0) {
        add_children(r, steps, events, queue);
        new_ones[rec.execution_id] = out.size();
        out.emplace_back(admit_reply{rec.execution_id, rec.snapshot.status, rec.plan_hash,
                                     rec.mode, false, 0, {}});
        continue;
      }
      auto i = existing.find({rec.tenant_id, rec.idempotency_key});
      if (i == existing.end()) {
        out.emplace_back(make_stagee_error(stagee_errc::internal, "idempotency_key",
                                           "insert skipped but no existing execution"));
      } else if (i->second.plan_hash != rec.plan_hash) {
        out.emplace_back(make_stagee_error(
          stagee_errc::idempotency_conflict, "idempotency_key",
          "key already used by execution " + i->second.execution_id
            + " with a different plan; use a new key or resubmit the same plan"));
      } else {
        auto rep = i->second;
        rep.duplicate = true;
        out.emplace_back(rep);
      }
    }
    if (!steps.empty()) {
      txn.exec_prepared(stmt::admit_insert_steps, steps.dump());
      txn.exec_prepared(stmt::journal_insert_events, events.dump());
      for (auto row : txn.exec_prepared(stmt::admit_insert_queue, queue.dump()))
        if (!row[1].is_null())
          out[new_ones.at(row[0].as<std::string>())]->lease_ms = row[1].as<int64_t>();
      take_immediate_locks(txn, batch, new_ones, out);
    }
    return out;
  });
}

} // namespace stagee
