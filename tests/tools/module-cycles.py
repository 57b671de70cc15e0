#!/usr/bin/env python3
"""Module import graph of src/: which modules import each other in a circle."""
import os, re, sys
args=[a for a in sys.argv[1:] if not a.startswith("-")]
root = args[0] if args else "src"
mods = {}  # module path tuple -> file
for d, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith(".rs"): continue
        p = os.path.relpath(os.path.join(d, f), root)
        parts = p[:-3].split(os.sep)
        if parts[-1] in ("mod",): parts = parts[:-1]
        if parts == ["lib"]: parts = []
        if parts == ["main"]: continue
        mods[tuple(parts)] = os.path.join(d, f)
def strip(src):
    src = re.sub(r'//[^\n]*', '', src)
    src = re.sub(r'/\*.*?\*/', '', src, flags=re.S)
    src = re.sub(r'r#*"(?:.|\n)*?"#*', '""', src)
    src = re.sub(r'"(?:\\.|[^"\\])*"', '""', src)
    return src
def expand(tree):
    # expand a use tree string into paths
    tree = tree.strip()
    m = re.match(r'^(.*?)\{(.*)\}$', tree, re.S)
    if not m:
        return [tree]  # may end in `as NAME`: split by `binding`
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ''
    for ch in inner:
        if ch == '{': depth += 1
        if ch == '}': depth -= 1
        if ch == ',' and depth == 0: parts.append(cur); cur = ''
        else: cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip(): out += [prefix + q for q in expand(p)]
    return out
def resolve(cur, path):
    segs = [s for s in re.split(r'\s*::\s*', path) if s]
    if not segs: return None
    if segs[0] == 'crate': base, segs = [], segs[1:]
    elif segs[0] in ('super', 'self'):
        base = list(cur)
        while segs and segs[0] in ('super', 'self'):
            if segs[0] == 'super': base = base[:-1]
            segs = segs[1:]
    else: return None
    full = base + segs
    for n in range(len(full), -1, -1):
        if tuple(full[:n]) in mods: return tuple(full[:n])
    return None
edges = {m: set() for m in mods}
for m, f in mods.items():
    # inline `mod tests` count toward the file (test-only edges reported apart)
    src = strip(open(f).read())
    # inline `mod x { ... }` blocks: paths inside resolve from m::x
    blocks = []
    for mm in re.finditer(r'\bmod\s+(\w+)\s*\{', src):
        depth, i = 0, mm.end() - 1
        while i < len(src):
            if src[i] == '{': depth += 1
            elif src[i] == '}':
                depth -= 1
                if depth == 0: break
            i += 1
        blocks.append((mm.end(), i, mm.group(1)))
    def scope(pos):
        return list(m) + [n for (a, b, n) in blocks if a <= pos < b]
    def binding(p):
        # `a::b as c` -> (`a::b`, `c`); `a::b::self` -> (`a::b`, `b`); `a::b` -> (`a::b`, `b`)
        m2 = re.match(r'^(.*?)\s+as\s+(\w+)$', p, re.S)
        path, name = (m2.group(1).strip(), m2.group(2)) if m2 else (p.strip(), None)
        segs = [x for x in re.split(r'\s*::\s*', path) if x]
        if segs and segs[-1] == 'self':
            segs = segs[:-1]
            path = '::'.join(segs)
        if name is None and segs: name = segs[-1]
        return path, name, segs
    found, bound = [], []
    for u in re.finditer(r'\buse\s+([^;]+);', src):
        for p in expand(u.group(1)):
            path, name, segs = binding(p)
            found.append((u.start(), path))
            bound.append((u.start(), path, name, segs))
    found += [(x.start(), x.group(0)) for x in re.finditer(r'\b(?:crate|super)(?:\s*::\s*\w+)+', src)]
    # a `use` that names a module binds that name (or its `as` name): `commands::resolve::run`
    # then counts too
    aliases = {}
    for pos, path, name, segs in bound:
        t = resolve(scope(pos), path)
        if t is not None and t and segs and segs[-1] not in ('*', 'crate', 'super') and t[-1] == segs[-1] and name not in ('_', None):
            aliases[name] = path
    for alias, p in aliases.items():
        for x in re.finditer(r'(?<![:\w])' + alias + r'(?:\s*::\s*\w+)+', src):
            found.append((x.start(), p + x.group(0)[len(alias):]))
    for pos, p in found:
        t = resolve(scope(pos), p)
        if t is not None and t != m: edges[m].add(t)
# Tarjan
idx, low, st, on, out, c = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: out.append(comp)
for v in mods:
    if v not in idx: sc(v)
name = lambda t: '::'.join(t) or 'crate'
nested = lambda a, b: a[:len(b)] == b or b[:len(a)] == a
pairs = sorted({tuple(sorted((name(a), name(b)))) for a in edges for b in edges[a] if a in edges[b]})
cross = [p for p in pairs if not nested(tuple(p[0].split('::')), tuple(p[1].split('::')))]
print(f"modules: {len(mods)}")
print(f"modules in an import circle: {sum(len(x) for x in out)} in {len(out)} circle(s)")
for comp in out: print("  circle:", ", ".join(sorted(name(x) for x in comp)))
print(f"pairs importing each other: {len(pairs)} ({len(cross)} not parent/child)")
for p in pairs: print("  ", p[0], "<->", p[1])
if "-v" in sys.argv:
    for comp in out:
        for a in sorted(comp):
            print(name(a), "->", ", ".join(sorted(name(b) for b in edges[a] if b in comp)))
