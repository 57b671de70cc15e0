#!/usr/bin/env bash
# tests/run.sh — the test command: installs the real peers the tests talk to (Debian packages),
# then runs the whole suite. CI (.ci/run) calls exactly this.
#
#   tests/run.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: real registry, real clients, real keyring, and tools.
packages=(skopeo docker-registry apache2-utils golang-docker-credential-helpers gnome-keyring
          dbus dbus-x11 libsecret-tools hyperfine curl openssl iproute2 ca-certificates time groff-base file
          mingw-w64 wine64)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The tests need a C compiler (for ring) and the docker CLI (from Debian's docker.io if absent).
command -v cc >/dev/null || missing+=(build-essential)
command -v docker >/dev/null || missing+=(docker.io)
# tests/it/architecture.rs runs tests/tools/module-cycles.py.
command -v python3 >/dev/null || missing+=(python3)

if [ ${#missing[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go-built clients and oracles (ORAS, Helm, crane, ...) into ${OCICRED_GO_CACHE:-target/go-tools}/bin;
# a no-op when they are already built at their pinned versions. A missing Go fails here, clearly.
tests/go/build.sh

command -v cargo >/dev/null || { echo "tests/run.sh: cargo not found (install Rust first)" >&2; exit 1; }

# The binary install.sh installs (static musl by default: it adds the Rust target and, as
# root, musl-tools), built once into a PREFIX under target/; tests/it/installed.rs checks it.
installed="${CARGO_TARGET_DIR:-$PWD/target}/installed"
mkdir -p "$installed"
PREFIX="$installed" ./install.sh > "${CARGO_TARGET_DIR:-$PWD/target}/install.log" ||
  { cat "${CARGO_TARGET_DIR:-$PWD/target}/install.log"; exit 1; }
export OCICRED_INSTALLED_BIN="$installed/bin/ocicred"

# The Windows build (mingw-w64 is ring's C compiler), run under Wine by tests/it/wine.rs.
if command -v rustup >/dev/null; then rustup target add x86_64-pc-windows-gnu >/dev/null; fi
cargo build --release --locked --target x86_64-pc-windows-gnu

cargo test --locked "$@"
