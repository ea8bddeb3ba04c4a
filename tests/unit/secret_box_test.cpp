/// Secrets (R-SAFE-4): AES-256-GCM sealing, key files, the directory provider and the
/// reference syntax (actors/secret_box).
#include "actors/secret_box.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

using namespace stagee::secrets;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

const std::string hex_a = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string hex_b = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

/// A fresh directory under /tmp, removed (without following symlinks) at the end.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/stagee-secret-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (p == nullptr)
      throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path = p;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& rel) const { return path + "/" + rel; }
};

void write_file(const std::string& path, const std::string& content, mode_t mode = 0600) {
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!f)
      throw std::runtime_error("cannot write " + path);
  }
  if (::chmod(path.c_str(), mode) != 0)
    throw std::runtime_error("cannot chmod " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// Message of the exception `fn` throws as E (fails the test if it does not throw E).
template <class E>
std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("unexpected exception type: " << e.what());
    return {};
  }
  BOOST_ERROR("no exception thrown");
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool contains_bytes(const std::vector<uint8_t>& blob, const std::string& needle) {
  return std::search(blob.begin(), blob.end(), needle.begin(), needle.end()) != blob.end();
}

std::string auth_failure(const std::string& tenant, const std::string& name) {
  return "secret '" + name + "' of tenant '" + tenant +
         "' cannot be decrypted: wrong key or tampered ciphertext";
}

} // namespace

BOOST_AUTO_TEST_SUITE(secret_box)

// -- names ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(secret_name_rule) {
  for (const char* ok : {"a", "Z", "0", "db-password", "db_password", "tls.key", "A1.b-c_d"})
    BOOST_TEST(valid_secret_name(ok), ok);
  BOOST_TEST(valid_secret_name(std::string(128, 'x')));
  BOOST_TEST(!valid_secret_name(std::string(129, 'x')));
  for (const char* bad : {"", ".", "..", ".hidden", "..data", "-x", "_x", "../x", "a/b", "/abs",
                          "a..b", "a b", "a:b", "a\\b", "a\nb", "caf\xc3\xa9"})
    BOOST_TEST(!valid_secret_name(bad), bad);
  BOOST_TEST(!valid_secret_name(std::string("a\0b", 3)));
}

BOOST_AUTO_TEST_CASE(tenant_id_rule) {
  for (const char* ok : {"acme", "t1", "acme.corp", "user@example.com", "org:team-1", "A_b"})
    BOOST_TEST(valid_tenant_id(ok), ok);
  BOOST_TEST(valid_tenant_id(std::string(128, 't')));
  BOOST_TEST(!valid_tenant_id(std::string(129, 't')));
  for (const char* bad : {"", ".", "..", ".acme", "-acme", "a/b", "../x", "a b", "a\tb"})
    BOOST_TEST(!valid_tenant_id(bad), bad);
}

// -- seal / open ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(round_trip) {
  auto k = secret_key::from_hex(hex_a);
  const std::string value = "s3cr3t-p@ssw0rd\nwith\0nul"s;
  auto blob = seal(k, "acme", "db-password", value);
  BOOST_TEST(blob.size() == value.size() + sealed_overhead);
  BOOST_TEST(blob[0] == 0x01);
  BOOST_TEST(open(k, "acme", "db-password", blob) == value);
  // Another instance of the same key opens it too.
  auto k2 = secret_key::from_hex(hex_a);
  BOOST_TEST(k2.key_id() == k.key_id());
  BOOST_TEST(open(k2, "acme", "db-password", blob) == value);
}

BOOST_AUTO_TEST_CASE(seals_differ_and_hide_plaintext) {
  auto k = secret_key::from_hex(hex_a);
  const std::string value = "correct horse battery staple";
  auto a = seal(k, "acme", "pw", value);
  auto b = seal(k, "acme", "pw", value);
  BOOST_TEST((a != b));
  // The nonces differ (random), so do the ciphertexts.
  BOOST_TEST(!std::equal(a.begin() + 1, a.begin() + 13, b.begin() + 1));
  for (const auto* blob : {&a, &b}) {
    BOOST_TEST(!contains_bytes(*blob, value));
    BOOST_TEST(!contains_bytes(*blob, "horse"));
    BOOST_TEST(open(k, "acme", "pw", *blob) == value);
  }
}

