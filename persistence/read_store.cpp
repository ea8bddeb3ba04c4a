#include "persistence/read_store.hpp"

#include <algorithm>
#include <cctype>

#include "messages/errors.hpp"
#include "persistence/journal_store.hpp"
#include "persistence/snapshot_codec.hpp"
#include "persistence/statements.hpp"

namespace stagee {

namespace {

caf::error missing(const std::string& id) {
  return make_stagee_error(stagee_errc::not_found, "execution_id",
                           "no execution " + id);
}

caf::error invalid(std::string field, std::string message) {
  return make_stagee_error(stagee_errc::invalid_request, std::move(field), std::move(message));
}

/// Console pages hold 1..500 rows.
int32_t page_limit(int32_t requested) {
  return std::clamp(requested, 1, 500);
}

/// Drops the extra row a listing fetched (limit + 1); true when there was one.
template <class T>
bool trim_page(std::vector<T>& rows, int32_t limit) {
  if (rows.size() <= static_cast<size_t>(limit))
    return false;
  rows.resize(static_cast<size_t>(limit));
  return true;
}

caf::error check_tenant(const std::string& tenant_id) {
  if (tenant_id.empty())
    return invalid("tenant_id", "required: console listings are per tenant");
  return {};
}

/// '' (any), "active" (not terminal) or an execution_status label.
caf::error check_status_filter(const std::string& status) {
  execution_status parsed;
  if (status.empty() || status == "active" || from_string(status, parsed))
    return {};
  std::string valid = "active";
  for (int i = 0; i < execution_status_count; ++i)
    valid += ", " + to_string(static_cast<execution_status>(i));
  return invalid("status", "unknown status '" + status + "'; use one of: " + valid);
}

} // namespace

read_store::read_store(db_session& db) : db_(db) {
  // nop
}

caf::expected<stored_execution> stored_execution_from_row(const pqxx::row& row) {
  stored_execution out;
  auto& rec = out.record;
  rec.execution_id = row["id"].as<std::string>();
  rec.tenant_id = row["tenant_id"].as<std::string>();
  rec.actor_id = row["actor_id"].as<std::string>();
  rec.plan_hash = row["plan_hash"].as<std::string>();
  rec.idempotency_key = row["idempotency_key"].as<std::string>();
  from_string(row["mode"].as<std::string>(), rec.mode);
  rec.step_timeout_ms = row["step_timeout_ms"].as<int64_t>();
  rec.request_id = row["request_id"].as<std::string>();
  rec.fence = row["fence"].as<int64_t>();
  rec.queue_wait_ms = row["queue_wait_ms"].as<int64_t>();
  rec.lease_ms = row["lease_ms"].as<int64_t>();
  rec.execution_timeout_ms = row["execution_timeout_ms"].as<int64_t>();
  rec.deadline_in_ms = row["deadline_in_ms"].as<int64_t>();
  rec.cancel_requested_by = row["cancel_requested_by"].as<std::string>();
  rec.cancel_reason = row["cancel_reason"].as<std::string>();
  out.plan_json = row["plan_json"].as<std::string>();
  if (row["state_snapshot"].is_null())
    return make_stagee_error(stagee_errc::internal, "state_snapshot",
                             "execution " + rec.execution_id + " has no snapshot");
  pqxx::binarystring blob{row["state_snapshot"]};
  auto snap = decode_snapshot(blob.str());
  if (!snap)
    return snap.error();
  rec.snapshot = std::move(*snap);
  return out;
}

caf::expected<status_reply> read_store::status(const status_request& req) {
  auto res = db_.transact("read status", [&](pqxx::work& txn) -> caf::expected<status_reply> {
    auto rows = txn.exec_prepared(stmt::read_execution, req.execution_id, req.tenant_id);
    if (rows.empty())
      return missing(req.execution_id);
    auto r = rows[0];
    status_reply out;
    out.execution_id = r["id"].as<std::string>();
    out.tenant_id = r["tenant_id"].as<std::string>();
    from_string(r["status"].as<std::string>(), out.status);
    out.plan_hash = r["plan_hash"].as<std::string>();
    from_string(r["mode"].as<std::string>(), out.mode);
    out.timed_out = r["timed_out"].as<bool>();
    out.error_class = r["error_class"].as<std::string>();
    out.error_message = r["error_message"].as<std::string>();
    out.worker_id = r["worker_id"].as<std::string>();
    out.lock_waits = r["lock_waits"].as<int32_t>();
    out.blocked_by = r["blocked_by"].as<std::string>();
    out.deadline_at = r["deadline_at"].as<std::string>();
    out.cancel_requested_by = r["cancel_requested_by"].as<std::string>();
    for (auto s : txn.exec_prepared(stmt::read_steps, req.execution_id)) {
      step_view v;
      v.step_index = s["step_index"].as<int32_t>();
      v.name = s["name"].as<std::string>();
      v.target = s["target"].as<std::string>();
      from_string(s["status"].as<std::string>(), v.status);
      if (!s["exit_code"].is_null())
        v.exit_code = s["exit_code"].as<int32_t>();
      v.attempt = s["attempt"].as<int32_t>();
      out.steps.push_back(std::move(v));
    }
    return out;
  });
  if (!res)
    return res.error();
  return std::move(*res);
}

caf::expected<stored_execution> read_store::load(const std::string& execution_id) {
  auto rows = db_.transact("load execution", [&](pqxx::work& txn) {
    return txn.exec_prepared(stmt::read_execution, execution_id, std::string{});
  });
  if (!rows)
    return rows.error();
  if (rows->empty())
    return missing(execution_id);
  return stored_execution_from_row((*rows)[0]);
}

caf::expected<cancel_reply> read_store::cancel(const cancel_request& req) {
  auto res = db_.transact("record cancellation", [&](pqxx::work& txn) -> caf::expected<cancel_reply> {
    txn.exec_prepared(stmt::cancel_record, req.execution_id, req.tenant_id, req.principal,
                      req.reason);
    auto rows = txn.exec_prepared(stmt::cancel_state, req.execution_id, req.tenant_id);
    if (rows.empty())
      return missing(req.execution_id);
    auto r = rows[0];
    cancel_reply out;
    out.execution_id = r[0].as<std::string>();
    from_string(r[1].as<std::string>(), out.status);
    out.cancelled_by = r[2].as<std::string>();
    out.cancelled_at = r[3].as<std::string>();
    out.requested_by = r[4].as<std::string>();
    out.requested_at = r[5].as<std::string>();
    out.reason = r[6].as<std::string>();
    return out;
  });
  if (!res)
    return res.error();
  return std::move(*res);
}

caf::expected<std::vector<timeout_policy>> read_store::timeout_policies() {
  return db_.transact("read timeout policies", [&](pqxx::work& txn) {
    std::vector<timeout_policy> out;
    for (auto r : txn.exec_prepared(stmt::read_timeout_policies))
      out.push_back(timeout_policy{r["id"].as<std::string>(),
                                   r["execution_timeout_ms"].as<int64_t>(),
                                   r["step_timeout_ms"].as<int64_t>()});
    return out;
  });
}

caf::expected<execution_list> read_store::executions(const execution_list_request& req) {
  if (auto err = check_tenant(req.tenant_id))
    return err;
  if (auto err = check_status_filter(req.status))
    return err;
  auto limit = page_limit(req.limit);
  return db_.transact("list executions", [&](pqxx::work& txn) {
    execution_list out;
    for (auto r : txn.exec_prepared(stmt::console_executions, req.tenant_id, req.status,
                                    req.node, limit + 1)) {
      execution_row x;
      x.execution_id = r["id"].as<std::string>();
      x.tenant_id = r["tenant_id"].as<std::string>();
      x.plan_name = r["plan_name"].as<std::string>();
      from_string(r["status"].as<std::string>(), x.status);
      from_string(r["mode"].as<std::string>(), x.mode);
      x.node = r["worker_id"].as<std::string>();
      x.step = r["step"].as<std::string>();
      x.step_index = r["step_index"].as<int32_t>();
      x.target = r["target"].as<std::string>();
      x.fence = r["fence"].as<int64_t>();
      x.lease_owner = r["lease_owner"].as<std::string>();
      x.lease_expires_at = r["lease_expires_at"].as<std::string>();
      x.created_at = r["created_at"].as<std::string>();
      x.updated_at = r["updated_at"].as<std::string>();
      out.rows.push_back(std::move(x));
    }
    out.more = trim_page(out.rows, limit);
    return out;
  });
}

caf::expected<queue_list> read_store::queue(const queue_list_request& req) {
  if (auto err = check_tenant(req.tenant_id))
    return err;
  if (req.priority != -1 && (req.priority < 0 || req.priority > 100))
    return invalid("priority", "must be -1 (any) or 0..100, not "
                                 + std::to_string(req.priority));
  auto limit = page_limit(req.limit);
  return db_.transact("list queue", [&](pqxx::work& txn) {
    queue_list out;
    for (auto r : txn.exec_prepared(stmt::console_queue, req.tenant_id, req.priority,
                                    limit + 1)) {
      queue_row x;
      x.execution_id = r["execution_id"].as<std::string>();
      x.priority = r["priority"].as<int32_t>();
      from_string(r["status"].as<std::string>(), x.status);
      x.enqueued_at = r["enqueued_at"].as<std::string>();
      x.visible_at = r["visible_at"].as<std::string>();
      x.lease_owner = r["lease_owner"].as<std::string>();
      x.lease_expires_at = r["lease_expires_at"].as<std::string>();
      x.fence = r["fence"].as<int64_t>();
      x.attempts = r["attempts"].as<int32_t>();
      x.blocked_by = r["blocked_by"].as<std::string>();
      out.rows.push_back(std::move(x));
    }
    out.more = trim_page(out.rows, limit);
    return out;
  });
}

caf::expected<journal_page> read_store::journal(const journal_request& req) {
  if (auto err = check_tenant(req.tenant_id))
    return err;
  if (!valid_uuid(req.execution_id))
    return invalid("execution_id", "must be a UUID (8-4-4-4-12 hex digits)");
  auto limit = page_limit(req.limit);
  auto rows = db_.transact("read journal", [&](pqxx::work& txn) {
    return txn.exec_prepared(stmt::console_journal, req.tenant_id, req.execution_id,
                             limit + 1);
  });
  if (!rows)
    return rows.error();
  if (rows->empty()) // admission journals every execution's first events
    return missing(req.execution_id);
  auto events = events_from_rows(*rows);
  if (!events)
    return events.error();
  journal_page out;
  out.events = std::move(*events);
  out.more = trim_page(out.events, limit); // drops the oldest: earlier events exist
  std::reverse(out.events.begin(), out.events.end());
  return out;
}

caf::expected<stagee::node_counts> read_store::node_counts(const node_counts_request& req) {
  if (req.node.empty())
    return invalid("node", "required: the node whose locks to count");
  return db_.transact("count queue and locks", [&](pqxx::work& txn) {
    auto r = txn.exec_prepared(stmt::console_node_counts, req.node)[0];
    stagee::node_counts out;
    out.queue_depth = r["queue_depth"].as<int64_t>();
    out.locks_held = r["locks_held"].as<int64_t>();
    return out;
  });
}

} // namespace stagee
