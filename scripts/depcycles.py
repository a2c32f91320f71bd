#!/usr/bin/env python3
"""depcycles.py BUILD_DIR: fail when source files call each other in a cycle.

For every target CMake built (BUILD_DIR/**/CMakeFiles/<target>.dir), the
graph "file A calls a function defined in file B" is read from `nm` of the
target's object files and of the static libraries it links (their .o files
under the same build dir): an edge A -> B when A has an undefined (U) symbol
that B defines as text (T).  Any strongly connected component of more than
one source file is a cycle: a module that calls, directly or through others,
back into its caller.  Prints every cycle and exits 1; prints a summary and
exits 0 when there is none."""
import os
import re
import subprocess
import sys


def objects(tdir):
    """The target's objects as its link line names them (a moved or deleted
    source leaves its stale .o behind in the folder)."""
    link = os.path.join(tdir, 'link.txt')
    if os.path.exists(link):
        base = os.path.dirname(os.path.dirname(tdir))  # the folder link.txt runs in
        objs = [os.path.normpath(os.path.join(base, w)) for w in open(link).read().split() if w.endswith('.o')]
        return sorted(o for o in objs if o.startswith(tdir + os.sep) and os.path.exists(o))
    out = []
    for root, _, files in os.walk(tdir):
        out += [os.path.join(root, f) for f in files if f.endswith('.o')]
    return sorted(out)


def source_of(build, tdir, obj):
    """server/engine/CMakeFiles/tm_engine.dir/lang/pred.c.o -> server/engine/lang/pred.c"""
    folder = os.path.relpath(os.path.dirname(os.path.dirname(tdir)), build)
    return os.path.normpath(os.path.join(folder, os.path.relpath(obj, tdir)[:-2]))


def symbols(obj):
    res = subprocess.run(['nm', obj], capture_output=True, text=True, check=True)
    defined, undefined = set(), set()
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == 'T':
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == 'U':
            undefined.add(parts[1])
    return defined, undefined


def linked_libs(tdir, tdirs):
    """The .dir of each static library named in the target's link line."""
    libs = []
    p = os.path.join(tdir, 'link.txt')
    if os.path.exists(p):
        for name in re.findall(r'lib([A-Za-z0-9_.+-]+)\.a\b', open(p).read()):
            if name in tdirs and tdirs[name] != tdir and tdirs[name] not in libs:
                libs.append(tdirs[name])
    return libs


def sccs(nodes, edges):
    """Tarjan's strongly connected components (iterative)."""
    index, low, onstack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        onstack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    onstack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in onstack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


# library functions a test replaces (test_rules_oom fails allocations):
# calling them is calling the library, not the test
INTERPOSED = {'malloc', 'calloc', 'realloc', 'free', 'regcomp', 'json_loadb'}


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: depcycles.py BUILD_DIR')
    build = sys.argv[1]
    tdirs = {}
    for root, dirs, _ in os.walk(build):
        if os.path.basename(root) == 'CMakeFiles':
            for d in dirs:
                if d.endswith('.dir'):
                    tdirs[d[:-4]] = os.path.join(root, d)
    cache, bad, ntargets = {}, set(), 0
    for target in sorted(tdirs):
        tdir = tdirs[target]
        objs = [(tdir, o) for o in objects(tdir)]
        if not objs:
            continue
        ntargets += 1
        for lib in linked_libs(tdir, tdirs):
            objs += [(lib, o) for o in objects(lib)]
        defs, calls = {}, {}
        for d, o in objs:
            if o not in cache:
                cache[o] = symbols(o)
            src = source_of(build, d, o)
            for s in cache[o][0]:
                if s not in INTERPOSED:
                    defs.setdefault(s, set()).add(src)
            calls.setdefault(src, set()).update(cache[o][1])
        edges = {a: {b for s in us for b in defs.get(s, ()) if b != a} for a, us in calls.items()}
        for comp in sccs(sorted(calls), edges):
            if len(comp) > 1:
                why = []
                for a in comp:
                    for s in sorted(calls[a]):
                        for b in sorted(defs.get(s, ())):
                            if b != a and b in comp:
                                why.append('  %s calls %s (%s)' % (a, s, b))
                bad.add((tuple(comp), '\n'.join(why)))
    for comp, why in sorted(bad):
        print('cycle: ' + ' <-> '.join(comp))
        print(why)
    if bad:
        return 1
    print('depcycles: no cycle between source files (%d targets, %d objects)' % (ntargets, len(cache)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
