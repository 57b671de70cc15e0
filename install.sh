#!/usr/bin/env bash
# install.sh — build ocicred and install `ocicred` plus the `docker-credential-ocicred` link.
#
#   ./install.sh                 installs into ${PREFIX:-$HOME/.local}/bin
#   PREFIX=/usr/local ./install.sh
#
# Idempotent, no sudo: run it again to upgrade in place.
set -euo pipefail
cd "$(dirname "$0")"

prefix=${PREFIX:-$HOME/.local}
bindir="$prefix/bin"

command -v cargo >/dev/null || { echo "install.sh: cargo not found; install Rust (https://rustup.rs) first" >&2; exit 1; }

echo "Building ocicred (release)…"
cargo build --release --locked --quiet
target=${CARGO_TARGET_DIR:-target}

mkdir -p "$bindir"
install -m 0755 "$target/release/ocicred" "$bindir/ocicred.new"
mv -f "$bindir/ocicred.new" "$bindir/ocicred"
ln -sfn ocicred "$bindir/docker-credential-ocicred"

echo "Installed:"
echo "  $bindir/ocicred"
echo "  $bindir/docker-credential-ocicred -> ocicred"
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) echo "Note: $bindir is not on your PATH; add it, e.g. export PATH=\"$bindir:\$PATH\"";;
esac
cat <<EOT

Wire it up:
  docker / ORAS / Helm   ~/.docker/config.json:  { "credsStore": "ocicred" }
                         (or per registry: { "credHelpers": { "ghcr.io": "ocicred" } })
  podman / skopeo        ~/.config/containers/registries.conf:
                           credential-helpers = ["ocicred"]
  Bazel                  .bazelrc:  common --credential_helper=$bindir/ocicred
  Check the setup:       ocicred doctor
EOT
