// Captured step output is made storable (PostgreSQL TEXT, JSON) without losing
// what is valid: storable_text replaces only malformed bytes and NULs.
#include "actors/utf8.hpp"

#include <boost/test/unit_test.hpp>

using stagee::storable_text;

namespace {
const std::string fffd = "\xEF\xBF\xBD";
}

BOOST_AUTO_TEST_SUITE(utf8)

BOOST_AUTO_TEST_CASE(valid_text_comes_back_unchanged) {
  for (std::string s : {"", "plain ascii\nline 2\t", "caf\xC3\xA9", "\xE2\x82\xAC 5",
                        "\xF0\x9F\x98\x80 emoji", "\xED\x9F\xBF", "\xF4\x8F\xBF\xBF"})
    BOOST_TEST(storable_text(s) == s);
}

BOOST_AUTO_TEST_CASE(nul_bytes_are_replaced) {
  BOOST_TEST(storable_text(std::string("a\0b", 3)) == "a" + fffd + "b");
}

BOOST_AUTO_TEST_CASE(each_malformed_byte_is_replaced_and_the_rest_kept) {
  BOOST_TEST(storable_text("ok\xFF!") == "ok" + fffd + "!");
  BOOST_TEST(storable_text("\x80\x80") == fffd + fffd);                  // stray continuations
  BOOST_TEST(storable_text("\xC0\xAF") == fffd + fffd);                  // overlong '/'
  BOOST_TEST(storable_text("\xE0\x80\xAF") == fffd + fffd + fffd);       // overlong
  BOOST_TEST(storable_text("\xED\xA0\x80") == fffd + fffd + fffd);       // surrogate D800
  BOOST_TEST(storable_text("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd); // > U+10FFFF
  BOOST_TEST(storable_text("\xF5\x80") == fffd + fffd);
}

BOOST_AUTO_TEST_CASE(a_sequence_cut_off_by_the_output_cap_is_replaced) {
  BOOST_TEST(storable_text("caf\xC3") == "caf" + fffd);
  BOOST_TEST(storable_text("x\xF0\x9F\x98") == "x" + fffd + fffd + fffd);
}

BOOST_AUTO_TEST_SUITE_END()
