// Deadline bookkeeping of the timeout-scheduler: CAF 0.17 timers cannot be
// cancelled, so only the firing of the current generation may act.
#include <boost/test/unit_test.hpp>

#include "actors/timeout_scheduler.hpp"

using namespace stagee;

namespace {

arm_deadline arm(const std::string& id, int64_t in_ms = 1000) {
  return arm_deadline{id, in_ms, "fast_read", 10000, {}};
}

} // namespace

BOOST_AUTO_TEST_SUITE(deadline_table_suite)

BOOST_AUTO_TEST_CASE(the_current_generation_fires_once) {
  deadline_table t;
  auto g = t.arm(arm("e1"));
  BOOST_CHECK_EQUAL(t.size(), 1u);
  auto due = t.take_due("e1", g);
  BOOST_REQUIRE(due);
  BOOST_CHECK_EQUAL(due->request.policy_id, "fast_read");
  BOOST_CHECK(!t.take_due("e1", g)); // fired: gone
  BOOST_CHECK_EQUAL(t.size(), 0u);
}

BOOST_AUTO_TEST_CASE(a_rearmed_deadline_ignores_the_old_timer) {
  deadline_table t;
  auto old_gen = t.arm(arm("e1", 1000));
  auto new_gen = t.arm(arm("e1", 5000)); // a new owner re-arms what is left
  BOOST_CHECK_NE(old_gen, new_gen);
  BOOST_CHECK(!t.take_due("e1", old_gen));
  BOOST_CHECK(t.take_due("e1", new_gen));
}

BOOST_AUTO_TEST_CASE(a_disarmed_deadline_never_fires) {
  deadline_table t;
  auto g1 = t.arm(arm("e1"));
  auto g2 = t.arm(arm("e2"));
  t.disarm("e1", execution_actor{});
  BOOST_CHECK(!t.take_due("e1", g1));
  BOOST_CHECK(t.take_due("e2", g2)); // others are untouched
  t.disarm("missing", execution_actor{}); // harmless
}

BOOST_AUTO_TEST_SUITE_END()
