/// Untrusted bytes (captured step output) made storable as PostgreSQL TEXT and
/// JSON: valid UTF-8 without NUL bytes.
#pragma once

#include <string>

namespace stagee {

/// Returns `bytes` with every byte that is not part of a well-formed UTF-8 sequence
/// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF; a sequence
/// cut off at the end counts as malformed) and every NUL byte replaced by U+FFFD.
/// Valid input comes back unchanged.
std::string storable_text(const std::string& bytes);

} // namespace stagee
