#!/usr/bin/env bash
# fuzz/run.sh — runs every fuzz target (or the ones named) for SECONDS each, with libFuzzer.
#
#   fuzz/run.sh [SECONDS] [TARGET...]       (default 60 s per target)
#
# Needs a nightly toolchain; installs cargo-fuzz from crates.io when it is missing. Each
# target starts from its seeds (fuzz/seeds/<target>/), the saved crash inputs
# (testdata/fuzz-regressions/<target>/) and the corpus grown by earlier runs (fuzz/corpus/,
# not in git). A crash leaves its input in fuzz/artifacts/<target>/; copy it to
# testdata/fuzz-regressions/<target>/ once fixed, so `cargo test` replays it forever.
# Prints one line per target: executions, corpus size, result. Exit 1 if any target failed.
set -uo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' Cargo.toml | grep -v '^ocicred-fuzz$')
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked || exit 1
fi
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target}"

cargo "+$toolchain" fuzz build >/dev/null 2>build.log || {
  cat build.log >&2
  exit 1
}
failed=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "seeds/$t" "../testdata/fuzz-regressions/$t" "artifacts/$t"
  log="artifacts/$t/last-run.log"
  cargo "+$toolchain" fuzz run "$t" "corpus/$t" "seeds/$t" "../testdata/fuzz-regressions/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(grep -o '#[0-9]*' "$log" | tail -1 | tr -d '#')
  corpus=$(find "corpus/$t" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    result="ok"
  else
    result="FAILED (rc $rc): $(grep -m1 -E 'panicked at|ERROR: libFuzzer' "$log" | cut -c1-160); input in fuzz/artifacts/$t/"
    failed=1
  fi
  summary+=("$(printf '%-18s %6ss  %12s execs  corpus %5s  %s' "$t" "$secs" "${execs:-?}" "$corpus" "$result")")
  echo "${summary[-1]}"
done
exit $failed
