/// JWT verification (RFC 8725 checks in front of libjwt) and issuing. See auth_token.hpp.
#include "actors/auth_token.hpp"

#include "actors/utf8.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <jwt.h>
#undef DEPRECATED // jwt.h leaks this macro name

namespace stagee::auth {

namespace {

using json = nlohmann::json;

// -- limits ---------------------------------------------------------------------------

constexpr std::size_t min_hmac_bytes = 32;
constexpr int min_rsa_bits = 2048;
constexpr std::size_t max_name_bytes = 200;        // sub, tenant, each role
constexpr std::size_t max_kid_chars = 64;
constexpr std::size_t max_json_depth = 32;
constexpr std::size_t max_quote = 64;              // bytes of a value quoted in a message
constexpr std::size_t max_key_file_bytes = 1 << 16;
constexpr int64_t max_numeric_date = 253402300799; // 9999-12-31T23:59:59Z
constexpr int64_t max_leeway_s = 86400;
constexpr std::size_t hs256_sig_len = 32;
constexpr std::size_t es256_sig_len = 64;          // JOSE raw R||S, 2 x 32 bytes

// -- small helpers --------------------------------------------------------------------

token_error reject(const std::string& problem) {
  return token_error{"token rejected: " + problem};
}

/// A header/claim value as quoted back in a message (never raw bytes).
std::string quote(std::string_view s) {
  return "'" + printable_ascii(s, max_quote) + "'";
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              auto lx = (x >= 'A' && x <= 'Z') ? char(x - 'A' + 'a') : x;
              auto ly = (y >= 'A' && y <= 'Z') ? char(y - 'A' + 'a') : y;
              return lx == ly;
            });
}

bool valid_kid(std::string_view kid) {
  if (kid.empty() || kid.size() > max_kid_chars)
    return false;
  return std::all_of(kid.begin(), kid.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '.' || c == '_' || c == '-';
  });
}

/// C0 controls, DEL, and C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F).
bool has_control(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f)
      return true;
    if (c == 0xc2 && i + 1 < s.size()) {
      auto d = static_cast<unsigned char>(s[i + 1]);
      if (d >= 0x80 && d <= 0x9f)
        return true;
    }
  }
  return false;
}

/// Problem with a sub/tenant/role value, or "" when acceptable.
std::string name_problem(std::string_view what, std::string_view v) {
  if (v.empty())
    return std::string{what} + " is empty";
  if (v.size() > max_name_bytes)
    return std::string{what} + " is longer than " + std::to_string(max_name_bytes) + " bytes";
  if (has_control(v))
    return std::string{what} + " contains control characters";
  return {};
}

const char* alg_name(int alg) {
  switch (alg) {
    case JWT_ALG_HS256: return "HS256";
    case JWT_ALG_RS256: return "RS256";
    case JWT_ALG_ES256: return "ES256";
    default: return "unsupported";
  }
}

// -- strict base64url -----------------------------------------------------------------

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/// Decodes unpadded, canonical base64url. Returns the problem, or "" on success.
std::string b64url_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    int v = b64url_value(in[i]);
    if (v < 0)
      return in[i] == '=' ? "uses '=' padding (not allowed in base64url JWS)"
                          : "has an invalid character at offset " + std::to_string(i);
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (in.size() % 4 == 1)
    return "has an impossible length for base64url";
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return "is not canonical (non-zero trailing bits)";
  return {};
}

// -- JSON with duplicate-key detection ------------------------------------------------

struct json_problem {
  std::string message;
};

/// Tracks keys per open object while nlohmann parses: nlohmann silently keeps the last
/// of duplicate keys, which would let two parsers (ours, jansson in libjwt) disagree.
class dup_tracker {
public:
  bool on_event(json::parse_event_t ev, const json& parsed) {
    using ev_t = json::parse_event_t;
    switch (ev) {
      case ev_t::object_start:
      case ev_t::array_start:
        if (frames_.size() >= max_json_depth)
          throw json_problem{"is nested deeper than " + std::to_string(max_json_depth)
                             + " levels"};
        frames_.emplace_back();
        break;
      case ev_t::object_end:
      case ev_t::array_end:
        frames_.pop_back();
        break;
      case ev_t::key: {
        const auto& k = parsed.get_ref<const std::string&>();
        if (!frames_.back().insert(k).second)
          throw json_problem{"has a duplicate key " + quote(k)};
        break;
      }
      default:
        break;
    }
    return true;
  }

private:
  std::vector<std::set<std::string>> frames_; // arrays get an (unused) empty set
};

