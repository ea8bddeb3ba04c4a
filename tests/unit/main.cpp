#define BOOST_TEST_MODULE stagee_unit_tests
#include <boost/test/unit_test.hpp>
