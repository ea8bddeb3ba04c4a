#include "runtime/tls.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <utility>

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>

// The audit interposes SSL_accept, SSL_connect, SSL_read and SSL_write. CAF's
// session (libcaf_openssl.so, 0.17.6) drives each handshake with SSL_accept or
// SSL_connect, first from try_accept/try_connect and then, while they return
// WANT_READ/WANT_WRITE, again at the start of every read_some/write_some; after
// that it calls SSL_read/SSL_write. On any other result it closes the socket,
// which the connecting side sees as sec::disconnect_during_handshake and the
// accepting side not at all (CAF_LOG_INFO is compiled out in Debian's build).
//
// The wrappers also fix a CAF bug: CAF never drains OpenSSL's per-thread error
// queue (only its compiled-out logging would), so after one failed handshake
// the next SSL_read on ANY connection of the multiplexer thread that returns
// WANT_READ is classified by SSL_get_error() as SSL_ERROR_SSL, and CAF drops a
// healthy, authenticated node connection. Clearing the queue before each call
// is what OpenSSL's SSL_get_error() documentation requires.
//
// libcaf_openssl.so binds these calls at run time to the first definition in
// the global scope, which is the executable's if it exports them. GNU ld does so
// by itself when a shared library on the link line references the symbol; to
// be explicit, link the executable with
//   -Wl,--export-dynamic-symbol=SSL_accept,--export-dynamic-symbol=SSL_connect,
//   -Wl,--export-dynamic-symbol=SSL_read,--export-dynamic-symbol=SSL_write
// (`audit_installed()` checks the result at run time). Our definitions forward
// to libssl's via dlsym(RTLD_NEXT). Every SSL user in the process (libpq too)
// goes through them; for those they only add the ERR_clear_error() that
// careful callers do anyway, plus a report if their handshake fails.

namespace stagee::tls {

namespace {

// -- check() helpers -----------------------------------------------------------

constexpr std::size_t max_pem_bytes = 1 << 20;

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const {
    Free(p);
  }
};
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using store_ptr = std::unique_ptr<X509_STORE, deleter<X509_STORE, X509_STORE_free>>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, deleter<SSL_CTX, SSL_CTX_free>>;

struct x509_stack_free {
  void operator()(STACK_OF(X509) * s) const {
    sk_X509_pop_free(s, X509_free);
  }
};
using x509_stack_ptr = std::unique_ptr<STACK_OF(X509), x509_stack_free>;

/// Reads a whole file into `out`; returns an error message or "".
std::string read_file(const std::string& path, std::string& out) {
  errno = 0;
  std::unique_ptr<FILE, int (*)(FILE*)> fp{std::fopen(path.c_str(), "rb"), std::fclose};
  if (!fp)
    return "cannot read " + path + ": " + std::strerror(errno);
  char buf[8192];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), fp.get())) > 0) {
    out.append(buf, n);
    if (out.size() > max_pem_bytes)
      return path + " is larger than 1 MiB, not a PEM file";
  }
  if (std::ferror(fp.get()))
    return "cannot read " + path + ": " + std::strerror(errno ? errno : EIO);
  return {};
}

/// The label of the first PEM block ("CERTIFICATE", "PRIVATE KEY", ...), or "".
std::string first_pem_label(const std::string& pem) {
  const std::string begin = "-----BEGIN ";
  auto pos = pem.find(begin);
  if (pos == std::string::npos)
    return {};
  pos += begin.size();
  auto end = pem.find("-----", pos);
  return end == std::string::npos ? std::string{} : pem.substr(pos, end - pos);
}

std::string not_pem(const std::string& path, const std::string& pem, const char* what) {
  auto label = first_pem_label(pem);
  if (label.empty())
    return path + " is not PEM (no -----BEGIN line); expected " + what;
  return path + " holds no " + what + " (its first PEM block is " + label + ")";
}

bio_ptr mem_bio(const std::string& s) {
  return bio_ptr{BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))};
}

