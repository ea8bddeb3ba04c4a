/// Secrets (R-SAFE-4): plans carry references ("secret:NAME"), never values. Values are
/// resolved just before the step that uses them and never persisted.
///
/// This header holds the pure pieces:
///   - name rules (valid_secret_name, valid_tenant_id);
///   - secret_key: the AES-256 key of the PostgreSQL secret store, loaded from a key file;
///   - seal / open: AES-256-GCM (OpenSSL EVP) of one secret value, bound to its tenant and
///     name through the AAD;
///   - directory_provider: one file per secret, DIR/TENANT/NAME (Kubernetes secret volumes,
///     systemd credentials);
///   - refs_in / substitute: the reference syntax inside a step's env and argv.
///
/// No message produced here ever contains a secret value or key material. Tenant ids and
/// secret names are not secret and are quoted (escaped, truncated) in messages.
///
/// Pure logic: OpenSSL 3 + POSIX file calls; no actors, no SQL (the store lives in persistence/).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stagee::secrets {

/// Largest secret value, in bytes: seal() refuses more, directory_provider::read() refuses
/// larger files.
inline constexpr std::size_t max_secret_bytes = 64 * 1024;

/// Secret names: [A-Za-z0-9][A-Za-z0-9._-]{0,127}, and no ".." anywhere (so no '/', no
/// leading '.', no "." / ".." path components: a name is always one plain file name).
bool valid_secret_name(std::string_view name);

/// Tenant ids: [A-Za-z0-9][A-Za-z0-9._@:-]{0,127} (so never "", "." or "..", never a '/').
bool valid_tenant_id(std::string_view tenant);

/// A 32-byte AES-256 key loaded from a key file. The file holds 64 hex characters (either
/// case; one trailing "\n" allowed, nothing else). load() refuses, with a std::runtime_error
/// naming the file and the problem (never its content): a missing/unreadable file, a file
/// that is not a regular file, wrong length or characters, and a file readable, writable or
/// executable by group or others (mode must be 0600 or 0400; the message says
/// "chmod 600 FILE"). Symlinks are followed (Kubernetes mounts secrets as symlinks); the mode
/// checked is the target's.
///
/// key_id() is the first 16 hex chars (lowercase) of sha256(key bytes): stored with each
/// ciphertext so a wrong key gives a clear error, and keys can rotate.
/// The key bytes are wiped (OPENSSL_cleanse) on destruction and when moved from; not
/// copyable, movable. A moved-from key is empty: seal/open with it throw std::logic_error.
class secret_key {
public:
  static constexpr std::size_t size = 32;

  /// @throws std::runtime_error naming the file and the problem.
  static secret_key load(const std::string& path);
  /// 64 hex characters, nothing else (tests, tools).
  /// @throws std::runtime_error("secret key: ...") on a wrong length or a non-hex character.
  static secret_key from_hex(std::string_view hex);
  /// Writes a new random key (RAND_bytes) as 64 lowercase hex chars + "\n" to a new file
  /// created with O_EXCL|O_NOFOLLOW and mode 0600 (fchmod'ed, whatever the umask).
  /// @throws std::runtime_error if the file (or a symlink of that name) exists, or on any
  /// I/O error (a partly written file is removed).
  static void generate(const std::string& path);

  secret_key(const secret_key&) = delete;
  secret_key& operator=(const secret_key&) = delete;
  secret_key(secret_key&& other) noexcept;
  secret_key& operator=(secret_key&& other) noexcept;
  ~secret_key();

  const std::string& key_id() const { return key_id_; }
  bool empty() const { return !loaded_; }

private:
  secret_key() = default;
  void set(const uint8_t* bytes); // copies the key bytes and computes key_id_
  void wipe() noexcept;

  std::array<uint8_t, size> bytes_{};
  std::string key_id_;
  bool loaded_ = false;

  friend std::vector<uint8_t> seal(const secret_key&, std::string_view, std::string_view,
                                   std::string_view);
  friend std::string open(const secret_key&, std::string_view, std::string_view,
                          const std::vector<uint8_t>&);
};

