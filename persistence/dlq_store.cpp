#include "persistence/dlq_store.hpp"

#include "messages/errors.hpp"
#include "persistence/statements.hpp"

namespace stagee {

namespace {

dlq_entry entry_from_row(const pqxx::row& r) {
  dlq_entry e;
  e.id = r[0].as<int64_t>();
  e.execution_id = r[1].as<std::string>();
  e.tenant_id = r[2].as<std::string>();
  e.action = r[3].as<std::string>();
  e.error_class = r[4].as<std::string>();
  e.failure_reason = r[5].as<std::string>();
  e.attempts = r[6].as<int32_t>();
  e.moved_at = r[7].as<std::string>();
  e.archived_at = r[8].as<std::string>();
  e.requeued_as = r[9].as<std::string>();
  e.history_json = r[10].as<std::string>();
  return e;
}

caf::error missing(int64_t id) {
  return make_stagee_error(stagee_errc::not_found, "id", "no DLQ entry " + std::to_string(id));
}

} // namespace

dlq_store::dlq_store(db_session& db) : db_(db) {
  // nop
}

caf::expected<dlq_page> dlq_store::list(const dlq_list_request& req) {
  auto limit = std::clamp(req.limit, 1, 500);
  return db_.transact("list DLQ", [&](pqxx::work& txn) {
    dlq_page page;
    for (auto r : txn.exec_prepared(stmt::dlq_list, req.tenant_id, req.action, req.error_class,
                                    req.include_archived, req.before_id, limit))
      page.entries.push_back(entry_from_row(r));
    if (static_cast<int32_t>(page.entries.size()) == limit)
      page.next_before_id = page.entries.back().id;
    return page;
  });
}

caf::expected<dlq_requeue_source> dlq_store::get(const std::string& tenant_id, int64_t id) {
  auto res = db_.transact("read DLQ entry", [&](pqxx::work& txn) -> caf::expected<dlq_requeue_source> {
    auto rows = txn.exec_prepared(stmt::dlq_get, tenant_id, id);
    if (rows.empty())
      return missing(id);
    dlq_requeue_source out;
    out.entry = entry_from_row(rows[0]);
    out.actor_id = rows[0][11].as<std::string>();
    out.idempotency_key = rows[0][12].as<std::string>();
    out.plan_json = rows[0][13].as<std::string>();
    return out;
  });
  if (!res)
    return res.error();
  return std::move(*res);
}

caf::expected<dlq_entry> dlq_store::changed_entry(const std::string& tenant_id, int64_t id,
                                                  const caf::expected<size_t>& rows) {
  if (!rows)
    return rows.error();
  if (*rows == 0)
    return missing(id);
  auto e = get(tenant_id, id);
  if (!e)
    return e.error();
  return e->entry;
}

caf::expected<dlq_entry> dlq_store::archive(const std::string& tenant_id, int64_t id) {
  return changed_entry(tenant_id, id, db_.transact("archive DLQ entry", [&](pqxx::work& txn) {
    return txn.exec_prepared(stmt::dlq_archive, tenant_id, id).size();
  }));
}

caf::expected<dlq_entry> dlq_store::mark_requeued(const std::string& tenant_id, int64_t id,
                                                  const std::string& execution_id) {
  return changed_entry(tenant_id, id, db_.transact("mark DLQ entry requeued", [&](pqxx::work& txn) {
    return txn.exec_prepared(stmt::dlq_mark_requeued, tenant_id, id, execution_id).size();
  }));
}

caf::expected<dlq_summary> dlq_store::summary(const std::string& tenant_id) {
  return db_.transact("summarize DLQ", [&](pqxx::work& txn) {
    dlq_summary out;
    for (auto r : txn.exec_prepared(stmt::dlq_summary, tenant_id)) {
      dlq_summary_row row{r[0].as<std::string>(), r[2].as<std::string>(), r[1].as<int64_t>()};
      out.open += row.count;
      out.by_error_class.push_back(std::move(row));
    }
    return out;
  });
}

} // namespace stagee