/// Parses `text` as a JSON object. Returns the problem, or "" on success. Messages
/// never quote the text itself (nlohmann's "last read" would).
std::string parse_object(const std::string& text, json& out) {
  dup_tracker tracker;
  auto cb = [&tracker](int, json::parse_event_t ev, json& parsed) {
    return tracker.on_event(ev, parsed);
  };
  try {
    out = json::parse(text, cb);
  } catch (const json_problem& p) {
    return p.message;
  } catch (const json::parse_error& e) {
    return "is not valid JSON (error at byte " + std::to_string(e.byte) + ")";
  } catch (const json::exception&) {
    return "is not valid JSON";
  }
  if (!out.is_object())
    return std::string{"is not a JSON object (got "} + out.type_name() + ")";
  return {};
}

// -- claims ---------------------------------------------------------------------------

/// Reads NumericDate claim `name`. Returns the problem, or "" (value in `out` when present).
std::string read_time(const json& claims, const char* name, bool required,
                      std::optional<int64_t>& out) {
  out.reset();
  auto it = claims.find(name);
  if (it == claims.end())
    return required ? std::string{"missing "} + name + " claim" : std::string{};
  if (!it->is_number_integer())
    return std::string{name} + " must be an integer (seconds since the epoch), got "
           + it->type_name();
  if (it->is_number_unsigned()) {
    auto v = it->get<uint64_t>();
    if (v > uint64_t(max_numeric_date))
      return std::string{name} + " is out of range";
    out = int64_t(v);
  } else {
    auto v = it->get<int64_t>();
    if (v < 0 || v > max_numeric_date)
      return std::string{name} + " is out of range";
    out = v;
  }
  return {};
}

/// Reads required name-like string claim (sub, tenant). Returns the problem or "".
std::string read_name(const json& claims, const char* name, std::string& out) {
  auto it = claims.find(name);
  if (it == claims.end())
    return std::string{"missing "} + name + " claim";
  if (!it->is_string())
    return std::string{name} + " must be a string, got " + it->type_name();
  out = it->get<std::string>();
  return name_problem(name, out);
}

std::string quote_list(const json& arr) {
  std::string s = "[";
  std::size_t i = 0;
  for (const auto& v : arr) {
    if (i == 4) {
      s += ", ...";
      break;
    }
    s += (i++ ? ", " : "") + quote(v.get_ref<const std::string&>());
  }
  return s + "]";
}

// -- OpenSSL plumbing -----------------------------------------------------------------

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct decoder_free {
  void operator()(OSSL_DECODER_CTX* c) const { OSSL_DECODER_CTX_free(c); }
};
struct jwt_free_t {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using jwt_ptr = std::unique_ptr<jwt_t, jwt_free_t>;

/// Wipes a string holding key material before it is released.
struct scrubbed {
  std::string value;
  ~scrubbed() {
    if (!value.empty())
      OPENSSL_cleanse(value.data(), value.size());
  }
};

/// Label of the first PEM block ("PUBLIC KEY", "EC PRIVATE KEY"...), or "" if none.
std::string pem_label(std::string_view pem) {
  constexpr std::string_view begin = "-----BEGIN ";
  auto p = pem.find(begin);
  if (p == pem.npos)
    return {};
  p += begin.size();
  auto e = pem.find("-----", p);
  if (e == pem.npos || e - p > 64)
    return {};
  return std::string{pem.substr(p, e - p)};
}

bool looks_like_pem(std::string_view s) {
  return s.find("-----BEGIN") != s.npos;
}

std::string bio_to_string(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, std::size_t(n)) : std::string{};
}

