// Migrations and named statements against a real PostgreSQL.
#include <thread>

#include <boost/test/unit_test.hpp>

#include "persistence/migrator.hpp"
#include "persistence/sql_catalog.hpp"
#include "persistence/statements.hpp"
#include "tests/support/test_db.hpp"

using namespace stagee;

BOOST_AUTO_TEST_SUITE(schema)

BOOST_AUTO_TEST_CASE(migrations_go_up_down_and_up_again) {
  test::test_db db;
  auto s = db.session();
  BOOST_CHECK_EQUAL(*schema_version(*s), static_cast<int>(sql::migrations().size()));
  auto reverted = migrate_down_all(*s);
  BOOST_REQUIRE_MESSAGE(reverted, test::error_text(reverted));
  BOOST_CHECK_EQUAL(*reverted, static_cast<int>(sql::migrations().size()));
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'executions'"), "0");
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM pg_type WHERE typname = 'execution_status'"), "0");
  auto applied = migrate_up(*s);
  BOOST_REQUIRE_MESSAGE(applied, test::error_text(applied));
  BOOST_CHECK_EQUAL(*applied, static_cast<int>(sql::migrations().size()));
  BOOST_CHECK_EQUAL(*migrate_up(*s), 0); // idempotent
}

BOOST_AUTO_TEST_CASE(nodes_starting_at_once_apply_each_migration_exactly_once) {
  test::test_db db;
  auto s = db.session();
  BOOST_REQUIRE(migrate_down_all(*s));
  std::vector<int> applied(6, -1);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < applied.size(); ++i)
    threads.emplace_back([&, i] {
      db_session own{db.url()};
      auto r = migrate_up(own);
      applied[i] = r ? *r : -100;
    });
  for (auto& t : threads)
    t.join();
  int total = 0;
  for (auto n : applied) {
    BOOST_CHECK_GE(n, 0); // no thread failed
    total += std::max(n, 0);
  }
  BOOST_CHECK_EQUAL(total, static_cast<int>(sql::migrations().size()));
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM schema_migrations"),
                    std::to_string(sql::migrations().size()));
}

BOOST_AUTO_TEST_CASE(every_named_statement_prepares_against_the_schema) {
  test::test_db db;
  auto s = db.session();
  for (auto name : stmt::all) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_CHECK(sql::statements().count(name) == 1);
      BOOST_CHECK_NO_THROW(s->conn().prepare_now(name));
    }
  }
}

BOOST_AUTO_TEST_CASE(required_tables_enums_indexes_and_constraints_exist) {
  test::test_db db;
  for (auto t : {"executions", "execution_steps", "approvals", "execution_events",
                 "execution_queue", "execution_dlq", "execution_locks", "timeout_policies"})
    BOOST_CHECK_MESSAGE(db.scalar(std::string{"SELECT count(*) FROM pg_tables WHERE tablename='"}
                                  + t + "'") == "1", t);
  for (auto e : {"execution_status", "execution_mode", "sla_class", "approval_state"})
    BOOST_CHECK_MESSAGE(db.scalar(std::string{"SELECT count(*) FROM pg_type WHERE typname='"} + e
                                  + "'") == "1", e);
  BOOST_CHECK_EQUAL(db.scalar("SELECT indexdef LIKE 'CREATE UNIQUE INDEX%(tenant_id, idempotency_key)%'"
                              " FROM pg_indexes WHERE indexname = 'ux_exec_tenant_idem'"),
                    "t");
  for (auto c : {"valid_cancellation", "valid_result_size", "valid_timing", "valid_timeout"})
    BOOST_CHECK_MESSAGE(db.scalar(std::string{"SELECT count(*) FROM pg_constraint WHERE conname='"}
                                  + c + "' AND conrelid = 'executions'::regclass") == "1", c);
  BOOST_CHECK_EQUAL(db.scalar("SELECT data_type FROM information_schema.columns WHERE "
                              "table_name='executions' AND column_name='plan_snapshot'"),
                    "jsonb");
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM information_schema.columns WHERE "
                              "table_schema='public' AND data_type = 'timestamp without time zone'"),
                    "0");
}

BOOST_AUTO_TEST_CASE(timeout_policies_are_seeded_for_every_sla_and_action_class) {
  test::test_db db;
  BOOST_CHECK_EQUAL(db.scalar("SELECT count(*) FROM timeout_policies"), "9");
  BOOST_CHECK_EQUAL(db.scalar("SELECT string_agg(id, ',' ORDER BY id) FROM timeout_policies"),
                    "fast_deploy,fast_modify,fast_read,long_deploy,long_modify,long_read,"
                    "medium_deploy,medium_modify,medium_read");
  BOOST_CHECK_EQUAL(db.scalar("SELECT execution_timeout_ms FROM timeout_policies WHERE id='fast_read'"),
                    "10000");
  BOOST_CHECK_EQUAL(db.scalar("SELECT execution_timeout_ms FROM timeout_policies WHERE id='medium_deploy'"),
                    "30000");
  BOOST_CHECK_EQUAL(db.scalar("SELECT execution_timeout_ms FROM timeout_policies WHERE id='long_modify'"),
                    "600000");
}

BOOST_AUTO_TEST_CASE(constraints_reject_inconsistent_rows) {
  test::test_db db;
  auto insert = [&](const std::string& extra_cols, const std::string& extra_vals) {
    return "INSERT INTO executions (id, tenant_id, actor_id, plan_name, action, action_class,"
           " sla_class, environment, mode, plan_snapshot, plan_hash, idempotency_key"
           + extra_cols + ") VALUES (gen_random_uuid(), 't', 'a', 'n', 'x', 'read', 'fast',"
           " 'e', 'immediate', '{}', 'h', md5(random()::text)" + extra_vals + ")";
  };
  BOOST_CHECK_NO_THROW(db.scalar(insert("", "")));
  BOOST_CHECK_THROW(db.scalar(insert(", cancelled_by", ", 'bob'")), std::exception);
  BOOST_CHECK_THROW(db.scalar(insert(", timeout_ms", ", 0")), std::exception);
  BOOST_CHECK_THROW(db.scalar(insert(", result_summary", ", repeat('x', 10241)")), std::exception);
  BOOST_CHECK_THROW(db.scalar(insert(", started_at, ended_at", ", now(), now() - interval '1 s'")),
                    std::exception);
}

BOOST_AUTO_TEST_SUITE_END()
