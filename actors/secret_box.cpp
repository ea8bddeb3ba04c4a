/// Secret encryption (AES-256-GCM via OpenSSL EVP), key files, the directory provider and
/// the reference syntax. See secret_box.hpp.
#include "actors/secret_box.hpp"

#include "actors/utf8.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace stagee::secrets {

namespace {

constexpr std::size_t max_id_chars = 128;
constexpr std::size_t key_hex_chars = 2 * secret_key::size;
constexpr std::size_t key_id_chars = 16;
constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;
constexpr uint8_t format_version = 0x01;
constexpr std::string_view aad_prefix = "stagee-secret:v1:";
constexpr std::string_view env_prefix = "secret:";
constexpr std::string_view open_mark = "{{secret:";
constexpr std::string_view close_mark = "}}";
constexpr std::size_t max_quote = 64;

bool is_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/// A name, tenant or reference quoted back in a message (never a value).
std::string quote(std::string_view s) {
  return printable_ascii(s, max_quote);
}

std::string errno_text(int err) {
  return std::strerror(err);
}

void check_tenant(std::string_view tenant) {
  if (!valid_tenant_id(tenant))
    throw std::invalid_argument("invalid tenant id '" + quote(tenant) +
                                "' (expected [A-Za-z0-9][A-Za-z0-9._@:-]{0,127})");
}

void check_name(std::string_view name) {
  if (!valid_secret_name(name))
    throw std::invalid_argument("invalid secret name '" + quote(name) +
                                "' (expected [A-Za-z0-9][A-Za-z0-9._-]{0,127} without \"..\")");
}

std::string which(std::string_view tenant, std::string_view name) {
  return "secret '" + std::string(name) + "' of tenant '" + std::string(tenant) + "'";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Decodes exactly 64 hex characters into out. Returns an empty string on success, else the
/// problem (never quoting the content).
std::string decode_key_hex(const char* p, std::size_t n, uint8_t* out) {
  if (n != key_hex_chars)
    return "expected " + std::to_string(key_hex_chars) + " hex characters, got " +
           std::to_string(n) + " bytes";
  for (std::size_t i = 0; i < n; i += 2) {
    int hi = hex_value(p[i]);
    int lo = hex_value(p[i + 1]);
    if (hi < 0 || lo < 0)
      return "character at offset " + std::to_string(hi < 0 ? i : i + 1) +
             " is not a hex digit";
    out[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return {};
}

struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

struct ctx_free {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, ctx_free>;

[[noreturn]] void openssl_failure(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("secret encryption: OpenSSL ") + what + " failed");
}

std::string make_aad(std::string_view tenant, std::string_view name) {
  std::string aad;
  aad.reserve(aad_prefix.size() + tenant.size() + 1 + name.size());
  aad += aad_prefix;
  aad += tenant;
  aad += ':';
  aad += name;
  return aad;
}

// -- filesystem helpers (directory provider) -------------------------------------------

/// realpath(3) as a string; std::nullopt with err set on failure.
std::optional<std::string> real_path(const std::string& path, int& err) {
  char* r = ::realpath(path.c_str(), nullptr);
  if (r == nullptr) {
    err = errno;
    return std::nullopt;
  }
  std::string out(r);
  std::free(r);
  err = 0;
  return out;
}

/// child lies strictly below parent (both canonical).
bool is_below(const std::string& parent, const std::string& child) {
  if (parent == "/")
    return child.size() > 1 && child[0] == '/';
  return child.size() > parent.size() + 1 && child.compare(0, parent.size(), parent) == 0 &&
         child[parent.size()] == '/';
}

bool missing(int err) {
  return err == ENOENT || err == ENOTDIR;
}

void wipe(std::string& s) noexcept {
  if (!s.empty())
    OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

} // namespace

// -- names ----------------------------------------------------------------------------

bool valid_secret_name(std::string_view name) {
  if (name.empty() || name.size() > max_id_chars || !is_alnum(name[0]))
    return false;
  for (char c : name)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
      return false;
  return name.find("..") == std::string_view::npos;
}

bool valid_tenant_id(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > max_id_chars || !is_alnum(tenant[0]))
    return false;
  for (char c : tenant)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '@' && c != ':' && c != '-')
      return false;
  return true;
}

// -- secret_key -----------------------------------------------------------------------

secret_key::secret_key(secret_key&& other) noexcept
    : bytes_(other.bytes_), key_id_(std::move(other.key_id_)), loaded_(other.loaded_) {
  other.wipe();
}

secret_key& secret_key::operator=(secret_key&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = other.bytes_;
    key_id_ = std::move(other.key_id_);
    loaded_ = other.loaded_;
    other.wipe();
  }
  return *this;
}

secret_key::~secret_key() {
  wipe();
}

void secret_key::wipe() noexcept {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
  key_id_.clear();
  loaded_ = false;
}

void secret_key::set(const uint8_t* bytes) {
  std::memcpy(bytes_.data(), bytes, size);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(bytes_.data(), bytes_.size(), md, &md_len, EVP_sha256(), nullptr) != 1) {
    wipe();
    openssl_failure("SHA-256");
  }
  static const char hex[] = "0123456789abcdef";
  key_id_.clear();
  for (std::size_t i = 0; i < key_id_chars / 2; ++i) {
    key_id_ += hex[md[i] >> 4];
    key_id_ += hex[md[i] & 0xf];
  }
  loaded_ = true;
}

