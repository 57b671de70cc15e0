#!/usr/bin/env bash
# bench/run.sh - whole-process benchmarks of ocicred beside its peers (BENCHMARKS.md#targets).
#
# Usage: bench/run.sh [-r RUNS] [-w WARMUP] [-o OUTDIR] [-i BIN | -B] [-b BASELINE]
#   -r RUNS    timed runs per command (default 30); -w WARMUP untimed runs first (default 5)
#   -o OUTDIR  where fixtures, raw hyperfine JSON and the report go (default bench/out)
#   (default)  measure what install.sh installs (the static musl build): ./install.sh into
#              ${CARGO_TARGET_DIR:-target}/bench-installed, then that bin/ocicred
#   -i BIN     do not build: measure this installed ocicred (e.g. target/installed/bin/ocicred)
#   -B         do not build: use the host build already in ${CARGO_TARGET_DIR:-target}/release
#   -b BIN     also measure BIN (an older ocicred build) in the docker `get` rows, for before/after
# Writes OUTDIR/results.md: BENCHMARKS.md-ready tables (median, p25-p75, peak RSS, ratios to the
# peers measured in the same hyperfine invocation), the growth tables and the targets.
#
# It installs nothing outside the repository (install.sh may add the musl Rust target, and
# musl-tools as root). Needs: cargo, hyperfine, python3, GNU time (/usr/bin/time). Rows whose
# peer or feature is missing print why and are skipped: skopeo (skopeo), secretservice
# (golang-docker-credential-helpers, gnome-keyring, dbus), valgrind (instruction counts), the
# static floor (musl-gcc, from musl-tools): a C `int main(void){return 0;}` built -static.
# Timings use hyperfine's default `sh` with its spawn time subtracted, stdin by `< file`.
# Peak RSS: the largest of 5 `/usr/bin/time -v` "Maximum resident set size" readings.
# Nothing outside OUTDIR is read or written: HOME, XDG_* and OCICRED_SYSCONFDIR point into it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=30
WARMUP=5
OUT="$ROOT/bench/out"
BUILD=install
BIN=""
BASE=""
while getopts "r:w:o:i:Bb:h" o; do
  case $o in
    r) RUNS=$OPTARG ;;
    w) WARMUP=$OPTARG ;;
    o) OUT=$OPTARG ;;
    i) BUILD=none; BIN=$OPTARG ;;
    B) BUILD=host ;;
    b) BASE=$OPTARG ;;
    *) sed -n '2,23p' "$0"; exit 2 ;;
  esac
done
started=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# hyperfine >= 1.17 (--input) times the small commands without a shell (`-N`): no shell spawn
# to subtract, which on a busy machine leaves medians of ~0 for anything under a millisecond.
HF=${HYPERFINE:-hyperfine}
"$HF" --help 2>/dev/null | grep -q -- '--input' || HF=""

say() { printf '%s\n' "$*" >&2; }

# ---- what is there ---------------------------------------------------------------------------
missing=()
have() { command -v "$1" >/dev/null 2>&1; }
for t in cargo hyperfine python3; do have "$t" || missing+=("$t"); done
[ -x /usr/bin/time ] || missing+=("/usr/bin/time (Debian package: time)")
if [ ${#missing[@]} -gt 0 ]; then
  say "bench/run.sh: missing: ${missing[*]}"
  say "  Debian: apt-get install hyperfine time python3; Rust: https://rustup.rs"
  exit 1
fi
optional_missing=()
have skopeo || optional_missing+=("skopeo (apt-get install skopeo)")
have docker-credential-secretservice || optional_missing+=("docker-credential-secretservice (apt-get install golang-docker-credential-helpers)")
{ have gnome-keyring-daemon && have dbus-run-session && have dbus-send; } ||
  optional_missing+=("gnome-keyring-daemon/dbus-run-session (apt-get install gnome-keyring dbus dbus-bin)")
have valgrind || optional_missing+=("valgrind (apt-get install valgrind; instruction counts)")
for m in "${optional_missing[@]}"; do say "bench/run.sh: not found, rows using it are skipped: $m"; done

# ---- build -----------------------------------------------------------------------------------
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $BUILD in
  install)
    say "building: PREFIX=$TARGET/bench-installed ./install.sh (what users install)"
    PREFIX="$TARGET/bench-installed" "$ROOT/install.sh" > "$TARGET/bench-install.log"
    BIN="$TARGET/bench-installed/bin/ocicred" ;;
  host) BIN="$TARGET/release/ocicred" ;;