/// Algorithm a key's type implies: RSA >= 2048 bits -> RS256, EC P-256 -> ES256.
/// Returns the problem, or "" with `alg` / `sig_len` set.
std::string classify(EVP_PKEY* k, int& alg, std::size_t& sig_len) {
  int id = EVP_PKEY_get_base_id(k);
  if (id == EVP_PKEY_RSA) {
    int bits = EVP_PKEY_get_bits(k);
    if (bits < min_rsa_bits)
      return "RSA key has " + std::to_string(bits) + " bits, need at least "
             + std::to_string(min_rsa_bits);
    alg = JWT_ALG_RS256;
    sig_len = std::size_t(EVP_PKEY_get_size(k));
    return {};
  }
  if (id == EVP_PKEY_EC) {
    char group[80] = {0};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(k, group, sizeof group, &len) != 1)
      return "EC key without a named curve (explicit parameters are not supported; use P-256)";
    std::string_view g{group, len};
    if (g != "prime256v1" && g != "P-256" && g != "secp256r1")
      return "EC key on curve '" + std::string{g} + "' is not supported (only P-256 / ES256)";
    alg = JWT_ALG_ES256;
    sig_len = es256_sig_len;
    return {};
  }
  const char* type = OBJ_nid2sn(id);
  return std::string{"unsupported key type '"} + (type ? type : "unknown")
         + "' (use RSA >= 2048 bits or EC P-256)";
}

/// Decodes a PEM public key (SPKI or PKCS#1 RSA) and normalizes it to SPKI PEM, which
/// is what libjwt's PEM_read_bio_PUBKEY reads. Returns the problem, or "".
std::string load_public_key(const std::string& pem, int& alg, std::size_t& sig_len,
                            std::string& spki_pem) {
  std::string label = pem_label(pem);
  if (label.empty())
    return "not a PEM file (no '-----BEGIN ...-----' line)";
  if (label.find("PRIVATE KEY") != std::string::npos)
    return "holds a private key; configure the public key instead (openssl pkey -pubout)";
  if (label == "CERTIFICATE")
    return "holds a certificate; extract the public key (openssl x509 -pubkey -noout)";
  if (label != "PUBLIC KEY" && label != "RSA PUBLIC KEY")
    return "unsupported PEM block '" + label + "' (expected PUBLIC KEY)";

  EVP_PKEY* raw = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, decoder_free> dctx{OSSL_DECODER_CTX_new_for_pkey(
    &raw, "PEM", nullptr, nullptr, EVP_PKEY_PUBLIC_KEY, nullptr, nullptr)};
  if (!dctx)
    return "OpenSSL could not create a key decoder";
  auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  std::size_t len = pem.size();
  if (OSSL_DECODER_from_data(dctx.get(), &data, &len) != 1 || raw == nullptr)
    return "could not be decoded as a PEM public key";
  pkey_ptr key{raw};

  if (auto why = classify(key.get(), alg, sig_len); !why.empty())
    return why;

  bio_ptr out{BIO_new(BIO_s_mem())};
  if (!out || PEM_write_bio_PUBKEY(out.get(), key.get()) != 1)
    return "could not be re-encoded as PEM";
  spki_pem = bio_to_string(out.get());
  return {};
}

int refuse_passphrase(char*, int, int, void*) {
  return -1; // never prompt: encrypted keys are refused
}

/// Decodes a PEM private key and normalizes it to unencrypted PKCS#8 PEM (so libjwt's
/// PEM_read_bio_PrivateKey never prompts). Returns the problem, or "".
std::string load_private_key(const std::string& pem, int& alg, std::string& pkcs8_pem) {
  std::string label = pem_label(pem);
  if (label.empty())
    return "not a PEM file (no '-----BEGIN ...-----' line)";
  if (label.find("PUBLIC KEY") != std::string::npos || label == "CERTIFICATE")
    return "holds a public key or certificate; signing needs the private key";
  if (label == "ENCRYPTED PRIVATE KEY" || pem.find("Proc-Type: 4,ENCRYPTED") != pem.npos)
    return "private key is passphrase-protected (not supported; decrypt it with openssl pkey)";

  bio_ptr in{BIO_new_mem_buf(pem.data(), int(pem.size()))};
  if (!in)
    return "OpenSSL could not allocate a buffer";
  pkey_ptr key{PEM_read_bio_PrivateKey(in.get(), nullptr, refuse_passphrase, nullptr)};
  if (!key)
    return "could not be decoded as a PEM private key";

  std::size_t sig_len = 0;
  if (auto why = classify(key.get(), alg, sig_len); !why.empty())
    return why;

  bio_ptr out{BIO_new(BIO_s_mem())};
  if (!out
      || PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)
           != 1)
    return "could not be re-encoded as PEM";
  pkcs8_pem = bio_to_string(out.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  if (n > 0)
    OPENSSL_cleanse(data, std::size_t(n));
  return {};
}