secret_key secret_key::from_hex(std::string_view hex) {
  uint8_t raw[size];
  std::string problem = decode_key_hex(hex.data(), hex.size(), raw);
  if (!problem.empty()) {
    OPENSSL_cleanse(raw, sizeof raw);
    throw std::runtime_error("secret key: " + problem);
  }
  secret_key k;
  k.set(raw);
  OPENSSL_cleanse(raw, sizeof raw);
  return k;
}

secret_key secret_key::load(const std::string& path) {
  const std::string what = "secret key file " + path;
  fd_guard f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (f.fd < 0)
    throw std::runtime_error(what + " cannot be opened: " + errno_text(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    throw std::runtime_error(what + " cannot be examined: " + errno_text(errno));
  if (!S_ISREG(st.st_mode))
    throw std::runtime_error(what + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error(what + " has mode " + mode +
                             ": it must not be accessible by group or others (mode 0600 or "
                             "0400); run: chmod 600 " + path);
  }

  // 64 hex chars + "\n"; read a little more to tell "too long" apart.
  char buf[key_hex_chars + 8];
  std::size_t n = 0;
  while (n < sizeof buf) {
    ssize_t r = ::read(f.fd, buf + n, sizeof buf - n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      int err = errno;
      OPENSSL_cleanse(buf, sizeof buf);
      throw std::runtime_error(what + " cannot be read: " + errno_text(err));
    }
    if (r == 0)
      break;
    n += static_cast<std::size_t>(r);
  }
  std::size_t len = n;
  const bool newline = n > 0 && n < sizeof buf && buf[n - 1] == '\n';
  if (newline)
    --len;
  uint8_t raw[size];
  std::string problem;
  if (len != key_hex_chars)
    problem = "must hold " + std::to_string(key_hex_chars) +
              " hex characters (one trailing newline allowed); it holds " +
              (n == sizeof buf ? "more than " + std::to_string(key_hex_chars + 1) + " bytes"
                               : std::to_string(len) + " characters" +
                                     (newline ? " plus a newline" : ""));
  else
    problem = decode_key_hex(buf, len, raw);
  OPENSSL_cleanse(buf, sizeof buf);
  if (!problem.empty()) {
    OPENSSL_cleanse(raw, sizeof raw);
    throw std::runtime_error(what + ": " + problem);
  }
  secret_key k;
  k.set(raw);
  OPENSSL_cleanse(raw, sizeof raw);
  return k;
}

void secret_key::generate(const std::string& path) {
  const std::string what = "secret key file " + path;
  uint8_t raw[size];
  if (RAND_bytes(raw, static_cast<int>(sizeof raw)) != 1) {
    OPENSSL_cleanse(raw, sizeof raw);
    openssl_failure("RAND_bytes");
  }
  static const char hex[] = "0123456789abcdef";
  char text[key_hex_chars + 1];
  for (std::size_t i = 0; i < size; ++i) {
    text[2 * i] = hex[raw[i] >> 4];
    text[2 * i + 1] = hex[raw[i] & 0xf];
  }
  text[key_hex_chars] = '\n';
  OPENSSL_cleanse(raw, sizeof raw);

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                  0600);
  if (fd < 0) {
    int err = errno;
    OPENSSL_cleanse(text, sizeof text);
    if (err == EEXIST)
      throw std::runtime_error(what + " already exists; refusing to overwrite it");
    throw std::runtime_error(what + " cannot be created: " + errno_text(err));
  }
  auto fail = [&](const char* step, int err) {
    OPENSSL_cleanse(text, sizeof text);
    ::close(fd);
    ::unlink(path.c_str());
    throw std::runtime_error(what + " cannot be " + step + ": " + errno_text(err));
  };
  if (::fchmod(fd, 0600) != 0)
    fail("made private (fchmod 0600)", errno);
  std::size_t done = 0;
  while (done < sizeof text) {
    ssize_t w = ::write(fd, text + done, sizeof text - done);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      fail("written", errno);
    }
    done += static_cast<std::size_t>(w);
  }
  OPENSSL_cleanse(text, sizeof text);
  if (::fsync(fd) != 0)
    fail("synced", errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    throw std::runtime_error(what + " cannot be closed: " + errno_text(err));
  }
}