esac
[ -x "$BIN" ] || { say "no binary at $BIN"; exit 1; }
LINKED=$(file -L "$BIN" 2>/dev/null | grep -o 'stati[^,]*linked\|dynamically linked' | head -1 || true)

rm -rf "$OUT"
mkdir -p "$OUT"/{bin,json,rss,fx,home/.config,run}
chmod 700 "$OUT/run"
cp "$BIN" "$OUT/bin/ocicred"
ln -s ocicred "$OUT/bin/docker-credential-ocicred"
if [ -n "$BASE" ]; then
  mkdir -p "$OUT/base"
  cp "$BASE" "$OUT/base/ocicred"
  ln -s ocicred "$OUT/base/docker-credential-ocicred"
fi
OC="$OUT/bin/ocicred"
DCO="$OUT/bin/docker-credential-ocicred"
FX="$OUT/fx"
export HOME="$OUT/home" XDG_CONFIG_HOME="$OUT/home/.config" XDG_RUNTIME_DIR="$OUT/run"
export XDG_CACHE_HOME="$OUT/home/.cache" OCICRED_SYSCONFDIR="$FX/sys-50"
unset REGISTRY_AUTH_FILE DOCKER_CONFIG CONTAINERS_REGISTRIES_CONF OCICRED_CONFIG OCICRED_STORE \
  OCICRED_DEBUG OCICRED_HELPER_CHAIN
export RUNS WARMUP OUT
HOST=127.0.0.1:5000

# The static floor of BENCHMARKS.md#targets: the cheapest possible helper, a static do-nothing
# program.
FLOOR=""
if have musl-gcc; then
  printf 'int main(void){return 0;}\n' > "$OUT/floor.c"
  musl-gcc -static -O2 -o "$OUT/bin/floor" "$OUT/floor.c" && FLOOR="$OUT/bin/floor"
else
  say "bench/run.sh: musl-gcc not found (apt-get install musl-tools): no static floor rows"
fi
floor_row() { [ -n "$FLOOR" ] && printf '%s' "floor: static C (musl-gcc -static)=$FLOOR"; }

# ---- fixtures --------------------------------------------------------------------------------
say "fixtures: auth.json 1/1,000/10,000/100,000 entries; registries.conf 3/2,000 registries + 0/50/200 drop-ins"
for n in 1 1000 10000 100000; do python3 "$ROOT/bench/fixtures.py" auth "$n" "$HOST" > "$FX/auth-$n.json"; done
printf '%s' "$HOST" > "$FX/url.txt"
python3 "$ROOT/bench/fixtures.py" store "registry-new.example:5000" > "$FX/store.json"
# sys-D: a typical main file (3 registries) + D drop-ins; sys-big: 2,000 registries + 200 drop-ins.
for d in 0 50 200; do python3 "$ROOT/bench/fixtures.py" regconf "$FX/sys-$d" 3 "$d"; done
python3 "$ROOT/bench/fixtures.py" regconf "$FX/sys-big" 2000 200

