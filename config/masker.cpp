// Secret masker (R-SAFE-5). Design notes are in masker.hpp; this file keeps to how.
//
// Every family scans the original text and appends spans; masker::apply merges them and
// writes the result in one pass. Families:
//   (keys and tokens are line-local: one RE2 pass of their union finds the few lines
//   that need them, and only those lines are scanned per family)
//   keys    one RE2 finds candidate `key<sep>` (a run of key bytes holding one of the
//           sensitive word fragments, optional closing quote, separator); the word rule,
//           the value's extent and its replacement are decided here in C++.
//   tokens  one RE2: JWT | AWS key id | GitHub | Slack | Bearer <tok> | ://user:pw@
//   pem     find("-----BEGIN"), then one RE2 anchored there (multi-line)
//   exact   a Bloom filter on 4-byte windows + verification (see exact_set); every start
//           position is checked, so overlapping occurrences are found too.
// All RE2s run in Latin-1 mode: a byte is a character, so invalid UTF-8 and NULs are
// ordinary text and cannot stop a value early.
#include "config/masker.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include <re2/re2.h>

namespace stagee::masking {
namespace {

using re2::RE2;
using re2::StringPiece;
constexpr std::size_t npos = std::string_view::npos;

// ---------------------------------------------------------------- ASCII helpers

inline bool is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool is_alnum(unsigned char c) { return is_upper(c) || is_lower(c) || is_digit(c); }
inline bool is_key_char(unsigned char c) {
  return is_alnum(c) || c == '_' || c == '-' || c == '.';
}
inline bool is_blank(unsigned char c) { return c == ' ' || c == '\t'; }
inline bool is_eol(unsigned char c) { return c == '\n' || c == '\r'; }
inline bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline unsigned char to_lower(unsigned char c) { return is_upper(c) ? c + 32 : c; }

// w equals lw (already lower-case), ignoring ASCII case.
bool ieq(std::string_view w, std::string_view lw) {
  if (w.size() != lw.size()) return false;
  for (std::size_t i = 0; i < w.size(); ++i)
    if (to_lower(w[i]) != static_cast<unsigned char>(lw[i])) return false;
  return true;
}
// w is longer than lw and ends with it, ignoring ASCII case.
bool iends(std::string_view w, std::string_view lw) {
  return w.size() > lw.size() && ieq(w.substr(w.size() - lw.size()), lw);
}

// ---------------------------------------------------------------- key words

constexpr std::string_view single_words[] = {
    "password",   "passwd",   "pwd",          "passphrase", "secret",    "secrets",
    "token",      "credential", "credentials", "auth",      "authorization", "apikey",
    "cookie",     "privatekey", "accesskey",  "secretkey",  "signingkey", "encryptionkey",
    "clientsecret"};
constexpr std::string_view suffix_words[] = {
    "password",  "passwd",    "passphrase", "secret",    "token",      "credential",
    "credentials", "apikey",  "privatekey", "accesskey", "secretkey",  "signingkey",
    "encryptionkey"};
constexpr std::pair<std::string_view, std::string_view> pair_words[] = {
    {"api", "key"},     {"private", "key"},    {"access", "key"},  {"secret", "key"},
    {"signing", "key"}, {"encryption", "key"}, {"client", "secret"}};

struct word_check {
  std::string_view prev;
  bool sensitive = false;
  bool cookie = false;

