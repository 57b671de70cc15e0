#!/usr/bin/env python3
"""bench/report.py OUTDIR - turns bench/run.sh's raw results into BENCHMARKS.md-ready markdown.

Reads OUTDIR/json/GROUP.json (hyperfine), OUTDIR/rss/GROUP.tsv (peak RSS KiB per command),
OUTDIR/instr.tsv (callgrind instruction counts), OUTDIR/skipped.tsv and OUTDIR/machine.md.
In each group the first command is the subject and the others are its peers; ratios compare
medians measured in the same hyperfine invocation.
"""
import json
import os
import statistics
import sys

OUT = sys.argv[1]

TITLES = {
    "get-1000": "docker `get` from a 1,000-entry auth.json (+ registries.conf with 50 drop-ins)",
    "keyring-1": "`get` from the keyring (1 item of each helper in one gnome-keyring)",
    "keyring-200": "`get` from the keyring (200 items of each helper in one gnome-keyring)",
    "bazel-warm": "Bazel `get`, warm token cache (1,000-entry auth.json)",
    "bazel-cold": "Bazel `get`, cold token cache (probe + token exchange per call)",
    "bazel-known-realm": "Bazel `get`, cold token cache but the realm already known (token exchange only)",
    "store-1000": "docker `store` into a 1,000-entry auth.json (restored before each run)",
    "resolve": "`resolve --json` / `config --json` with 2,000 registries + 200 drop-ins",
    "n-get-1000": "Without a shell (`hyperfine -N --input`): docker `get`, 1,000 entries + 50 drop-ins",
    "n-get-100000": "Without a shell: docker `get` from a 100,000-entry auth.json",
    "n-keyring-1": "Without a shell: `get` from the keyring (1 item of each helper)",
    "n-keyring-200": "Without a shell: `get` from the keyring (200 items of each helper)",
    "n-bazel-warm": "Without a shell: Bazel `get`, warm token cache",
    "scale-entries": "`get` against auth.json size (registries.conf with 3 registries, no drop-ins)",
    "scale-dropins": "`get` against drop-in count (1,000-entry auth.json)",
}
ORDER = ["n-get-1000", "n-get-100000", "n-keyring-1", "n-keyring-200", "n-bazel-warm", "get-1000", "keyring-1", "keyring-200", "bazel-warm", "bazel-cold", "bazel-known-realm",
         "store-1000",
         "resolve", "scale-entries", "scale-dropins"]


def load(group):
    path = os.path.join(OUT, "json", group + ".json")
    if not os.path.exists(path):
        return None
    rss = {}
    rpath = os.path.join(OUT, "rss", group + ".tsv")
    if os.path.exists(rpath):
        for line in open(rpath):
            name, kib = line.rstrip("\n").split("\t")
            rss[name] = int(kib)
    rows = []
    for r in json.load(open(path))["results"]:
        t = sorted(x * 1000 for x in r["times"])
        q = statistics.quantiles(t, n=4) if len(t) > 1 else [t[0]] * 3
        rows.append({"name": r["command"], "median": statistics.median(t), "p25": q[0],
                     "p75": q[2], "runs": len(t), "rss": rss.get(r["command"])})
    return rows


def mib(kib):
    return "–" if kib is None else "%.1f" % (kib / 1024)


def ratio(a, b, fmt="%.2f"):
    """a / b, or a dash when b is too small to divide by (spawn-time subtraction can leave ~0)."""
    return fmt % (a / b) if b > 0.01 else "–"


def ms(v):
    return "%.2f" % v


