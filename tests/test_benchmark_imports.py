"""Benchmarks and notebooks import only what bayesurv still has.

They import bayesurv inside functions (so ``--help`` stays fast), which means a renamed or
removed module is found only when someone runs them: ``bench_cure_coverage.py`` still called
``bayesurv.survival.longterm.fit_longterm`` months after that module was folded into the one
survival core. Every ``from bayesurv... import name`` and ``import bayesurv...`` in them,
at any depth, must resolve.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("notebooks/*.py")])


def _imports(path: Path) -> list[tuple[int, str, str | None]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bayesurv":
            out += [(node.lineno, node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [
                (node.lineno, a.name, None) for a in node.names if a.name.startswith("bayesurv")
            ]
    return out


def test_there_are_files_to_check():
    assert any(p.parent.name == "benchmarks" for p in FILES)
    assert any(p.parent.name == "notebooks" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_bayesurv_import_resolves(path):
    missing = []
    for line, module, name in _imports(path):
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            missing.append(f"line {line}: {module} ({e})")
            continue
        if name is not None and not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"line {line}: {module}.{name}")
    assert not missing, f"{path.relative_to(ROOT)} imports what bayesurv no longer has: {missing}"