# ---- measuring -------------------------------------------------------------------------------
# bench GROUP [hyperfine options --] NAME=CMD ... : one hyperfine invocation with every command
# (the first is the subject, the rest its peers), then peak RSS of each.
bench() {
  local group=$1; shift
  local opts=() names=() cmds=() a i r rss input="" hf=hyperfine
  while [ $# -gt 0 ] && [ "$1" != "--" ] && [[ "$1" == -* ]]; do
    case $1 in
      -N) opts+=(-N); hf=$HF; shift ;;
      --input) input=$2; opts+=("$1" "$2"); shift 2 ;;
      *) opts+=("$1" "$2"); shift 2 ;;
    esac
  done
  [ "${1:-}" = "--" ] && shift
  for a in "$@"; do names+=("${a%%=*}"); cmds+=("${a#*=}"); done
  local hargs=()
  for i in "${!cmds[@]}"; do hargs+=(-n "${names[$i]}" "${cmds[$i]}"); done
  say "== $group"
  if ! "$hf" --style basic --warmup "$WARMUP" --runs "$RUNS" ${opts[@]+"${opts[@]}"} \
       --export-json "$OUT/json/$group.json" "${hargs[@]}" > "$OUT/json/$group.txt" 2>&1; then
    cat "$OUT/json/$group.txt" >&2
    say "   failed: $group"
    return 0
  fi
  grep -E '^(Benchmark|  Time)' "$OUT/json/$group.txt" >&2 || true
  for i in "${!cmds[@]}"; do
    rss=0
    for _ in 1 2 3 4 5; do
      if [ ${#opts[@]} -gt 0 ] && [ "${opts[0]}" = "--prepare" ]; then sh -c "${opts[1]}"; fi
      /usr/bin/time -v -o "$OUT/rss/time.txt" sh -c "${cmds[$i]}${input:+ < $input}" >/dev/null 2>&1 || true
      r=$(awk -F': ' '/Maximum resident set size/{print $2}' "$OUT/rss/time.txt")
      [ -n "$r" ] && [ "$r" -gt "$rss" ] && rss=$r
    done
    printf '%s\t%s\n' "${names[$i]}" "$rss" >> "$OUT/rss/$group.tsv"
  done
}

skipped() { say "== $1: skipped: $2"; printf '%s\t%s\n' "$1" "$2" >> "$OUT/skipped.tsv"; }

# Instruction counts (valgrind callgrind): deterministic where wall time on a busy machine is not.
# instr LABEL ENV CMD: ENV is a string of VAR=value assignments, CMD the command line.
instr() {
  local label=$1 envs=$2 cmd=$3 n
  have valgrind || return 0
  n=$(sh -c "$envs valgrind --tool=callgrind --callgrind-out-file=/dev/null $cmd" 2>&1 >/dev/null |
      awk '/refs:/{gsub(",","",$NF); print $NF}' || true)
  printf '%s\t%s\n' "$label" "${n:-?}" >> "$OUT/instr.tsv"
}

# ---- 1. docker get from a 1,000-entry auth.json (+50 drop-ins) beside skopeo and /bin/true -----
A1K="$FX/auth-1000.json"
"$DCO" get < "$FX/url.txt" >/dev/null 2>&1 || true
check=$(REGISTRY_AUTH_FILE=$A1K "$DCO" get < "$FX/url.txt" || true)
case $check in *'"Username":"alice"'*) ;; *) say "ocicred get did not answer: $check"; exit 1;; esac
get_rows=("ocicred get=REGISTRY_AUTH_FILE=$A1K $DCO get < $FX/url.txt")
if have skopeo; then
  REGISTRY_AUTH_FILE=$A1K skopeo --registries-conf "$FX/sys-50/containers/registries.conf" \
    login --get-login "$HOST" >/dev/null
  get_rows+=("skopeo login --get-login=REGISTRY_AUTH_FILE=$A1K skopeo --registries-conf $FX/sys-50/containers/registries.conf login --get-login $HOST")
else
  skipped "get-1000: skopeo" "skopeo not installed"
fi
[ -n "$FLOOR" ] && get_rows+=("$(floor_row)")
get_rows+=("/bin/true=/bin/true" "ocicred version (start-up only)=$DCO version")
[ -n "$BASE" ] && get_rows+=("baseline get=REGISTRY_AUTH_FILE=$A1K $OUT/base/docker-credential-ocicred get < $FX/url.txt")
bench get-1000 "${get_rows[@]}"
if [ -n "$HF" ]; then
  n_rows=("ocicred get=$DCO get")
  have skopeo && n_rows+=("skopeo login --get-login=skopeo --registries-conf $FX/sys-50/containers/registries.conf login --get-login $HOST")
  [ -n "$FLOOR" ] && n_rows+=("floor: static C (musl-gcc -static)=$FLOOR")
  n_rows+=("/bin/true=/bin/true")
  REGISTRY_AUTH_FILE=$A1K bench n-get-1000 -N --input "$FX/url.txt" -- "${n_rows[@]}"
  REGISTRY_AUTH_FILE=$FX/auth-100000.json OCICRED_SYSCONFDIR=$FX/sys-0 bench n-get-100000 \
    -N --input "$FX/url.txt" -- "ocicred get (100,000 entries)=$DCO get" ${FLOOR:+"$(floor_row)"}
else
  skipped n-get "hyperfine >= 1.17 (--input) not found: set HYPERFINE=/path/to/hyperfine"
fi