BOOST_AUTO_TEST_CASE(wrong_key_fails_clearly) {
  auto k = secret_key::from_hex(hex_a);
  auto other = secret_key::from_hex(hex_b);
  BOOST_TEST(k.key_id() != other.key_id());
  auto blob = seal(k, "acme", "pw", "value-123");
  std::string msg = message_of<std::runtime_error>([&] { open(other, "acme", "pw", blob); });
  BOOST_TEST(msg == auth_failure("acme", "pw"));
  BOOST_TEST(!contains(msg, "value-123"));
  BOOST_TEST(!contains(msg, hex_a));
  BOOST_TEST(!contains(msg, hex_b));
}

BOOST_AUTO_TEST_CASE(tampered_byte_in_each_region_fails) {
  auto k = secret_key::from_hex(hex_a);
  const std::string value = "0123456789";
  const auto blob = seal(k, "acme", "pw", value);
  // Regions: version [0], nonce [1,13), ciphertext [13,13+n), tag [13+n, end).
  const std::size_t n = value.size();
  struct region {
    const char* what;
    std::size_t at;
  };
  for (region r : {region{"version", 0}, region{"nonce first", 1}, region{"nonce last", 12},
                   region{"ciphertext first", 13}, region{"ciphertext last", 12 + n},
                   region{"tag first", 13 + n}, region{"tag last", blob.size() - 1}}) {
    auto t = blob;
    t[r.at] ^= 0x01;
    std::string msg = message_of<std::runtime_error>([&] { open(k, "acme", "pw", t); });
    BOOST_TEST_INFO(r.what);
    if (r.at == 0)
      BOOST_TEST(msg == "secret 'pw' of tenant 'acme' cannot be decrypted: unknown format "
                        "version 0x00 (expected 0x01)");
    else
      BOOST_TEST(msg == auth_failure("acme", "pw"));
  }
  // Exhaustively: any single flipped bit anywhere is detected.
  for (std::size_t i = 0; i < blob.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      auto t = blob;
      t[i] ^= static_cast<uint8_t>(1u << bit);
      BOOST_CHECK_THROW(open(k, "acme", "pw", t), std::runtime_error);
    }
  // Appended byte: the tag moves, authentication fails.
  auto longer = blob;
  longer.push_back(0);
  BOOST_CHECK_THROW(open(k, "acme", "pw", longer), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(ciphertext_bound_to_tenant_and_name) {
  auto k = secret_key::from_hex(hex_a);
  auto blob = seal(k, "acme", "db-password", "hunter2");
  BOOST_TEST(message_of<std::runtime_error>([&] { open(k, "acme", "api-token", blob); }) ==
             auth_failure("acme", "api-token"));
  BOOST_TEST(message_of<std::runtime_error>([&] { open(k, "globex", "db-password", blob); }) ==
             auth_failure("globex", "db-password"));
  // The ':' separator cannot be shifted between tenant and name (names have no ':').
  auto blob2 = seal(k, "a:b", "c", "x");
  BOOST_CHECK_THROW(open(k, "a", "b:c", blob2), std::invalid_argument);
  BOOST_CHECK_THROW(open(k, "a:b", "d", blob2), std::runtime_error);
  BOOST_TEST(open(k, "a:b", "c", blob2) == "x");
}

BOOST_AUTO_TEST_CASE(truncated_blob_fails) {
  auto k = secret_key::from_hex(hex_a);
  auto blob = seal(k, "acme", "pw", "value");
  BOOST_TEST(message_of<std::runtime_error>([&] { open(k, "acme", "pw", {}); }) ==
             "secret 'pw' of tenant 'acme' cannot be decrypted: sealed value is truncated "
             "(0 bytes, at least 29 expected)");
  std::vector<uint8_t> short_blob(blob.begin(), blob.begin() + 28);
  BOOST_TEST(contains(message_of<std::runtime_error>([&] { open(k, "acme", "pw", short_blob); }),
                      "truncated (28 bytes"));
  // Cut by one byte: still long enough to parse, but authentication fails.
  std::vector<uint8_t> cut(blob.begin(), blob.end() - 1);
  BOOST_TEST(message_of<std::runtime_error>([&] { open(k, "acme", "pw", cut); }) ==
             auth_failure("acme", "pw"));
}

BOOST_AUTO_TEST_CASE(empty_plaintext_ok) {
  auto k = secret_key::from_hex(hex_a);
  auto blob = seal(k, "acme", "empty", "");
  BOOST_TEST(blob.size() == sealed_overhead);
  BOOST_TEST(open(k, "acme", "empty", blob) == "");
  // Even an empty value is authenticated.
  blob.back() ^= 0x80;
  BOOST_CHECK_THROW(open(k, "acme", "empty", blob), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(max_size_value_ok_larger_refused) {
  auto k = secret_key::from_hex(hex_a);
  std::string value(max_secret_bytes, '\0');
  for (std::size_t i = 0; i < value.size(); ++i)
    value[i] = static_cast<char>(i * 31 + 7);
  auto blob = seal(k, "acme", "big", value);
  BOOST_TEST(blob.size() == max_secret_bytes + sealed_overhead);
  BOOST_TEST((open(k, "acme", "big", blob) == value));
  std::string msg = message_of<std::invalid_argument>(
      [&] { seal(k, "acme", "big", std::string(max_secret_bytes + 1, 'v')); });
  BOOST_TEST(contains(msg, "limit is 65536"));
}

BOOST_AUTO_TEST_CASE(seal_open_refuse_invalid_ids) {
  auto k = secret_key::from_hex(hex_a);
  BOOST_CHECK_THROW(seal(k, "acme", "../x", "v"), std::invalid_argument);
  BOOST_CHECK_THROW(seal(k, "", "pw", "v"), std::invalid_argument);
  BOOST_CHECK_THROW(seal(k, "..", "pw", "v"), std::invalid_argument);
  auto blob = seal(k, "acme", "pw", "v");
  BOOST_CHECK_THROW(open(k, "acme", "a/b", blob), std::invalid_argument);
  BOOST_CHECK_THROW(open(k, "a/b", "pw", blob), std::invalid_argument);
}

// -- secret_key -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(key_id_is_sha256_prefix) {
  // sha256 of 32 zero bytes = 66687aadf862bd776c8fc18b8e9f8e20...
  auto k = secret_key::from_hex(std::string(64, '0'));
  BOOST_TEST(k.key_id() == "66687aadf862bd77");
  // Upper-case hex is the same key.
  std::string upper = hex_a;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  BOOST_TEST(secret_key::from_hex(upper).key_id() == secret_key::from_hex(hex_a).key_id());
  BOOST_CHECK_THROW(secret_key::from_hex(hex_a.substr(1)), std::runtime_error);
  BOOST_CHECK_THROW(secret_key::from_hex(hex_a + "0"), std::runtime_error);
  BOOST_CHECK_THROW(secret_key::from_hex(hex_a.substr(1) + "g"), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(key_generate_then_load) {
  temp_dir tmp;
  const std::string path = tmp / "master.key";
  secret_key::generate(path);
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0600u);
  const std::string text = read_file(path);
  BOOST_TEST(text.size() == 65u);
  BOOST_TEST(text.back() == '\n');
  auto k1 = secret_key::load(path);
  auto k2 = secret_key::load(path);
  BOOST_TEST(k1.key_id() == k2.key_id());
  BOOST_TEST(k1.key_id().size() == 16u);
  BOOST_TEST(k1.key_id() == secret_key::from_hex(text.substr(0, 64)).key_id());
  BOOST_TEST(open(k2, "acme", "pw", seal(k1, "acme", "pw", "v")) == "v");
  // Two generated keys differ.
  secret_key::generate(tmp / "other.key");
  BOOST_TEST(secret_key::load(tmp / "other.key").key_id() != k1.key_id());
}

BOOST_AUTO_TEST_CASE(key_generate_refuses_to_overwrite) {
  temp_dir tmp;
  const std::string path = tmp / "master.key";
  secret_key::generate(path);
  const std::string before = read_file(path);
  std::string msg = message_of<std::runtime_error>([&] { secret_key::generate(path); });
  BOOST_TEST(contains(msg, path));
  BOOST_TEST(contains(msg, "already exists"));
  BOOST_TEST(read_file(path) == before);
  // A symlink of that name (even dangling) is not followed.
  const std::string link = tmp / "link.key";
  BOOST_REQUIRE(::symlink((tmp / "target.key").c_str(), link.c_str()) == 0);
  BOOST_CHECK_THROW(secret_key::generate(link), std::runtime_error);
  BOOST_TEST(!fs::exists(tmp / "target.key"));
}

BOOST_AUTO_TEST_CASE(key_file_mode_refused_with_chmod_hint) {
  temp_dir tmp;
  const std::string path = tmp / "master.key";
  write_file(path, hex_a + "\n", 0644);
  std::string msg = message_of<std::runtime_error>([&] { secret_key::load(path); });
  BOOST_TEST(contains(msg, path));
  BOOST_TEST(contains(msg, "0644"));
  BOOST_TEST(contains(msg, "chmod 600 " + path));
  BOOST_TEST(!contains(msg, hex_a));
  for (mode_t bad : {0640, 0604, 0620, 0602, 0660, 0601, 0610})
    BOOST_CHECK_THROW((::chmod(path.c_str(), bad), secret_key::load(path)), std::runtime_error);
  for (mode_t good : {0600, 0400}) {
    ::chmod(path.c_str(), good);
    BOOST_TEST(secret_key::load(path).key_id() == secret_key::from_hex(hex_a).key_id());
  }
}

BOOST_AUTO_TEST_CASE(key_file_content_refused) {
  temp_dir tmp;
  const std::string path = tmp / "master.key";
  struct bad_case {
    std::string content;
    std::string expect;
  };
  for (const auto& c : std::vector<bad_case>{
           {hex_a.substr(1), "it holds 63 characters"},
           {hex_a.substr(1) + "\n", "it holds 63 characters plus a newline"},
           {hex_a + "\n\n", "it holds 65 characters plus a newline"},
           {hex_a + "0", "it holds 65 characters"},
           {hex_a + "\r\n", "it holds 65 characters plus a newline"},
           {"", "it holds 0 characters"},
           {"\n", "it holds 0 characters plus a newline"},
           {hex_a + hex_a, "more than 65 bytes"},
           {hex_a.substr(0, 10) + "zz" + hex_a.substr(12), "offset 10 is not a hex digit"},
           {" " + hex_a.substr(1), "offset 0 is not a hex digit"}}) {
    write_file(path, c.content, 0600);
    std::string msg = message_of<std::runtime_error>([&] { secret_key::load(path); });
    BOOST_TEST_INFO("content of " << c.content.size() << " bytes");
    BOOST_TEST(contains(msg, path));
    BOOST_TEST(contains(msg, c.expect), msg);
    BOOST_TEST(!contains(msg, hex_a.substr(12, 20)));
  }
  // Without the trailing newline is fine.
  write_file(path, hex_a, 0600);
  BOOST_TEST(secret_key::load(path).key_id() == secret_key::from_hex(hex_a).key_id());
}

BOOST_AUTO_TEST_CASE(key_file_missing_or_not_regular) {
  temp_dir tmp;
  std::string msg =
      message_of<std::runtime_error>([&] { secret_key::load(tmp / "missing.key"); });
  BOOST_TEST(contains(msg, tmp / "missing.key"));
  BOOST_TEST(contains(msg, "No such file"));
  ::chmod(tmp.path.c_str(), 0700);
  BOOST_TEST(contains(message_of<std::runtime_error>([&] { secret_key::load(tmp.path); }),
                      "not a regular file"));
}

BOOST_AUTO_TEST_CASE(key_move_wipes_source) {
  auto k = secret_key::from_hex(hex_a);
  const std::string id = k.key_id();
  auto blob = seal(k, "acme", "pw", "v");
  secret_key moved(std::move(k));
  BOOST_TEST(moved.key_id() == id);
  BOOST_TEST(!moved.empty());
  BOOST_TEST(k.empty()); // NOLINT(bugprone-use-after-move): documented state
  BOOST_TEST(k.key_id().empty());
  BOOST_CHECK_THROW(seal(k, "acme", "pw", "v"), std::logic_error);
  BOOST_CHECK_THROW(open(k, "acme", "pw", blob), std::logic_error);
  BOOST_TEST(open(moved, "acme", "pw", blob) == "v");
  auto other = secret_key::from_hex(hex_b);
  other = std::move(moved);
  BOOST_TEST(other.key_id() == id);
  BOOST_TEST(open(other, "acme", "pw", blob) == "v");
}

// -- directory_provider ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(directory_provider_needs_a_directory) {
  temp_dir tmp;
  BOOST_CHECK_THROW(directory_provider(tmp / "missing"), std::runtime_error);
  write_file(tmp / "file", "x");
  BOOST_TEST(contains(message_of<std::runtime_error>([&] { directory_provider(tmp / "file"); }),
                      "not a directory"));
  BOOST_CHECK_NO_THROW(directory_provider{tmp.path});
}

BOOST_AUTO_TEST_CASE(directory_read_and_missing) {
  temp_dir tmp;
  fs::create_directory(tmp / "acme");
  write_file(tmp / "acme/db-password", "hunter2\n", 0400);
  directory_provider p(tmp.path);
  BOOST_TEST(p.read("acme", "db-password").value() == "hunter2");
  BOOST_TEST(!p.read("acme", "nope").has_value());
  BOOST_TEST(!p.read("globex", "db-password").has_value()); // no tenant directory
  // Tenants do not see each other's files.
  fs::create_directory(tmp / "globex");
  BOOST_TEST(!p.read("globex", "db-password").has_value());
}

BOOST_AUTO_TEST_CASE(directory_strips_exactly_one_newline) {
  temp_dir tmp;
  fs::create_directory(tmp / "t");
  directory_provider p(tmp.path);
  for (const auto& [content, expect] : std::vector<std::pair<std::string, std::string>>{
           {"v", "v"},
           {"v\n", "v"},
           {"v\n\n", "v\n"},
           {"v\r\n", "v"},
           {"v\r\n\r\n", "v\r\n"},
           {"v\r", "v\r"},
           {"\n", ""},
           {"", ""},
           {" v \n", " v "},
           {"line1\nline2\n", "line1\nline2"}}) {
    write_file(tmp / "t/s", content);
    BOOST_TEST(p.read("t", "s").value() == expect);
  }
}

BOOST_AUTO_TEST_CASE(directory_refuses_invalid_names) {
  temp_dir tmp;
  fs::create_directory(tmp / "acme");
  write_file(tmp / "acme/.hidden", "x");
  write_file(tmp / "top", "x");
  directory_provider p(tmp.path);
  for (const char* bad : {"../x", "a/b", "", ".hidden", "..", ".", "../top", "a..b"}) {
    std::string msg = message_of<std::invalid_argument>([&] { p.read("acme", bad); });
    BOOST_TEST(contains(msg, "invalid secret name"), bad);
  }
  for (const char* bad : {"..", ".", "", "a/b", "../acme"}) {
    std::string msg = message_of<std::invalid_argument>([&] { p.read(bad, "top"); });
    BOOST_TEST(contains(msg, "invalid tenant id"), bad);
    BOOST_CHECK_THROW(p.list(bad), std::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(directory_refuses_symlink_escape) {
  temp_dir tmp;
  fs::create_directories(tmp / "secrets/acme");
  fs::create_directories(tmp / "secrets/globex");
  write_file(tmp / "outside", "outside-value\n");
  write_file(tmp / "secrets/globex/pw", "globex-value\n");
  directory_provider p(tmp / "secrets");
  // Relative escape to another tenant, and absolute escape out of DIR.
  fs::create_symlink("../globex/pw", tmp / "secrets/acme/stolen");
  fs::create_symlink(tmp / "outside", tmp / "secrets/acme/abs");
  for (const char* name : {"stolen", "abs"}) {
    std::string msg = message_of<std::runtime_error>([&] { p.read("acme", name); });
    BOOST_TEST(contains(msg, "symlink escape"), msg);
    BOOST_TEST(!contains(msg, "value"), msg);
  }
  // A tenant directory that is a symlink leaving DIR.
  fs::create_directory(tmp / "elsewhere");
  write_file(tmp / "elsewhere/pw", "x");
  fs::create_directory_symlink(tmp / "elsewhere", tmp / "secrets/evil");
  BOOST_TEST(contains(message_of<std::runtime_error>([&] { p.read("evil", "pw"); }),
                      "symlink escape"));
  BOOST_CHECK_THROW(p.list("evil"), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(directory_follows_symlinks_inside_kubernetes_layout) {
  // Kubernetes secret volume: NAME -> ..data/NAME, ..data -> ..2024_01_01_00_00_00.1/
  temp_dir tmp;
  fs::create_directories(tmp / "secrets/acme/..2024_01_01_00_00_00.1");
  write_file(tmp / "secrets/acme/..2024_01_01_00_00_00.1/token", "tok\n", 0400);
  fs::create_directory_symlink("..2024_01_01_00_00_00.1", tmp / "secrets/acme/..data");
  fs::create_symlink("..data/token", tmp / "secrets/acme/token");
  // Projected volume: the tenant directory itself is a symlink inside DIR.
  fs::create_directories(tmp / "secrets/..data/globex");
  write_file(tmp / "secrets/..data/globex/pw", "gpw");
  fs::create_directory_symlink("..data/globex", tmp / "secrets/globex");
  directory_provider p(tmp / "secrets");
  BOOST_TEST(p.read("acme", "token").value() == "tok");
  BOOST_TEST(p.read("globex", "pw").value() == "gpw");
  BOOST_TEST((p.list("acme") == std::vector<std::string>{"token"}));
  BOOST_TEST((p.list("globex") == std::vector<std::string>{"pw"}));
  // A dangling symlink reads as missing.
  fs::create_symlink("..data/gone", tmp / "secrets/acme/gone");
  BOOST_TEST(!p.read("acme", "gone").has_value());
}

BOOST_AUTO_TEST_CASE(directory_refuses_oversized_and_non_regular) {
  temp_dir tmp;
  fs::create_directory(tmp / "acme");
  write_file(tmp / "acme/max", std::string(max_secret_bytes, 'a'));
  write_file(tmp / "acme/max-nl", std::string(max_secret_bytes, 'b') + "\n");
  write_file(tmp / "acme/big", std::string(max_secret_bytes + 1, 'c'));
  fs::create_directory(tmp / "acme/subdir");
  directory_provider p(tmp.path);
  BOOST_TEST(p.read("acme", "max").value().size() == max_secret_bytes);
  std::string msg = message_of<std::runtime_error>([&] { p.read("acme", "max-nl"); });
  BOOST_TEST(contains(msg, "larger than 65536"));
  msg = message_of<std::runtime_error>([&] { p.read("acme", "big"); });
  BOOST_TEST(contains(msg, "larger than 65536"));
  BOOST_TEST(contains(msg, "'big'"));
  BOOST_TEST(!contains(msg, "ccc"));
  BOOST_TEST(contains(message_of<std::runtime_error>([&] { p.read("acme", "subdir"); }),
                      "not a regular file"));
  // A FIFO must neither hang nor be read.
  BOOST_REQUIRE(::mkfifo((tmp / "acme/fifo").c_str(), 0600) == 0);
  BOOST_TEST(contains(message_of<std::runtime_error>([&] { p.read("acme", "fifo"); }),
                      "not a regular file"));
}

BOOST_AUTO_TEST_CASE(directory_list) {
  temp_dir tmp;
  fs::create_directories(tmp / "secrets/acme/sub");
  fs::create_directories(tmp / "secrets/other");
  write_file(tmp / "secrets/acme/zeta", "z");
  write_file(tmp / "secrets/acme/alpha", "a");
  write_file(tmp / "secrets/acme/Mid.key", "m");
  write_file(tmp / "secrets/acme/.hidden", "h");
  write_file(tmp / "secrets/acme/bad name", "b");
  write_file(tmp / "secrets/other/x", "x");
  fs::create_symlink("../other/x", tmp / "secrets/acme/escape");
  fs::create_symlink("alpha", tmp / "secrets/acme/alias");
  fs::create_symlink("nowhere", tmp / "secrets/acme/dangling");
  directory_provider p(tmp / "secrets");
  BOOST_TEST((p.list("acme") == std::vector<std::string>{"Mid.key", "alias", "alpha", "zeta"}));
  BOOST_TEST(p.list("nobody").empty());
}

// -- references -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(refs_in_env_and_argv) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"PGPASSWORD", "secret:db-password"},
      {"PLAIN", "hello"},
      {"TOKEN", "secret:api.token"},
      {"AGAIN", "secret:db-password"}};
  std::vector<std::string> argv = {
      "curl", "-H", "Authorization: Bearer {{secret:api.token}}",
      "--user={{secret:user}}:{{secret:pass}}", "{{secret:user}}{{secret:tail_1}}"};
  BOOST_TEST((refs_in(env, argv) ==
              std::vector<std::string>{"db-password", "api.token", "user", "pass", "tail_1"}));
  BOOST_TEST(refs_in({}, {}).empty());
}

BOOST_AUTO_TEST_CASE(refs_only_exact_env_values) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"A", "my secret:db is here"},
      {"B", "xsecret:db"},
      {"C", " secret:db"},
      {"D", "SECRET:db"},
      {"E", "{{secret:db}}"}}; // env values are not scanned for placeholders
  std::vector<std::string> argv = {"secret:db", "{{ secret:db }}", "{secret:db}", "}}{{"};
  BOOST_TEST(refs_in(env, argv).empty());
}

BOOST_AUTO_TEST_CASE(refs_invalid_references) {
  std::string msg = message_of<std::invalid_argument>(
      [] { refs_in({{"PW", "secret:bad/name"}}, {}); });
  BOOST_TEST(contains(msg, "env PW"));
  BOOST_TEST(contains(msg, "secret:bad/name"));
  BOOST_CHECK_THROW(refs_in({{"PW", "secret:"}}, {}), std::invalid_argument);
  BOOST_CHECK_THROW(refs_in({{"PW", "secret:db extra"}}, {}), std::invalid_argument);

  msg = message_of<std::invalid_argument>([] { refs_in({}, {"ok", "x={{secret:db"}); });
  BOOST_TEST(contains(msg, "argv[1]"));
  BOOST_TEST(contains(msg, "unterminated"));
  BOOST_TEST(contains(msg, "{{secret:db"));
  BOOST_CHECK_THROW(refs_in({}, {"{{secret:a}} {{secret:b"}), std::invalid_argument);
  BOOST_CHECK_THROW(refs_in({}, {"{{secret:a}"}), std::invalid_argument);

  msg = message_of<std::invalid_argument>([] { refs_in({}, {"{{secret:../etc}}"}); });
  BOOST_TEST(contains(msg, "argv[0]"));
  BOOST_TEST(contains(msg, "{{secret:../etc}}"));
  BOOST_CHECK_THROW(refs_in({}, {"{{secret:}}"}), std::invalid_argument);
  BOOST_CHECK_THROW(refs_in({}, {"{{secret:a b}}"}), std::invalid_argument);
  BOOST_CHECK_THROW(refs_in({}, {"{{secret:a{{secret:b}}"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(substitute_values) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"PGPASSWORD", "secret:db"}, {"PLAIN", "x secret:db"}, {"T", "secret:tok"}};
  std::vector<std::string> argv = {"run", "--auth={{secret:tok}}&{{secret:db}}", "{{secret:db}}",
                                   "end"};
  const std::map<std::string, std::string> values = {
      {"db", "p@ss {{secret:tok}}"}, // not scanned again
      {"tok", "T0K"}};
  substitute(env, argv, values);
  BOOST_TEST(env[0].second == "p@ss {{secret:tok}}");
  BOOST_TEST(env[1].second == "x secret:db");
  BOOST_TEST(env[2].second == "T0K");
  BOOST_TEST(argv[0] == "run");
  BOOST_TEST(argv[1] == "--auth=T0K&p@ss {{secret:tok}}");
  BOOST_TEST(argv[2] == "p@ss {{secret:tok}}");
  BOOST_TEST(argv[3] == "end");
}

BOOST_AUTO_TEST_CASE(substitute_missing_value_changes_nothing) {
  std::vector<std::pair<std::string, std::string>> env = {{"A", "secret:db"}};
  std::vector<std::string> argv = {"{{secret:db}}", "{{secret:missing}}"};
  const auto env_before = env;
  const auto argv_before = argv;
  std::string msg = message_of<std::out_of_range>(
      [&] { substitute(env, argv, {{"db", "v"}}); });
  BOOST_TEST(msg == "secret 'missing' was not resolved");
  BOOST_TEST((env == env_before));
  BOOST_TEST((argv == argv_before));
  std::vector<std::pair<std::string, std::string>> env2 = {{"A", "secret:gone"}};
  std::vector<std::string> argv2;
  BOOST_TEST(contains(message_of<std::out_of_range>([&] { substitute(env2, argv2, {}); }),
                      "'gone'"));
  std::vector<std::string> argv3 = {"{{secret:db"};
  BOOST_CHECK_THROW(substitute(env2, argv3, {{"db", "v"}, {"gone", "g"}}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
