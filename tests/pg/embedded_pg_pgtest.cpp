/// embedded_pg against real PostgreSQL servers of its own, each in a fresh /tmp dir.
#include "runtime/embedded_pg.hpp"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/test/unit_test.hpp>
#include <libpq-fe.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

/// A fresh directory under /tmp (traversable by user postgres). On destruction it
/// stops the server in `data` (if any) and deletes everything.
struct temp_pg_dir {
  fs::path root;
  fs::path data;

  explicit temp_pg_dir(const std::string& leaf = "data") {
    std::string tmpl = "/tmp/stagee-epg-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
    fs::permissions(root, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    data = root / leaf;
  }

  ~temp_pg_dir() {
    try {
      stagee::embedded_pg(options()).stop();
    } catch (const std::exception& e) {
      BOOST_TEST_MESSAGE("cleanup could not stop the server: " << e.what());
    }
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  stagee::embedded_pg_options options(bool fresh = false) const {
    stagee::embedded_pg_options o;
    o.data_dir = data;
    o.fresh = fresh;
    return o;
  }
};

using pg_conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;

pg_conn connect(const std::string& url) {
  return pg_conn(PQconnectdb((url + "?connect_timeout=5").c_str()), &PQfinish);
}

bool connects(const std::string& url) {
  return PQstatus(connect(url).get()) == CONNECTION_OK;
}

/// Runs `sql` and returns the first column of the first row ("" when none).
std::string query(const std::string& url, const std::string& sql) {
  auto conn = connect(url);
  BOOST_REQUIRE_MESSAGE(PQstatus(conn.get()) == CONNECTION_OK, PQerrorMessage(conn.get()));
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
  const auto st = PQresultStatus(res.get());
  BOOST_REQUIRE_MESSAGE(st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK,
                        sql << ": " << PQerrorMessage(conn.get()));
  return st == PGRES_TUPLES_OK && PQntuples(res.get()) > 0 ? PQgetvalue(res.get(), 0, 0) : "";
}

/// Line `n` (1-based) of the server's postmaster.pid.
std::string pid_file_line(const fs::path& data, int n) {
  std::ifstream in(data / "pg" / "postmaster.pid");
  std::string line;
  for (int i = 0; i < n; ++i)
    std::getline(in, line);
  return line;
}

/// Sets env STAGEE_TEST_PG_DIR for one scope, restoring the previous value.
struct test_pg_dir_env {
  std::optional<std::string> saved;

  explicit test_pg_dir_env(const fs::path& dir) {
    if (const char* v = std::getenv("STAGEE_TEST_PG_DIR"))
      saved = v;
    setenv("STAGEE_TEST_PG_DIR", dir.c_str(), 1);
  }

  ~test_pg_dir_env() {
    if (saved)
      setenv("STAGEE_TEST_PG_DIR", saved->c_str(), 1);
    else
      unsetenv("STAGEE_TEST_PG_DIR");
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(embedded_pg)

BOOST_AUTO_TEST_CASE(start_reuse_stop_restart_keeps_data) {
  temp_pg_dir tmp;
  stagee::embedded_pg pg(tmp.options());
  const auto url = pg.start();
  BOOST_TEST(pg.started_here());
  BOOST_TEST(url.rfind("postgresql://postgres@127.0.0.1:", 0) == 0u);
  BOOST_TEST(url.substr(url.rfind('/')) == "/stagee");
  BOOST_TEST(query(url, "SELECT 1") == "1");
  BOOST_TEST(pg.url().value_or("") == url);
  {
    test_pg_dir_env env(tmp.data);
    BOOST_TEST(stagee::read_test_db_url() == url);
  }
  query(url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");

  stagee::embedded_pg again(tmp.options());
  BOOST_TEST(again.start() == url);
  BOOST_TEST(!again.started_here());

  pg.stop();
  BOOST_TEST(!pg.url().has_value());
  BOOST_TEST(!again.url().has_value());
  BOOST_TEST(!connects(url));
  pg.stop(); // no-op when stopped

  const auto restarted = pg.start();
  BOOST_TEST(pg.started_here());
  BOOST_TEST(query(restarted, "SELECT v FROM kept") == "42");

  // fresh: stops the running server and starts over with an empty cluster.
  stagee::embedded_pg wiped(tmp.options(true));
  const auto fresh_url = wiped.start();
  BOOST_TEST(wiped.started_here());
  BOOST_TEST(query(fresh_url, "SELECT count(*) FROM pg_class WHERE relname = 'kept'") == "0");
}

BOOST_AUTO_TEST_CASE(long_data_dir_puts_socket_in_tmp_and_removes_it_on_stop) {
  temp_pg_dir tmp(std::string(100, 'd'));
  stagee::embedded_pg pg(tmp.options());
  const auto url = pg.start();
  BOOST_TEST(query(url, "SELECT 1") == "1");
  const auto sock = pid_file_line(tmp.data, 5);
  BOOST_TEST(sock.rfind("/tmp/stagee-pg-", 0) == 0u, "socket dir " << sock);
  BOOST_TEST(fs::exists(sock));
  pg.stop();
  BOOST_TEST(!fs::exists(sock));
}

BOOST_AUTO_TEST_CASE(concurrent_starts_launch_one_server) {
  temp_pg_dir tmp;
  stagee::embedded_pg a(tmp.options()), b(tmp.options());
  std::string url_a, url_b, error;
  std::thread other([&] {
    try {
      url_b = b.start();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  url_a = a.start();
  other.join();
  BOOST_TEST(error == "");
  BOOST_TEST(url_a == url_b);
  BOOST_TEST(a.started_here() != b.started_here());
  BOOST_TEST(query(url_a, "SELECT current_database()") == "stagee");
}

BOOST_AUTO_TEST_CASE(no_server_means_no_url_and_a_clear_test_url_error) {
  temp_pg_dir tmp;
  stagee::embedded_pg pg(tmp.options());
  BOOST_TEST(!pg.url().has_value());
  pg.stop(); // no-op

  test_pg_dir_env env(tmp.data);
  try {
    stagee::read_test_db_url();
    BOOST_ERROR("read_test_db_url() should throw when no server runs");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("fixture pg_server") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
