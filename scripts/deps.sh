#!/usr/bin/env bash
# Installs the Debian packages that Riposte's build, tests and benchmarks need.
# Idempotent and non-interactive: packages already present are not touched, and
# `apt-get update` runs only when something is missing. Safe to call from make.
set -euo pipefail

PKGS=(
  # build
  build-essential meson ninja-build pkg-config clang clang-format
  # libFuzzer and the sanitizer runtimes for clang (only Recommended by clang,
  # and recommends are not installed here)
  libclang-rt-14-dev
  # libraries (DESIGN.md §11); headers for the modules built so far
  libjansson-dev libsqlite3-dev libmicrohttpd-dev libssl-dev libuv1-dev libyaml-dev
  libpsl-dev publicsuffix libgmime-3.0-dev libxml2-dev liblua5.4-dev
  libcurl4-openssl-dev libsodium-dev libldap-dev libloc-dev libloc-database libmaxminddb-dev
  # benchmarks: the PCRE2 baseline of bench_extract
  libpcre2-dev
  # tests and tools
  libcmocka-dev valgrind curl sqlite3 python3 wrk time
  # the HTML report is checked in a headless browser (issue 8)
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
