// Node TLS (runtime/tls): check() names the bad option and the problem for every
// way the three PEM files can be wrong, and the handshake audit reports a peer
// without a certificate on both sides of a real loopback TCP connection.
// Certificates are made in-process with the OpenSSL API in a fresh temp dir.
#include "runtime/tls.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace fs = std::filesystem;
using stagee::tls::check;
using stagee::tls::files;
using stagee::tls::handshake_failure;

namespace {

constexpr long day = 24 * 3600;

struct pkey_free {
  void operator()(EVP_PKEY* p) const {
    EVP_PKEY_free(p);
  }
};
struct x509_free {
  void operator()(X509* p) const {
    X509_free(p);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

pkey_ptr make_key() {
  pkey_ptr key{EVP_EC_gen("P-256")};
  BOOST_REQUIRE(key);
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  BOOST_REQUIRE(ext);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `key`, valid from now+from to now+to seconds, signed by
/// (issuer, issuer_key) or self-signed when issuer is null.
x509_ptr make_cert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long from,
                   long to, bool ca, const char* eku = "serverAuth,clientAuth") {
  static long serial = 1;
  x509_ptr cert{X509_new()};
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), to);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  if (ca) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), signer, NID_ext_key_usage, eku);
  }
  BOOST_REQUIRE(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0);
  return cert;
}

/// A temp dir with a CA, a good node identity and one file per way to get it wrong.
struct cert_dir {
  fs::path dir;

  cert_dir() {
    char tmpl[] = "/tmp/stagee-tls-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl));
    dir = tmpl;
    auto ca_key = make_key();
    auto ca = make_cert("test-ca", ca_key.get(), nullptr, nullptr, -day, 30 * day, true);
    write_cert("ca.pem", ca.get());
    auto other_ca_key = make_key();
    auto other_ca = make_cert("other-ca", other_ca_key.get(), nullptr, nullptr, -day, 30 * day, true);
    auto old_ca_key = make_key();
    auto old_ca = make_cert("old-ca", old_ca_key.get(), nullptr, nullptr, -30 * day, -day, true);
    write_cert("old-ca.pem", old_ca.get());
    auto key = make_key();
    write_key("node.key", key.get());
    write_key("node.enc.key", key.get(), "s3cret");
    auto leaf = [&](const char* file, X509* issuer, EVP_PKEY* issuer_key, long from, long to,
                    const char* eku = "serverAuth,clientAuth") {
      write_cert(file, make_cert("node", key.get(), issuer, issuer_key, from, to, false, eku).get());
    };
    leaf("node.pem", ca.get(), ca_key.get(), -day, 30 * day);
    leaf("other.pem", other_ca.get(), other_ca_key.get(), -day, 30 * day);
    leaf("expired.pem", ca.get(), ca_key.get(), -10 * day, -day);
    leaf("future.pem", ca.get(), ca_key.get(), day, 30 * day);
    leaf("server-only.pem", ca.get(), ca_key.get(), -day, 30 * day, "serverAuth");
    leaf("by-old-ca.pem", old_ca.get(), old_ca_key.get(), -20 * day, 30 * day);
    write_key("stranger.key", make_key().get());
    std::ofstream{dir / "garbage.pem"} << "hello, not a certificate\n";
  }

  ~cert_dir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  std::string operator()(const char* file) const {
    return (dir / file).string();
  }

  files good() const {
    return {(*this)("node.pem"), (*this)("node.key"), (*this)("ca.pem")};
  }

  void write_cert(const char* file, X509* cert) {
    FILE* fp = std::fopen((dir / file).c_str(), "w");
    BOOST_REQUIRE(fp);
    PEM_write_X509(fp, cert);
    std::fclose(fp);
  }

