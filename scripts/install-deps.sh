#!/usr/bin/env bash
# Installs the Debian packages Stage E needs to build, test and run.
# Idempotent and quiet: prints nothing and touches nothing when all are present.
# Why each package is here: docs/dependencies.md.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config
  libcaf-dev                # actor runtime (CAF 0.17)
  libpqxx-dev libpq-dev     # PostgreSQL client
  postgresql-15             # embedded / test database server (initdb, pg_ctl)
  libmsgpack-cxx-dev        # snapshot encoding
  libspdlog-dev libfmt-dev  # structured logging
  nlohmann-json3-dev        # plan JSON parsing and canonical JSON
  libssl-dev                # sha256 (plan_hash, idempotency key), later TLS
  libboost-dev libboost-test-dev  # Boost.Test (tests), Beast/Asio (HTTP, later)
  libcli11-dev              # command line parsing (--name value and --name=value)
  libjwt-dev                # JWT signature checks (HS256/RS256/ES256) for gateway credentials
  libre2-dev                # the masker's patterns: linear-time regexes, fast on large output
  procps jq                 # scripts and end-to-end tests (ps, JSON on the command line)
  openssl                   # RS256/ES256 key pairs for tokens (docs/security.md, tests)
  libedit-dev               # the console's line editing, history and completion (BSD licence)
  tmux                      # the console's pseudo-terminal test (tests/e2e/console_tty_test.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/stagee-apt.log 2>&1; then
  apt-get update -qq >>/tmp/stagee-apt.log 2>&1 || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/stagee-apt.log 2>&1 || {
    echo "install-deps: apt-get failed, see /tmp/stagee-apt.log" >&2; tail -20 /tmp/stagee-apt.log >&2; exit 1; }
fi