  void add(std::string_view w) {
    if (!sensitive) {
      for (auto s : single_words)
        if (ieq(w, s)) { sensitive = true; break; }
    }
    if (!sensitive) {
      for (auto s : suffix_words)
        if (iends(w, s)) { sensitive = true; break; }
    }
    if (!sensitive && !prev.empty()) {
      for (const auto& [a, b] : pair_words)
        if (ieq(prev, a) && ieq(w, b)) { sensitive = true; break; }
    }
    if (ieq(w, "cookie") || iends(w, "cookie")) cookie = true;
    prev = w;
  }
};

// Calls f for each word of s: runs of letters/digits, split further at camelCase
// (fooBar, FOOBar -> FOO Bar) and letter/digit boundaries.
template <class F>
void split_words(std::string_view s, F&& f) {
  const std::size_t n = s.size();
  std::size_t start = npos;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = s[i];
    if (!is_alnum(c)) {
      if (start != npos) f(s.substr(start, i - start));
      start = npos;
      continue;
    }
    if (start == npos) { start = i; continue; }
    const unsigned char p = s[i - 1];
    const bool boundary =
        (is_lower(p) && is_upper(c)) ||
        (is_upper(p) && is_upper(c) && i + 1 < n && is_lower(s[i + 1])) ||
        (is_digit(p) != is_digit(c));
    if (boundary) {
      f(s.substr(start, i - start));
      start = i;
    }
  }
  if (start != npos) f(s.substr(start));
}

word_check check_words(std::string_view s) {
  word_check wc;
  split_words(s, [&](std::string_view w) { wc.add(w); });
  return wc;
}

// ---------------------------------------------------------------- the shared patterns

RE2::Options re_options(bool capture, int64_t max_mem = int64_t{64} << 20) {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  o.set_never_capture(!capture);
  return o;
}

struct pattern_set {
  // Fragments a sensitive key must contain (a superset of the word rule, which is then
  // applied in C++); a bare `key` is not one, so `idempotency_key=` is not even a candidate.
  const std::string term =
      R"re((?:passw|passphrase|pwd|secret|token|credential|auth|cookie)re"
      R"re(|(?:api|private|access|secret|signing|encryption)[ _.\-]*key))re";
  // key<sep>: a run of key bytes holding a fragment (a pair may be spaced: `api key`), or a
  // double-quoted key holding one (any bytes but quotes and line ends); an optional closing
  // quote (escaped any number of times); the separator.
  const std::string key_src = R"re((?i:"[^"\r\n]*)re" + term + R"re([^"\r\n]*"|[a-z0-9_.\-]*)re" + term +
                              R"re([a-z0-9_.\-]*(?:\\*["'])?)[ \t]*(?:=>|:=|=|:))re";
  const std::string token_src =
      R"re(eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)re"
      R"re(|\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b)re"
      R"re(|\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,})re"
      R"re(|\bgithub_pat_[A-Za-z0-9_]{20,})re"
      R"re(|\bxox[abprs]-[A-Za-z0-9\-]{10,})re"
      R"re(|\b(?i:bearer)[ \t]+[A-Za-z0-9._~+/\-]+=*)re"
      R"re(|://[^\s:/@]*:[^\s/?#]+@)re";
  RE2 key{key_src, re_options(false)};
  RE2 token{token_src, re_options(false)};
  // Both families are line-local: one pass of their union finds the (few) lines that
  // need the per-family scans at all.
  RE2 line_filter{key_src + "|" + token_src, re_options(false)};
  RE2 pem{R"re(-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----((?s:.*?))(-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z))re",
          re_options(true)};
  RE2 pem_end{R"re(-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)re", re_options(false)};
};

const pattern_set& pats() {
  static const pattern_set p;
  return p;
}

// ---------------------------------------------------------------- value extents

// Closing quote of a string opened by k backslashes + '"' (k = JSON escape level: 0 for
// plain JSON, 1 inside a JSON string, 3 two levels deep...). A '"' closes when the run r
// of backslashes before it satisfies r mod (2k+2) == k. Returns the position where the
// closing token (its k backslashes) starts, or the line end with closed == false.
std::size_t find_close_quote(std::string_view t, std::size_t from, std::size_t k, bool& closed) {
  std::size_t r = 0;
  for (std::size_t i = from; i < t.size(); ++i) {
    const unsigned char c = t[i];
    if (c == '\\') { ++r; continue; }
    if (c == '"' && r % (2 * k + 2) == k) { closed = true; return i - k; }
    if (is_eol(c)) { closed = false; return i; }
    r = 0;
  }
  closed = false;
  return t.size();
}

// End (exclusive) of a balanced {...} / [...] starting at from, strings at escape level k
// respected; the line end when it does not close on its line.
std::size_t bracket_end(std::string_view t, std::size_t from, std::size_t k) {
  int depth = 0;
  std::size_t r = 0;
  std::size_t i = from;
  while (i < t.size()) {
    const unsigned char c = t[i];
    if (is_eol(c)) return i;
    if (c == '\\') { ++r; ++i; continue; }
    if (c == '"' && r == k) {
      bool closed = false;
      const std::size_t q = find_close_quote(t, i + 1, k, closed);
      if (!closed) return q;
      i = q + k + 1;
      r = 0;
      continue;
    }
    r = 0;
    if (c == '{' || c == '[') ++depth;
    else if ((c == '}' || c == ']') && --depth <= 0) return i + 1;
    ++i;
  }
  return t.size();
}

// Skips an HTTP auth scheme word ("Bearer ", "Basic ", ...) at p, returns the position
// after it and its blanks (p when there is none or nothing follows it on the line).
std::size_t skip_scheme(std::string_view t, std::size_t p, std::size_t end) {
  static constexpr std::string_view schemes[] = {"bearer", "basic",     "digest",
                                                 "token",  "negotiate", "ntlm"};
  for (auto s : schemes) {
    if (p + s.size() < end && ieq(t.substr(p, s.size()), s) && is_blank(t[p + s.size()])) {
      std::size_t q = p + s.size();
      while (q < end && is_blank(t[q])) ++q;
      if (q < end && !is_eol(t[q])) return q;
      return p;
    }
  }
  return p;
}


struct value_extent {
  std::size_t begin = 0, end = 0;
  int quote_level = -1;
};

// The value of a sensitive key starting at vs (blanks after the separator skipped).
// q/k: the key's closing quote byte and its escape level (q == 0: unquoted key);
// outer: the quote byte just before the key, if any (bounds a cookie header value).
bool value_span(std::string_view t, std::size_t vs, unsigned char q, std::size_t k, bool cookie,
                unsigned char outer, value_extent& v) {
  const std::size_t n = t.size();
  if (vs >= n || is_eol(t[vs])) return false;
  const bool json = q == '"';

  std::size_t b = 0; // "..." opened at some escape level
  while (vs + b < n && t[vs + b] == '\\') ++b;
  if (vs + b < n && t[vs + b] == '"') {
    bool closed = false;
    const std::size_t cs = vs + b + 1;
    const std::size_t ce = find_close_quote(t, cs, b, closed);
    v.begin = skip_scheme(t, cs, ce);
    v.end = ce;
    return v.end > v.begin;
  }
  if (t[vs] == '\'') { // '...': no escapes (shell, Python repr)
    std::size_t e = vs + 1;
    while (e < n && t[e] != '\'' && !is_eol(t[e])) ++e;
    v.begin = skip_scheme(t, vs + 1, e);
    v.end = e;
    return v.end > v.begin;
  }
  if (t[vs] == '{' || t[vs] == '[') {
    v.begin = vs;
    v.end = bracket_end(t, vs, json ? k : 0);
    v.quote_level = json ? static_cast<int>(k) : -1;
    return true;
  }

  const std::size_t p = skip_scheme(t, vs, n);
  std::size_t e = p;
  if (cookie) {
    while (e < n && !is_eol(t[e]) && !(outer && t[e] == outer)) ++e;
    while (e > p && is_blank(t[e - 1])) --e;
  } else {
    for (; e < n; ++e) {
      const unsigned char c = t[e];
      if (is_space(c) || c == '"' || c == '\'' || c == '&') break;
      if (json && (c == ',' || c == '}' || c == ']')) break;
    }
    if (e < n && (t[e] == '"' || t[e] == '\'')) {
      // Do not swallow the backslash escaping the quote that ends us (JSON stays valid).
      std::size_t r = 0;
      while (e - r > p && t[e - r - 1] == '\\') ++r;
      if (r % 2 == 1) --e;
    }
  }
  if (e <= p) return false;
  v.begin = p;
  v.end = e;
  v.quote_level = json && !cookie ? static_cast<int>(k) : -1;
  return true;
}

// ---------------------------------------------------------------- exact forms

std::string base64(std::string_view s, bool url, bool pad) {
  static constexpr char std_abc[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr char url_abc[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char* abc = url ? url_abc : std_abc;
  std::string out;
  out.reserve((s.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    const uint32_t x = (uint32_t(uint8_t(s[i])) << 16) | (uint32_t(uint8_t(s[i + 1])) << 8) |
                       uint8_t(s[i + 2]);
    out += abc[x >> 18];
    out += abc[(x >> 12) & 63];
    out += abc[(x >> 6) & 63];
    out += abc[x & 63];
  }
  if (const std::size_t rest = s.size() - i; rest > 0) {
    uint32_t x = uint32_t(uint8_t(s[i])) << 16;
    if (rest == 2) x |= uint32_t(uint8_t(s[i + 1])) << 8;
    out += abc[x >> 18];
    out += abc[(x >> 12) & 63];
    if (rest == 2) out += abc[(x >> 6) & 63];
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

// The characters of base64(anything + v + anything) that depend on v alone, when v
// starts at byte offset off (0..2) of a 3-byte group.
std::string base64_inner(std::string_view v, std::size_t off, bool url) {
  std::string tmp(off, '\0');
  tmp.append(v);
  const std::string e = base64(tmp, url, false);
  const std::size_t first = (8 * off + 5) / 6, last = 8 * (off + v.size()) / 6;
  return last > first ? e.substr(first, last - first) : std::string();
}

std::string hex(std::string_view s, bool upper) {
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// Percent-encoding: RFC 3986 unreserved bytes stay; js keeps encodeURIComponent's set.
std::string percent(std::string_view s, bool upper, bool plus, bool js) {
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (js && (c == '!' || c == '*' || c == '\'' || c == '(' || c == ')'))) {
      out += static_cast<char>(c);
    } else if (plus && c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += d[c >> 4];
      out += d[c & 15];
    }
  }
  return out;
}

// JSON string body (no quotes). ascii: non-ASCII UTF-8 as \uXXXX (Python's default).
std::string json_escape(std::string_view s, bool ascii) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  auto u = [&](uint32_t cp) {
    out += "\\u";
    for (int sh = 12; sh >= 0; sh -= 4) out += d[(cp >> sh) & 15];
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    switch (c) {
    case '"': out += "\\\""; continue;
    case '\\': out += "\\\\"; continue;
    case '\b': out += "\\b"; continue;
    case '\f': out += "\\f"; continue;
    case '\n': out += "\\n"; continue;
    case '\r': out += "\\r"; continue;
    case '\t': out += "\\t"; continue;
    default: break;
    }
    if (c < 0x20) { u(c); continue; }
    if (c < 0x80 || !ascii) { out += static_cast<char>(c); continue; }
    // decode one UTF-8 sequence; invalid bytes are kept as they are
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    uint32_t cp = len == 4 ? c & 7 : len == 3 ? c & 15 : c & 31;
    bool ok = len > 0 && i + len <= s.size();
    for (std::size_t j = 1; ok && j < len; ++j) {
      const unsigned char cc = s[i + j];
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 63);
    }
    if (!ok || cp > 0x10FFFF) { out += static_cast<char>(c); continue; }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u(0xD800 + (cp >> 10));
      u(0xDC00 + (cp & 0x3FF));
    } else {
      u(cp);
    }
    i += len - 1;
  }
  return out;
}

constexpr std::size_t min_exact = 4;       // shorter values are ignored (documented)
constexpr std::size_t min_inner_b64 = 8;   // shorter mid-stream base64 fragments too

void add_forms(const std::string& v, std::vector<std::string>& forms) {
  forms.push_back(v);
  for (bool url : {false, true}) {
    forms.push_back(base64(v, url, true));
    forms.push_back(base64(v, url, false));
    for (std::size_t off = 0; off < 3; ++off) {
      std::string inner = base64_inner(v, off, url);
      if (inner.size() >= min_inner_b64) forms.push_back(std::move(inner));
    }
  }
  forms.push_back(hex(v, false));
  forms.push_back(hex(v, true));
  forms.push_back(percent(v, true, false, false));
  forms.push_back(percent(v, false, false, false));
  forms.push_back(percent(v, true, true, false));
  forms.push_back(percent(v, true, false, true));
  forms.push_back(json_escape(v, false));
  forms.push_back(json_escape(v, true));
}

} // namespace

// ==================================================================== is_sensitive_key

bool is_sensitive_key(std::string_view key) { return check_words(key).sensitive; }

// ==================================================================== masker

// Exact values: every 4-byte window of the text is looked up in a Bloom filter of the
// forms' first 4 bytes (32 KiB, stays in L1); a hit is verified against the forms with
// that prefix, longest first (memcmp; RE2 anchored on the alternation of all forms when
// a bucket is large). Every start position is checked, so overlapping occurrences are
// all found, in one linear pass.
struct masker::exact_set {
  static constexpr unsigned bloom_bits = 18;
  std::vector<std::string> forms;                         // longest first, distinct
  std::vector<uint64_t> bloom = std::vector<uint64_t>((1u << bloom_bits) / 64);
  std::unordered_map<uint32_t, std::vector<uint32_t>> buckets; // prefix -> forms, longest first
  std::unique_ptr<RE2> re; // alternation of all forms, longest first (null if RE2 refused it)
  std::size_t longest = 0;

