/// bench_masker: throughput of the R-SAFE-5 secret masker (config/masker.hpp).
///
///   bench_masker [MiB]        (default 64)
///
/// Generates MiB of realistic log/step output (our JSON log lines, build/apt/curl/psql
/// output, env dumps, stack traces; about 2% of lines carry a secret: key=value, JSON,
/// Bearer JWT, URL password, AWS/GitHub/Slack tokens, PEM blocks, resolved secret values)
/// and prints, in MB/s (10^6 bytes per second of input):
///   masker patterns-only            mask() of each line (what the log sink does)
///   masker patterns-only, buffer    mask() of the whole text at once
///   masker 20 exact values          mask() of each line, masker with 20 resolved secrets
///   stream_masker 4 KiB chunks      step output path, 20 exact values
///   std::regex / RE2                ONE key=value pattern on a smaller sample, to show
///                                   why the masker uses RE2
/// and checks that no secret survived (exit code 1 if one did).
/// Standalone: its own main, links config/masker.cpp and RE2 only.
#include "config/masker.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <re2/re2.h>

using stagee::masking::masker;
using stagee::masking::stream_masker;

namespace {

struct corpus {
  std::string text;
  std::vector<std::string> secrets; // the 20 exact values
  std::vector<std::string> must_not_survive;
  std::size_t lines = 0, secret_lines = 0;
};

std::string hex_str(std::mt19937_64& rng, std::size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += d[rng() & 15];
  return s;
}
std::string alnum(std::mt19937_64& rng, std::size_t n, bool upper_only = false) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += a[rng() % (upper_only ? 36 : 62)];
  return s;
}

