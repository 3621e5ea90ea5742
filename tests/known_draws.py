"""Results from known draws, for plumbing tests: ``fit()`` with NUTS replaced by draws around a
point the test chooses (as bambi and CausalPy use ``pymc.testing.mock_sample``). Nothing is
compiled or sampled, so a test of the result's layout, outputs and summaries runs in a second
and checks them against closed forms at known parameters."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayesurv.survival.structure import SHIFTED, parameters, prior_of


def centre(spec, d) -> dict:
    """Each parameter's prior centre (the data's shifts applied)."""
    out = {}
    for p in parameters(spec):
        prior = prior_of(spec, p)
        loc = prior.params[0] if prior.family == "normal" else 1.0
        loc += SHIFTED.get(p.role, 0.0) * float(d["log_t_ref"]) + d.get("prior_shift", {}).get(
            p.name, 0.0
        )
        if p.name == "smr":
            loc = float(np.exp(prior.params[0]))
        out[p.name] = np.full(p.size or (2 if p.dim == "arm" else ()), loc, dtype=float)
    return out


def mock_nuts(monkeypatch, values: dict | None = None, sd: float = 0.02, seed: int = 0) -> dict:
    """Patch the compile and NUTS steps of :func:`bayesurv.survival.fit.fit`: every parameter is
    drawn as its value in ``values`` (else its prior centre) plus ``sd`` standard normal noise
    (multiplicative for positive parameters). Returns the dict of the points used, filled in by
    each fit (``points[spec.hazard]``)."""
    import bayesurv.sampling
    import bayesurv.survival.builder

    used = {}

    def compiled(spec, d):
        return spec, d

    def sample(model, *, seed, draws=1000, tune=1000, chains=4, **_):
        spec, d = model
        rng = np.random.default_rng([seed, 99])
        point = {**centre(spec, d), **{k: np.asarray(v, float) for k, v in (values or {}).items()}}
        used[spec.hazard] = point
        post = {}
        for p in parameters(spec):
            v = np.broadcast_to(point[p.name], np.shape(centre(spec, d)[p.name]))
            z = rng.standard_normal((draws, *v.shape))  # every chain a permutation of the same
            z = np.stack([rng.permutation(z) for _ in range(chains)])  # draws: R-hat = 1
            draw = v * np.exp(sd * z) if (p.hyper or p.name == "smr") else v + sd * z
            dims = ("chain", "draw", *([p.dim] if p.dim else []))
            post[p.name] = (dims, draw)
        posterior = xr.Dataset(post, coords={"chain": np.arange(chains), "draw": np.arange(draws)})
        stats = xr.Dataset(
            {"diverging": (("chain", "draw"), np.zeros((chains, draws), bool))},
            coords=posterior.coords,
        )
        return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})

    monkeypatch.setattr(bayesurv.survival.builder, "compiled", compiled)
    monkeypatch.setattr(bayesurv.sampling, "sample", sample)
    return used


def write_two_arm_weibull_ipd(path, seed: int = 3, n: int = 160):
    """``time,event,arm`` of a simulated two-arm Weibull trial (shape 1.3, scale 2 in control and
    3 in treated, censoring uniform on [1, 5]) written to ``path``, for CLI fits on known draws."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    arm = np.repeat(["control", "treated"], n // 2)
    t = rng.weibull(1.3, n) * np.where(arm == "treated", 3.0, 2.0)
    c = rng.uniform(1, 5, n)
    pd.DataFrame(
        {"time": np.minimum(t, c).round(3), "event": (t <= c).astype(int), "arm": arm}
    ).to_csv(path, index=False)
    return path


def one_chain_ipd_run(tmp_path, monkeypatch):
    """``bayesurv run`` on known draws of a one-chain, 100-draw spec: an ``[[ipd]]`` section of
    60 simulated patients fitted as exponential. Returns the CLI result and the results folder."""
    from typer.testing import CliRunner

    from bayesurv.cli import app

    mock_nuts(monkeypatch, {})
    rng = np.random.default_rng(5)
    t = rng.exponential(20.0, 60).round(2) + 0.1
    rows = "".join(f"{x},{int(x < 30)},{'ab'[i % 2]}\n" for i, x in enumerate(t.clip(max=30)))
    (tmp_path / "ipd.csv").write_text("time,event,arm\n" + rows)
    spec = tmp_path / "s.toml"
    spec.write_text(
        'title = "t"\nseed = 1\n[sampling]\ndraws = 100\ntune = 100\nchains = 1\n'
        '[[ipd]]\nname = "g"\nipd = "ipd.csv"\nfamilies = ["exponential"]\nhorizon = 60\n'
    )
    out = tmp_path / "res"
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["run", str(spec), "--out", str(out), "--scheduler", "serial"])
    return r, out