// -- seal / open ----------------------------------------------------------------------

std::vector<uint8_t> seal(const secret_key& k, std::string_view tenant, std::string_view name,
                          std::string_view plaintext) {
  if (!k.loaded_)
    throw std::logic_error("secret encryption: the key is empty (moved from)");
  check_tenant(tenant);
  check_name(name);
  if (plaintext.size() > max_secret_bytes)
    throw std::invalid_argument(which(tenant, name) + " is " +
                                std::to_string(plaintext.size()) + " bytes; the limit is " +
                                std::to_string(max_secret_bytes));

  const std::size_t n = plaintext.size();
  std::vector<uint8_t> out(1 + nonce_bytes + n + tag_bytes);
  out[0] = format_version;
  uint8_t* nonce = out.data() + 1;
  uint8_t* ct = nonce + nonce_bytes;
  uint8_t* tag = ct + n;
  if (RAND_bytes(nonce, static_cast<int>(nonce_bytes)) != 1)
    openssl_failure("RAND_bytes");

  const std::string aad = make_aad(tenant, name);
  ctx_ptr ctx(EVP_CIPHER_CTX_new());
  if (!ctx)
    openssl_failure("EVP_CIPHER_CTX_new");
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce_bytes),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, k.bytes_.data(), nonce) != 1)
    openssl_failure("AES-256-GCM setup");
  if (EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1)
    openssl_failure("AES-256-GCM AAD");
  if (n > 0) {
    if (EVP_EncryptUpdate(ctx.get(), ct, &len,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          static_cast<int>(n)) != 1 ||
        static_cast<std::size_t>(len) != n)
      openssl_failure("AES-256-GCM encryption");
  }
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), ct + n, &final_len) != 1 || final_len != 0)
    openssl_failure("AES-256-GCM finalisation");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes), tag) != 1)
    openssl_failure("AES-256-GCM tag");
  return out;
}