// -- files ----------------------------------------------------------------------------

[[noreturn]] void file_error(const std::string& path, const std::string& problem) {
  throw std::runtime_error("jwt key file '" + path + "': " + problem);
}

std::string read_key_file(const std::string& path) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st))
    file_error(path, "does not exist");
  if (!std::filesystem::is_regular_file(st))
    file_error(path, "is not a regular file");
  auto size = std::filesystem::file_size(path, ec);
  if (ec)
    file_error(path, "cannot read its size: " + ec.message());
  if (size > max_key_file_bytes)
    file_error(path, "is " + std::to_string(size) + " bytes, too large for a key (max "
                       + std::to_string(max_key_file_bytes) + ")");
  std::ifstream f(path, std::ios::binary);
  if (!f)
    file_error(path, std::string{"cannot be opened: "} + std::strerror(errno));
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad())
    file_error(path, "read error");
  return data;
}

/// HMAC secret from file content: one trailing "\n" (or "\r\n") removed.
std::string strip_newline(std::string s) {
  if (!s.empty() && s.back() == '\n') {
    s.pop_back();
    if (!s.empty() && s.back() == '\r')
      s.pop_back();
  }
  return s;
}

std::string kid_from_path(const std::string& path) {
  auto stem = std::filesystem::path(path).stem().string();
  if (!valid_kid(stem))
    file_error(path, "key id " + quote(stem)
                       + " derived from the file name is not of the form [A-Za-z0-9._-]{1,64};"
                         " pass an explicit kid");
  return stem;
}

std::string hmac_problem(std::string_view secret) {
  if (secret.size() < min_hmac_bytes)
    return "HMAC secret is " + std::to_string(secret.size()) + " bytes, need at least "
           + std::to_string(min_hmac_bytes);
  if (looks_like_pem(secret))
    return "looks like a PEM key, not an HMAC secret (a public key must never be used as"
           " an HMAC secret)";
  return {};
}

// -- issuing --------------------------------------------------------------------------

std::string issue(const issue_request& r, int alg, const std::string& key) {
  auto bad = [](const std::string& m) { throw std::invalid_argument("jwt issue: " + m); };
  if (auto p = name_problem("sub", r.sub); !p.empty())
    bad(p);
  if (auto p = name_problem("tenant", r.tenant); !p.empty())
    bad(p);
  for (std::size_t i = 0; i < r.roles.size(); ++i)
    if (auto p = name_problem("roles[" + std::to_string(i) + "]", r.roles[i]); !p.empty())
      bad(p);
  if (r.issuer.empty() || r.audience.empty())
    bad("issuer and audience must be non-empty");
  if (!r.kid.empty() && !valid_kid(r.kid))
    bad("kid " + quote(r.kid) + " is not of the form [A-Za-z0-9._-]{1,64}");
  if (r.ttl_s <= 0)
    bad("ttl_s must be positive");
  int64_t now = r.now_s != 0 ? r.now_s : int64_t(std::time(nullptr));
  if (now < 0 || now > max_numeric_date || r.ttl_s > max_numeric_date - now)
    bad("iat / exp out of range");
  if (r.nbf && (*r.nbf < 0 || *r.nbf > max_numeric_date))
    bad("nbf out of range");

  json claims = {{"sub", r.sub},    {"tenant", r.tenant}, {"iss", r.issuer},
                 {"aud", r.audience}, {"iat", now},        {"exp", now + r.ttl_s}};
  if (!r.roles.empty()) // no claim: every role bound to the principal applies
    claims["roles"] = r.roles;
  if (r.nbf)
    claims["nbf"] = *r.nbf;

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0 || raw == nullptr)
    throw std::runtime_error("jwt issue: libjwt could not allocate a token");
  jwt_ptr j{raw};
  if (jwt_set_alg(j.get(), jwt_alg_t(alg), reinterpret_cast<const unsigned char*>(key.data()),
                  int(key.size()))
      != 0)
    throw std::runtime_error(std::string{"jwt issue: libjwt refused the "} + alg_name(alg)
                             + " key");
  if (jwt_add_header(j.get(), "typ", "JWT") != 0
      || (!r.kid.empty() && jwt_add_header(j.get(), "kid", r.kid.c_str()) != 0))
    throw std::runtime_error("jwt issue: libjwt could not set the header");
  if (jwt_add_grants_json(j.get(), claims.dump().c_str()) != 0)
    throw std::runtime_error("jwt issue: libjwt could not set the claims");
  char* out = jwt_encode_str(j.get());
  if (out == nullptr)
    throw std::runtime_error(std::string{"jwt issue: libjwt failed to sign with "}
                             + alg_name(alg));
  std::string token{out};
  std::free(out);
  return token;
}

} // namespace