# ---- 2. how get grows: auth.json size, drop-in count ----------------------------------------
bench scale-entries \
  "1 entry=OCICRED_SYSCONFDIR=$FX/sys-0 REGISTRY_AUTH_FILE=$FX/auth-1.json $DCO get < $FX/url.txt" \
  "1,000 entries=OCICRED_SYSCONFDIR=$FX/sys-0 REGISTRY_AUTH_FILE=$FX/auth-1000.json $DCO get < $FX/url.txt" \
  "10,000 entries=OCICRED_SYSCONFDIR=$FX/sys-0 REGISTRY_AUTH_FILE=$FX/auth-10000.json $DCO get < $FX/url.txt" \
  "100,000 entries=OCICRED_SYSCONFDIR=$FX/sys-0 REGISTRY_AUTH_FILE=$FX/auth-100000.json $DCO get < $FX/url.txt" \
  "/bin/true=/bin/true" ${FLOOR:+"$(floor_row)"}
bench scale-dropins \
  "no registries.conf=OCICRED_SYSCONFDIR=$FX/none REGISTRY_AUTH_FILE=$A1K $DCO get < $FX/url.txt" \
  "3 registries + 0 drop-ins=OCICRED_SYSCONFDIR=$FX/sys-0 REGISTRY_AUTH_FILE=$A1K $DCO get < $FX/url.txt" \
  "3 registries + 50 drop-ins=OCICRED_SYSCONFDIR=$FX/sys-50 REGISTRY_AUTH_FILE=$A1K $DCO get < $FX/url.txt" \
  "3 registries + 200 drop-ins=OCICRED_SYSCONFDIR=$FX/sys-200 REGISTRY_AUTH_FILE=$A1K $DCO get < $FX/url.txt" \
  "2,000 registries + 200 drop-ins=OCICRED_SYSCONFDIR=$FX/sys-big REGISTRY_AUTH_FILE=$A1K $DCO get < $FX/url.txt"
for n in 1 1000 10000 100000; do
  instr "entries $n" "OCICRED_SYSCONFDIR=$FX/sys-0 REGISTRY_AUTH_FILE=$FX/auth-$n.json" "$DCO get < $FX/url.txt"
done
instr "no registries.conf" "OCICRED_SYSCONFDIR=$FX/none REGISTRY_AUTH_FILE=$A1K" "$DCO get < $FX/url.txt"
for d in 0 50 200 big; do
  instr "drop-ins $d" "OCICRED_SYSCONFDIR=$FX/sys-$d REGISTRY_AUTH_FILE=$A1K" "$DCO get < $FX/url.txt"
done
instr "/bin/true" "" /bin/true
[ -n "$FLOOR" ] && instr "floor" "" "$FLOOR"
if [ -n "$BASE" ]; then
  for n in 1 1000 10000 100000; do
    instr "baseline entries $n" "OCICRED_SYSCONFDIR=$FX/sys-0 REGISTRY_AUTH_FILE=$FX/auth-$n.json" "$OUT/base/docker-credential-ocicred get < $FX/url.txt"
  done
  for d in 0 50 200 big; do
    instr "baseline drop-ins $d" "OCICRED_SYSCONFDIR=$FX/sys-$d REGISTRY_AUTH_FILE=$A1K" "$OUT/base/docker-credential-ocicred get < $FX/url.txt"
  done
fi

# ---- 3. store into a 1,000-entry auth.json ---------------------------------------------------
cp "$A1K" "$FX/store-auth.json"
if REGISTRY_AUTH_FILE=$FX/store-auth.json "$DCO" store < "$FX/store.json"; then
  bench store-1000 --prepare "cp $A1K $FX/store-auth.json" -- \
    "ocicred store=REGISTRY_AUTH_FILE=$FX/store-auth.json $DCO store < $FX/store.json" \
    "/bin/true=/bin/true"
else
  skipped store-1000 "store failed"
fi

# ---- 4. resolve --json with 2,000 registries + 200 drop-ins ---------------------------------
IMAGE=registry-1001.example.com/team/app:1.0
if "$OC" resolve --help >/dev/null 2>&1; then
  if OCICRED_SYSCONFDIR=$FX/sys-big REGISTRY_AUTH_FILE=$A1K "$OC" resolve --json "$IMAGE" > "$OUT/resolve.json"; then
    bench resolve \
      "ocicred resolve --json=OCICRED_SYSCONFDIR=$FX/sys-big REGISTRY_AUTH_FILE=$A1K $OC resolve --json $IMAGE" \
      "ocicred config --json=OCICRED_SYSCONFDIR=$FX/sys-big REGISTRY_AUTH_FILE=$A1K $OC config --json" \
      "/bin/true=/bin/true"
    instr "resolve 2,000 + 200 drop-ins" "OCICRED_SYSCONFDIR=$FX/sys-big REGISTRY_AUTH_FILE=$A1K" "$OC resolve --json $IMAGE"
  else
    skipped resolve "ocicred resolve failed on the fixture (see above)"
  fi
