// Deadline bookkeeping of the timeout-scheduler: deadlines sorted by due time,
// replaced on re-arm, forgotten only by the actor that armed them.
#include <boost/test/unit_test.hpp>

#include "actors/timeout_scheduler.hpp"

using namespace stagee;

namespace {

using clock_type = deadline_table::clock;
const clock_type::time_point t0 = clock_type::now();

clock_type::time_point at(int64_t ms) { return t0 + std::chrono::milliseconds{ms}; }

arm_deadline req(const std::string& id) { return arm_deadline{id, 0, "fast_read", 10000, {}, "t"}; }

std::vector<std::string> ids(const std::vector<arm_deadline>& v) {
  std::vector<std::string> out;
  for (auto& r : v)
    out.push_back(r.execution_id);
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(deadline_table_suite)

BOOST_AUTO_TEST_CASE(deadlines_come_due_in_order_and_once) {
  deadline_table t;
  t.arm(req("late"), at(300));
  t.arm(req("early"), at(100));
  t.arm(req("mid"), at(200));
  BOOST_CHECK(*t.next_due() == at(100));
  BOOST_CHECK(t.take_due(at(50)).empty());
  auto due = t.take_due(at(200));
  BOOST_CHECK((ids(due) == std::vector<std::string>{"early", "mid"}));
  BOOST_CHECK_EQUAL(due[0].policy_id, "fast_read");
  BOOST_CHECK(t.take_due(at(200)).empty()); // taken: gone
  BOOST_CHECK(*t.next_due() == at(300));
  BOOST_CHECK_EQUAL(t.size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_rearmed_deadline_replaces_the_old_one) {
  deadline_table t;
  t.arm(req("e1"), at(100));
  t.arm(req("e1"), at(500)); // a new owner re-arms what is left
  BOOST_CHECK_EQUAL(t.size(), 1u);
  BOOST_CHECK(t.take_due(at(100)).empty());
  BOOST_CHECK_EQUAL(t.take_due(at(500)).size(), 1u);
  BOOST_CHECK(!t.next_due());
}

BOOST_AUTO_TEST_CASE(a_disarmed_deadline_never_comes_due) {
  deadline_table t;
  t.arm(req("e1"), at(100));
  t.arm(req("e2"), at(100));
  t.disarm("e1", execution_actor{});
  BOOST_CHECK((ids(t.take_due(at(100))) == std::vector<std::string>{"e2"}));
  t.disarm("missing", execution_actor{}); // harmless
  BOOST_CHECK_EQUAL(t.size(), 0u);
}

BOOST_AUTO_TEST_SUITE_END()
