#!/usr/bin/env bash
# Configures and builds Stage E into ./build (or $STAGEE_BUILD_DIR). Incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${STAGEE_BUILD_DIR:-build}
BUILD_TYPE=${STAGEE_BUILD_TYPE:-RelWithDebInfo}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${STAGEE_CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$BUILD_DIR" -- -j"$(nproc)" ${STAGEE_BUILD_TARGETS:-}
