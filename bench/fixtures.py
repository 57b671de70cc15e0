#!/usr/bin/env python3
"""bench/fixtures.py - generates the benchmark fixtures (stdlib only).

  fixtures.py auth N HOST           auth.json with N entries on stdout; HOST (alice:secret) is
                                    stored in the middle of the fill order, like bench-anchors.sh
  fixtures.py regconf ROOT N D      ROOT/containers/registries.conf with N [[registry]] tables
                                    and ROOT/containers/registries.conf.d/ with D drop-ins
  fixtures.py store HOST            a docker `store` body on stdout
"""
import base64
import json
import os
import sys


def b64(s):
    return base64.b64encode(s.encode()).decode()


def auth(n, host):
    auths = {}
    for i in range(1, n):
        auths["registry-%d.example:5000" % i] = {"auth": b64("user%d:secret-%d" % (i, i))}
        if i == n // 2:
            auths[host] = {"auth": b64("alice:secret")}
    if n <= 1:
        auths[host] = {"auth": b64("alice:secret")}
    json.dump({"auths": auths}, sys.stdout, indent="\t")
    sys.stdout.write("\n")


def registry(i, kind):
    # A mix of plain prefixes, namespaced prefixes, wildcards and mirrors.
    lines = ["[[registry]]"]
    if i % 10 == 0:
        lines.append('prefix = "*.%s-%d.example.com"' % (kind, i))
    elif i % 3 == 0:
        lines.append('prefix = "%s-%d.example.com/team/app"' % (kind, i))
        lines.append('location = "mirror-%s-%d.example.net/team/app"' % (kind, i))
    else:
        lines.append('location = "%s-%d.example.com"' % (kind, i))
    if i % 7 == 0:
        lines.append("insecure = true")
    if i % 5 == 0 and i % 10 != 0:
        lines.append("[[registry.mirror]]")
        lines.append('location = "cache-%s-%d.example.org"' % (kind, i))
        lines.append('pull-from-mirror = "digest-only"')
        lines.append("[[registry.mirror]]")
        lines.append('location = "cache2-%s-%d.example.org"' % (kind, i))
    return "\n".join(lines) + "\n"


def regconf(root, n, d):
    conf = os.path.join(root, "containers")
    drop = os.path.join(conf, "registries.conf.d")
    os.makedirs(drop, exist_ok=True)
    with open(os.path.join(conf, "registries.conf"), "w") as f:
        f.write('unqualified-search-registries = ["registry-1.example.com", "docker.io"]\n')
        f.write('short-name-mode = "permissive"\n')
        f.write('credential-helpers = ["containers-auth.json"]\n\n')
        for i in range(1, n + 1):
            f.write(registry(i, "registry"))
            f.write("\n")
    for i in range(1, d + 1):
        with open(os.path.join(drop, "%03d-bench.conf" % i), "w") as f:
            f.write(registry(i, "dropin"))
            f.write("\n[aliases]\n")
            f.write('"app%d" = "dropin-%d.example.com/library/app%d"\n' % (i, i, i))


def main():
    cmd = sys.argv[1]
    if cmd == "auth":
        auth(int(sys.argv[2]), sys.argv[3])
    elif cmd == "regconf":
        regconf(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "store":
        json.dump({"ServerURL": sys.argv[2], "Username": "bench", "Secret": "bench-secret"},
                  sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
