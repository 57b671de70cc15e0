#!/usr/bin/env bash
# bench/clients.sh - what ocicred adds to a real client operation.
#
# Usage: bench/clients.sh [-r RUNS] [-w WARMUP] [-o OUTDIR] [-B]
#   -r RUNS    timed runs per command (default 20); -w WARMUP untimed runs first (default 3)
#   -o OUTDIR  where homes, the registry and the hyperfine JSON go (default bench/out/clients)
#   -B         do not build: use the binary already in ${CARGO_TARGET_DIR:-target}/release
#
# Starts a local docker-registry (htpasswd, alice/secret) on 127.0.0.1, pushes one ORAS file
# artifact and one Helm chart, then runs ONE hyperfine invocation per client, each timing the
# same pull twice: with the credentials from ocicred (`"credsStore": "ocicred"` in the client's
# file, ocicred's auth-file store) and from a plain `auths` entry in the client's own file.
# Prints the medians and their difference in ms; writes OUTDIR/results.md.
#
# Needs: hyperfine, docker-registry, htpasswd (apache2-utils), curl, python3, and the Go-built
# clients in ${OCICRED_GO_CACHE:-target/go-tools}/bin (tests/go/build.sh). Installs nothing.
# Nothing outside OUTDIR is read or written: HOME, XDG_*, DOCKER_CONFIG and HELM_* point into it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=20
WARMUP=3
OUT="$ROOT/bench/out/clients"
BUILD=1
while getopts "r:w:o:Bh" o; do
  case $o in
    r) RUNS=$OPTARG ;;
    w) WARMUP=$OPTARG ;;
    o) OUT=$OPTARG ;;
    B) BUILD=0 ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
  esac
done

