"""The layout shows the flow: hazards -> structure -> predictor -> terms -> builder -> fit ->
outputs. Each survival module imports only modules of a lower layer; no module imports another
module's private name; no library module sets the matplotlib backend."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "bayesurv"
#: the survival layer, in order: a module may import only modules of a strictly lower rank
RANK = {
    "gengamma_op": -1,  # the generalized gamma's numba kernel, under families
    "families": 0,
    "cure": 0,
    "waning": 0,
    "evidence": 0,
    "splines": 1,
    "population": 1,
    "structure": 2,
    "predictor": 3,
    "terms": 4,
    "data": 4,
    "builder": 5,
    "outputs": 6,
    "fit": 7,
    "compare": 8,
}
#: private names imported across modules (none is left; nothing may be added here)
KNOWN_PRIVATE: set[tuple[str, str]] = set()


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []


def test_every_survival_module_has_a_layer():
    mods = {p.stem for p in (ROOT / "survival").glob("*.py") if p.stem != "__init__"}
    assert mods == set(RANK), sorted(mods ^ set(RANK))


@pytest.mark.parametrize("module", sorted(RANK))
def test_imports_go_down_the_layers(module):
    for name, names in _imports(ROOT / "survival" / f"{module}.py"):
        targets = [name] + [f"{name}.{n}" for n in names]
        for t in targets:
            if t.startswith("bayesurv.survival."):
                other = t.split(".")[2]
                if other in RANK:
                    assert RANK[other] < RANK[module], f"{module} imports {other}"


def test_the_core_does_not_import_simulation_support():
    """bayesurv.simulation (truth, SBC) sits on top of the core, never under it."""
    for path in (ROOT / "survival").glob("*.py"):
        for name, _ in _imports(path):
            assert not name.startswith("bayesurv.simulation"), f"{path.stem} imports {name}"


def test_no_private_names_cross_modules_and_no_backend_switch():
    found, backend = set(), set()
    for path in ROOT.rglob("*.py"):
        rel = str(path.relative_to(ROOT.parent))
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bayesurv"):
                found |= {
                    (rel, a.name)
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                }
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "use"
                and getattr(node.func.value, "id", "") == "matplotlib"
            ):
                backend.add(rel)
    assert found <= KNOWN_PRIVATE, sorted(found - KNOWN_PRIVATE)
    # the backend belongs to the caller (MPLBACKEND, tests/conftest.py): no library module sets it
    assert not backend, sorted(backend)
