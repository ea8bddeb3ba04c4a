/// Untrusted bytes (captured step output) made storable as PostgreSQL TEXT and
/// JSON: valid UTF-8 without NUL bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace stagee {

/// Returns `bytes` with every byte that is not part of a well-formed UTF-8 sequence
/// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF; a sequence
/// cut off at the end counts as malformed) and every NUL byte replaced by U+FFFD.
/// Valid input comes back unchanged.
std::string storable_text(const std::string& bytes);

/// Untrusted text quoted back in an error message: printable ASCII only (control
/// characters, quotes, backslashes and non-ASCII bytes as \xNN), at most `max` bytes
/// of input, then "...". Never raw bytes.
std::string printable_ascii(std::string_view text, std::size_t max = 64);

} // namespace stagee