// -- key_ring -------------------------------------------------------------------------

void key_ring::add(entry e) {
  if (!valid_kid(e.kid))
    throw std::runtime_error("jwt key id " + quote(e.kid)
                             + " is not of the form [A-Za-z0-9._-]{1,64}");
  if (find(e.kid) != nullptr)
    throw std::runtime_error("jwt key id " + quote(e.kid) + " is configured twice");
  entries_.push_back(std::move(e));
}

void key_ring::add_hmac(std::string kid, std::string secret) {
  if (auto p = hmac_problem(secret); !p.empty())
    throw std::runtime_error("jwt key " + quote(kid) + ": " + p);
  add(entry{std::move(kid), JWT_ALG_HS256, std::move(secret), hs256_sig_len});
}

void key_ring::add_public_key_pem(std::string kid, const std::string& pem) {
  entry e{std::move(kid), 0, {}, 0};
  if (auto p = load_public_key(pem, e.alg, e.sig_len, e.material); !p.empty())
    throw std::runtime_error("jwt key " + quote(e.kid) + ": " + p);
  add(std::move(e));
}

void key_ring::add_hmac_file(const std::string& path, std::string kid) {
  if (kid.empty())
    kid = kid_from_path(path);
  scrubbed secret{strip_newline(read_key_file(path))};
  if (auto p = hmac_problem(secret.value); !p.empty())
    file_error(path, p);
  try {
    add(entry{std::move(kid), JWT_ALG_HS256, secret.value, hs256_sig_len});
  } catch (const std::runtime_error& e) {
    file_error(path, e.what());
  }
}

void key_ring::add_public_key_file(const std::string& path, std::string kid) {
  if (kid.empty())
    kid = kid_from_path(path);
  auto pem = read_key_file(path);
  entry e{std::move(kid), 0, {}, 0};
  if (auto p = load_public_key(pem, e.alg, e.sig_len, e.material); !p.empty())
    file_error(path, p);
  try {
    add(std::move(e));
  } catch (const std::runtime_error& ex) {
    file_error(path, ex.what());
  }
}

std::size_t key_ring::size() const {
  return entries_.size();
}

std::vector<std::string> key_ring::key_ids() const {
  std::vector<std::string> ids;
  for (const auto& e : entries_)
    ids.push_back(e.kid);
  return ids;
}

const key_ring::entry* key_ring::find(std::string_view kid) const {
  for (const auto& e : entries_)
    if (e.kid == kid)
      return &e;
  return nullptr;
}

// -- token_verifier -------------------------------------------------------------------

token_verifier::token_verifier(key_ring keys, verifier_settings s)
  : keys_(std::move(keys)), settings_(std::move(s)) {
  settings_.leeway_s = std::clamp<int64_t>(settings_.leeway_s, 0, max_leeway_s);
}