else
  skipped resolve "feature not built (ocicred resolve --help fails)"
fi

# ---- 5. Bazel get: warm and cold token cache against a local registry -----------------------
reg_pid=""
stop_registry() { [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null; reg_pid=""; return 0; }
trap stop_registry EXIT
: > "$FX/exchanges.log"
: > "$FX/requests.log"
python3 "$ROOT/bench/fake-registry.py" "$FX/exchanges.log" "$FX/requests.log" > "$FX/registry.port" &
reg_pid=$!
for _ in $(seq 1 100); do [ -s "$FX/registry.port" ] && break; sleep 0.05; done
PORT=$(head -1 "$FX/registry.port")
python3 "$ROOT/bench/fixtures.py" auth 1000 "127.0.0.1:$PORT" > "$FX/auth-bazel.json"
printf '{"uri":"http://127.0.0.1:%s/v2/bench/app/manifests/latest"}' "$PORT" > "$FX/bazel.json"
BZ="REGISTRY_AUTH_FILE=$FX/auth-bazel.json $OC get < $FX/bazel.json"
answer=$(sh -c "$BZ" 2>&1 || true)
case $answer in
  *'"headers"'*)
    bench bazel-warm "ocicred get (Bazel, warm cache)=$BZ" ${FLOOR:+"$(floor_row)"} "/bin/true=/bin/true"
    [ -n "$HF" ] && REGISTRY_AUTH_FILE=$FX/auth-bazel.json bench n-bazel-warm -N --input "$FX/bazel.json" -- \
      "ocicred get (Bazel, warm cache)=$OC get" ${FLOOR:+"$(floor_row)"} "/bin/true=/bin/true"
    before=$(wc -l < "$FX/exchanges.log")
    bench bazel-cold --prepare "rm -rf $XDG_RUNTIME_DIR/ocicred" -- \
      "ocicred get (Bazel, cold cache)=$BZ"
    after=$(wc -l < "$FX/exchanges.log")
    printf 'Token exchanges during the cold runs: %s.' "$((after - before))" > "$OUT/bazel-exchanges.txt"
    # A cold call whose realm is already known (another repository of the same registry ran
    # before): the token file is gone, the remembered challenge (registry-*.json) is not, so
    # the call makes exactly one HTTP request, the token exchange (no /v2/ probe).
    sh -c "$BZ" > /dev/null
    forget_tokens="find $XDG_RUNTIME_DIR/ocicred -name '*.json' ! -name 'registry-*' -delete"
    sh -c "$forget_tokens"
    before=$(wc -l < "$FX/requests.log")
    sh -c "$BZ" > /dev/null
    after=$(wc -l < "$FX/requests.log")
    printf '%s' "$((after - before))" > "$OUT/bazel-known-realm-requests.txt"
    bench bazel-known-realm --prepare "$forget_tokens" -- \
      "ocicred get (Bazel, cold token, known realm)=$BZ"
    # BENCHMARKS.md#targets: 16 parallel cold calls for one repository make exactly one exchange.
    rm -rf "$XDG_RUNTIME_DIR/ocicred"
    before=$(wc -l < "$FX/exchanges.log")
    pids=()
    for _ in $(seq 1 16); do sh -c "$BZ" > /dev/null 2>&1 & pids+=($!); done
    wait "${pids[@]}" || true
    after=$(wc -l < "$FX/exchanges.log")
    printf ' 16 parallel cold calls for one repository: %s exchange(s).\n' "$((after - before))" >> "$OUT/bazel-exchanges.txt"
    ;;
  *) skipped bazel "feature not built (answer: $(printf '%s' "$answer" | head -c 120))" ;;
esac
stop_registry

# ---- 6. keyring get beside docker-credential-secretservice on one gnome-keyring --------------
KS=""
for k in "$ROOT/tests/tools/keyring-session.sh" "$ROOT/bench/keyring-session.sh"; do
  [ -x "$k" ] && { KS=$k; break; }
