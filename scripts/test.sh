#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test.
# Tests start their own throwaway PostgreSQL (initdb in build/test-pg, as user
# postgres when root, on a free loopback port) and never touch any other server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${STAGEE_BUILD_DIR:-build}"
# One test at a time: the end-to-end tests run several nodes, PostgreSQL and step
# processes each, and assert timing bounds (leases of 1.5 s, detection within 3 s);
# two of them side by side on a 2-core runner made those bounds flaky. Serial, the
# suite takes about 4 minutes.
ctest --output-on-failure -j1 "$@"
