/// Secret masking (R-SAFE-5): every log line, event payload, step output and error
/// message written anywhere passes ONE masker before it is stored or printed.
///
/// What is redacted (replacement text: `***REDACTED***`):
///  - values of sensitive keys in `key=value`, `key: value`, `key => value`, `key := value`,
///    quoted keys (`"api_key": "abc"`, `'pwd': 'x'`, and JSON escaped once or more inside
///    another string: `\"token\":\"x\"`). The key stays visible. Value extent:
///      * quoted ("..." with JSON escapes at the key's escape level, or '...'): the inside;
///      * `{...}` / `[...]` (balanced, strings respected, same line): the whole structure,
///        replaced by a quoted "***REDACTED***" after a double-quoted key so JSON stays valid;
///      * unquoted: up to whitespace (and `"`, `'`, `&`; after a double-quoted key also
///        `,` `}` `]`); an auth scheme word first (`Bearer`, `Basic`, `Digest`, `Token`,
///        `Negotiate`, `NTLM`) stays visible; cookie headers run to the end of the line.
///    A quoted value that never closes is redacted to the end of its line.
///  - `Bearer <token>` anywhere; JWTs (`eyJ...\.eyJ...\.sig`); PEM private key blocks
///    (`-----BEGIN ... PRIVATE KEY-----` to `-----END ... PRIVATE KEY-----`, multi-line, the
///    BEGIN/END lines stay, the body goes; a block that never ends is redacted to the end
///    of the text); passwords in URLs (`scheme://user:***REDACTED***@host`); AWS access key
///    ids (AKIA/ASIA/... + 16 upper-alnum); GitHub tokens (ghp_/gho_/ghu_/ghs_/ghr_,
///    github_pat_); Slack tokens (xox[abprs]-).
///  - the exact values of secrets resolved at run time, and their common encodings.
///
/// Decisions (issue 5):
///  - Keys match by word, case-insensitively: a key is split into words at `_`, `-`, `.`,
///    spaces (and any other non-alphanumeric byte), camelCase boundaries (`apiKey`,
///    `APIKey`) and letter/digit boundaries. It is sensitive when a word is one of
///    password passwd pwd passphrase secret secrets token credential credentials auth
///    authorization apikey cookie, or two adjacent words are api+key, private+key,
///    access+key, secret+key, signing+key, encryption+key, client+secret. Concatenated
///    spellings count too: a word ending in password/passwd/passphrase/secret/token/
///    credential(s)/apikey/privatekey/accesskey/secretkey/signingkey/encryptionkey
///    (PGPASSWORD, accesstoken, clientsecret). A key named just `key` is NOT sensitive:
///    our replies carry `idempotency_key`, `lock_key`; `fence`, `plan_hash`,
///    `execution_id`, `lease_ms` are never masked. Any word match masks (`token_ttl` too).
///    `session` is not sensitive. In plain text a key is one run of [A-Za-z0-9_.-], or
///    a pair spelled with a space (`Secret Key: x`, `the api key: x`); inside double
///    quotes it may be any text (`"Auth Key": x`). `host:port` right after `//` or `@`
///    is not a key.
///  - Exact values shorter than 4 bytes are ignored (they would redact ordinary text).
///    Each exact value is also matched as: base64 (standard and url-safe, with and
///    without padding, plus the forms it takes inside a longer base64 stream at each of
///    the three byte alignments, when those are >= 8 characters), lower/upper-case hex,
///    percent-encoding (upper/lower-case hex, `+` for space, JavaScript's
///    encodeURIComponent set) and the JSON-escaped string form (raw UTF-8 and \u-escaped).
///    All occurrences are found, overlapping ones included (their union is redacted);
///    at one position the longest form wins. Secrets are matched byte for byte (a value
///    may hold newlines, NULs, invalid UTF-8).
///  - mask_json: the value of a sensitive key becomes the string "***REDACTED***" whatever
///    its type (object/array included); other strings pass the text masker; keys,
///    numbers, booleans and null are untouched. Also `{"name": "<sensitive key>",
///    "value": ...}` (and `key`/`Key`/`Name`/`Value`) objects get their value redacted.
///
/// Overlaps: every pattern family and the exact values see the ORIGINAL text; the
/// spans they want redacted are merged and replaced in one pass, so no pattern ever sees
/// half-redacted text. A span that lies inside an existing `***REDACTED***` is dropped
/// (masking twice changes nothing and counts nothing), one that partly overlaps it is
/// widened to cover it.
///
/// Known limits: secrets inside JSON keys and JSON numbers equal to an exact value are
/// not masked by mask_json; in plain text, a pretty-printed (multi-line) JSON object
/// under a sensitive key (only its first line goes), CLI flags without `=`
/// (`--password x`, `mysql -pX`), XML elements (`<password>x</password>`), URL passwords with an
/// unescaped `/`, `?` or `#`, and the key words split by other bytes than `_-. `
/// (`api/key`). Unquoted values run to whitespace (`password=a,b` loses `,b` too:
/// over-redaction is preferred to a partial leak). Over-redaction in prose is accepted
/// (`refresh token: expired` hides `expired`).
///
/// Patterns use RE2 (linear time, no catastrophic backtracking) in Latin-1 mode so any
/// byte sequence (invalid UTF-8, NULs) is scanned byte by byte; the line-local families
/// (keys, tokens) first pass one RE2 of their union, so only the few lines that can hold
/// a match are scanned per family. Exact values: one linear pass, a Bloom filter on each
/// 4-byte window, hits verified with memcmp (RE2 anchored for crowded prefixes).
/// tests/bench/bench_masker.cpp measures throughput. A masker is immutable after
/// construction; every const member is safe to call from many threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace stagee::masking {