std::string open(const secret_key& k, std::string_view tenant, std::string_view name,
                 const std::vector<uint8_t>& sealed) {
  if (!k.loaded_)
    throw std::logic_error("secret encryption: the key is empty (moved from)");
  check_tenant(tenant);
  check_name(name);
  const std::string prefix = which(tenant, name) + " cannot be decrypted: ";
  if (sealed.size() < sealed_overhead)
    throw std::runtime_error(prefix + "sealed value is truncated (" +
                             std::to_string(sealed.size()) + " bytes, at least " +
                             std::to_string(sealed_overhead) + " expected)");
  if (sealed[0] != format_version) {
    char v[8];
    std::snprintf(v, sizeof v, "0x%02x", static_cast<unsigned>(sealed[0]));
    throw std::runtime_error(prefix + "unknown format version " + v + " (expected 0x01)");
  }
  const std::size_t n = sealed.size() - sealed_overhead;
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error(prefix + "sealed value is too large");
  const uint8_t* nonce = sealed.data() + 1;
  const uint8_t* ct = nonce + nonce_bytes;
  uint8_t tag[tag_bytes];
  std::memcpy(tag, ct + n, tag_bytes);

  const std::string aad = make_aad(tenant, name);
  ctx_ptr ctx(EVP_CIPHER_CTX_new());
  if (!ctx)
    openssl_failure("EVP_CIPHER_CTX_new");
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce_bytes),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, k.bytes_.data(), nonce) != 1)
    openssl_failure("AES-256-GCM setup");
  if (EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1)
    openssl_failure("AES-256-GCM AAD");

  std::string out(n, '\0');
  bool ok = true;
  if (n > 0)
    ok = EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, ct,
                           static_cast<int>(n)) == 1 &&
         static_cast<std::size_t>(len) == n;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                                 tag) == 1;
  int final_len = 0;
  // The plaintext is only released once the tag has been verified here.
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n,
                                 &final_len) == 1 &&
       final_len == 0;
  if (!ok) {
    wipe(out);
    ERR_clear_error();
    throw std::runtime_error(prefix + "wrong key or tampered ciphertext");
  }
  return out;
}

// -- directory_provider ---------------------------------------------------------------

directory_provider::directory_provider(std::string dir) : dir_(std::move(dir)) {
  struct stat st {};
  if (dir_.empty())
    throw std::runtime_error("secret directory: no directory given");
  if (::stat(dir_.c_str(), &st) != 0)
    throw std::runtime_error("secret directory " + dir_ + " cannot be used: " +
                             errno_text(errno));
  if (!S_ISDIR(st.st_mode))
    throw std::runtime_error("secret directory " + dir_ + " is not a directory");
}

namespace {

/// Canonical DIR and DIR/TENANT; tenant_real is empty when the tenant directory does not
/// exist. Throws if DIR/TENANT escapes DIR or is not a directory.
struct tenant_dirs {
  std::string root_real;
  std::string tenant_real;
};

tenant_dirs resolve_tenant(const std::string& dir, std::string_view tenant) {
  tenant_dirs d;
  int err = 0;
  auto root = real_path(dir, err);
  if (!root)
    throw std::runtime_error("secret directory " + dir + " cannot be resolved: " +
                             errno_text(err));
  d.root_real = *root;
  const std::string tenant_path = d.root_real + "/" + std::string(tenant);
  auto t = real_path(tenant_path, err);
  if (!t) {
    if (missing(err))
      return d;
    throw std::runtime_error("secret directory " + tenant_path + " cannot be resolved: " +
                             errno_text(err));
  }
  if (!is_below(d.root_real, *t))
    throw std::runtime_error("secret directory " + tenant_path + " of tenant '" +
                             std::string(tenant) + "' resolves outside " + d.root_real +
                             " (symlink escape); refused");
  struct stat st {};
  if (::stat(t->c_str(), &st) != 0)
    throw std::runtime_error("secret directory " + tenant_path + " cannot be examined: " +
                             errno_text(errno));
  if (!S_ISDIR(st.st_mode))
    throw std::runtime_error("secret directory " + tenant_path + " is not a directory");
  d.tenant_real = *t;
  return d;
}

} // namespace

