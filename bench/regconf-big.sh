#!/usr/bin/env bash
# bench/regconf-big.sh — the registries.conf cache benchmark (BENCHMARKS.md#targets): a 2,000-entry
# registries.conf (~310 KB) plus 200 drop-ins, and a docker `get` against it.
#
#   bench/regconf-big.sh setup DIR            # write the fixture under DIR (BLOCKED_EVERY=N:
#                                             # every Nth registry blocked, default 500, 0 none)
#   bench/regconf-big.sh run DIR BIN [BIN2]   # hyperfine + perf stat + peak RSS, beside /bin/true
set -euo pipefail

setup() {
  local dir=$1 etc=$1/etc/containers
  rm -rf "$dir"; mkdir -p "$etc/registries.conf.d" "$dir/run/containers" "$dir/home"
  chmod 700 "$dir/run"
  {
    echo 'unqualified-search-registries = ["registry.example.com", "docker.io"]'
    echo 'credential-helpers = ["containers-auth.json"]'
    echo 'short-name-mode = "enforcing"'
    for i in $(seq 1 2000); do
      echo '[[registry]]'
      echo "prefix = \"team$i.registry.example.net/project/app$i\""
      echo "location = \"mirror$i.internal.example.org:5000/cache/team$i/app\""
      [ $((i % 7)) -eq 0 ] && echo 'insecure = true'
      [ "${BLOCKED_EVERY:-500}" -gt 0 ] && [ $((i % ${BLOCKED_EVERY:-500})) -eq 0 ] && echo 'blocked = true'
      [ $((i % 3)) -ne 0 ] || printf '[[registry.mirror]]\nlocation = "m%d.example.org/x"\n' "$i"
    done
  } > "$etc/registries.conf"
  for i in $(seq 1 200); do
    printf '[[registry]]\nprefix = "dropin%03d.example.com"\nlocation = "dropin%03d.mirror.example.com"\n[aliases]\n"app%03d" = "dropin%03d.example.com/app"\n' \
      "$i" "$i" "$i" "$i" > "$etc/registries.conf.d/$(printf '%03d' "$i")-team.conf"
  done
  printf '{"auths":{"registry.example.com":{"auth":"%s"}}}\n' "$(printf 'u:p' | base64)" \
    > "$dir/run/containers/auth.json"
  echo registry.example.com > "$dir/key"
  ls -la "$etc/registries.conf"
}

run() {
  local dir=$1; shift
  export HOME=$dir/home XDG_RUNTIME_DIR=$dir/run OCICRED_SYSCONFDIR=$dir/etc
  unset XDG_CONFIG_HOME XDG_CACHE_HOME CONTAINERS_REGISTRIES_CONF DOCKER_CONFIG REGISTRY_AUTH_FILE
  local cmds=("/bin/true < $dir/key")
  for bin in "$@"; do
    ln -sf "$bin" "$dir/docker-credential-$(basename "$bin")"
    "$dir/docker-credential-$(basename "$bin")" get < "$dir/key" >/dev/null   # warm any cache
    cmds+=("$dir/docker-credential-$(basename "$bin") get < $dir/key")
  done
  hyperfine --warmup 20 --min-runs 200 --export-json "$dir/hyperfine.json" "${cmds[@]}"
  python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("median %7.2f ms  mean %7.2f ms  %s" % (r["median"]*1e3, r["mean"]*1e3, r["command"]))' "$dir/hyperfine.json"
  echo "== /bin/true"
  perf stat -r 200 -e task-clock,instructions -- sh -c "/bin/true < $dir/key >/dev/null" 2>&1 \
    | grep -E 'task-clock|instructions'
  for bin in "$@"; do
    local c="$dir/docker-credential-$(basename "$bin")"
    echo "== $c"
    perf stat -r 200 -e task-clock,instructions -- sh -c "$c get < $dir/key >/dev/null" 2>&1 \
      | grep -E 'task-clock|instructions'
    /usr/bin/time -v "$c" get < "$dir/key" 2>&1 >/dev/null | grep -E 'Maximum resident'
  done
}

"$@"
