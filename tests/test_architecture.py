"""ARCHITECTURE.md stays true: every module is in its map and every module in the map exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_module_map_matches_the_package():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    listed = set(re.findall(r"`(bayesurv/[\w/]+\.py)`", text))
    actual = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "bayesurv").rglob("*.py")
        if p.name != "__init__.py"
    }
    assert not (actual - listed), f"add to ARCHITECTURE.md: {sorted(actual - listed)}"
    assert not (listed - actual), f"remove from ARCHITECTURE.md: {sorted(listed - actual)}"
