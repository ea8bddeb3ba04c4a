#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test.
# Tests start their own throwaway PostgreSQL (initdb in build/test-pg, as user
# postgres when root, on a free loopback port) and never touch any other server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${STAGEE_BUILD_DIR:-build}"
ctest --output-on-failure -j2 "$@"