say() { printf '%s\n' "$*" >&2; }
missing=()
for t in hyperfine docker-registry htpasswd curl python3; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
cache=${OCICRED_GO_CACHE:-target/go-tools}
case "$cache" in /*) ;; *) cache="$ROOT/$cache" ;; esac
ORAS="$cache/bin/oras"
HELM="$cache/bin/helm3"
for b in "$ORAS" "$HELM"; do [ -x "$b" ] || missing+=("$b (run tests/go/build.sh)"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "bench/clients.sh: missing: ${missing[*]}"
  exit 1
fi

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release --locked >&2)
fi
BIN="$TARGET/release/ocicred"
[ -x "$BIN" ] || { say "bench/clients.sh: $BIN not built"; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# ---- registry ----------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
host="127.0.0.1:$port"
mkdir -p "$OUT/registry"
htpasswd -Bbn alice secret > "$OUT/registry/htpasswd"
cat > "$OUT/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $OUT/registry/data
http:
  addr: $host
  secret: bench-secret
auth:
  htpasswd:
    realm: bench
    path: $OUT/registry/htpasswd
EOF
docker-registry serve "$OUT/registry/config.yml" > "$OUT/registry/log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$host/v2/" || true)
  [ "$code" = 401 ] && break
  sleep 0.1
done
[ "$code" = 401 ] || { say "bench/clients.sh: docker-registry did not start"; exit 1; }

# ---- two homes: credentials from ocicred, and plain `auths` in the clients' own files ------------
mkhome() { # DIR CONFIG_JSON
  local d=$1
  mkdir -p "$d/bin" "$d/run" "$d/docker" "$d/helm/registry" "$d/work"
  chmod 700 "$d/run"
  printf '%s\n' "$2" > "$d/docker/config.json"
  printf '%s\n' "$2" > "$d/helm/registry/config.json"
  ln -sf "$BIN" "$d/bin/docker-credential-ocicred"
}
mkhome "$OUT/ocicred" '{"credsStore":"ocicred"}'
mkhome "$OUT/plain" "{\"auths\":{\"$host\":{\"auth\":\"YWxpY2U6c2VjcmV0\"}}}"
envs() { # the whole environment of a client run in home $1
  local d=$1
  printf 'env -i HOME=%s XDG_RUNTIME_DIR=%s PATH=%s:/usr/bin:/bin DOCKER_CONFIG=%s HELM_REGISTRY_CONFIG=%s HELM_CONFIG_HOME=%s HELM_CACHE_HOME=%s HELM_DATA_HOME=%s' \
    "$d" "$d/run" "$d/bin" "$d/docker" "$d/helm/registry/config.json" "$d/helm/config" "$d/helm/cache" "$d/helm/data"
}
printf '{"ServerURL":"%s","Username":"alice","Secret":"secret"}' "$host" |
  $(envs "$OUT/ocicred") docker-credential-ocicred store

# ---- content (pushed with the plain home) ----------------------------------------------------
plain=$(envs "$OUT/plain")
cd "$OUT/plain/work"
head -c 65536 /dev/urandom > artifact.bin
$plain "$ORAS" push --plain-http "$host/bench/file:v1" artifact.bin >/dev/null
$plain "$HELM" create benchchart >/dev/null
$plain "$HELM" package benchchart >/dev/null
$plain "$HELM" push --plain-http benchchart-0.1.0.tgz "oci://$host/bench/charts" >/dev/null 2>&1
cd "$OUT"

# ---- one hyperfine run per client --------------------------------------------------------------
oras_pull() { printf '%s %s pull --plain-http %s -o %s' "$(envs "$1")" "$ORAS" "$host/bench/file:v1" "$1/work/pulled"; }
helm_pull() { printf '%s %s pull --plain-http oci://%s/bench/charts/benchchart --version 0.1.0 -d %s' "$(envs "$1")" "$HELM" "$host" "$1/work/pulled"; }
for client in oras helm; do
  fn=${client}_pull
  # each command must really pull: check once, outside the timing
  for home in ocicred plain; do
    rm -rf "$OUT/$home/work/pulled"
    mkdir -p "$OUT/$home/work/pulled"
    sh -c "$($fn "$OUT/$home")" >/dev/null 2>&1 || { say "bench/clients.sh: $client pull ($home) failed"; exit 1; }
  done
  hyperfine -r "$RUNS" -w "$WARMUP" --export-json "$OUT/$client.json" \
    --prepare "rm -rf $OUT/ocicred/work/pulled $OUT/plain/work/pulled; mkdir -p $OUT/ocicred/work/pulled $OUT/plain/work/pulled" \
    -n "$client pull, credentials from ocicred" "$($fn "$OUT/ocicred")" \
    -n "$client pull, plain auths in the client's file" "$($fn "$OUT/plain")" >&2
done

python3 - "$OUT" "$RUNS" "$WARMUP" <<'EOF' | tee "$OUT/results.md"
import json, statistics, sys
out, runs, warmup = sys.argv[1], sys.argv[2], sys.argv[3]
print("| client | credentials from ocicred: median (p25–p75) ms | plain `auths`: median (p25–p75) ms | ocicred adds, median (ms) | CPU user+sys, mean: ocicred / plain (ms) | ocicred adds, CPU (ms) |")
print("|---|---:|---:|---:|---:|---:|")
for client in ["oras", "helm"]:
    rs = json.load(open(f"{out}/{client}.json"))["results"]
    def q(r):
        t = sorted(x * 1000 for x in r["times"])
        qs = statistics.quantiles(t, n=4)
        return statistics.median(t), qs[0], qs[2], (r["user"] + r["system"]) * 1000
    (m1, a1, b1, c1), (m2, a2, b2, c2) = q(rs[0]), q(rs[1])
    print(f"| `{client} pull` | {m1:.1f} ({a1:.1f}–{b1:.1f}) | {m2:.1f} ({a2:.1f}–{b2:.1f}) | {m1 - m2:+.1f} | {c1:.1f} / {c2:.1f} | {c1 - c2:+.1f} |")
print(f"\n{runs} timed runs after {warmup} warm-ups, one hyperfine invocation per client.")
EOF
