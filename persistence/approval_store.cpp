#include "persistence/approval_store.hpp"

#include <nlohmann/json.hpp>

#include "config/masker.hpp"
#include "persistence/snapshot_codec.hpp"
#include "persistence/statements.hpp"

namespace stagee {

namespace {

using json = nlohmann::json;

void insert_row(pqxx::work& txn, const approval_row& r) {
  txn.exec_prepared(stmt::approval_record, r.execution_id, r.level, r.step, r.state, r.plan_hash,
                    r.who.principal, r.who.auth_method, r.who.source.substr(0, 64),
                    masking::current()->mask(r.reason));
}

} // namespace

approval_store::approval_store(db_session& db) : db_(db) {
  // nop
}

caf::expected<int32_t> approval_store::execution_level(const std::string& execution_id) {
  return db_.transact("read approval level", [&](pqxx::work& txn) {
    auto rows = txn.exec_prepared(stmt::approval_execution_level, execution_id);
    return rows.empty() ? 0 : rows[0][0].as<int32_t>();
  });
}

caf::expected<void> approval_store::record(const approval_row& row) {
  auto r = db_.transact("record approval", [&](pqxx::work& txn) {
    insert_row(txn, row);
    return true;
  });
  if (!r)
    return r.error();
  return caf::unit;
}

caf::expected<bool> approval_store::decide(const decision_write& w) {
  return db_.transact("approval decision", [&](pqxx::work& txn) {
    auto& s = w.next;
    auto moved = txn.exec_prepared(stmt::approval_transition, s.execution_id, w.tenant_id,
                                   w.expected_seq, to_string(s.status), s.last_transition_by,
                                   s.last_seq, to_hex(encode_snapshot(s)),
                                   w.row.who.principal);
    if (moved.empty())
      return false;
    json events = json::array();
    for (auto& ev : w.events)
      events.push_back(json{{"execution_id", ev.execution_id},
                            {"seq", ev.seq},
                            {"kind", to_string(ev.kind)},
                            {"payload", masking::current()->mask_json(event_payload(ev))}});
    if (!events.empty())
      txn.exec_prepared(stmt::journal_insert_events, events.dump());
    if (!w.row.execution_id.empty())
      insert_row(txn, w.row);
    if (w.enqueue) // a free row: any node claims it
      txn.exec_prepared(stmt::admit_insert_queue,
                        json::array({json{{"execution_id", s.execution_id},
                                          {"tenant_id", w.tenant_id},
                                          {"priority", w.priority},
                                          {"lease_owner", nullptr},
                                          {"fixed_lease_ms", 0},
                                          {"lease_buffer_ms", 0}}})
                          .dump());
    return true;
  });
}

caf::expected<bool> approval_store::step_approved(const std::string& execution_id,
                                                  const std::string& step) {
  return db_.transact("read step approval", [&](pqxx::work& txn) {
    return txn.exec_prepared1(stmt::approval_step_approved, execution_id, step)[0].as<bool>();
  });
}

caf::expected<std::vector<approval_policy>> approval_store::policies() {
  return db_.transact("approval policies", [&](pqxx::work& txn) {
    std::vector<approval_policy> out;
    for (auto row : txn.exec_prepared(stmt::approval_policies_list))
      out.push_back(approval_policy{row[0].as<std::string>(), row[1].as<std::string>(),
                                    row[2].as<int32_t>()});
    return out;
  });
}

caf::expected<void> approval_store::set_policy(const approval_policy& p) {
  auto r = db_.transact("set approval policy", [&](pqxx::work& txn) {
    txn.exec_prepared(stmt::approval_policy_set, p.action_class, p.environment, p.level);
    return true;
  });
  if (!r)
    return r.error();
  return caf::unit;
}

} // namespace stagee