/// All certificates in a PEM text, in file order.
x509_stack_ptr read_certs(const std::string& pem) {
  x509_stack_ptr certs{sk_X509_new_null()};
  auto bio = mem_bio(pem);
  while (auto* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    sk_X509_push(certs.get(), c);
  ERR_clear_error(); // the read that ends the loop leaves "no start line"
  return certs;
}

/// Password callback that records that a passphrase was asked for and gives none.
int no_passphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

std::string x509_time(const ASN1_TIME* t) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string subject_of(X509* cert) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

/// Checks the validity period; returns a message without the option or "".
std::string check_dates(X509* cert) {
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
    return "is not valid before " + x509_time(X509_get0_notBefore(cert));
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
    return "expired on " + x509_time(X509_get0_notAfter(cert));
  return {};
}

/// The oldest error in this thread's OpenSSL queue, then clears the queue.
std::string ssl_error_text() {
  const char* r = ERR_reason_error_string(ERR_peek_error());
  std::string s = r ? r : "unknown error";
  ERR_clear_error();
  return s;
}

/// Verifies `leaf` (+ `chain`) against `store` for one TLS purpose; "" if fine.
std::string verify(X509_STORE* store, X509* leaf, STACK_OF(X509) * chain, int purpose,
                   const files& f) {
  store_ctx_ptr ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, leaf, chain) != 1)
    return "--tls-ca: cannot set up certificate verification: " + ssl_error_text();
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) == 1)
    return {};
  auto err = X509_STORE_CTX_get_error(ctx.get());
  std::string why = X509_verify_cert_error_string(err);
  ERR_clear_error();
  if (err == X509_V_ERR_INVALID_PURPOSE)
    return "--tls-cert: " + f.cert + " is not usable for TLS "
           + (purpose == X509_PURPOSE_SSL_CLIENT ? "client" : "server")
           + " authentication (nodes are both; extendedKeyUsage needs serverAuth,clientAuth)";
  if (X509_STORE_CTX_get_error_depth(ctx.get()) > 0) {
    auto* bad = X509_STORE_CTX_get_current_cert(ctx.get());
    return "--tls-ca: CA certificate " + (bad ? subject_of(bad) : std::string{"?"}) + " in "
           + f.ca + " fails verification: " + why;
  }
  return "--tls-cert: " + f.cert + " is not signed by the CA in --tls-ca " + f.ca + ": " + why;
}

std::string check_files(const files& f) {
  std::string cert_pem, key_pem, ca_pem;
  if (auto e = read_file(f.cert, cert_pem); !e.empty())
    return "--tls-cert: " + e;
  if (auto e = read_file(f.key, key_pem); !e.empty())
    return "--tls-key: " + e;
  if (auto e = read_file(f.ca, ca_pem); !e.empty())
    return "--tls-ca: " + e;
  // Certificate (chain).
  auto chain = read_certs(cert_pem);
  if (sk_X509_num(chain.get()) == 0)
    return "--tls-cert: " + not_pem(f.cert, cert_pem, "PEM certificate");
  x509_ptr leaf{sk_X509_shift(chain.get())};
  // Private key.
  bool asked = false;
  auto key_bio = mem_bio(key_pem);
  pkey_ptr key{PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, &asked)};
  if (asked || key_pem.find("-----BEGIN ENCRYPTED") != std::string::npos
      || key_pem.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
    ERR_clear_error();
    return "--tls-key: " + f.key
           + " is encrypted; passphrases are not supported (decrypt it: openssl pkey -in "
           + f.key + " -out KEY.plain)";
  }
  if (!key) {
    ERR_clear_error();
    return "--tls-key: " + not_pem(f.key, key_pem, "PEM private key");
  }
  // CA.
  auto cas = read_certs(ca_pem);
  if (sk_X509_num(cas.get()) == 0)
    return "--tls-ca: " + not_pem(f.ca, ca_pem, "PEM certificate");
  // Key/certificate pair.
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return "--tls-key: " + f.key + " does not match the certificate in --tls-cert " + f.cert;
  }
  // Validity periods and chain.
  if (auto e = check_dates(leaf.get()); !e.empty())
    return "--tls-cert: " + f.cert + " " + e;
  for (int i = 0; i < sk_X509_num(cas.get()); ++i)
    if (auto e = check_dates(sk_X509_value(cas.get(), i)); !e.empty())
      return "--tls-ca: CA certificate " + subject_of(sk_X509_value(cas.get(), i)) + " in " + f.ca
             + " " + e;
  store_ptr store{X509_STORE_new()};
  for (int i = 0; i < sk_X509_num(cas.get()); ++i)
    X509_STORE_add_cert(store.get(), sk_X509_value(cas.get(), i));
  for (int purpose : {X509_PURPOSE_SSL_CLIENT, X509_PURPOSE_SSL_SERVER})
    if (auto e = verify(store.get(), leaf.get(), chain.get(), purpose, f); !e.empty())
      return e;
  // Finally the calls CAF's session makes for every connection; a failure there
  // aborts the process (e.g. "ee key too small" under Debian's SECLEVEL=2).
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_method())};
  if (!ctx)
    return "--tls-cert: cannot create an OpenSSL context: " + ssl_error_text();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), f.cert.c_str()) != 1)
    return "--tls-cert: OpenSSL refuses " + f.cert + ": " + ssl_error_text();
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), f.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return "--tls-key: OpenSSL refuses " + f.key + ": " + ssl_error_text();
  if (SSL_CTX_load_verify_locations(ctx.get(), f.ca.c_str(), nullptr) != 1)
    return "--tls-ca: OpenSSL refuses " + f.ca + ": " + ssl_error_text();
  return {};
}