corpus make_corpus(std::size_t bytes) {
  corpus c;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20; ++i) c.secrets.push_back("Sx" + alnum(rng, 14 + (i % 3) * 8) + "!" + std::to_string(i));
  c.must_not_survive = c.secrets;
  c.text.reserve(bytes + 4096);
  const char* words[] = {"compiling", "linking",   "fetching", "resolved", "updated",  "installing",
                         "warning:",  "note:",     "retrying", "done",     "checking", "unpacking",
                         "db/main",   "worker-3",  "tenant",   "ok",       "queue",    "cache",
                         "module",    "libfoo.so", "step",     "target",   "host-17",  "region"};
  auto word = [&] { return words[rng() % (sizeof words / sizeof *words)]; };
  auto ts = [&] {
    char b[40];
    std::snprintf(b, sizeof b, "2024-05-%02d T%02d:%02d:%02d.%03dZ", int(rng() % 28 + 1), int(rng() % 24),
                  int(rng() % 60), int(rng() % 60), int(rng() % 1000));
    return std::string(b);
  };
  std::size_t pem_n = 0;
  while (c.text.size() < bytes) {
    std::string line;
    const unsigned r = rng() % 1000;
    if (r < 20) { // ~2%: a secret of some kind
      ++c.secret_lines;
      const std::string pw = alnum(rng, 16);
      switch (rng() % 10) {
      case 0: line = "+ export DB_PASSWORD=" + pw + " PGHOST=db.internal"; break;
      case 1:
        line = "{\"ts\":\"" + ts() + "\",\"level\":\"debug\",\"msg\":\"request\",\"headers\":{\"Authorization\":\"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI" +
               alnum(rng, 20) + "\"}\",\"body\":{\"user\":\"bob\",\"password\":\"" + pw + "\"}}";
        break;
      case 2: line = "connecting to postgres://app:" + pw + "@db.internal:5432/main?sslmode=require"; break;
      case 3: line = "aws configure set aws_access_key_id AKIA" + alnum(rng, 16, true) + " # " + word(); break;
      case 4: line = "git push https://x-access-token:ghp_" + alnum(rng, 36) + "@github.com/o/r.git"; break;
      case 5: line = "curl -H 'Authorization: Bearer " + alnum(rng, 32) + "' https://api.example.com/v1/" + word(); break;
      case 6: line = "slack notify token=xoxb-" + std::to_string(rng() % 1000000000) + "-" + alnum(rng, 24); break;
      case 7: line = "resolved secret " + c.secrets[rng() % 20] + " into env"; break;
      case 8: line = "config: {\"client_secret\": \"" + pw + "\", \"timeout\": 30, \"region\": \"eu-west-1\"}"; break;
      default: {
        if (pem_n++ % 4 == 0) {
          line = "-----BEGIN RSA PRIVATE KEY-----\n";
          for (int i = 0; i < 12; ++i) line += alnum(rng, 64) + "\n";
          line += "-----END RSA PRIVATE KEY-----";
        } else {
          line = "api_key=" + pw + "&format=json";
        }
      }
      }
      if (c.must_not_survive.size() < 2000) c.must_not_survive.push_back(pw);
    } else if (r < 450) { // our own JSON log lines
      line = "{\"ts\":\"" + ts() + "\",\"level\":\"info\",\"logger\":\"exec\",\"msg\":\"step " + word() +
             "\",\"exec_id\":\"e-" + hex_str(rng, 12) + "\",\"plan_hash\":\"" + hex_str(rng, 64) +
             "\",\"idempotency_key\":\"" + hex_str(rng, 32) + "\",\"lock_key\":\"db/main\",\"fence\":" +
             std::to_string(rng() % 100000) + ",\"lease_ms\":5000,\"tenant_id\":\"t-" +
             std::to_string(rng() % 50) + "\",\"duration_ms\":" + std::to_string(rng() % 9000) + "}";
    } else if (r < 650) { // build output
      line = std::string("[") + std::to_string(rng() % 400) + "/400] " + word() + " src/" + word() + "/" +
             alnum(rng, 8) + ".cpp -o build/" + alnum(rng, 8) + ".o -O2 -Wall -DNDEBUG";
    } else if (r < 750) { // apt / curl / progress
      line = "Get:" + std::to_string(rng() % 90) + " http://deb.debian.org/debian bookworm/main amd64 lib" +
             alnum(rng, 6) + " amd64 1." + std::to_string(rng() % 20) + "-" + std::to_string(rng() % 9) +
             " [" + std::to_string(rng() % 900) + " kB]";
    } else if (r < 850) { // key=value logfmt
      line = "time=" + ts() + " level=info component=" + word() + " host=" + word() + " port=" +
             std::to_string(rng() % 65535) + " user=app session_id=" + hex_str(rng, 16) + " key=k" +
             std::to_string(rng() % 999) + " msg=\"" + word() + " " + word() + "\"";
    } else if (r < 920) { // stack traces
      line = "    at com.example." + std::string(word()) + ".Handler.run(Handler.java:" +
             std::to_string(rng() % 900) + ")";
    } else { // prose
      for (int i = 0; i < 12; ++i) line += std::string(word()) + " ";
      line += "(" + std::to_string(rng() % 100) + "%)";
    }
    c.text += line;
    c.text += '\n';
    ++c.lines;
  }
  return c;
}

template <class F>
double mbps(std::size_t bytes, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return bytes / 1e6 / s;
}

std::vector<std::string_view> split_lines(std::string_view t) {
  std::vector<std::string_view> v;
  std::size_t p = 0;
  while (p < t.size()) {
    std::size_t e = t.find('\n', p);
    if (e == std::string_view::npos) e = t.size();
    v.push_back(t.substr(p, e + 1 - p > t.size() - p ? t.size() - p : e + 1 - p));
    p = e + 1;
  }
  return v;
}

