#!/usr/bin/env python3
"""Lists the import graph between the crate's top-level modules (from `use crate::...`,
`crate::x::` paths and `super::` paths that leave a module) and fails on a cycle.

Usage: python3 .ci/import-graph.py [SRC_DIR]   (default: src)
Prints one line per edge ("a -> b  (file, ...)"), then any cycle; exit status 1 on a cycle.
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "src"
# Files that are not part of the library's module tree.
SKIP = {"main.rs"}
PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
SUPER = re.compile(r"\b((?:super::)+)([a-z_][a-z0-9_]*)")


def module_of(rel):
    """The top-level module a file belongs to, and its module path as a list."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def is_top_level(name):
    return os.path.exists(os.path.join(src, name + ".rs")) or os.path.isdir(
        os.path.join(src, name)
    )


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def test_free(text):
    """The text before `#[cfg(test)]` (unit tests may reach anywhere)."""
    return text.split("#[cfg(test)]", 1)[0]


edges = {}
for root, _, files in os.walk(src):
    for name in files:
        if not name.endswith(".rs"):
            continue
        path = os.path.join(root, name)
        rel = os.path.relpath(path, src)
        if rel in SKIP or rel == "lib.rs" or name.endswith("_tests.rs"):
            continue
        parts = module_of(rel)
        top = parts[0]
        with open(path, encoding="utf-8") as f:
            text = test_free(strip_comments(f.read()))
        targets = set(PATH.findall(text))
        for supers, first in SUPER.findall(text):
            # `super` from module a::b::c is a::b; reaching the crate root names a
            # top-level module.
            if len(parts) <= supers.count("super::"):
                targets.add(first)
        for target in targets - {top}:
            if is_top_level(target):
                edges.setdefault((top, target), set()).add(rel)

for (a, b), files in sorted(edges.items()):
    print(f"{a} -> {b}  ({', '.join(sorted(files))})")

graph = {}
for a, b in edges:
    graph.setdefault(a, set()).add(b)


def find_cycle():
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


cycle = find_cycle()
if cycle:
    print("cycle: " + " -> ".join(cycle))
    sys.exit(1)
print("no cycle between top-level modules")