// -- audit -----------------------------------------------------------------------

using handler = std::function<void(const handshake_failure&)>;

std::mutex handler_mtx;
std::shared_ptr<const handler> current_handler;

std::shared_ptr<const handler> get_handler() {
  std::lock_guard<std::mutex> guard{handler_mtx};
  return current_handler;
}

/// Per-SSL audit state, kept in the SSL's ex_data and freed with it.
struct audit_record {
  std::string peer;
  bool done = false; ///< The peer accepted us, or the failure was reported.
};

void free_record(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<audit_record*>(ptr);
}

int record_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_record);
  return index;
}

std::string peer_of(SSL* ssl) {
  int fd = SSL_get_fd(ssl);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (fd < 0 || getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return std::string{host} + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    auto port = std::to_string(ntohs(in6->sin6_port));
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
      return std::string{host} + ":" + port;
    }
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return "[" + std::string{host} + "]:" + port;
  }
  return "?";
}

/// The record of a connection still in its handshake, created (with the peer
/// address) by the first SSL_accept/SSL_connect; nullptr once done.
audit_record* record_of(SSL* ssl, bool create) {
  auto* rec = static_cast<audit_record*>(SSL_get_ex_data(ssl, record_index()));
  if (!rec && create) {
    rec = new audit_record{peer_of(ssl)};
    if (SSL_set_ex_data(ssl, record_index(), rec) != 1) {
      delete rec;
      return nullptr;
    }
  }
  return rec && !rec->done ? rec : nullptr;
}

/// Describes a failed call; "" when it is not fatal (WANT_READ etc.).
/// Reads the error queue without consuming it: CAF calls SSL_get_error next.
std::string failure_reason(SSL* ssl, int ret, int saved_errno) {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_SSL: {
      auto e = ERR_peek_last_error();
      const char* r = e ? ERR_reason_error_string(e) : nullptr;
      std::string reason = r ? r : "TLS protocol error";
      auto v = SSL_get_verify_result(ssl);
      if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED && v != X509_V_OK)
        reason += std::string{": "} + X509_verify_cert_error_string(v);
      return reason;
    }
    case SSL_ERROR_SYSCALL:
      return saved_errno != 0 ? std::strerror(saved_errno)
                              : "connection closed by peer during handshake";
    case SSL_ERROR_ZERO_RETURN:
      return "peer closed the connection (close_notify) during handshake";
    default: // WANT_READ, WANT_WRITE, ...
      return {};
  }
}

void report(SSL* ssl, audit_record& rec, std::string reason) {
  rec.done = true;
  auto h = get_handler();
  if (!h || !*h)
    return;
  handshake_failure hf{rec.peer, std::move(reason), SSL_is_server(ssl) == 1};
  try {
    (*h)(hf);
  } catch (...) {
    // The callback must not break CAF's multiplexer loop.
  }
}

enum class call { accept, connect, read, write };

/// Common tail of the four interposed calls: `ret` is the real call's result,
/// `rec` the connection's record (nullptr outside the handshake).
int observe(SSL* ssl, audit_record* rec, int ret, call c) {
  if (!rec)
    return ret;
  if (ret > 0) {
    // Done once the peer has accepted us: a server returns from SSL_accept after
    // verifying the client, a TLS 1.2 client also from SSL_connect; a TLS 1.3
    // client learns of its rejection from its first SSL_read.
    if (c == call::read || c == call::accept
        || (c == call::connect && SSL_version(ssl) < TLS1_3_VERSION))
      rec->done = true;
    return ret;
  }
  int saved_errno = errno;
  auto reason = failure_reason(ssl, ret, saved_errno);
  if (!reason.empty())
    report(ssl, *rec, std::move(reason));
  errno = saved_errno;
  return ret;
}

