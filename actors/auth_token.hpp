/// JWT credentials: verification of the token every gateway message carries, and
/// issuing of tokens (CLI, tests).
///
/// Verification follows RFC 8725 (JWT BCP). Everything that can be checked without the
/// key is checked first, in this order, before libjwt ever sees the token:
///   1. size (<= max_bytes, default 8 KiB), before any parsing;
///   2. exactly three '.'-separated segments, each strict base64url (alphabet
///      [A-Za-z0-9_-], no '=' padding, canonical trailing bits);
///   3. header: a JSON object without duplicate keys; `alg` on the allow-list
///      {HS256, RS256, ES256} (`none` in any case refused); `jku`, `jwk`, `x5u`, `x5c`
///      and `crit` refused; `typ`, if present, "JWT" (case-insensitive); `kid`, if
///      present, of the form [A-Za-z0-9._-]{1,64} and a configured key id (exact match);
///      without `kid` only a ring holding exactly one key is usable;
///   4. the chosen key fixes the algorithm (HMAC -> HS256, RSA -> RS256, EC P-256 ->
///      ES256) and the header's `alg` must equal it: this is what stops key confusion
///      (an "HS256" token MACed with the RSA public key PEM);
///   5. signature present and of the length the algorithm implies;
///   6. payload: a JSON object without duplicate keys;
///   7. signature verified by libjwt 1.10.2 with that key only, then jwt_get_alg() must
///      report the expected algorithm;
///   8. claims: `exp` (required), `nbf`, `iat` integers in [0, 253402300799] checked
///      against now with `leeway_s`; `iss` equal to the configured issuer; `aud` (string
///      or array of strings) containing the configured audience; `sub`, `tenant`
///      required, 1..200 bytes, no control characters; `roles` optional array of such
///      strings.
/// Every refusal is a token_error whose message starts with "token rejected: " and names
/// the problem; messages quote at most short, escaped header/claim values (kid, alg,
/// iss, aud), never the token, a segment of it, or the signature. The error code for all
/// of them is "invalid_token".
///
/// Pure logic (OpenSSL 3 + libjwt + nlohmann::json); no actors, no I/O except reading
/// key files in key_ring::add_*_file and issue_token_with_file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stagee::auth {

/// Who a verified credential speaks for.
struct identity {
  std::string principal;          ///< `sub`
  std::string tenant;             ///< `tenant`
  std::vector<std::string> roles; ///< `roles` (empty when absent)
  bool has_roles = false;         ///< the token has a `roles` claim: it narrows the bindings
  std::string auth_method;        ///< "jwt:HS256" | "jwt:RS256" | "jwt:ES256" ("dev" elsewhere)
  std::string key_id;             ///< id of the ring key that verified the token
  int64_t expires_at = 0;         ///< `exp`, unix seconds
};

/// Why a token was refused. The wire error code is always "invalid_token".
struct token_error {
  std::string message; ///< "token rejected: <problem>"; never contains the token
};

/// The error code every token_error maps to.
inline constexpr std::string_view token_error_code = "invalid_token";

struct verifier_settings {
  std::string issuer = "stagee";   ///< required value of `iss`
  std::string audience = "stagee"; ///< must appear in `aud`
  int64_t leeway_s = 60;           ///< clock skew tolerated on exp / nbf / iat
  std::size_t max_bytes = 8192;    ///< whole token, checked before any parsing
};

/// Verification keys by key id. Each key fixes its algorithm:
/// HMAC secret -> HS256, RSA public key -> RS256, EC P-256 public key -> ES256.
/// Key ids match [A-Za-z0-9._-]{1,64} and are unique within a ring.
class key_ring {
public:
  /// HS256: the file holds the raw secret (>= 32 bytes after trailing CR/LF are
  /// stripped). A file that looks like a PEM key is refused (key-confusion guard).
  /// kid defaults to the file's stem (name without directory and last extension).
  /// @throws std::runtime_error naming the file and the problem.
  void add_hmac_file(const std::string& path, std::string kid = {});

  /// PEM public key file (SubjectPublicKeyInfo "PUBLIC KEY", or PKCS#1 "RSA PUBLIC
  /// KEY"): RSA >= 2048 bits -> RS256, EC P-256 -> ES256; anything else is refused, and
  /// so is a private key. kid defaults to the file's stem.
  /// @throws std::runtime_error naming the file and the problem.
  void add_public_key_file(const std::string& path, std::string kid = {});

  /// As add_hmac_file, from memory (the secret is used as given, >= 32 bytes).
  /// @throws std::runtime_error on a bad kid, short secret or duplicate kid.
  void add_hmac(std::string kid, std::string secret);

  /// As add_public_key_file, from memory.
  /// @throws std::runtime_error on a bad kid, unusable key or duplicate kid.
  void add_public_key_pem(std::string kid, const std::string& pem);

  std::size_t size() const;

  /// Configured key ids, in insertion order.
  std::vector<std::string> key_ids() const;

private:
  friend class token_verifier;
  struct entry {
    std::string kid;
    int alg = 0;             ///< jwt_alg_t: JWT_ALG_HS256 / RS256 / ES256
    std::string material;    ///< HMAC secret bytes, or normalized SPKI PEM
    std::size_t sig_len = 0; ///< expected raw signature length in bytes
  };
  const entry* find(std::string_view kid) const;
  void add(entry e);
  std::vector<entry> entries_;
};

class token_verifier {
public:
  token_verifier(key_ring keys, verifier_settings s);

  /// Verifies `token` at time `now_s` (unix seconds, injectable for tests).
  /// Thread-safe: const, no shared mutable state.
  std::variant<identity, token_error> verify(std::string_view token, int64_t now_s) const;

  const verifier_settings& settings() const { return settings_; }

private:
  key_ring keys_;
  verifier_settings settings_;
};

struct issue_request {
  std::string sub, tenant;
  std::vector<std::string> roles;
  std::string issuer = "stagee", audience = "stagee";
  int64_t ttl_s = 3600;
  int64_t now_s = 0;  ///< `iat`; 0 means the current time
  std::string kid;    ///< `kid` header; omitted when empty (no default from the file name)
  std::optional<int64_t> nbf;
};

/// Signs with an HMAC secret file (HS256) or a PEM private key file (RS256 for RSA
/// >= 2048 bits, ES256 for EC P-256); a file starting with "-----BEGIN" is taken as PEM.
/// Claims: sub, tenant, roles, iss, aud, iat, exp = iat + ttl_s, nbf when set.
/// Header: alg, typ "JWT", kid when set. Encrypted private keys are refused (no prompt).
/// @throws std::runtime_error naming the file and the problem on a bad key file;
///         std::invalid_argument on a request the verifier would refuse (empty or
///         over-long sub/tenant/role, control characters, bad kid, ttl_s <= 0).
std::string issue_token_with_file(const issue_request& r, const std::string& key_file);

/// HS256 with `secret` (>= 32 bytes).
std::string issue_token_hmac(const issue_request& r, const std::string& secret);

/// RS256 / ES256 with a PEM private key (PKCS#8 or traditional, unencrypted).
std::string issue_token_pem(const issue_request& r, const std::string& private_key_pem);

} // namespace stagee::auth
