#!/usr/bin/env bash
# bench/before-after.sh - two ocicred builds side by side in ONE hyperfine run: docker `get`
# from a 1,000-entry auth.json with 50 registries.conf drop-ins, and a Bazel `get` with a warm
# token cache (against bench/fake-registry.py), beside /bin/true. Fixtures come from
# bench/fixtures.py, as in bench/run.sh; each build has its own XDG_RUNTIME_DIR.
#
# Usage: bench/before-after.sh BEFORE_BIN AFTER_BIN [OUTDIR]   (RUNS=N, default 200)
# e.g.   cargo build --release --locked && cp target/release/ocicred /tmp/after
#        bench/before-after.sh /tmp/before /tmp/after
# Prints a Markdown table: wall-clock median, p25-p75, mean, and mean CPU (user+sys).
set -euo pipefail
BEFORE=$1 AFTER=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${3:-$ROOT/bench/out-before-after}
rm -rf "$OUT"/{fx,home,before,after,run-before,run-after}
mkdir -p "$OUT"/{fx,home,before,after,run-before,run-after}
chmod 700 "$OUT"/run-before "$OUT"/run-after
for w in before after; do
  src=$BEFORE; [ $w = after ] && src=$AFTER
  cp "$src" "$OUT/$w/ocicred"; ln -s ocicred "$OUT/$w/docker-credential-ocicred"
done
FX=$OUT/fx HOST=127.0.0.1:5000
python3 "$ROOT/bench/fixtures.py" auth 1000 "$HOST" > "$FX/auth-1000.json"
printf '%s' "$HOST" > "$FX/url.txt"
python3 "$ROOT/bench/fixtures.py" regconf "$FX/sys-50" 3 50
export HOME=$OUT/home XDG_CONFIG_HOME=$OUT/home/.config XDG_CACHE_HOME=$OUT/home/.cache OCICRED_SYSCONFDIR=$FX/sys-50
unset REGISTRY_AUTH_FILE DOCKER_CONFIG CONTAINERS_REGISTRIES_CONF OCICRED_CONFIG OCICRED_STORE OCICRED_HELPER_CHAIN
python3 "$ROOT/bench/fake-registry.py" "$FX/exchanges.log" > "$FX/registry.port" &
reg=$!; trap 'kill $reg' EXIT
for _ in $(seq 1 100); do [ -s "$FX/registry.port" ] && break; sleep 0.05; done
PORT=$(head -1 "$FX/registry.port")
python3 "$ROOT/bench/fixtures.py" auth 1000 "127.0.0.1:$PORT" > "$FX/auth-bazel.json"
printf '{"uri":"http://127.0.0.1:%s/v2/bench/app/manifests/latest"}' "$PORT" > "$FX/bazel.json"
cmd_get() { echo "XDG_RUNTIME_DIR=$OUT/run-$1 REGISTRY_AUTH_FILE=$FX/auth-1000.json $OUT/$1/docker-credential-ocicred get < $FX/url.txt"; }
cmd_bz() { echo "XDG_RUNTIME_DIR=$OUT/run-$1 REGISTRY_AUTH_FILE=$FX/auth-bazel.json $OUT/$1/ocicred get < $FX/bazel.json"; }
for w in before after; do
  sh -c "$(cmd_get $w)" | grep -q '"Username":"alice"' || { echo "docker get failed ($w)"; exit 1; }
  sh -c "$(cmd_bz $w)" | grep -q '"headers"' || { echo "bazel get failed ($w)"; exit 1; }
done
hyperfine --style basic --warmup 10 --runs "${RUNS:-200}" --export-json "$OUT/hyperfine.json" \
  -n /bin/true /bin/true \
  -n "docker get (before)" "$(cmd_get before)" \
  -n "docker get (after)" "$(cmd_get after)" \
  -n "Bazel get, warm (before)" "$(cmd_bz before)" \
  -n "Bazel get, warm (after)" "$(cmd_bz after)"
python3 - "$OUT/hyperfine.json" <<'PY'
import json,sys,statistics
r=json.load(open(sys.argv[1]))["results"]
print("| command | median (wall) | p25–p75 | mean ± σ | CPU user+sys (mean) |")
print("|---|---|---|---|---|")
for x in r:
    t=sorted(x["times"]); n=len(t)
    q=lambda f: t[int(f*(n-1))]*1000
    print(f"| {x['command']} | {x['median']*1000:.2f} ms | {q(.25):.2f}–{q(.75):.2f} ms | {x['mean']*1000:.2f} ± {x['stddev']*1000:.2f} ms | {(x['user']+x['system'])*1000:.2f} ms |")
PY
echo "exchanges: $(wc -l < "$FX/exchanges.log")"