done
if ! have docker-credential-secretservice || ! have gnome-keyring-daemon || [ -z "$KS" ]; then
  skipped keyring "secretservice, gnome-keyring or keyring-session.sh missing"
else
  declare -f bench skipped have say > "$OUT/lib.sh"
  cat > "$OUT/keyring-inner.sh" <<'EOF'
set -euo pipefail
. "$OUT/lib.sh"
n=$1
cred() { printf '{"ServerURL":"%s","Username":"user%s","Secret":"secret-%s"}' "$1" "$2" "$2"; }
empty="$FX/empty-auth.json"; : > "$empty"
# The same keyring holds N items of each helper; the one looked up is in the middle.
ok=1
for i in $(seq 1 "$n"); do
  h="registry-$i.example:5000"; [ "$i" -eq $(((n + 1) / 2)) ] && h=$HOST
  cred "$h" "$i" | docker-credential-secretservice store
  cred "$h" "$i" | OCICRED_STORE=keyring REGISTRY_AUTH_FILE=$empty "$DCO" store >/dev/null 2>&1 || ok=0
done
got=$(OCICRED_STORE=keyring REGISTRY_AUTH_FILE=$empty "$DCO" get < "$FX/url.txt" 2>&1 || true)
case $got in *'"Username"'*) ;; *) ok=0;; esac
# A build without the keyring store writes to the auth file instead: that is not the feature.
if [ -s "$empty" ]; then ok=0; got="OCICRED_STORE=keyring wrote to the auth file"; fi
rows=()
if [ "$ok" = 1 ]; then
  rows+=("ocicred get (keyring)=OCICRED_STORE=keyring REGISTRY_AUTH_FILE=$empty $DCO get < $FX/url.txt")
else
  skipped "keyring-$n: ocicred" "feature not built (OCICRED_STORE=keyring store/get did not work: $(printf '%s' "$got" | head -c 100))"
fi
rows+=("docker-credential-secretservice get=docker-credential-secretservice get < $FX/url.txt")
[ -n "$FLOOR" ] && rows+=("floor: static C (musl-gcc -static)=$FLOOR")
rows+=("/bin/true=/bin/true")
bench "keyring-$n" "${rows[@]}"
if [ -n "$HF" ] && [ "$ok" = 1 ]; then
  n_rows=("ocicred get (keyring)=$DCO get" "docker-credential-secretservice get=docker-credential-secretservice get")
  [ -n "$FLOOR" ] && n_rows+=("floor: static C (musl-gcc -static)=$FLOOR")
  n_rows+=("/bin/true=/bin/true")
  OCICRED_STORE=keyring REGISTRY_AUTH_FILE=$empty bench "n-keyring-$n" -N --input "$FX/url.txt" -- "${n_rows[@]}"
fi
EOF
  for n in 1 200; do
    "$KS" -- env OUT="$OUT" FX="$FX" DCO="$DCO" HOST="$HOST" RUNS="$RUNS" WARMUP="$WARMUP" FLOOR="$FLOOR" HF="$HF" \
      bash "$OUT/keyring-inner.sh" "$n" || skipped "keyring-$n" "keyring session failed"
  done
fi

# ---- report ----------------------------------------------------------------------------------
{
  printf -- '- machine: %s cores, %s, kernel %s\n' "$(nproc)" \
    "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" "$(uname -r)"
  printf -- '- ocicred %s (%s), %s, hyperfine %s, skopeo %s\n' "$("$OC" version | awk '{print $2}')" \
    "$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$([ "$BUILD" = install ] && echo "installed by install.sh: " || echo "binary $BIN: ")${LINKED:-linkage unknown}" \
    "$(hyperfine --version | awk '{print $2}')" \
    "$(skopeo --version 2>/dev/null | awk '{print $3}' || echo -)"
  printf -- '- command: `bench/run.sh -r %s -w %s`, %s timed runs per command after %s warm-ups; load average at the start: %s, at the end: %s\n' \
    "$RUNS" "$WARMUP" "$RUNS" "$WARMUP" "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.md"
python3 "$ROOT/bench/report.py" "$OUT" > "$OUT/results.md"
cat "$OUT/results.md"
say "report: $OUT/results.md (raw: $OUT/json), $(($(date +%s) - started)) s"