def table(rows):
    subject = rows[0] if rows[0]["name"].startswith("ocicred") else None
    out = ["| command | median ms | p25–p75 ms | peak RSS MiB | ocicred ÷ this | this ÷ ocicred |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        a = b = "–"
        if subject and r is not subject:
            a = ratio(subject["median"], r["median"])
            b = ratio(r["median"], subject["median"], "%.1f×")
        out.append("| %s | %s | %s–%s | %s | %s | %s |" % (
            r["name"], ms(r["median"]), ms(r["p25"]), ms(r["p75"]), mib(r["rss"]), a, b))
    return "\n".join(out)


def instr():
    path = os.path.join(OUT, "instr.tsv")
    res = {}
    if os.path.exists(path):
        for line in open(path):
            k, v = line.rstrip("\n").split("\t")
            res[k] = int(v) if v.isdigit() else None
    return res


def main():
    groups = {g: load(g) for g in ORDER}
    ins = instr()
    print("### Machine and command\n")
    print(open(os.path.join(OUT, "machine.md")).read())
    print("Timings come from a shared, busy 2-core VM unless said otherwise: read the ratios "
          "(measured in one hyperfine invocation) rather than the absolute figures.\n")
    for g in ORDER:
        rows = groups[g]
        if not rows or g.startswith("scale"):
            continue
        print("### %s\n" % TITLES[g])
        print(table(rows))
        if g == "bazel-cold" and os.path.exists(os.path.join(OUT, "bazel-exchanges.txt")):
            print("\n" + open(os.path.join(OUT, "bazel-exchanges.txt")).read().strip())
        kr = os.path.join(OUT, "bazel-known-realm-requests.txt")
        if g == "bazel-known-realm" and os.path.exists(kr):
            print("\nHTTP requests the fake registry saw for one such call: %s." % open(kr).read().strip())
        print()

    print("### How the cost of `get` grows\n")
    for g in ("scale-entries", "scale-dropins"):
        rows = groups[g]
        if not rows:
            continue
        print("%s:\n" % TITLES[g])
        base = any(k.startswith("baseline") for k in ins)
        print("| case | median ms | p25–p75 ms | peak RSS MiB | instructions |%s" %
              (" baseline instructions |" if base else ""))
        print("|---|---:|---:|---:|---:|%s" % ("---:|" if base else ""))
        keys = {"1 entry": "entries 1", "1,000 entries": "entries 1000",
                "10,000 entries": "entries 10000", "100,000 entries": "entries 100000",
                "/bin/true": "/bin/true", "floor: static C (musl-gcc -static)": "floor",
                "no registries.conf": "no registries.conf",
                "3 registries + 0 drop-ins": "drop-ins 0",
                "3 registries + 50 drop-ins": "drop-ins 50",
                "3 registries + 200 drop-ins": "drop-ins 200",
                "2,000 registries + 200 drop-ins": "drop-ins big"}
        for r in rows:
            n = ins.get(keys.get(r["name"], ""), None)
            b = ins.get("baseline " + keys.get(r["name"], ""), None)
            print("| %s | %s | %s–%s | %s | %s |%s" % (
                r["name"], ms(r["median"]), ms(r["p25"]), ms(r["p75"]), mib(r["rss"]),
                "{:,}".format(n) if n else "–",
                (" %s |" % ("{:,}".format(b) if b else "–")) if base else ""))
        print()
    # Where parsing dominates: the entry count whose parse cost equals the fixed cost of a get.
    base, big = ins.get("entries 1"), ins.get("entries 100000")
    if base and big and big > base:
        per = (big - base) / 99999
        print("Instructions per auth.json entry: %s (fixed cost of a `get`: %s instructions); "
              "parsing the auth file costs as much as everything else at about **%s entries**, "
              "and dominates above that." % ("{:,.0f}".format(per), "{:,}".format(base),
                                              "{:,}".format(int(base / per))))
    rows = groups["scale-entries"]
    if rows and len(rows) >= 4:
        t1, t100k = rows[0]["median"], rows[3]["median"]
        if t100k > t1:
            per = (t100k - t1) / 99999
            print(" By wall time: %.2f µs per entry, break-even at about %s entries." % (
                per * 1000, "{:,}".format(int(t1 / per))))
    print()

    print("### Targets\n")
    print("| target | measured | met? |")
    print("|---|---|---|")

    def med(group, prefix):
        for r in groups.get(group) or []:
            if r["name"].startswith(prefix):
                return r
        return None

    def line(what, value, ok):
        print("| %s | %s | %s |" % (what, value, "not measurable" if ok is None else ("yes" if ok else "**no**")))

    FLOOR = "floor: static C"
    def pick(group):
        return "n-" + group if groups.get("n-" + group) else group
    g, t, s = (med(pick("get-1000"), "ocicred"), med(pick("get-1000"), FLOOR),
               med(pick("get-1000"), "skopeo"))
    if g and t:
        line("docker `get` (1,000 entries + 50 drop-ins) within 3× of the static floor",
             "%.2f ms vs %.2f ms = %s×" % (g["median"], t["median"], ratio(g["median"], t["median"])),
             g["median"] <= 3 * t["median"] if t["median"] > 0.01 else None)
    if g and s:
        line("docker `get` ≥ 25× faster than `skopeo login --get-login`",
             ratio(s["median"], g["median"], "%.1f×"), s["median"] >= 25 * g["median"])
    if g:
        line("peak RSS of `get` < 8 MiB", "%s MiB" % mib(g["rss"]),
             None if g["rss"] is None else g["rss"] < 8 * 1024)
    for n in ("1", "200"):
        k, ss = (med(pick("keyring-" + n), "ocicred"),
                 med(pick("keyring-" + n), "docker-credential-secretservice"))
        what = "keyring `get` ≥ 6× faster than secretservice (%s)" % ("1 item" if n == "1" else n + " items")
        if k and ss:
            line(what, ratio(ss["median"], k["median"], "%.1f×"), ss["median"] >= 6 * k["median"])
        elif ss:
            line(what, "not measured: keyring store not built", None)
    w, wt = med(pick("bazel-warm"), "ocicred"), med(pick("bazel-warm"), FLOOR)
    if w and wt:
        line("Bazel `get` (warm cache) within 3× of the static floor",
             "%.2f ms vs %.2f ms = %s×" % (w["median"], wt["median"], ratio(w["median"], wt["median"])),
             w["median"] <= 3 * wt["median"] if wt["median"] > 0.01 else None)
    ex = os.path.join(OUT, "bazel-exchanges.txt")
    if os.path.exists(ex):
        text = open(ex).read()
        n = text.rsplit(":", 1)[-1].strip().split(" ")[0]
        line("16 parallel cold Bazel calls for one repository: one token exchange",
             "%s exchange(s)" % n, n == "1")
    kr = os.path.join(OUT, "bazel-known-realm-requests.txt")
    if os.path.exists(kr):
        n = open(kr).read().strip()
        line("cold Bazel `get` whose realm is known: one HTTP round trip (no `/v2/` probe)",
             "%s request(s)" % n, n == "1")
    big = med("n-get-100000", "ocicred") or med("scale-entries", "100,000")
    if big:
        line("`get` from a 100,000-entry auth.json < 25 ms", "%.2f ms" % big["median"],
             big["median"] < 25)
    skipped = os.path.join(OUT, "skipped.tsv")
    if os.path.exists(skipped):
        print("\nSkipped:\n")
        for l in open(skipped):
            g, why = l.rstrip("\n").split("\t", 1)
            print("- %s: %s" % (g, why))


main()
