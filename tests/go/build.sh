#!/usr/bin/env bash
# tests/go/build.sh — builds the Go programs the tests run (real clients and oracles) into
# ${OCICRED_GO_CACHE:-target/go-tools}/bin. Go is for tests only, never part of ocicred.
#
# Idempotent: each binary has a stamp file (bin/.<name>.stamp) recording what it was built from;
# a binary whose stamp matches is not rebuilt. tests/run.sh calls this before `cargo test`;
# tests that need a binary fail naming this script when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

cache=${OCICRED_GO_CACHE:-target/go-tools}
case "$cache" in /*) ;; *) cache="$root/$cache" ;; esac
bin="$cache/bin"
mkdir -p "$bin"

go=$(command -v go || true)
[ -n "$go" ] || { [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go; }
if [ -z "$go" ]; then
  echo "tests/go/build.sh: Go not found (need 'go' on PATH or /usr/local/go/bin/go) — the tests run Go-built clients and oracles" >&2
  exit 1
fi
goversion=$("$go" env GOVERSION)
# Use the Go we found; never download another toolchain behind the caller's back.
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-}" CGO_ENABLED=0

fresh() { # fresh NAME STAMP: true when bin/NAME exists and was built from STAMP
  [ -x "$bin/$1" ] && [ -f "$bin/.$1.stamp" ] && [ "$(cat "$bin/.$1.stamp")" = "$2" ]
}

# install_client NAME PACKAGE VERSION: `go install PACKAGE@VERSION`, installed as bin/NAME.
install_client() {
  local name=$1 pkg=$2 ver=$3 stamp="$2@$3 $goversion"
  if fresh "$name" "$stamp"; then return 0; fi
  echo "tests/go/build.sh: building $name from $pkg@$ver with $goversion" >&2
  local tmp
  tmp=$(mktemp -d "$cache/gobin.XXXXXX")
  if ! GOBIN="$tmp" nice -n 10 "$go" install "$pkg@$ver"; then
    rm -rf "$tmp"
    echo "tests/go/build.sh: building $name ($pkg@$ver) failed" >&2
    return 1
  fi
  mv -f "$tmp/${pkg##*/}" "$bin/$name"
  rm -rf "$tmp"
  printf '%s' "$stamp" > "$bin/.$name.stamp"
}

# --- real clients (tests/it/clients.rs) ---
install_client oras oras.land/oras/cmd/oras v1.3.6
install_client helm3 helm.sh/helm/v3/cmd/helm v3.22.0
install_client helm4 helm.sh/helm/v4/cmd/helm v4.3.1
install_client crane github.com/google/go-containerregistry/cmd/crane v0.22.1

# build_oracle NAME: `go build` inside tests/go/NAME (its own module, versions pinned by its
# go.mod and go.sum; it shares tests/go/oracle, the line protocol), installed as bin/NAME.
build_oracle() {
  local name=$1 dir="$root/tests/go/$1" stamp
  stamp="$(cd "$dir" && cat go.mod go.sum ./*.go ../oracle/go.mod ../oracle/*.go | sha256sum | cut -d' ' -f1) $goversion"
  if fresh "$name" "$stamp"; then return 0; fi
  echo "tests/go/build.sh: building $name with $goversion" >&2
  if ! (cd "$dir" && nice -n 10 "$go" build -mod=readonly -trimpath -buildvcs=false -o "$bin/$name" .); then
    echo "tests/go/build.sh: building $name failed" >&2
    return 1
  fi
  printf '%s' "$stamp" > "$bin/.$name.stamp"
}

# --- reference implementations as oracles (tests/it/differential.rs) ---
build_oracle cimage-oracle   # go.podman.io/image/v5 v5.42.1
build_oracle docker-oracle   # github.com/docker/cli v29.9.3+incompatible
build_oracle oras-oracle     # oras.land/oras-go/v2 v2.7.0

echo "tests/go/build.sh: Go tools ready in $bin" >&2
