#include "actors/utf8.hpp"

#include <algorithm>

namespace stagee {

namespace {

/// Length of the well-formed sequence starting at s[i], or 0 (RFC 3629, table 3-7
/// of the Unicode standard: the second byte's range depends on the first).
size_t sequence_length(const std::string& s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto in = [&](size_t k, unsigned lo, unsigned hi) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  auto b0 = byte(i);
  if (b0 >= 0x01 && b0 <= 0x7F)
    return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    return in(i + 1, 0x80, 0xBF) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    auto lo = b0 == 0xE0 ? 0xA0u : 0x80u; // no overlongs
    auto hi = b0 == 0xED ? 0x9Fu : 0xBFu; // no surrogates
    return in(i + 1, lo, hi) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    auto lo = b0 == 0xF0 ? 0x90u : 0x80u; // no overlongs
    auto hi = b0 == 0xF4 ? 0x8Fu : 0xBFu; // nothing above U+10FFFF
    return in(i + 1, lo, hi) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0; // NUL, continuation bytes, C0, C1, F5..FF
}

} // namespace

std::string storable_text(const std::string& bytes) {
  static const std::string replacement = "\xEF\xBF\xBD"; // U+FFFD
  std::string out;
  size_t i = 0;
  // Fast path: most output is valid; copy only once something must change.
  while (i < bytes.size()) {
    auto n = sequence_length(bytes, i);
    if (n == 0)
      break;
    i += n;
  }
  if (i == bytes.size())
    return bytes;
  out.reserve(bytes.size() + 16);
  out.append(bytes, 0, i);
  while (i < bytes.size()) {
    auto n = sequence_length(bytes, i);
    if (n == 0) {
      out += replacement;
      i += 1;
    } else {
      out.append(bytes, i, n);
      i += n;
    }
  }
  return out;
}

std::string printable_ascii(std::string_view text, std::size_t max) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  auto n = std::min(text.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > n)
    out += "...";
  return out;
}

} // namespace stagee
