#!/usr/bin/env bash
# Installs the Debian packages trailmap needs and builds it.  Run as root
# (or with sudo) on Debian 12.  BUILD_DIR overrides the build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="build-essential cmake pkg-config python3 openssl libjansson-dev zlib1g-dev libprotobuf-c-dev protobuf-c-compiler libnng-dev libuv1-dev libsqlite3-dev nettle-dev libmicrohttpd-dev libgnutls28-dev"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
BUILD_DIR=${BUILD_DIR:-build}
# warnings are errors here, for developers and CI alike (packagers calling
# cmake directly get TM_WERROR's default, OFF)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTM_WERROR=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
