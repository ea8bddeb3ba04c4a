/// JWT credentials: issuing and RFC 8725 verification (actors/auth_token).
#include "actors/auth_token.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

using nlohmann::json;
using namespace stagee::auth;

namespace {

constexpr int64_t now = 1700000000;
const std::string hmac_secret = "0123456789abcdef0123456789abcdef-stagee-test";
const std::string other_secret = "fedcba9876543210fedcba9876543210-not-ours!!";

// -- OpenSSL helpers (test side: key generation and hand-built tokens) ----------------

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

std::string bio_string(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, std::size_t(n));
}

std::string private_pem(EVP_PKEY* k) {
  std::unique_ptr<BIO, decltype(&BIO_free)> b{BIO_new(BIO_s_mem()), BIO_free};
  BOOST_REQUIRE(PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr));
  return bio_string(b.get());
}

std::string public_pem(EVP_PKEY* k) {
  std::unique_ptr<BIO, decltype(&BIO_free)> b{BIO_new(BIO_s_mem()), BIO_free};
  BOOST_REQUIRE(PEM_write_bio_PUBKEY(b.get(), k));
  return bio_string(b.get());
}

/// PKCS#1 "BEGIN RSA PUBLIC KEY" form.
std::string pkcs1_public_pem(EVP_PKEY* k) {
  OSSL_ENCODER_CTX* ctx =
    OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", nullptr);
  BOOST_REQUIRE(ctx != nullptr);
  unsigned char* data = nullptr;
  std::size_t len = 0;
  BOOST_REQUIRE(OSSL_ENCODER_to_data(ctx, &data, &len) == 1);
  OSSL_ENCODER_CTX_free(ctx);
  std::string pem(reinterpret_cast<char*>(data), len);
  OPENSSL_free(data);
  return pem;
}

struct key_pair {
  pkey_ptr key;
  std::string priv, pub;
};

key_pair make_rsa(unsigned bits) {
  key_pair kp;
  kp.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t(bits)));
  BOOST_REQUIRE(kp.key);
  kp.priv = private_pem(kp.key.get());
  kp.pub = public_pem(kp.key.get());
  return kp;
}

key_pair make_ec(const char* curve) {
  key_pair kp;
  kp.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  BOOST_REQUIRE(kp.key);
  kp.priv = private_pem(kp.key.get());
  kp.pub = public_pem(kp.key.get());
  return kp;
}

/// Key pairs are generated once per test binary (RSA generation is the slow part).
struct test_keys {
  key_pair rsa = make_rsa(2048);
  key_pair rsa_other = make_rsa(2048);
  key_pair ec = make_ec("P-256");
};

const test_keys& keys() {
  static const test_keys k;
  return k;
}

std::string b64url(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
  out.resize(std::size_t(n));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (auto& c : out)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string hmac_sha256(const std::string& input, const std::string& secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

/// EVP_DigestSign with SHA-256: PKCS#1 v1.5 for RSA, DER ECDSA-Sig-Value for EC.
std::string evp_sign(const std::string& input, EVP_PKEY* k) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free};
  BOOST_REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, k) == 1);
  std::size_t len = 0;
  BOOST_REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len,
                               reinterpret_cast<const unsigned char*>(input.data()),
                               input.size()) == 1);
  std::string sig(len, '\0');
  BOOST_REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                               reinterpret_cast<const unsigned char*>(input.data()),
                               input.size()) == 1);
  sig.resize(len);
  return sig;
}

enum class signer { none, hmac, hmac_other, hmac_rsa_pub, rsa, rsa_other, ec_der };

/// A hand-built token: header and payload as literal JSON text, so duplicate keys and
/// other malformed documents can be expressed.
std::string craft(const std::string& header, const std::string& payload, signer s) {
  std::string input = b64url(header) + "." + b64url(payload);
  std::string sig;
  switch (s) {
    case signer::none: break;
    case signer::hmac: sig = hmac_sha256(input, hmac_secret); break;
    case signer::hmac_other: sig = hmac_sha256(input, other_secret); break;
    case signer::hmac_rsa_pub: sig = hmac_sha256(input, keys().rsa.pub); break;
    case signer::rsa: sig = evp_sign(input, keys().rsa.key.get()); break;
    case signer::rsa_other: sig = evp_sign(input, keys().rsa_other.key.get()); break;
    case signer::ec_der: sig = evp_sign(input, keys().ec.key.get()); break;
  }
  return input + "." + b64url(sig);
}