std::variant<identity, token_error> token_verifier::verify(std::string_view token,
                                                           int64_t now_s) const {
  // 1. size, before anything else looks at the bytes.
  if (token.empty())
    return reject("empty token");
  if (token.size() > settings_.max_bytes)
    return reject("token is " + std::to_string(token.size()) + " bytes, over the limit of "
                  + std::to_string(settings_.max_bytes));

  // 2. three strict base64url segments.
  auto d1 = token.find('.');
  auto d2 = d1 == token.npos ? token.npos : token.find('.', d1 + 1);
  if (d1 == token.npos || d2 == token.npos || token.find('.', d2 + 1) != token.npos) {
    auto dots = std::count(token.begin(), token.end(), '.');
    return reject("expected 3 dot-separated segments (header.payload.signature), got "
                  + std::to_string(dots + 1));
  }
  std::string_view seg[3] = {token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1),
                             token.substr(d2 + 1)};
  static const char* seg_name[3] = {"header", "payload", "signature"};
  std::string dec[3];
  for (int i = 0; i < 3; ++i) {
    if (i < 2 && seg[i].empty())
      return reject(std::string{seg_name[i]} + " segment is empty");
    if (auto p = b64url_decode(seg[i], dec[i]); !p.empty())
      return reject(std::string{seg_name[i]} + " segment " + p);
  }

  // 3. header.
  json header;
  if (auto p = parse_object(dec[0], header); !p.empty())
    return reject("header " + p);
  auto alg_it = header.find("alg");
  if (alg_it == header.end())
    return reject("header has no alg");
  if (!alg_it->is_string())
    return reject("header alg must be a string");
  const auto& alg = alg_it->get_ref<const std::string&>();
  if (iequals(alg, "none"))
    return reject("alg " + quote(alg) + " is not allowed (unsigned tokens are refused)");
  if (alg != "HS256" && alg != "RS256" && alg != "ES256")
    return reject("alg " + quote(alg) + " is not allowed (allowed: HS256, RS256, ES256)");
  for (const char* h : {"jku", "jwk", "x5u", "x5c"})
    if (header.contains(h))
      return reject(std::string{"header '"} + h
                    + "' is not allowed (keys are never taken from the token)");
  if (header.contains("crit"))
    return reject("header 'crit' is not supported");
  if (auto typ = header.find("typ"); typ != header.end()) {
    if (!typ->is_string())
      return reject("header typ must be a string");
    if (!iequals(typ->get_ref<const std::string&>(), "JWT"))
      return reject("typ " + quote(typ->get_ref<const std::string&>())
                    + " is not accepted (expected 'JWT')");
  }

  // 4. key by kid; the key fixes the algorithm.
  const key_ring::entry* key = nullptr;
  if (auto kid = header.find("kid"); kid != header.end()) {
    if (!kid->is_string())
      return reject("header kid must be a string");
    const auto& k = kid->get_ref<const std::string&>();
    if (!valid_kid(k))
      return reject("kid " + quote(k) + " is malformed (expected [A-Za-z0-9._-]{1,64})");
    key = keys_.find(k);
    if (key == nullptr)
      return reject("unknown kid " + quote(k));
  } else if (keys_.size() == 1) {
    key = &keys_.entries_.front();
  } else if (keys_.size() == 0) {
    return reject("no verification keys are configured");
  } else {
    return reject("header has no kid (required: " + std::to_string(keys_.size())
                  + " keys are configured)");
  }
  if (alg != alg_name(key->alg))
    return reject("alg " + quote(alg) + " does not match key " + quote(key->kid)
                  + " (the key requires " + alg_name(key->alg) + ")");

  // 5. signature present, of the right size.
  if (seg[2].empty())
    return reject("signature is missing (unsigned or stripped token)");
  if (dec[2].size() != key->sig_len)
    return reject("signature is " + std::to_string(dec[2].size()) + " bytes, "
                  + alg_name(key->alg) + " with key " + quote(key->kid) + " needs "
                  + std::to_string(key->sig_len));

  // 6. payload.
  json claims;
  if (auto p = parse_object(dec[1], claims); !p.empty())
    return reject("payload " + p);

  // 7. signature, by libjwt, with this key only.
  {
    std::string nul_terminated{token};
    jwt_t* raw = nullptr;
    int rc = jwt_decode(&raw, nul_terminated.c_str(),
                        reinterpret_cast<const unsigned char*>(key->material.data()),
                        int(key->material.size()));
    jwt_ptr j{raw};
    if (rc != 0 || !j)
      return reject(std::string{"signature verification failed ("} + alg_name(key->alg)
                    + ", key " + quote(key->kid) + ")");
    if (jwt_get_alg(j.get()) != key->alg) {
      const char* got = jwt_alg_str(jwt_get_alg(j.get()));
      return reject(std::string{"libjwt verified alg "} + (got ? got : "unknown")
                    + ", expected " + alg_name(key->alg));
    }
  }

  // 8. claims.
  const int64_t leeway = settings_.leeway_s;
  const int64_t now = std::clamp<int64_t>(now_s, -(int64_t(1) << 62), int64_t(1) << 62);
  std::optional<int64_t> exp, nbf, iat;
  if (auto p = read_time(claims, "exp", true, exp); !p.empty())
    return reject(p);
  if (now - leeway > *exp)
    return reject("expired " + std::to_string(now - *exp) + " s ago");
  if (auto p = read_time(claims, "nbf", false, nbf); !p.empty())
    return reject(p);
  if (nbf && now + leeway < *nbf)
    return reject("not valid yet (nbf is " + std::to_string(*nbf - now) + " s in the future)");
  if (auto p = read_time(claims, "iat", false, iat); !p.empty())
    return reject(p);
  if (iat && *iat > now + leeway)
    return reject("issued in the future (iat is " + std::to_string(*iat - now)
                  + " s ahead)");

  auto iss = claims.find("iss");
  if (iss == claims.end())
    return reject("missing iss claim");
  if (!iss->is_string())
    return reject(std::string{"iss must be a string, got "} + iss->type_name());
  if (iss->get_ref<const std::string&>() != settings_.issuer)
    return reject("issuer " + quote(iss->get_ref<const std::string&>())
                  + " not accepted (expected " + quote(settings_.issuer) + ")");

  auto aud = claims.find("aud");
  if (aud == claims.end())
    return reject("missing aud claim");
  if (aud->is_string()) {
    if (aud->get_ref<const std::string&>() != settings_.audience)
      return reject("audience " + quote(aud->get_ref<const std::string&>())
                    + " not accepted (expected " + quote(settings_.audience) + ")");
  } else if (aud->is_array()) {
    bool found = false;
    for (const auto& a : *aud) {
      if (!a.is_string())
        return reject("aud must be a string or an array of strings");
      found = found || a.get_ref<const std::string&>() == settings_.audience;
    }
    if (!found)
      return reject("audience " + quote_list(*aud) + " not accepted (expected "
                    + quote(settings_.audience) + ")");
  } else {
    return reject("aud must be a string or an array of strings");
  }

  identity id;
  if (auto p = read_name(claims, "sub", id.principal); !p.empty())
    return reject(p);
  if (auto p = read_name(claims, "tenant", id.tenant); !p.empty())
    return reject(p);
  if (auto roles = claims.find("roles"); roles != claims.end()) {
    id.has_roles = true;
    if (!roles->is_array())
      return reject(std::string{"roles must be an array of strings, got "}
                    + roles->type_name());
    for (std::size_t i = 0; i < roles->size(); ++i) {
      const auto& r = (*roles)[i];
      auto what = "roles[" + std::to_string(i) + "]";
      if (!r.is_string())
        return reject(what + " must be a string, got " + r.type_name());
      if (auto p = name_problem(what, r.get_ref<const std::string&>()); !p.empty())
        return reject(p);
      id.roles.push_back(r.get<std::string>());
    }
  }
  id.auth_method = std::string{"jwt:"} + alg_name(key->alg);
  id.key_id = key->kid;
  id.expires_at = *exp;
  return id;
}

