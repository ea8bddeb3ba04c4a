#define BOOST_TEST_MODULE stagee_pg_tests
#include <boost/test/unit_test.hpp>