std::optional<std::string> directory_provider::read(std::string_view tenant,
                                                    std::string_view name) const {
  check_tenant(tenant);
  check_name(name);
  const tenant_dirs d = resolve_tenant(dir_, tenant);
  if (d.tenant_real.empty())
    return std::nullopt;

  const std::string path = d.tenant_real + "/" + std::string(name);
  const std::string what = which(tenant, name) + " (" + path + ")";
  int err = 0;
  auto file_real = real_path(path, err);
  if (!file_real) {
    if (missing(err)) // includes a dangling symlink
      return std::nullopt;
    throw std::runtime_error(what + " cannot be resolved: " + errno_text(err));
  }
  if (!is_below(d.tenant_real, *file_real))
    throw std::runtime_error(what + " resolves outside " + d.tenant_real +
                             " (symlink escape); refused");

  // O_NOFOLLOW: the canonical path has no symlink left, so one appearing now is a swap.
  // O_NONBLOCK: a FIFO put there must not hang the caller (refused below as not regular).
  fd_guard f(::open(file_real->c_str(),
                    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK));
  if (f.fd < 0) {
    int e = errno;
    if (e == ENOENT)
      return std::nullopt;
    if (e == ELOOP)
      throw std::runtime_error(what + " changed while being opened (symlink); refused");
    throw std::runtime_error(what + " cannot be read: " + errno_text(e));
  }
  // Re-check what was actually opened (a directory component could have been swapped
  // between realpath and open). Skipped when /proc is not mounted.
  {
    char link[PATH_MAX + 1];
    const std::string proc = "/proc/self/fd/" + std::to_string(f.fd);
    ssize_t ln = ::readlink(proc.c_str(), link, sizeof link - 1);
    if (ln > 0) {
      if (!is_below(d.tenant_real, std::string(link, static_cast<std::size_t>(ln))))
        throw std::runtime_error(what + " resolves outside " + d.tenant_real +
                                 " (changed while being opened); refused");
    }
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    throw std::runtime_error(what + " cannot be examined: " + errno_text(errno));
  if (!S_ISREG(st.st_mode))
    throw std::runtime_error(what + " is not a regular file");
  const std::string too_large = what + " is larger than " + std::to_string(max_secret_bytes) +
                                " bytes; refused";
  if (st.st_size > static_cast<off_t>(max_secret_bytes))
    throw std::runtime_error(too_large);

  std::string value(max_secret_bytes + 1, '\0');
  std::size_t n = 0;
  while (n < value.size()) {
    ssize_t r = ::read(f.fd, value.data() + n, value.size() - n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      wipe(value);
      throw std::runtime_error(what + " cannot be read: " + errno_text(e));
    }
    if (r == 0)
      break;
    n += static_cast<std::size_t>(r);
  }
  if (n > max_secret_bytes) { // grew after fstat
    wipe(value);
    throw std::runtime_error(too_large);
  }
  if (n >= 1 && value[n - 1] == '\n') {
    --n;
    if (n >= 1 && value[n - 1] == '\r')
      --n;
  }
  // Shrink without leaving a copy of the value behind: wipe the tail, then resize in place.
  OPENSSL_cleanse(value.data() + n, value.size() - n);
  value.resize(n);
  return value;
}

std::vector<std::string> directory_provider::list(std::string_view tenant) const {
  check_tenant(tenant);
  const tenant_dirs d = resolve_tenant(dir_, tenant);
  std::vector<std::string> names;
  if (d.tenant_real.empty())
    return names;
  DIR* dp = ::opendir(d.tenant_real.c_str());
  if (dp == nullptr) {
    int e = errno;
    if (missing(e))
      return names;
    throw std::runtime_error("secret directory " + d.tenant_real + " cannot be listed: " +
                             errno_text(e));
  }
  std::unique_ptr<DIR, int (*)(DIR*)> guard(dp, &::closedir);
  while (true) {
    errno = 0;
    const dirent* e = ::readdir(dp);
    if (e == nullptr) {
      if (errno != 0)
        throw std::runtime_error("secret directory " + d.tenant_real + " cannot be listed: " +
                                 errno_text(errno));
      break;
    }
    std::string name(e->d_name);
    if (!valid_secret_name(name)) // also skips ".", "..", "..data", "..2024_..."
      continue;
    int err = 0;
    auto r = real_path(d.tenant_real + "/" + name, err);
    if (!r || !is_below(d.tenant_real, *r))
      continue;
    struct stat st {};
    if (::stat(r->c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// -- references -----------------------------------------------------------------------

namespace {

/// The name an env value references, if it is exactly "secret:NAME".
std::optional<std::string_view> env_ref(const std::string& key, const std::string& value) {
  std::string_view v(value);
  if (v.substr(0, env_prefix.size()) != env_prefix)
    return std::nullopt;
  std::string_view name = v.substr(env_prefix.size());
  if (!valid_secret_name(name))
    throw std::invalid_argument("env " + quote(key) + ": invalid secret reference '" +
                                quote(value) +
                                "' (expected secret:NAME with NAME matching "
                                "[A-Za-z0-9][A-Za-z0-9._-]{0,127} without \"..\")");
  return name;
}

/// Splits an argv string into text and placeholder names; calls on_text(view) and
/// on_ref(name) in order.
template <class Text, class Ref>
void scan_arg(const std::string& arg, std::size_t index, Text on_text, Ref on_ref) {
  std::string_view s(arg);
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t start = s.find(open_mark, pos);
    if (start == std::string_view::npos) {
      on_text(s.substr(pos));
      return;
    }
    on_text(s.substr(pos, start - pos));
    std::size_t name_at = start + open_mark.size();
    std::size_t end = s.find(close_mark, name_at);
    if (end == std::string_view::npos)
      throw std::invalid_argument("argv[" + std::to_string(index) +
                                  "]: unterminated secret placeholder '" +
                                  quote(s.substr(start)) + "' (expected {{secret:NAME}})");
    std::string_view name = s.substr(name_at, end - name_at);
    if (!valid_secret_name(name))
      throw std::invalid_argument("argv[" + std::to_string(index) +
                                  "]: invalid secret reference '" +
                                  quote(s.substr(start, end + close_mark.size() - start)) +
                                  "' (NAME must match [A-Za-z0-9][A-Za-z0-9._-]{0,127} "
                                  "without \"..\")");
    on_ref(name);
    pos = end + close_mark.size();
  }
}

const std::string& lookup(const std::map<std::string, std::string>& values,
                          std::string_view name) {
  auto it = values.find(std::string(name));
  if (it == values.end())
    throw std::out_of_range("secret '" + std::string(name) + "' was not resolved");
  return it->second;
}

} // namespace

std::vector<std::string> refs_in(const std::vector<std::pair<std::string, std::string>>& env,
                                 const std::vector<std::string>& argv) {
  std::vector<std::string> names;
  auto add = [&](std::string_view name) {
    if (std::find(names.begin(), names.end(), name) == names.end())
      names.emplace_back(name);
  };
  for (const auto& [key, value] : env)
    if (auto name = env_ref(key, value))
      add(*name);
  for (std::size_t i = 0; i < argv.size(); ++i)
    scan_arg(argv[i], i, [](std::string_view) {}, add);
  return names;
}

void substitute(std::vector<std::pair<std::string, std::string>>& env,
                std::vector<std::string>& argv,
                const std::map<std::string, std::string>& values) {
  std::vector<std::pair<std::string, std::string>> new_env;
  std::vector<std::string> new_argv;
  try {
    new_env.reserve(env.size());
    for (const auto& [key, value] : env) {
      if (auto name = env_ref(key, value))
        new_env.emplace_back(key, lookup(values, *name));
      else
        new_env.emplace_back(key, value);
    }
    new_argv.reserve(argv.size());
    for (std::size_t i = 0; i < argv.size(); ++i) {
      std::string& out = new_argv.emplace_back(); // built in place: wiped on a throw
      scan_arg(
          argv[i], i, [&](std::string_view text) { out += text; },
          [&](std::string_view name) { out += lookup(values, name); });
    }
  } catch (...) {
    for (auto& kv : new_env)
      wipe(kv.second);
    for (auto& a : new_argv)
      wipe(a);
    throw;
  }
  env.swap(new_env);
  argv.swap(new_argv);
}

} // namespace stagee::secrets