/// Sealed form stored in PostgreSQL (BYTEA):
///   version byte 0x01 | 12-byte random nonce (RAND_bytes) | ciphertext | 16-byte GCM tag
/// (ciphertext length == plaintext length). AAD = "stagee-secret:v1:" + tenant + ":" + name,
/// binding the ciphertext to its row: a ciphertext copied to another tenant or name fails to
/// open. (Names cannot contain ':', so the AAD is unambiguous.)
/// The key_id is not part of the blob: the store keeps it in its own column next to it.
/// @throws std::invalid_argument for an invalid tenant or name, or a plaintext larger than
///         max_secret_bytes; std::logic_error for an empty (moved-from) key;
///         std::runtime_error if OpenSSL fails.
std::vector<uint8_t> seal(const secret_key& k, std::string_view tenant, std::string_view name,
                          std::string_view plaintext);

/// Minimum size of a sealed blob (empty plaintext): 1 + 12 + 16.
inline constexpr std::size_t sealed_overhead = 1 + 12 + 16;

/// Opens a blob made by seal() with the same key, tenant and name.
/// @throws std::runtime_error
///   "secret 'NAME' of tenant 'T' cannot be decrypted: wrong key or tampered ciphertext"
///   on authentication failure, and for a malformed blob
///   "secret 'NAME' of tenant 'T' cannot be decrypted: sealed value is truncated (N bytes,
///    at least 29 expected)" or
///   "secret 'NAME' of tenant 'T' cannot be decrypted: unknown format version 0xNN
///    (expected 0x01)";
///   std::invalid_argument for an invalid tenant or name; std::logic_error for an empty key.
/// Never puts plaintext or key material in messages; the output buffer is wiped on failure.
std::string open(const secret_key& k, std::string_view tenant, std::string_view name,
                 const std::vector<uint8_t>& sealed);

/// One file per secret: DIR/TENANT/NAME (tenant subdirectory), as mounted by Kubernetes (a
/// directory of files, possibly symlinks into "..data/") or systemd credentials.
///
/// read() returns std::nullopt when the file (or the tenant directory) does not exist,
/// including a dangling symlink. It throws std::runtime_error (clear message naming tenant,
/// name and path; never the value) when: the tenant is invalid or the name invalid
/// (std::invalid_argument), DIR/TENANT resolves (realpath) outside DIR, the file resolves
/// outside DIR/TENANT (symlink escape), the file is not a regular file, is larger than
/// max_secret_bytes (64 KiB), or cannot be read. Symlinks that stay inside DIR/TENANT are
/// fine. Strips exactly one trailing "\n" (or "\r\n"); other bytes are returned as they are.
class directory_provider {
public:
  /// @throws std::runtime_error if dir does not exist or is not a directory.
  explicit directory_provider(std::string dir);

  std::optional<std::string> read(std::string_view tenant, std::string_view name) const;

  /// Names of the secrets of a tenant: entries of DIR/TENANT with a valid name that resolve
  /// to a regular file inside DIR/TENANT; sorted. Empty when DIR/TENANT does not exist.
  /// @throws std::invalid_argument for an invalid tenant; std::runtime_error if DIR/TENANT
  ///         escapes DIR or cannot be listed.
  std::vector<std::string> list(std::string_view tenant) const;

  const std::string& dir() const { return dir_; }

private:
  std::string dir_;
};

/// References in a step:
///   - env values that are exactly "secret:NAME". An env value that starts with "secret:"
///     but whose rest is not a valid name is an error (a typo must not reach the step as a
///     literal); "secret:" anywhere else in a value is plain text.
///   - "{{secret:NAME}}" placeholders anywhere inside argv strings (several per string, mixed
///     with text). Env values are not scanned for placeholders, and "{{ secret:x }}" (with
///     spaces) is plain text.
/// refs_in(): the distinct names referenced by the env values and argv, in order of first
/// appearance (env first, then argv).
/// @throws std::invalid_argument naming the bad reference (env key or argv index) for an
///         invalid name or an unterminated "{{secret:" placeholder.
std::vector<std::string> refs_in(const std::vector<std::pair<std::string, std::string>>& env,
                                 const std::vector<std::string>& argv);

/// Replaces the references with the resolved values (name -> value). Substituted values are
/// not scanned again. All-or-nothing: on a throw, env and argv are unchanged.
/// @throws std::out_of_range("secret 'NAME' was not resolved") for a missing name;
///         std::invalid_argument as refs_in().
void substitute(std::vector<std::pair<std::string, std::string>>& env,
                std::vector<std::string>& argv,
                const std::map<std::string, std::string>& values);

} // namespace stagee::secrets