template <class Fn>
Fn real(const char* name) {
  void* sym = dlsym(RTLD_NEXT, name);
  if (!sym) {
    std::fprintf(stderr, "stagee: dlsym(RTLD_NEXT, %s) failed: %s\n", name, dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}

using handshake_fn = int (*)(SSL*);
using read_fn = int (*)(SSL*, void*, int);
using write_fn = int (*)(SSL*, const void*, int);

} // namespace

std::string check(const files& f) {
  int given = !f.cert.empty() + !f.key.empty() + !f.ca.empty();
  if (given == 0)
    return {};
  if (given < 3) {
    std::string missing;
    for (auto [value, name] : {std::pair{&f.cert, "--tls-cert"}, std::pair{&f.key, "--tls-key"},
                               std::pair{&f.ca, "--tls-ca"}})
      if (value->empty())
        missing += missing.empty() ? name : std::string{" and "} + name;
    return "--tls-cert, --tls-key and --tls-ca go together: " + missing + " missing";
  }
  ERR_clear_error();
  auto result = check_files(f);
  ERR_clear_error();
  return result;
}

void apply(caf::actor_system_config& cfg, const files& f) {
  cfg.set("openssl.certificate", f.cert).set("openssl.key", f.key).set("openssl.cafile", f.ca);
  cfg.load<caf::openssl::manager>();
}

void on_handshake_failure(std::function<void(const handshake_failure&)> cb) {
  auto h = cb ? std::make_shared<const handler>(std::move(cb)) : nullptr;
  record_index(); // allocate the ex_data index outside the multiplexer thread
  std::lock_guard<std::mutex> guard{handler_mtx};
  current_handler = std::move(h);
}

bool audit_installed() {
  return dlsym(RTLD_DEFAULT, "SSL_accept") == reinterpret_cast<void*>(&::SSL_accept)
         && dlsym(RTLD_DEFAULT, "SSL_connect") == reinterpret_cast<void*>(&::SSL_connect)
         && dlsym(RTLD_DEFAULT, "SSL_read") == reinterpret_cast<void*>(&::SSL_read)
         && dlsym(RTLD_DEFAULT, "SSL_write") == reinterpret_cast<void*>(&::SSL_write);
}

} // namespace stagee::tls

// -- interposed libssl entry points ------------------------------------------------
// Each clears the thread's error queue first, as SSL_get_error() requires (CAF
// never drains it: its get_ssl_error() runs only inside compiled-out logging).

using stagee::tls::call;
using stagee::tls::observe;
using stagee::tls::record_of;

#define STAGEE_TLS_EXPORT __attribute__((visibility("default")))

extern "C" STAGEE_TLS_EXPORT int SSL_accept(SSL* ssl) {
  static const auto fn = stagee::tls::real<stagee::tls::handshake_fn>("SSL_accept");
  auto* rec = record_of(ssl, true);
  ERR_clear_error();
  return observe(ssl, rec, fn(ssl), call::accept);
}

extern "C" STAGEE_TLS_EXPORT int SSL_connect(SSL* ssl) {
  static const auto fn = stagee::tls::real<stagee::tls::handshake_fn>("SSL_connect");
  auto* rec = record_of(ssl, true);
  ERR_clear_error();
  return observe(ssl, rec, fn(ssl), call::connect);
}

extern "C" STAGEE_TLS_EXPORT int SSL_read(SSL* ssl, void* buf, int num) {
  static const auto fn = stagee::tls::real<stagee::tls::read_fn>("SSL_read");
  auto* rec = record_of(ssl, false);
  ERR_clear_error();
  return observe(ssl, rec, fn(ssl, buf, num), call::read);
}

extern "C" STAGEE_TLS_EXPORT int SSL_write(SSL* ssl, const void* buf, int num) {
  static const auto fn = stagee::tls::real<stagee::tls::write_fn>("SSL_write");
  auto* rec = record_of(ssl, false);
  ERR_clear_error();
  return observe(ssl, rec, fn(ssl, buf, num), call::write);
}
