"""The library's layout: groups by job, each importing only the groups below it, and no import cycles."""
import ast
import re
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib" / "semantic_bottleneck"
PACKAGE = "semantic_bottleneck"
# A group may import the groups on lower levels and its own modules; the README's layout lists the same order.
LEVELS = {"__init__": 0, "paper": 0, "profiles": 0, "cache": 0, "devices": 0, "timing": 0,
          "condition": 1, "settings": 1,
          "nets": 2, "sampling": 2, "judge": 2,
          "checkpoints": 3, "tiny": 3,
          "registry": 4,
          "study": 5,
          "chapters": 6,
          "book": 7, "commands": 7,
          "__main__": 8}


def module_name(path):
    """The dotted name of a module file of the package."""
    parts = path.relative_to(LIB).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join((PACKAGE, *parts))


def internal_imports(path):
    """The package's modules that a module imports (resolving relative imports), with line numbers."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:  # `from . import shapes` imports a module; `from .x import f` imports x
                candidate = f"{target}.{alias.name}"
                out.append((candidate if candidate in MODULES else target, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == PACKAGE]
    return out


FILES = sorted(LIB.rglob("*.py"))
MODULES = {module_name(p) for p in FILES}


def group(module):
    """(group name, level, chapter or None) of a dotted module name."""
    parts = module.split(".")[1:] or ["__init__"]
    top = parts[0]
    chapter = parts[1] if top == "chapters" and len(parts) > 2 else None
    return top, LEVELS[top], chapter


def test_every_module_belongs_to_a_group():
    assert {group(m)[0] for m in MODULES} <= set(LEVELS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_no_module_imports_a_higher_or_sideways_group(path):
    me = module_name(path)
    my_group, my_level, my_chapter = group(me)
    for target, line in internal_imports(path):
        if target == PACKAGE:  # the package's own __init__ (its version)
            continue
        their_group, their_level, their_chapter = group(target)
        where = f"{path.relative_to(LIB)}:{line} imports {target}"
        if their_group == my_group:
            assert my_group != "chapters" or their_chapter in (None, my_chapter), f"{where}: a chapter imports another"
            continue
        assert their_level < my_level, f"{where}: {my_group} (level {my_level}) may not import {their_group} " \
                                       f"(level {their_level})"
        assert not (my_group == "book" and their_group == "chapters"), f"{where}: the book driver runs notebooks only"


def test_there_is_no_import_cycle():
    graph = {module_name(p): {t for t, _ in internal_imports(p) if t in MODULES} for p in FILES}
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(trail + [node, nxt]))
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])


@pytest.mark.parametrize("path", sorted(p for p in LIB.rglob("__init__.py") if p.parent != LIB),
                         ids=lambda p: str(p.parent.relative_to(LIB)))
def test_every_subpackage_says_what_it_holds(path):
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc, f"{path.parent.name} has no docstring"
    if path.parent.parent == LIB:
        assert "May import:" in doc, f"{path.parent.name}'s docstring does not say what it may import"


def declared_imports(path):
    """The groups a subpackage's docstring says it may import: the backticked names of the first sentence after
    "May import:" (asides in parentheses left out), or, where it says "every group below it", every lower group but
    those it names as "excluded"."""
    doc = ast.get_docstring(ast.parse(path.read_text()))
    sentence = re.split(r"\.\s", doc.split("May import:", 1)[1] + " ", maxsplit=1)[0]
    if "every group below it" in sentence:
        excluded = set(re.findall(r"`([a-z_]+)` excluded", sentence))
        return {g for g, level in LEVELS.items() if level < LEVELS[path.parent.name]} - excluded
    return set(re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", sentence))) & set(LEVELS)


SUBPACKAGES = sorted(p for p in LIB.glob("*/__init__.py"))


@pytest.mark.parametrize("path", SUBPACKAGES, ids=lambda p: p.parent.name)
def test_every_subpackage_imports_only_what_its_docstring_declares(path):
    me = path.parent.name
    used = {}
    for module in path.parent.rglob("*.py"):
        for target, line in internal_imports(module):
            if target != PACKAGE and group(target)[0] != me:
                used.setdefault(group(target)[0], f"{module.relative_to(LIB)}:{line}")
    undeclared = {g: where for g, where in used.items() if g not in declared_imports(path)}
    assert not undeclared, f"{me}/__init__.py's 'May import:' omits what it imports: {undeclared}"
    assert declared_imports(path) <= {g for g, level in LEVELS.items() if level < LEVELS[me]}, \
        f"{me}/__init__.py declares a group that is not below it"