  void write_key(const char* file, EVP_PKEY* key, const char* pass = nullptr) {
    FILE* fp = std::fopen((dir / file).c_str(), "w");
    BOOST_REQUIRE(fp);
    if (pass)
      PEM_write_PrivateKey(fp, key, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                           const_cast<char*>(pass));
    else
      PEM_write_PrivateKey(fp, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(fp);
  }
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

#define CHECK_MESSAGE_HAS(msg, option, part)                                                  \
  do {                                                                                        \
    const std::string m_ = (msg);                                                             \
    BOOST_TEST_INFO("message: " << m_);                                                       \
    BOOST_CHECK(starts_with(m_, option) && contains(m_, part));                               \
  } while (false)

// -- loopback TLS pair for the audit ------------------------------------------------

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

struct ssl_ctx_free {
  void operator()(SSL_CTX* p) const {
    SSL_CTX_free(p);
  }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_free>;

/// Connected (client, server) TCP sockets on 127.0.0.1, 5 s I/O timeouts.
std::pair<int, int> tcp_pair() {
  fd_guard lst{::socket(AF_INET, SOCK_STREAM, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  BOOST_REQUIRE(::bind(lst.fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  BOOST_REQUIRE(::listen(lst.fd, 1) == 0);
  BOOST_REQUIRE(::getsockname(lst.fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  int server = ::accept(lst.fd, nullptr, nullptr);
  BOOST_REQUIRE(server >= 0);
  timeval tv{5, 0};
  for (int fd : {client, server}) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  return {client, server};
}

/// Contexts configured like CAF's session: mutual TLS, or anonymous (no files).
ssl_ctx_ptr make_ctx(const files* f) {
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_method())};
  BOOST_REQUIRE(ctx);
  if (f) {
    BOOST_REQUIRE(SSL_CTX_use_certificate_chain_file(ctx.get(), f->cert.c_str()) == 1);
    BOOST_REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), f->key.c_str(), SSL_FILETYPE_PEM) == 1);
    BOOST_REQUIRE(SSL_CTX_load_verify_locations(ctx.get(), f->ca.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

/// Runs one handshake plus a one-byte server->client message; returns the
/// audit reports in the order they arrived.
std::vector<handshake_failure> handshake(const files& server, const files* client) {
  std::mutex mtx;
  std::vector<handshake_failure> reports;
  stagee::tls::on_handshake_failure([&](const handshake_failure& hf) {
    std::lock_guard<std::mutex> guard{mtx};
    reports.push_back(hf);
  });
  auto [cfd, sfd] = tcp_pair();
  fd_guard cguard{cfd}, sguard{sfd};
  auto sctx = make_ctx(&server);
  auto cctx = make_ctx(client);
  std::thread client_thread{[&, cfd = cfd] {
    SSL* ssl = SSL_new(cctx.get());
    SSL_set_fd(ssl, cfd);
    if (SSL_connect(ssl) == 1) {
      char byte;
      SSL_read(ssl, &byte, 1); // TLS 1.3: a rejected certificate shows up here
    }
    SSL_free(ssl);
  }};
  SSL* ssl = SSL_new(sctx.get());
  SSL_set_fd(ssl, sfd);
  if (SSL_accept(ssl) == 1)
    SSL_write(ssl, "x", 1);
  client_thread.join();
  SSL_free(ssl);
  stagee::tls::on_handshake_failure({});
  return reports;
}

} // namespace

BOOST_AUTO_TEST_SUITE(tls)

BOOST_FIXTURE_TEST_CASE(good_set_passes, cert_dir) {
  BOOST_TEST(good().enabled());
  BOOST_TEST(check(good()) == "");
}

BOOST_AUTO_TEST_CASE(no_options_means_tls_off) {
  files none;
  BOOST_TEST(!none.enabled());
  BOOST_TEST(check(none) == "");
}

BOOST_FIXTURE_TEST_CASE(options_go_together, cert_dir) {
  auto only_cert = check({(*this)("node.pem"), "", ""});
  BOOST_TEST(only_cert
             == "--tls-cert, --tls-key and --tls-ca go together: --tls-key and --tls-ca missing");
  auto no_ca = good();
  no_ca.ca.clear();
  BOOST_TEST(!no_ca.enabled());
  BOOST_TEST(check(no_ca) == "--tls-cert, --tls-key and --tls-ca go together: --tls-ca missing");
}

BOOST_FIXTURE_TEST_CASE(missing_file_names_option_and_errno, cert_dir) {
  auto f = good();
  f.key = (*this)("nope.key");
  CHECK_MESSAGE_HAS(check(f), "--tls-key: ", "cannot read " + f.key + ": No such file");
  f = good();
  f.ca = dir.string(); // a directory
  CHECK_MESSAGE_HAS(check(f), "--tls-ca: ", "cannot read");
}

BOOST_FIXTURE_TEST_CASE(garbage_is_not_pem, cert_dir) {
  auto f = good();
  f.cert = (*this)("garbage.pem");
  CHECK_MESSAGE_HAS(check(f), "--tls-cert: ", "is not PEM");
  f = good();
  f.key = (*this)("garbage.pem");
  CHECK_MESSAGE_HAS(check(f), "--tls-key: ", "is not PEM");
  f = good();
  f.ca = (*this)("garbage.pem");
  CHECK_MESSAGE_HAS(check(f), "--tls-ca: ", "is not PEM");
}

BOOST_FIXTURE_TEST_CASE(swapped_cert_and_key_are_named, cert_dir) {
  files f{(*this)("node.key"), (*this)("node.pem"), (*this)("ca.pem")};
  CHECK_MESSAGE_HAS(check(f), "--tls-cert: ", "first PEM block is PRIVATE KEY");
}

BOOST_FIXTURE_TEST_CASE(mismatched_key, cert_dir) {
  auto f = good();
  f.key = (*this)("stranger.key");
  CHECK_MESSAGE_HAS(check(f), "--tls-key: ", "does not match the certificate");
}

BOOST_FIXTURE_TEST_CASE(encrypted_key_is_refused, cert_dir) {
  auto f = good();
  f.key = (*this)("node.enc.key");
  CHECK_MESSAGE_HAS(check(f), "--tls-key: ", "is encrypted; passphrases are not supported");
}

BOOST_FIXTURE_TEST_CASE(cert_from_another_ca, cert_dir) {
  auto f = good();
  f.cert = (*this)("other.pem");
  CHECK_MESSAGE_HAS(check(f), "--tls-cert: ",
                    "is not signed by the CA in --tls-ca " + f.ca
                      + ": unable to get local issuer certificate");
}

BOOST_FIXTURE_TEST_CASE(expired_and_future_certs, cert_dir) {
  auto f = good();
  f.cert = (*this)("expired.pem");
  CHECK_MESSAGE_HAS(check(f), "--tls-cert: ", " expired on ");
  f.cert = (*this)("future.pem");
  CHECK_MESSAGE_HAS(check(f), "--tls-cert: ", " is not valid before ");
}

BOOST_FIXTURE_TEST_CASE(expired_ca, cert_dir) {
  files f{(*this)("by-old-ca.pem"), (*this)("node.key"), (*this)("old-ca.pem")};
  CHECK_MESSAGE_HAS(check(f), "--tls-ca: ", "expired on");
}

BOOST_FIXTURE_TEST_CASE(cert_must_allow_client_and_server_auth, cert_dir) {
  auto f = good();
  f.cert = (*this)("server-only.pem");
  CHECK_MESSAGE_HAS(check(f), "--tls-cert: ", "not usable for TLS client authentication");
}

BOOST_FIXTURE_TEST_CASE(audit_reports_peer_without_certificate_on_both_sides, cert_dir) {
  auto reports = handshake(good(), nullptr);
  BOOST_REQUIRE_EQUAL(reports.size(), 2u);
  for (auto& r : reports) {
    BOOST_TEST_INFO("peer=" << r.peer << " reason=" << r.reason);
    BOOST_CHECK(starts_with(r.peer, "127.0.0.1:"));
    if (r.accepting)
      BOOST_TEST(r.reason == "peer did not return a certificate");
    else
      BOOST_TEST(r.reason == "tlsv13 alert certificate required");
  }
  BOOST_TEST(reports[0].accepting != reports[1].accepting);
}

BOOST_FIXTURE_TEST_CASE(audit_reports_untrusted_certificate, cert_dir) {
  files other{(*this)("other.pem"), (*this)("node.key"), (*this)("ca.pem")};
  auto reports = handshake(good(), &other);
  BOOST_REQUIRE(!reports.empty());
  bool server_side = false;
  for (auto& r : reports)
    if (r.accepting) {
      server_side = true;
      BOOST_TEST(r.reason == "certificate verify failed: unable to get local issuer certificate");
    }
  BOOST_TEST(server_side);
}

BOOST_FIXTURE_TEST_CASE(audit_is_silent_for_a_good_peer, cert_dir) {
  auto f = good();
  BOOST_TEST(handshake(f, &f).empty());
}

BOOST_AUTO_TEST_SUITE_END()