inline constexpr std::string_view redacted = "***REDACTED***";

/// True when a key (JSON member name, `key=` name, header name) is sensitive by the word
/// rules above. Exposed so callers (e.g. structured log fields) agree with the masker.
bool is_sensitive_key(std::string_view key);

class masker {
public:
  masker();                                          // patterns only
  explicit masker(std::vector<std::string> exact);   // patterns + exact secret values
  ~masker();
  masker(masker&&) noexcept;
  masker& operator=(masker&&) noexcept;
  masker(const masker&) = delete;
  masker& operator=(const masker&) = delete;

  /// Masks text; returns the number of redactions made (so callers can count).
  std::size_t mask_in_place(std::string& text) const;
  std::string mask(std::string_view text) const;
  nlohmann::json mask_json(const nlohmann::json& j) const;
  /// Longest exact form (incl. encodings) in bytes, 0 if none.
  std::size_t longest_exact() const;
  bool empty_exact() const;

private:
  friend class stream_masker;
  /// One region to redact, as found on the original text (used by stream_masker).
  struct span {
    std::size_t begin = 0, end = 0; // bytes replaced
    std::size_t ctx = 0;            // first byte the match depends on (key start, ...)
    int quote_level = -1;           // >= 0: replacement is a JSON string at that escape level
    bool exact = false;             // from an exact value (complete once fully received)
    bool open = false;              // unterminated PEM block: runs to the end of the text
    bool silent = false;            // continuation of a span already redacted upstream
  };
  /// Appends every span of text to out (unsorted, may overlap).
  void scan(std::string_view text, std::vector<span>& out) const;
  /// Appends masked text[0, limit) to out using spans (clipped to limit; sorted and
  /// merged here, so the vector is modified). Returns the redactions made (silent spans
  /// and spans merged with them do not count and write no marker).
  static std::size_t apply(std::string_view text, std::vector<span>& spans,
                           std::size_t limit, std::string& out);

  struct exact_set;
  std::shared_ptr<const exact_set> exact_;
};

/// The process-wide patterns-only masker (constructed once, thread-safe, const).
const masker& patterns();

/// Secret values resolved by live executions of this process. Sinks that are not tied
/// to one execution (log lines, the journal, live events) mask them too, through
/// current(). Values stay registered while the handle add() returned is alive.
using live_handle = std::shared_ptr<void>;
live_handle add_live_secrets(std::vector<std::string> values);

/// Patterns plus every live secret value; the patterns-only masker when none is live.
/// Cheap (an atomic shared_ptr load); rebuilt only when values come or go.
std::shared_ptr<const masker> current();

/// Streamed output (captured step stdout/stderr arrives in reads of any size). A secret
/// or a pattern split across two feeds is still caught. feed() returns the masked text
/// that can no longer change; finish() returns the rest (and resets the stream).
///
/// Hold-back: everything after the last line end ('\n' or '\r': a line is the unit for
/// patterns), and additionally at least longest_exact()-1 bytes, so an exact value
/// (even a multi-line one) is always fully received before the text around it is
/// emitted; an exact value crossing the cut is redacted in the emitted part and the
/// rest of it swallowed silently from the next emit. A pattern match crossing the cut
/// moves the cut back to the start of its context (the key of a key=value, the BEGIN
/// line of a PEM block), so an opened PEM private key block is held until its END line.
/// Cap: when 64 KiB are held (no line end for 64 KiB, or a PEM block that long), all
/// but max(longest_exact()-1, 256) bytes are emitted anyway: an open PEM block is then
/// redacted from its BEGIN line on and everything up to its END line is dropped. At such
/// a forced cut a match that started within the last 64 KiB still moves the cut back;
/// documented limit: a pattern not yet recognisable 256 bytes after its start (a key
/// or URL user part longer than that), or one that started more than 64 KiB back, may
/// be split and its tail missed (the part already known is redacted, and the rest of a
/// known span is swallowed from the next emit). Exact values are never missed.
/// Never emits a partial match. Not thread-safe (one stream, one reader).
class stream_masker {
public:
  explicit stream_masker(std::shared_ptr<const masker> m);
  std::string feed(std::string_view chunk);
  std::string finish();
  std::size_t redactions() const { return redactions_; } // total so far

  static constexpr std::size_t cap = 64 * 1024;
  static constexpr std::size_t pattern_margin = 256;

private:
  void emit(std::string& out, bool final);

  std::shared_ptr<const masker> m_;
  std::string pending_;
  std::size_t redactions_ = 0;
  std::size_t carry_ = 0;          // leading bytes of pending_ continuing an emitted redaction
  bool in_pem_ = false;            // dropping the body of a force-cut PEM block
  bool pem_wait_ = false;          // pending_ starts with an open PEM block: wait for END
  std::size_t pem_wait_from_ = 0;  // where to look for its END line next time
};

} // namespace stagee::masking