json good_claims() {
  return json{{"sub", "alice"},   {"tenant", "acme"},   {"roles", {"ops", "viewer"}},
              {"iss", "stagee"},  {"aud", "stagee"},    {"iat", now - 10},
              {"exp", now + 3600}};
}

json with(json j, const std::string& k, json v) {
  j[k] = std::move(v);
  return j;
}

json without(json j, const std::string& k) {
  j.erase(k);
  return j;
}

const std::string hs_hdr = R"({"alg":"HS256","typ":"JWT","kid":"hk"})";
const std::string rs_hdr = R"({"alg":"RS256","typ":"JWT","kid":"rk"})";

std::string hs(const json& claims) {
  return craft(hs_hdr, claims.dump(), signer::hmac);
}

/// Ring with one key of each kind: "hk" (HS256), "rk" (RS256), "ek" (ES256).
key_ring three_keys() {
  key_ring r;
  r.add_hmac("hk", hmac_secret);
  r.add_public_key_pem("rk", keys().rsa.pub);
  r.add_public_key_pem("ek", keys().ec.pub);
  return r;
}

issue_request request(std::string kid) {
  issue_request r;
  r.sub = "alice";
  r.tenant = "acme";
  r.roles = {"ops", "viewer"};
  r.now_s = now;
  r.ttl_s = 600;
  r.kid = std::move(kid);
  return r;
}

std::string message_of(const std::variant<identity, token_error>& v) {
  return std::holds_alternative<token_error>(v) ? std::get<token_error>(v).message
                                                : std::string{"<accepted>"};
}