// Secrets still present in out (one RE2 pass over an alternation of all of them).
std::size_t leaks(const std::string& out, const std::vector<std::string>& secrets, const char* what) {
  std::string alt;
  for (const auto& s : secrets) alt += (alt.empty() ? "" : "|") + RE2::QuoteMeta(s);
  RE2::Options o;
  o.set_max_mem(256 << 20);
  const RE2 re(alt, o);
  re2::StringPiece in(out), m;
  std::size_t n = 0;
  while (RE2::FindAndConsume(&in, re) && n < 1000000)
    if (n++ < 5) std::fprintf(stderr, "LEAK (%s)\n", what);
  return n;
}

} // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  corpus c = make_corpus(mib << 20);
  const auto lines = split_lines(c.text);
  std::printf("input: %.1f MiB, %zu lines, %.1f%% with a secret\n", c.text.size() / 1048576.0, c.lines,
              100.0 * c.secret_lines / c.lines);
  int rc = 0;

  const masker& pat = stagee::masking::patterns();
  std::size_t red = 0;
  std::string out;
  out.reserve(c.text.size() + (1 << 20));
  double v = mbps(c.text.size(), [&] {
    for (auto l : lines) {
      std::string s = pat.mask(l);
      out += s;
    }
  });
  std::printf("masker patterns-only: %.1f MB/s\n", v);
  // secrets that only the exact masker knows may remain here; the pattern ones must not
  if (leaks(out, std::vector<std::string>(c.must_not_survive.begin() + 20, c.must_not_survive.end()),
            "patterns"))
    rc = 1;

  std::string whole;
  v = mbps(c.text.size(), [&] {
    whole = c.text;
    red = pat.mask_in_place(whole);
  });
  std::printf("masker patterns-only, whole buffer: %.1f MB/s (%zu redactions)\n", v, red);

  const masker ex(c.secrets);
  out.clear();
  v = mbps(c.text.size(), [&] {
    for (auto l : lines) out += ex.mask(l);
  });
  std::printf("masker 20 exact values: %.1f MB/s (longest exact form %zu bytes)\n", v, ex.longest_exact());
  if (leaks(out, c.must_not_survive, "20 exact values")) rc = 1;

  auto shared = std::make_shared<const masker>(c.secrets);
  out.clear();
  std::size_t sred = 0;
  v = mbps(c.text.size(), [&] {
    stream_masker sm(shared);
    for (std::size_t i = 0; i < c.text.size(); i += 4096)
      out += sm.feed(std::string_view(c.text).substr(i, 4096));
    out += sm.finish();
    sred = sm.redactions();
  });
  std::printf("stream_masker 4 KiB chunks (20 exact values): %.1f MB/s (%zu redactions)\n", v, sred);
  if (leaks(out, c.must_not_survive, "stream")) rc = 1;

  // ONE key=value pattern, std::regex vs RE2, per line on a 2 MiB sample
  std::size_t sample_bytes = 0, sample_lines = 0;
  while (sample_lines < lines.size() && sample_bytes < (2u << 20)) sample_bytes += lines[sample_lines++].size();
  const char* kv = R"((password|passwd|pwd|secret|token|api_?key)\s*[=:]\s*("[^"]*"|'[^']*'|[^\s&"']+))";
  std::size_t hits_std = 0, hits_re2 = 0;
  {
    const std::regex sre(kv, std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
    v = mbps(sample_bytes, [&] {
      for (std::size_t i = 0; i < sample_lines; ++i) {
        std::string s(lines[i]);
        std::string r = std::regex_replace(s, sre, "$1=***REDACTED***");
        hits_std += r.size() != s.size();
      }
    });
    std::printf("std::regex one key=value pattern (2 MiB sample): %.1f MB/s\n", v);
  }
  {
    const RE2 rre(std::string("(?i)") + kv);
    v = mbps(sample_bytes, [&] {
      for (std::size_t i = 0; i < sample_lines; ++i) {
        std::string s(lines[i]);
        hits_re2 += RE2::GlobalReplace(&s, rre, "\\1=***REDACTED***") > 0;
      }
    });
    std::printf("RE2 same key=value pattern (2 MiB sample): %.1f MB/s\n", v);
  }
  {
    // the pathological case a backtracking engine cannot bound: "token=" + many '='
    // (kept small: std::regex recurses per character and would blow the stack on MiBs)
    std::string evil = "token" + std::string(20000, ' ') + "x";
    const std::regex sre(kv, std::regex::ECMAScript | std::regex::icase);
    const RE2 rre(std::string("(?i)") + kv);
    const double a = mbps(evil.size(), [&] { (void)std::regex_search(evil, sre); });
    const double b = mbps(evil.size(), [&] { (void)RE2::PartialMatch(evil, rre); });
    std::printf("hostile 20 KB line (\"token\" + 20000 blanks): std::regex %.2f MB/s, RE2 %.1f MB/s\n", a, b);
  }
  std::printf("leaks: %s\n", rc ? "YES" : "none");
  return rc;
}