// -- issuing --------------------------------------------------------------------------

std::string issue_token_hmac(const issue_request& r, const std::string& secret) {
  if (auto p = hmac_problem(secret); !p.empty())
    throw std::runtime_error("jwt issue: " + p);
  return issue(r, JWT_ALG_HS256, secret);
}

std::string issue_token_pem(const issue_request& r, const std::string& private_key_pem) {
  int alg = 0;
  scrubbed pkcs8;
  if (auto p = load_private_key(private_key_pem, alg, pkcs8.value); !p.empty())
    throw std::runtime_error("jwt issue: private key " + p);
  return issue(r, alg, pkcs8.value);
}

std::string issue_token_with_file(const issue_request& r, const std::string& key_file) {
  scrubbed content{read_key_file(key_file)};
  if (looks_like_pem(content.value)) {
    int alg = 0;
    scrubbed pkcs8;
    if (auto p = load_private_key(content.value, alg, pkcs8.value); !p.empty())
      file_error(key_file, p);
    return issue(r, alg, pkcs8.value);
  }
  scrubbed secret{strip_newline(content.value)};
  if (auto p = hmac_problem(secret.value); !p.empty())
    file_error(key_file, p);
  return issue(r, JWT_ALG_HS256, secret.value);
}

} // namespace stagee::auth