  static uint32_t prefix(const char* p) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  }
  static uint32_t hash(uint32_t w) { return (w * 0x9E3779B1u) >> (32 - bloom_bits); }
};

masker::masker() = default;
masker::~masker() = default;
masker::masker(masker&&) noexcept = default;
masker& masker::operator=(masker&&) noexcept = default;

masker::masker(std::vector<std::string> exact) {
  auto set = std::make_shared<exact_set>();
  for (const auto& v : exact)
    if (v.size() >= min_exact) add_forms(v, set->forms);
  auto& f = set->forms;
  std::sort(f.begin(), f.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  f.erase(std::unique(f.begin(), f.end()), f.end());
  f.erase(std::remove_if(f.begin(), f.end(), [](const std::string& s) { return s.size() < min_exact; }),
          f.end());
  if (f.empty()) return;
  set->longest = f.front().size();
  std::string pattern;
  std::size_t total = 0;
  for (uint32_t i = 0; i < f.size(); ++i) {
    const uint32_t w = exact_set::prefix(f[i].data());
    const uint32_t h = exact_set::hash(w);
    set->bloom[h >> 6] |= uint64_t{1} << (h & 63);
    set->buckets[w].push_back(i);
    if (!pattern.empty()) pattern += '|';
    pattern += RE2::QuoteMeta(f[i]);
    total += f[i].size();
  }
  const int64_t mem = (int64_t{64} << 20) + int64_t(total) * 64;
  auto re = std::make_unique<RE2>(pattern, re_options(false, std::min<int64_t>(mem, int64_t{1} << 30)));
  if (re->ok()) set->re = std::move(re);
  exact_ = std::move(set);
}

std::size_t masker::longest_exact() const { return exact_ ? exact_->longest : 0; }
bool masker::empty_exact() const { return !exact_; }

void masker::scan(std::string_view text, std::vector<span>& out) const {
  const pattern_set& p = pats();
  const std::size_t n = text.size();
  const StringPiece in(text.data(), n);
  auto at = [&](const StringPiece& m) { return static_cast<std::size_t>(m.data() - text.data()); };
  StringPiece m[3];

  // key<sep> value, within the line [from, to)
  auto keys = [&](std::size_t from, std::size_t to) {
    for (std::size_t pos = from; pos < to && p.key.Match(in, pos, to, RE2::UNANCHORED, m, 1);) {
      const std::size_t ms = at(m[0]), me = ms + m[0].size();
      std::size_t next = std::max(me, pos + 1);
      // parse backwards: separator, blanks, closing quote and its backslashes, key
      std::size_t ke = me - 1;
      if (ke > ms && ((text[ke] == '>' && text[ke - 1] == '=') || (text[ke] == '=' && text[ke - 1] == ':'))) --ke;
      const bool colon = text[ke] == ':';
      while (ke > ms && is_blank(text[ke - 1])) --ke;
      unsigned char q = 0;
      std::size_t k = 0;
      if (ke > ms && (text[ke - 1] == '"' || text[ke - 1] == '\'')) {
        q = text[--ke];
        while (ke > ms && text[ke - 1] == '\\') --ke, ++k;
      }
      const std::size_t ks = text[ms] == '"' ? ms + 1 : ms;
      // host:port in a URL is not key: value
      const bool authority =
          ms >= 1 && (text[ms - 1] == '@' || (ms >= 2 && text[ms - 1] == '/' && text[ms - 2] == '/'));
      const word_check wc = check_words(text.substr(ks, ke > ks ? ke - ks : 0));
      if (wc.sensitive && !(colon && authority)) {
        std::size_t vs = me;
        while (vs < to && is_blank(text[vs])) ++vs;
        const unsigned char outer =
            ms > 0 && (text[ms - 1] == '"' || text[ms - 1] == '\'') ? text[ms - 1] : 0;
        value_extent v;
        if (value_span(text, vs, q, k, wc.cookie, outer, v)) {
          span s;
          s.begin = v.begin;
          s.end = v.end;
          s.ctx = ms;
          s.quote_level = v.quote_level;
          out.push_back(s);
          next = std::max(next, v.end);
        }
      }
      pos = next;
    }
  };

  // tokens, Bearer, URL passwords, within the line [from, to)
  auto tokens = [&](std::size_t from, std::size_t to) {
    for (std::size_t pos = from; pos < to && p.token.Match(in, pos, to, RE2::UNANCHORED, m, 1);) {
      const std::size_t ms = at(m[0]), me = ms + m[0].size();
      span s;
      s.ctx = s.begin = ms;
      s.end = me;
      const std::string_view mt = text.substr(ms, me - ms);
      if (mt.substr(0, 3) == "://") {
        s.begin = ms + mt.find(':', 3) + 1;
        s.end = me - 1; // before '@'
      } else if (mt.size() > 6 && ieq(mt.substr(0, 6), "bearer")) {
        s.begin = ms + 6;
        while (s.begin < me && is_blank(text[s.begin])) ++s.begin;
      }
      if (s.end > s.begin) out.push_back(s);
      pos = std::max(me, pos + 1);
    }
  };

  // Line-local families: the union finds a line that needs them; both then scan that
  // whole line separately (so no family hides another's match), and the search goes on
  // from the next line.
  for (std::size_t pos = 0; pos < n && p.line_filter.Match(in, pos, n, RE2::UNANCHORED, m, 1);) {
    const std::size_t ms = at(m[0]);
    const std::size_t nl = ms > pos ? text.rfind('\n', ms - 1) : npos;
    const std::size_t from = nl == npos || nl < pos ? pos : nl + 1;
    std::size_t to = text.find('\n', ms);
    if (to == npos) to = n;
    keys(from, to);
    tokens(from, to);
    pos = to + 1;
  }

  // PEM private key blocks (multi-line; body only; an unterminated block runs to the end)
  constexpr std::string_view begin_marker = "-----BEGIN";
  for (std::size_t pos = text.find(begin_marker); pos != npos;) {
    std::size_t next = pos + 1;
    if (p.pem.Match(in, pos, n, RE2::ANCHOR_START, m, 3)) {
      span s;
      s.ctx = pos;
      s.begin = at(m[1]);
      s.open = m[2].empty();
      s.end = s.open ? n : s.begin + m[1].size();
      out.push_back(s); // kept even when empty: an open block must hold the stream
      if (s.open) break;
      next = pos + m[0].size();
    }
    pos = text.find(begin_marker, next);
  }

  // exact values, every occurrence (overlapping ones too)
  if (!exact_) return;
  const exact_set& ex = *exact_;
  auto add = [&](std::size_t b, std::size_t e) {
    span s;
    s.begin = s.ctx = b;
    s.end = e;
    s.exact = true;
    out.push_back(s);
  };
  constexpr std::size_t big_bucket = 8;
  const char* const d = text.data();
  const uint64_t* const bloom = ex.bloom.data(); // local: out.push_back may alias otherwise
  for (std::size_t i = 0; i + min_exact <= n; ++i) {
    const uint32_t w = exact_set::prefix(d + i);
    const uint32_t h = exact_set::hash(w);
    if (!((bloom[h >> 6] >> (h & 63)) & 1)) continue;
    const auto it = ex.buckets.find(w);
    if (it == ex.buckets.end()) continue;
    if (it->second.size() > big_bucket && ex.re) {
      if (ex.re->Match(in, i, std::min(n, i + ex.longest), RE2::ANCHOR_START, m, 1))
        add(i, i + m[0].size());
      continue;
    }
    for (const uint32_t fi : it->second) { // longest first: the first hit is the longest
      const std::string& f = ex.forms[fi];
      if (f.size() <= n - i && std::memcmp(d + i + 4, f.data() + 4, f.size() - 4) == 0) {
        add(i, i + f.size());
        break;
      }
    }
  }
}

std::size_t masker::apply(std::string_view text, std::vector<span>& spans, std::size_t limit,
                          std::string& out) {
  limit = std::min(limit, text.size());
  std::size_t w = 0;
  for (auto& s : spans) {
    s.end = std::min(s.end, limit);
    if (s.begin < s.end) spans[w++] = s;
  }
  spans.resize(w);
  if (spans.empty()) {
    out.append(text.substr(0, limit));
    return 0;
  }

  // Existing markers: a span inside one is dropped, a span overlapping one swallows it.
  const std::string_view body = text.substr(0, limit);
  std::vector<std::pair<std::size_t, std::size_t>> marks;
  for (std::size_t p = body.find(redacted); p != npos; p = body.find(redacted, p + 1)) {
    if (!marks.empty() && p < marks.back().second) marks.back().second = p + redacted.size();
    else marks.emplace_back(p, p + redacted.size());
  }
  if (!marks.empty()) {
    w = 0;
    for (auto& s : spans) {
      auto it = std::upper_bound(marks.begin(), marks.end(), s.begin,
                                 [](std::size_t b, const auto& mk) { return b < mk.second; });
      bool inside = false;
      for (; it != marks.end() && it->first < s.end; ++it) {
        if (it->first <= s.begin && s.end <= it->second && !s.silent) { inside = true; break; }
        s.begin = std::min(s.begin, it->first);
        s.end = std::max(s.end, it->second);
      }
      if (!inside) spans[w++] = s;
    }
    spans.resize(w);
  }

  std::sort(spans.begin(), spans.end(), [](const span& a, const span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  out.reserve(out.size() + limit);
  std::size_t cursor = 0, count = 0;
  for (std::size_t i = 0; i < spans.size();) {
    const std::size_t b = spans[i].begin;
    std::size_t e = spans[i].end;
    bool silent = false;
    std::size_t j = i;
    for (; j < spans.size() && spans[j].begin <= e; ++j) {
      e = std::max(e, spans[j].end);
      silent = silent || spans[j].silent;
    }
    int level = -1;
    for (std::size_t x = i; x < j; ++x)
      if (spans[x].quote_level >= 0 && spans[x].begin == b && spans[x].end == e)
        level = spans[x].quote_level;
    out.append(text.substr(cursor, b - cursor));
    if (!silent) {
      if (level >= 0) {
        out.append(static_cast<std::size_t>(level), '\\');
        out += '"';
        out.append(redacted);
        out.append(static_cast<std::size_t>(level), '\\');
        out += '"';
      } else {
        out.append(redacted);
      }
      ++count;
    }
    cursor = e;
    i = j;
  }
  out.append(text.substr(cursor, limit - cursor));
  return count;
}

std::size_t masker::mask_in_place(std::string& text) const {
  std::vector<span> spans;
  scan(text, spans);
  if (spans.empty()) return 0;
  std::string out;
  const std::size_t count = apply(text, spans, text.size(), out);
  if (count > 0) text.swap(out);
  return count;
}

std::string masker::mask(std::string_view text) const {
  std::vector<span> spans;
  scan(text, spans);
  std::string out;
  apply(text, spans, text.size(), out);
  return out;
}

nlohmann::json masker::mask_json(const nlohmann::json& j) const {
  using json = nlohmann::json;
  // Iterative (explicit stack): hostile nesting depth cannot overflow ours.
  struct frame {
    const json* in;
    json* out;
    json::const_iterator it;
    std::size_t idx;
    bool redact_value; // {"name": "<sensitive>", "value": ...}
  };
  auto named_secret = [](const json& o) {
    bool has_value = o.contains("value") || o.contains("Value");
    if (!has_value) return false;
    for (const char* k : {"name", "Name", "key", "Key"}) {
      auto it = o.find(k);
      if (it != o.end() && it->is_string() && is_sensitive_key(it->get_ref<const std::string&>()))
        return true;
    }
    return false;
  };
  std::vector<frame> st;
  auto visit = [&](const json& in, json& out) {
    switch (in.type()) {
    case json::value_t::object:
      out = json::object();
      st.push_back({&in, &out, in.cbegin(), 0, named_secret(in)});
      break;
    case json::value_t::array:
      out = json::array();
      out.get_ref<json::array_t&>().resize(in.size());
      st.push_back({&in, &out, in.cbegin(), 0, false});
      break;
    case json::value_t::string:
      out = mask(in.get_ref<const std::string&>());
      break;
    default:
      out = in;
    }
  };
  json result;
  visit(j, result);
  while (!st.empty()) {
    frame& f = st.back();
    if (f.in->is_object()) {
      if (f.it == f.in->cend()) { st.pop_back(); continue; }
      const std::string& key = f.it.key();
      const json& v = f.it.value();
      ++f.it;
      json& slot = (*f.out)[key];
      if (is_sensitive_key(key) || (f.redact_value && (key == "value" || key == "Value")))
        slot = std::string(redacted);
      else
        visit(v, slot); // may push: f is not used after this
    } else {
      if (f.idx == f.in->size()) { st.pop_back(); continue; }
      const std::size_t i = f.idx++;
      visit((*f.in)[i], (*f.out)[i]);
    }
  }
  return result;
}

const masker& patterns() {
  static const masker m;
  return m;
}

namespace {

/// The live secret values (a multiset: two executions may resolve the same value) and
/// the masker built from them.
struct live_registry {
  std::mutex mtx;
  std::multiset<std::string> values;
  std::shared_ptr<const masker> built; // null: none live, use patterns()

  void rebuild() { // with mtx held
    std::shared_ptr<const masker> next;
    if (!values.empty())
      next = std::make_shared<const masker>(
        std::vector<std::string>(values.begin(), values.end()));
    std::atomic_store(&built, next);
  }
};

live_registry& registry() {
  static live_registry r;
  return r;
}

} // namespace

live_handle add_live_secrets(std::vector<std::string> values) {
  auto& r = registry();
  {
    std::lock_guard<std::mutex> guard{r.mtx};
    for (auto& v : values)
      r.values.insert(v);
    r.rebuild();
  }
  auto held = std::make_shared<std::vector<std::string>>(std::move(values));
  return live_handle{held.get(), [held](void*) {
                       auto& r = registry();
                       std::lock_guard<std::mutex> guard{r.mtx};
                       for (auto& v : *held)
                         if (auto i = r.values.find(v); i != r.values.end())
                           r.values.erase(i);
                       r.rebuild();
                     }};
}

std::shared_ptr<const masker> current() {
  if (auto m = std::atomic_load(&registry().built))
    return m;
  return std::shared_ptr<const masker>(&patterns(), [](const masker*) {});
}

// ==================================================================== stream_masker

namespace {
constexpr std::size_t end_tail = 160; // bytes kept while dropping a PEM body (END may be split)

// Largest c' <= c with no span (pattern spans with ctx >= floor) straddling it, i.e.
// outside every open interval (ctx, end): cutting there keeps each match whole, with
// its context, on one side.
template <class Span>
std::size_t cut_before(const std::vector<Span>& spans, std::size_t c, std::size_t floor) {
  std::vector<std::pair<std::size_t, std::size_t>> iv;
  for (const auto& s : spans)
    if (!s.exact && !s.silent && s.ctx >= floor && s.ctx < c && std::max(s.end, s.begin) > s.ctx)
      iv.emplace_back(s.ctx, s.open ? std::max(s.end, s.begin) + 1 : s.end);
  if (iv.empty()) return c;
  std::sort(iv.begin(), iv.end());
  std::size_t lo = iv[0].first, hi = iv[0].second;
  for (std::size_t i = 1; i <= iv.size(); ++i) {
    if (i < iv.size() && iv[i].first < hi) {
      hi = std::max(hi, iv[i].second);
      continue;
    }
    if (lo < c && c < hi) return lo;
    if (i < iv.size()) lo = iv[i].first, hi = iv[i].second;
  }
  return c;
}
} // namespace

stream_masker::stream_masker(std::shared_ptr<const masker> m) : m_(std::move(m)) {
  if (!m_) m_ = std::shared_ptr<const masker>(&patterns(), [](const masker*) {});
}

std::string stream_masker::feed(std::string_view chunk) {
  std::string out;
  pending_.append(chunk);
  emit(out, false);
  return out;
}

std::string stream_masker::finish() {
  std::string out;
  emit(out, true);
  pending_.clear();
  carry_ = 0;
  in_pem_ = pem_wait_ = false;
  pem_wait_from_ = 0;
  return out;
}

void stream_masker::emit(std::string& out, bool final) {
  const pattern_set& p = pats();
  if (in_pem_) { // dropping the body of a PEM block that was cut at the cap
    StringPiece m;
    const StringPiece in(pending_.data(), pending_.size());
    if (p.pem_end.Match(in, 0, pending_.size(), RE2::UNANCHORED, &m, 1)) {
      pending_.erase(0, static_cast<std::size_t>(m.data() - pending_.data()));
      in_pem_ = false;
    } else {
      if (final) pending_.clear();
      else if (pending_.size() > end_tail) pending_.erase(0, pending_.size() - end_tail);
      carry_ = 0;
      return;
    }
    carry_ = 0;
  }
  const std::size_t n = pending_.size();
  if (n == 0) return;
  const std::size_t longest = m_->longest_exact();
  const std::size_t hold = longest > 0 ? longest - 1 : 0;

  std::size_t c = n;
  if (!final) {
    const std::size_t nl = pending_.find_last_of("\n\r");
    const std::size_t c_line = nl == npos ? 0 : nl + 1;
    c = std::min(c_line, n > hold ? n - hold : 0);
    if (c == 0 && n < cap) return; // nothing can be final yet: no need to scan
    if (pem_wait_ && n < cap) {    // held for an open PEM block: look only for its END
      const std::size_t from = pem_wait_from_ > end_tail ? pem_wait_from_ - end_tail : 0;
      const StringPiece in(pending_.data(), n);
      if (!p.pem_end.Match(in, from, n, RE2::UNANCHORED, nullptr, 0)) {
        pem_wait_from_ = n;
        return;
      }
    }
    pem_wait_ = false;
  }

  std::vector<masker::span> spans;
  m_->scan(pending_, spans);
  if (carry_ > 0) { // the rest of a redaction emitted last time: swallowed, not counted
    masker::span s;
    s.end = std::min(carry_, n);
    s.exact = s.silent = true;
    spans.push_back(s);
  }
  if (!final) {
    c = cut_before(spans, c, 0);
    if (n - c >= cap) { // held too long: force a cut, keep the tail that may still change
      const std::size_t margin = std::max(hold, pattern_margin);
      const std::size_t forced = n > margin ? n - margin : 0;
      c = std::max(c, cut_before(spans, forced, n - cap));
    }
    if (c == 0) {
      for (const auto& s : spans)
        if (s.open && s.ctx == 0) pem_wait_ = true, pem_wait_from_ = n;
      return;
    }
  }

  std::size_t new_carry = 0;
  bool pem_cut = false, pem_next = false;
  for (const auto& s : spans) {
    if (s.begin < c && s.end > c) {
      if (s.open) pem_cut = true;
      else new_carry = std::max(new_carry, s.end - c);
    }
    if (s.open && s.ctx == c) pem_next = true; // what is left starts with an open block
  }
  redactions_ += masker::apply(pending_, spans, c, out); // clips spans: used above only
  pending_.erase(0, c);
  carry_ = pem_cut ? 0 : new_carry;
  in_pem_ = pem_cut;
  if (pem_next && !pem_cut && !final) pem_wait_ = true, pem_wait_from_ = n - c;
}

} // namespace stagee::masking
