#include "persistence/sql_catalog.hpp"

#include <regex>
#include <sstream>
#include <stdexcept>

namespace stagee::sql {

namespace {

std::vector<migration> load_migrations() {
  std::map<int, migration> by_version;
  static const std::regex pattern{R"(^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$)"};
  for (auto& f : embedded_migrations()) {
    std::cmatch m;
    if (!std::regex_match(f.name, m, pattern))
      throw std::logic_error(std::string{"bad migration file name: "} + f.name);
    auto& mig = by_version[std::stoi(m[1])];
    mig.version = std::stoi(m[1]);
    mig.name = m[2];
    (m[3] == "up" ? mig.up : mig.down) = f.text;
  }
  std::vector<migration> out;
  for (auto& [v, mig] : by_version) {
    if (mig.up.empty() || mig.down.empty())
      throw std::logic_error("migration " + std::to_string(v) + " lacks up or down");
    out.push_back(std::move(mig));
  }
  return out;
}

/// Splits a query file at "-- name: x" lines; the block runs until the next one.
void parse_blocks(const embedded_file& f, std::map<std::string, std::string>& out) {
  std::istringstream in{f.text};
  std::string line, name, body;
  auto flush = [&] {
    if (!name.empty() && !out.emplace(name, body).second)
      throw std::logic_error("duplicate statement name: " + name);
    body.clear();
  };
  while (std::getline(in, line)) {
    if (line.rfind("-- name: ", 0) == 0) {
      flush();
      name = line.substr(9);
      continue;
    }
    if (!name.empty())
      body += line + '\n';
  }
  flush();
}

std::map<std::string, std::string> load_statements() {
  std::map<std::string, std::string> out;
  for (auto& f : embedded_queries())
    parse_blocks(f, out);
  return out;
}

} // namespace

const std::vector<migration>& migrations() {
  static const auto all = load_migrations();
  return all;
}

const std::map<std::string, std::string>& statements() {
  static const auto all = load_statements();
  return all;
}

} // namespace stagee::sql