std::string segment(const std::string& token, int i) {
  std::size_t start = 0;
  for (int k = 0; k < i; ++k)
    start = token.find('.', start) + 1;
  auto end = token.find('.', start);
  return token.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

/// Fixture: the shared key pairs and a verifier over three_keys().
struct jwt_fixture {
  const test_keys& k = keys();
  token_verifier verifier{three_keys(), verifier_settings{}};
};

/// A scratch directory for key files, removed afterwards.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path()
           / ("stagee-jwt-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    auto p = path / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(auth_token)

BOOST_FIXTURE_TEST_CASE(valid_tokens_of_each_algorithm_are_accepted, jwt_fixture) {
  struct {
    std::string token, kid, method;
  } cases[] = {
    {issue_token_hmac(request("hk"), hmac_secret), "hk", "jwt:HS256"},
    {issue_token_pem(request("rk"), k.rsa.priv), "rk", "jwt:RS256"},
    {issue_token_pem(request("ek"), k.ec.priv), "ek", "jwt:ES256"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.method) {
      auto r = verifier.verify(c.token, now + 5);
      BOOST_REQUIRE_MESSAGE(std::holds_alternative<identity>(r), message_of(r));
      const auto& id = std::get<identity>(r);
      BOOST_TEST(id.principal == "alice");
      BOOST_TEST(id.tenant == "acme");
      BOOST_TEST((id.roles == std::vector<std::string>{"ops", "viewer"}));
      BOOST_TEST(id.auth_method == c.method);
      BOOST_TEST(id.key_id == c.kid);
      BOOST_TEST(id.expires_at == now + 600);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(es256_uses_jose_raw_signature_format, jwt_fixture) {
  // libjwt 1.10.2 converts OpenSSL's DER ECDSA signature to JOSE raw R||S (64 bytes,
  // 86 base64url chars) when signing, and back when verifying.
  auto token = issue_token_pem(request("ek"), k.ec.priv);
  BOOST_TEST(segment(token, 2).size() == 86u);
  // A DER-encoded signature (what OpenSSL produces natively) is refused.
  auto der = craft(R"({"alg":"ES256","kid":"ek"})", good_claims().dump(), signer::ec_der);
  BOOST_TEST(message_of(verifier.verify(der, now)).find("ES256 with key 'ek' needs 64")
             != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(issued_header_and_claims, jwt_fixture) {
  auto r = request("rk");
  r.nbf = now - 5;
  auto token = issue_token_pem(r, k.rsa.priv);
  auto decode = [](const std::string& seg) {
    std::string s = seg;
    for (auto& c : s)
      c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (s.size() % 4)
      s += '=';
    std::string out(s.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(s.data()), int(s.size()));
    out.resize(std::size_t(n) - (s.size() - seg.size()));
    return json::parse(out);
  };
  auto h = decode(segment(token, 0));
  auto p = decode(segment(token, 1));
  BOOST_TEST(h["alg"] == "RS256");
  BOOST_TEST(h["typ"] == "JWT");
  BOOST_TEST(h["kid"] == "rk");
  BOOST_TEST(p["sub"] == "alice");
  BOOST_TEST(p["tenant"] == "acme");
  BOOST_TEST(p["iss"] == "stagee");
  BOOST_TEST(p["aud"] == "stagee");
  BOOST_TEST(p["iat"] == now);
  BOOST_TEST(p["exp"] == now + 600);
  BOOST_TEST(p["nbf"] == now - 5);
  BOOST_TEST(std::holds_alternative<identity>(verifier.verify(token, now)));
}

BOOST_FIXTURE_TEST_CASE(single_key_ring_needs_no_kid, jwt_fixture) {
  key_ring ring;
  ring.add_public_key_pem("only", k.rsa.pub);
  token_verifier v{std::move(ring), verifier_settings{}};
  auto r = v.verify(issue_token_pem(request(""), k.rsa.priv), now);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<identity>(r), message_of(r));
  BOOST_TEST(std::get<identity>(r).key_id == "only");
  // The same ring with HS256 MACed with its public key PEM (key confusion, no kid).
  auto forged = craft(R"({"alg":"HS256","typ":"JWT"})", good_claims().dump(),
                      signer::hmac_rsa_pub);
  BOOST_TEST(message_of(v.verify(forged, now))
             == "token rejected: alg 'HS256' does not match key 'only' (the key requires RS256)");
  // Without kid, a ring of several keys cannot choose.
  BOOST_TEST(message_of(verifier.verify(issue_token_hmac(request(""), hmac_secret), now))
               .find("header has no kid")
             != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(leeway_boundaries_are_accepted, jwt_fixture) {
  auto accepted = [&](const json& claims) {
    auto r = verifier.verify(hs(claims), now);
    BOOST_TEST_INFO(message_of(r));
    return std::holds_alternative<identity>(r);
  };
  BOOST_TEST(accepted(with(good_claims(), "exp", now - 60)));  // expired, inside leeway
  BOOST_TEST(!accepted(with(good_claims(), "exp", now - 61))); // just outside
  BOOST_TEST(accepted(with(good_claims(), "nbf", now + 60)));
  BOOST_TEST(!accepted(with(good_claims(), "nbf", now + 61)));
  BOOST_TEST(accepted(with(good_claims(), "iat", now + 60)));
  BOOST_TEST(!accepted(with(good_claims(), "iat", now + 61)));
  BOOST_TEST(accepted(with(good_claims(), "aud", json{"other", "stagee"})));
  BOOST_TEST(accepted(without(good_claims(), "roles")));
  BOOST_TEST(accepted(without(without(good_claims(), "iat"), "nbf")));
  // typ is optional and case-insensitive.
  BOOST_TEST(std::holds_alternative<identity>(verifier.verify(
    craft(R"({"alg":"HS256","kid":"hk","typ":"jwt"})", good_claims().dump(), signer::hmac),
    now)));
  BOOST_TEST(std::holds_alternative<identity>(verifier.verify(
    craft(R"({"alg":"HS256","kid":"hk"})", good_claims().dump(), signer::hmac), now)));
}

BOOST_FIXTURE_TEST_CASE(malicious_and_malformed_tokens_are_rejected, jwt_fixture) {
  const std::string good = hs(good_claims());
  const std::string claims = good_claims().dump();
  const std::string h = segment(good, 0), p = segment(good, 1), s = segment(good, 2);
  std::string tampered_payload = b64url(with(good_claims(), "sub", "admin").dump());
  std::string big = hs(with(good_claims(), "pad", std::string(6200, 'x')));
  // 32 bytes = 43 chars: the last char carries 2 unused bits, which must be zero.
  const std::string alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string noncanonical_sig = s;
  noncanonical_sig.back() = alphabet[alphabet.find(s.back()) ^ 1];
  std::string open_claims = claims.substr(0, claims.size() - 1); // without the final '}'

  struct bad_case {
    std::string name, token, expected;
  };
  std::vector<bad_case> cases = {
    {"alg none", craft(R"({"alg":"none","typ":"JWT"})", claims, signer::none),
     "token rejected: alg 'none' is not allowed"},
    {"alg None", craft(R"({"alg":"None"})", claims, signer::none),
     "token rejected: alg 'None' is not allowed"},
    {"alg NONE", craft(R"({"alg":"NONE","kid":"hk"})", claims, signer::none),
     "token rejected: alg 'NONE' is not allowed"},
    {"alg none with a signature", craft(R"({"alg":"none","kid":"hk"})", claims, signer::hmac),
     "alg 'none' is not allowed"},
    {"alg HS512", craft(R"({"alg":"HS512","kid":"hk"})", claims, signer::hmac),
     "alg 'HS512' is not allowed (allowed: HS256, RS256, ES256)"},
    {"alg lowercase hs256", craft(R"({"alg":"hs256","kid":"hk"})", claims, signer::hmac),
     "alg 'hs256' is not allowed"},
    {"alg missing", craft(R"({"kid":"hk"})", claims, signer::hmac), "header has no alg"},
    {"key confusion: HS256 MACed with the RSA public key",
     craft(R"({"alg":"HS256","typ":"JWT","kid":"rk"})", claims, signer::hmac_rsa_pub),
     "token rejected: alg 'HS256' does not match key 'rk' (the key requires RS256)"},
    {"RS256 header on the HMAC key", craft(R"({"alg":"RS256","kid":"hk"})", claims, signer::rsa),
     "alg 'RS256' does not match key 'hk' (the key requires HS256)"},
    {"missing exp", hs(without(good_claims(), "exp")), "token rejected: missing exp claim"},
    {"exp not an integer", hs(with(good_claims(), "exp", std::to_string(now + 60))),
     "exp must be an integer"},
    {"exp fractional", hs(with(good_claims(), "exp", double(now) + 0.5)),
     "exp must be an integer"},
    {"expired an hour ago", hs(with(good_claims(), "exp", now - 3600)),
     "token rejected: expired 3600 s ago"},
    {"expired just beyond leeway", hs(with(good_claims(), "exp", now - 61)),
     "token rejected: expired 61 s ago"},
    {"future nbf", hs(with(good_claims(), "nbf", now + 120)),
     "token rejected: not valid yet (nbf is 120 s in the future)"},
    {"future iat", hs(with(good_claims(), "iat", now + 600)),
     "token rejected: issued in the future (iat is 600 s ahead)"},
    {"negative exp", hs(with(good_claims(), "exp", -5)), "exp is out of range"},
    {"wrong iss", hs(with(good_claims(), "iss", "evil")),
     "token rejected: issuer 'evil' not accepted (expected 'stagee')"},
    {"missing iss", hs(without(good_claims(), "iss")), "missing iss claim"},
    {"wrong aud", hs(with(good_claims(), "aud", "a")),
     "token rejected: audience 'a' not accepted (expected 'stagee')"},
    {"aud array without ours", hs(with(good_claims(), "aud", json{"a", "b"})),
     "token rejected: audience ['a', 'b'] not accepted (expected 'stagee')"},
    {"aud array with a number", hs(with(good_claims(), "aud", json{"stagee", 1})),
     "aud must be a string or an array of strings"},
    {"missing aud", hs(without(good_claims(), "aud")), "missing aud claim"},
    {"unknown kid", craft(R"({"alg":"HS256","kid":"x"})", claims, signer::hmac),
     "token rejected: unknown kid 'x'"},
    {"kid differing in case", craft(R"({"alg":"HS256","kid":"HK"})", claims, signer::hmac),
     "unknown kid 'HK'"},
    {"kid path traversal", craft(R"({"alg":"HS256","kid":"../../etc/passwd"})", claims,
                                 signer::hmac),
     "token rejected: kid '../../etc/passwd' is malformed"},
    {"kid not a string", craft(R"({"alg":"HS256","kid":7})", claims, signer::hmac),
     "header kid must be a string"},
    {"jku header",
     craft(R"({"alg":"RS256","kid":"rk","jku":"https://evil.example/jwks"})", claims,
           signer::rsa),
     "token rejected: header 'jku' is not allowed"},
    {"jwk header",
     craft(R"({"alg":"RS256","kid":"rk","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}})", claims,
           signer::rsa),
     "token rejected: header 'jwk' is not allowed"},
    {"x5u header",
     craft(R"({"alg":"RS256","kid":"rk","x5u":"https://evil.example/cert"})", claims,
           signer::rsa),
     "token rejected: header 'x5u' is not allowed"},
    {"x5c header", craft(R"({"alg":"RS256","kid":"rk","x5c":["MIIB"]})", claims, signer::rsa),
     "token rejected: header 'x5c' is not allowed"},
    {"crit header", craft(R"({"alg":"HS256","kid":"hk","crit":["exp"]})", claims, signer::hmac),
     "token rejected: header 'crit' is not supported"},
    {"typ not JWT", craft(R"({"alg":"HS256","kid":"hk","typ":"at+jwt"})", claims, signer::hmac),
     "typ 'at+jwt' is not accepted (expected 'JWT')"},
    {"stripped signature", h + "." + p + ".",
     "token rejected: signature is missing (unsigned or stripped token)"},
    {"two segments", h + "." + p,
     "token rejected: expected 3 dot-separated segments (header.payload.signature), got 2"},
    {"five segments (JWE)", h + "." + p + "." + s + ".AAAA.BBBB", "got 5"},
    {"empty token", "", "token rejected: empty token"},
    {"empty header segment", "." + p + "." + s, "header segment is empty"},
    {"tampered payload", h + "." + tampered_payload + "." + s,
     "token rejected: signature verification failed (HS256, key 'hk')"},
    {"truncated signature", h + "." + p + "." + s.substr(0, 40),
     "signature is 30 bytes, HS256 with key 'hk' needs 32"},
    {"non-canonical signature encoding", h + "." + p + "." + noncanonical_sig,
     "signature segment is not canonical"},
    {"oversized", big, "token rejected: token is " + std::to_string(big.size())
                         + " bytes, over the limit of 8192"},
    {"duplicate header keys",
     craft(R"({"alg":"HS256","kid":"hk","alg":"none"})", claims, signer::hmac),
     "token rejected: header has a duplicate key 'alg'"},
    {"duplicate claim keys",
     craft(hs_hdr, open_claims + R"(,"sub":"admin"})", signer::hmac),
     "token rejected: payload has a duplicate key 'sub'"},
    {"nested duplicate keys",
     craft(hs_hdr, open_claims + R"(,"x":{"a":1,"a":2}})", signer::hmac),
     "payload has a duplicate key 'a'"},
    {"bad base64url char '+'", "eyJhbGciOiJIUzI1NiJ9+." + p + "." + s,
     "header segment has an invalid character at offset 20"},
    {"bad base64url char '/' in signature", h + "." + p + "." + s.substr(0, 10) + "/"
                                              + s.substr(11),
     "signature segment has an invalid character at offset 10"},
    {"base64 padding", h + "." + p + "." + s + "=", "signature segment uses '=' padding"},
    {"whitespace", h + " ." + p + "." + s, "header segment has an invalid character"},
    {"header not JSON", b64url("{alg:HS256}") + "." + p + "." + s, "header is not valid JSON"},
    {"header not an object", b64url(R"(["HS256"])") + "." + p + "." + s,
     "header is not a JSON object (got array)"},
    {"payload not an object", craft(hs_hdr, "[1,2,3]", signer::hmac),
     "token rejected: payload is not a JSON object (got array)"},
    {"payload a string", craft(hs_hdr, R"("alice")", signer::hmac),
     "payload is not a JSON object (got string)"},
    {"missing tenant", hs(without(good_claims(), "tenant")),
     "token rejected: missing tenant claim"},
    {"missing sub", hs(without(good_claims(), "sub")), "token rejected: missing sub claim"},
    {"empty sub", hs(with(good_claims(), "sub", "")), "sub is empty"},
    {"sub with control characters", hs(with(good_claims(), "sub", "ali\nce")),
     "sub contains control characters"},
    {"tenant too long", hs(with(good_claims(), "tenant", std::string(201, 't'))),
     "tenant is longer than 200 bytes"},
    {"sub not a string", hs(with(good_claims(), "sub", 42)), "sub must be a string"},
    {"roles not an array", hs(with(good_claims(), "roles", "admin")),
     "token rejected: roles must be an array of strings"},
    {"roles with a number", hs(with(good_claims(), "roles", json{"ops", 1})),
     "token rejected: roles[1] must be a string"},
    {"signed by another HMAC key", craft(hs_hdr, claims, signer::hmac_other),
     "token rejected: signature verification failed (HS256, key 'hk')"},
    {"RS256 signed by a different RSA key", craft(rs_hdr, claims, signer::rsa_other),
     "token rejected: signature verification failed (RS256, key 'rk')"},
    {"RS256 token verified against the EC key",
     craft(R"({"alg":"RS256","kid":"ek"})", claims, signer::rsa),
     "alg 'RS256' does not match key 'ek' (the key requires ES256)"},
  };
  BOOST_TEST(cases.size() >= 20u);
  BOOST_TEST(big.size() > 8192u);

  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto r = verifier.verify(c.token, now);
      BOOST_REQUIRE(std::holds_alternative<token_error>(r));
      const auto& msg = std::get<token_error>(r).message;
      BOOST_TEST_INFO("message: " << msg);
      BOOST_TEST(msg.find(c.expected) != std::string::npos);
      BOOST_TEST(msg.rfind("token rejected: ", 0) == 0u);
      // Never echo the token or any of its segments (signature above all).
      auto dots = std::count(c.token.begin(), c.token.end(), '.');
      for (int i = 0; i <= dots; ++i) {
        auto seg = segment(c.token, i);
        if (seg.size() >= 8)
          BOOST_TEST(msg.find(seg) == std::string::npos, "segment " << i << " echoed");
      }
      if (!c.token.empty())
        BOOST_TEST(msg.find(c.token) == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(key_ring_rejects_bad_configuration) {
  const auto& k = keys();
  auto throws_with = [](auto&& f, const std::string& fragment) {
    try {
      f();
    } catch (const std::runtime_error& e) {
      BOOST_TEST_INFO("what: " << e.what());
      BOOST_TEST(std::string{e.what()}.find(fragment) != std::string::npos);
      return;
    }
    BOOST_ERROR("no exception; expected one containing: " << fragment);
  };
  key_ring r;
  throws_with([&] { r.add_hmac("short", "0123456789"); }, "HMAC secret is 10 bytes, need at least 32");
  throws_with([&] { r.add_hmac("pem", k.rsa.pub); }, "looks like a PEM key");
  throws_with([&] { r.add_hmac("../x", hmac_secret); }, "is not of the form");
  throws_with([&] { r.add_public_key_pem("priv", k.rsa.priv); }, "holds a private key");
  throws_with([&] { r.add_public_key_pem("junk", "not a key"); }, "not a PEM file");
  auto small = make_rsa(1024);
  throws_with([&] { r.add_public_key_pem("small", small.pub); },
              "RSA key has 1024 bits, need at least 2048");
  auto p384 = make_ec("P-384");
  throws_with([&] { r.add_public_key_pem("p384", p384.pub); }, "is not supported (only P-256");
  r.add_hmac("hk", hmac_secret);
  throws_with([&] { r.add_public_key_pem("hk", k.rsa.pub); }, "configured twice");
  // PKCS#1 "RSA PUBLIC KEY" is accepted as well as SubjectPublicKeyInfo.
  auto pkcs1 = pkcs1_public_pem(k.rsa.key.get());
  BOOST_TEST(pkcs1.find("BEGIN RSA PUBLIC KEY") != std::string::npos);
  r.add_public_key_pem("pkcs1", pkcs1);
  BOOST_TEST(r.size() == 2u);
  token_verifier v{r, verifier_settings{}};
  BOOST_TEST(std::holds_alternative<identity>(
    v.verify(issue_token_pem(request("pkcs1"), k.rsa.priv), now)));

  // Issuing refuses what the verifier would refuse.
  auto bad = request("hk");
  bad.sub = "";
  BOOST_CHECK_THROW(issue_token_hmac(bad, hmac_secret), std::invalid_argument);
  BOOST_CHECK_THROW(issue_token_hmac(request("../hk"), hmac_secret), std::invalid_argument);
  BOOST_CHECK_THROW(issue_token_hmac(request("hk"), "short"), std::runtime_error);
  BOOST_CHECK_THROW(issue_token_pem(request("rk"), k.rsa.pub), std::runtime_error);
  BOOST_CHECK_THROW(issue_token_pem(request("rk"), small.priv), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(key_files) {
  const auto& k = keys();
  temp_dir dir;
  auto secret_file = dir.write("team-a.key", hmac_secret + "\n");
  auto rsa_pub = dir.write("ops.pem", k.rsa.pub);
  auto rsa_priv = dir.write("ops-signing.pem", k.rsa.priv);
  auto ec_pub = dir.write("edge.pub", k.ec.pub);
  auto ec_priv = dir.write("edge.key.pem", k.ec.priv);

  key_ring ring;
  ring.add_hmac_file(secret_file);          // kid "team-a"
  ring.add_public_key_file(rsa_pub);        // kid "ops"
  ring.add_public_key_file(ec_pub, "edge"); // explicit kid
  BOOST_TEST((ring.key_ids() == std::vector<std::string>{"team-a", "ops", "edge"}));
  token_verifier v{ring, verifier_settings{}};

  struct {
    std::string file, kid, method;
  } cases[] = {{secret_file, "team-a", "jwt:HS256"},
               {rsa_priv, "ops", "jwt:RS256"},
               {ec_priv, "edge", "jwt:ES256"}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.method) {
      auto r = v.verify(issue_token_with_file(request(c.kid), c.file), now);
      BOOST_REQUIRE_MESSAGE(std::holds_alternative<identity>(r), message_of(r));
      BOOST_TEST(std::get<identity>(r).auth_method == c.method);
      BOOST_TEST(std::get<identity>(r).key_id == c.kid);
    }
  }
  // The trailing newline is not part of the secret.
  BOOST_TEST(std::holds_alternative<identity>(
    v.verify(issue_token_hmac(request("team-a"), hmac_secret), now)));

  auto expect_file_error = [](auto&& f, const std::string& path, const std::string& fragment) {
    try {
      f();
      BOOST_ERROR("no exception for " << path);
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      BOOST_TEST_INFO("what: " << what);
      BOOST_TEST(what.find(path) != std::string::npos);
      BOOST_TEST(what.find(fragment) != std::string::npos);
    }
  };
  auto short_file = dir.write("short.key", "tooshort\n");
  key_ring r2;
  expect_file_error([&] { r2.add_hmac_file(short_file); }, short_file,
                    "HMAC secret is 8 bytes, need at least 32");
  expect_file_error([&] { r2.add_hmac_file(rsa_pub); }, rsa_pub, "looks like a PEM key");
  expect_file_error([&] { r2.add_public_key_file(rsa_priv); }, rsa_priv, "holds a private key");
  auto missing = (dir.path / "missing.pem").string();
  expect_file_error([&] { r2.add_public_key_file(missing); }, missing, "does not exist");
  expect_file_error([&] { issue_token_with_file(request(""), short_file); }, short_file,
                    "need at least 32");
  expect_file_error([&] { issue_token_with_file(request(""), rsa_pub); }, rsa_pub,
                    "signing needs the private key");
  expect_file_error([&] { issue_token_with_file(request(""), missing); }, missing,
                    "does not exist");
  BOOST_TEST(r2.size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(verification_is_fast_and_thread_safe, jwt_fixture) {
  using clock = std::chrono::steady_clock;
  auto time_n = [&](const std::string& token, int n) {
    auto t0 = clock::now();
    int ok = 0;
    for (int i = 0; i < n; ++i)
      ok += std::holds_alternative<identity>(verifier.verify(token, now));
    BOOST_TEST(ok == n);
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  auto rs = issue_token_pem(request("rk"), k.rsa.priv);
  double rs_s = time_n(rs, 1000);
  BOOST_TEST(rs_s < 5.0); // loose: catches pathologies, not a benchmark
  double hs_s = time_n(issue_token_hmac(request("hk"), hmac_secret), 1000);
  double es_s = time_n(issue_token_pem(request("ek"), k.ec.priv), 1000);
  BOOST_TEST_MESSAGE("1000 verifications: RS256 " << rs_s * 1000 << " ms, HS256 "
                                                  << hs_s * 1000 << " ms, ES256 "
                                                  << es_s * 1000 << " ms");

  // Concurrent use of one verifier.
  std::vector<std::thread> threads;
  std::vector<int> accepted(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        accepted[std::size_t(t)] += std::holds_alternative<identity>(verifier.verify(rs, now));
    });
  for (auto& th : threads)
    th.join();
  for (int a : accepted)
    BOOST_TEST(a == 100);
}

BOOST_AUTO_TEST_SUITE_END()
