"""``bayesurv propagate`` on the shipped GBSG-2 example (emulated clicks of the real trial's
curves): K reconstructions fitted and pooled, the widening table printed and written, bad input
in one sentence with exit code 2 and nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from bayesurv.cli import app

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "gbsg2"
runner = CliRunner()


def _curves(tmp_path: Path) -> Path:
    parts = []
    for arm in ("no_tamoxifen", "tamoxifen"):
        df = pd.read_csv(EXAMPLE / f"clicks_{arm}.csv", comment="#")
        parts.append(df.assign(arm=arm))
    path = tmp_path / "curves.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


def _args(tmp_path, out, *extra):
    return [
        "propagate",
        str(_curves(tmp_path)),
        "--at-risk",
        str(EXAMPLE / "at_risk.csv"),
        "--total-events",
        "tamoxifen=94,no_tamoxifen=205",
        "--draws",
        "4",
        "--rmst-to",
        "60",
        "--scheduler",
        "serial",
        "--seed",
        "3",
        "--out",
        str(out),
        *extra,
    ]


@pytest.mark.slow
def test_propagate_writes_the_widening_and_the_pooled_posterior(tmp_path):
    out = tmp_path / "job"
    r = runner.invoke(app, _args(tmp_path, out))
    assert r.exit_code == 0, r.output
    assert "width ratio" in r.output and "hr" in r.output
    tab = pd.read_csv(out / "widening.csv").set_index("quantity")
    assert {"hr", "rmst[no_tamoxifen]", "rmst[tamoxifen]", "rmst_diff"} <= set(tab.index)
    # GBSG-2: hormone therapy lowers the hazard (Cox HR 0.69 on the IPD; lifelines load_gbsg2)
    assert 0.55 < tab.loc["hr", "pooled_median"] < 0.85
    assert np.isfinite(tab["width_ratio"]).all()
    pooled = xr.open_dataset(out / "pooled.nc")
    assert pooled.sizes["chain"] == 4  # 4 reconstructions x 1 chain each
    pooled.close()
    assert len(list((out / "tasks").glob("*.meta.json"))) == 5  # single + 4 imputations
    again = runner.invoke(app, _args(tmp_path, out))
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(app, _args(tmp_path, out, "--resume"))
    assert resumed.exit_code == 0, resumed.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "widening.csv").set_index("quantity"), tab)


def test_bad_input_is_one_sentence_and_writes_nothing(tmp_path):
    out = tmp_path / "job"
    r = runner.invoke(app, _args(tmp_path, out, "--arms", "tamoxifen,placebo"))
    assert r.exit_code == 2 and "a two-arm fit needs two of them" in r.output
    assert not out.exists()
    r = runner.invoke(app, _args(tmp_path, out, "--scheduler", "locl"))
    assert r.exit_code == 2 and "'serial', 'local', 'local:N'" in r.output
    r = runner.invoke(app, _args(tmp_path, out, "--total-events", "tamoxifen:94"))
    assert r.exit_code == 2 and "ARM=N pairs" in r.output
    assert not out.exists()
