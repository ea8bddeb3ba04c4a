/// Mutual TLS between nodes (CAF's openssl module): startup checks of the three
/// PEM files, wiring into the actor system config, and an audit of failed
/// handshakes.
///
/// CAF 0.17 reports every TLS failure as `disconnect_during_handshake` on the
/// connecting side and says nothing on the accepting side. The audit fills that
/// gap by interposing `SSL_accept`, `SSL_connect`, `SSL_read` and `SSL_write`
/// (defined in tls.cpp, forwarding to libssl). The executable must export these
/// four symbols so that libcaf_openssl.so binds to them; `audit_installed()`
/// tells whether it does.
#pragma once

#include <functional>
#include <string>

namespace caf {
class actor_system_config;
} // namespace caf

namespace stagee::tls {

/// The three `--tls-*` options. All empty: TLS off. All set: mutual TLS.
struct files {
  std::string cert; ///< --tls-cert: PEM certificate (chain) of this process.
  std::string key;  ///< --tls-key: its unencrypted PEM private key.
  std::string ca;   ///< --tls-ca: PEM CA certificate(s) every peer must chain to.

  /// True when all three are set.
  bool enabled() const {
    return !cert.empty() && !key.empty() && !ca.empty();
  }
};

/// Checks the files the way CAF will load them, so that a bad file is fatal at
/// startup instead of aborting the process on the first connection.
/// @returns "" when usable (or when all three are empty); otherwise one message
///          naming the offending option and the problem.
std::string check(const files& f);

/// Sets `openssl.certificate`/`key`/`cafile` and loads `caf::openssl::manager`.
/// Call after `check(f)` returned "" and after `cfg.load<caf::io::middleman>()`.
void apply(caf::actor_system_config& cfg, const files& f);

/// One failed TLS handshake, as seen by this process.
struct handshake_failure {
  std::string peer;   ///< "ip:port" of the other side ("[v6]:port"), "?" if unknown.
  std::string reason; ///< OpenSSL's reason, e.g. "peer did not return a certificate".
  bool accepting;     ///< True: the peer connected to us (we are the TLS server).
};

/// Installs the audit callback (replacing any previous one; an empty function
/// removes it). It runs on CAF's multiplexer thread, at most once per
/// connection: keep it cheap and thread-safe; exceptions it throws are dropped.
/// A failure counts as a handshake failure until the first application byte
/// arrives, which covers TLS 1.3, where the server rejects a client certificate
/// only after the client's `SSL_connect` has returned success.
void on_handshake_failure(std::function<void(const handshake_failure&)> cb);

/// True when libcaf_openssl.so's calls reach the audit, i.e. the executable
/// exports the interposed symbols (see tls.cpp for the link flags).
bool audit_installed();

} // namespace stagee::tls
