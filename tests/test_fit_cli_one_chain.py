"""``--chains 1`` works, with a note that R-hat needs more chains (issue 14 item 5): every fit
path (one family, a list of families, a cure model) writes strict JSON with ``rhat_max`` null
and the note beside it, never NaN or "R-hat is nan"; the ESS checks still speak.

The fits run on known draws (tests/known_draws.py: one chain of draws around a chosen point),
so the ESS the JSON reports is checked against ArviZ's on those same draws."""

import json
import math

import arviz as az
import numpy as np
import pytest
from known_draws import mock_nuts, write_two_arm_weibull_ipd
from typer.testing import CliRunner

from bayesurv.cli import app
from bayesurv.report_format import RHAT_NOTE

runner = CliRunner()
ONE = ["--draws", "60", "--tune", "50", "--chains", "1", "--seed", "4"]
# one chain raises no numpy All-NaN warning any more (sampling computes no R-hat for it), so
# only the identifiability note of these short fits is expected
QUIET = pytest.mark.filterwarnings("ignore::bayesurv.survival.fit.IdentifiabilityWarning")


def strict(path):
    """The file as JSON that refuses NaN and Infinity (which strict JSON does not have)."""

    def refuse(token):
        raise AssertionError(f"{path.name} holds {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture(scope="module")
def ipd_csv(tmp_path_factory):
    return write_two_arm_weibull_ipd(tmp_path_factory.mktemp("one") / "ipd.csv")


def check_diagnostics(d: dict, draws: int) -> None:
    assert d["chains"] == 1 and d["rhat_max"] is None
    assert d["rhat_note"] == RHAT_NOTE
    assert not any("R-hat" in p for p in d["problems"])
    assert any(p.startswith("bulk ESS is") for p in d["problems"])  # 60 draws < 400
    assert d["draws"] == draws


@QUIET
@pytest.mark.filterwarnings("default::bayesurv.sampling.ConvergenceWarning")
@pytest.mark.parametrize(
    "extra",
    [["--family", "weibull"], ["--family", "weibull", "--cure", "mixture"]],
    ids=["one family", "cure"],
)
def test_one_chain_fit_writes_null_rhat_with_the_note(ipd_csv, tmp_path, monkeypatch, extra):
    used = mock_nuts(monkeypatch, {"log_shape": 0.2, "log_hr": -0.3})
    out = tmp_path / "fit.json"
    nc = tmp_path / "fit.nc"
    r = runner.invoke(
        app,
        ["fit", str(ipd_csv), *extra, "--arm-column", "arm", "--json", str(out)]
        + ["--netcdf", str(nc), *ONE],
    )
    assert r.exit_code == 0, r.output
    assert "R-hat is nan" not in r.output and "nan" not in r.output.lower().split()
    assert RHAT_NOTE in " ".join(r.output.split())
    assert "bulk ESS is" in r.output  # the convergence warning keeps the checks that apply
    js = strict(out)
    check_diagnostics(js["diagnostics"], 60)
    # the ESS is ArviZ's on the one chain that was drawn (the saved posterior)
    import xarray as xr

    assert used  # the known draws were used, not NUTS
    with xr.open_datatree(nc) as tree:
        post = tree["posterior"].to_dataset().load()
    names = [v for v in post.data_vars if v in used["weibull"]]
    ess = min(float(np.min(az.ess(post[[n]], method="bulk")[n].values)) for n in names)
    assert js["diagnostics"]["ess_bulk_min"] == pytest.approx(ess, rel=0.05)


@QUIET
@pytest.mark.filterwarnings(
    "ignore::bayesurv.sampling.ConvergenceWarning",
    "ignore:Estimated shape parameter of Pareto:UserWarning",  # LOO on 60 known draws
)
def test_one_chain_family_list_writes_null_rhat_with_the_note(ipd_csv, tmp_path, monkeypatch):
    mock_nuts(monkeypatch, {})
    out = tmp_path / "tsd14.json"
    r = runner.invoke(
        app,
        ["fit", str(ipd_csv), "--family", "weibull,exponential", "--arm-column", "arm"]
        + ["--json", str(out), *ONE],
    )
    assert r.exit_code == 0, r.output
    assert "R-hat is nan" not in r.output
    js = strict(out)
    for fam in ("weibull", "exponential"):
        check_diagnostics(js["models"][fam]["diagnostics"], 60)
        row = next(x for x in js["comparison"] if x["model"] == fam)
        check_diagnostics(row["diagnostics"], 60)


def test_a_one_chain_pool_carries_the_note_not_nan():
    """A sampled pool of one chain (independent draws from the exact posterior of three trials,
    as a sampler would return them): diagnostics with rhat_max null and the note, strict JSON,
    and the pooled median equal to the exact posterior's within Monte Carlo error."""
    import warnings

    import xarray as xr

    from bayesurv.synthesis.pool import mcmc_result, pool

    exact = pool(([-0.97, -0.36, -0.27], [0.28, 0.2, 0.21], ["a", "b", "c"]))
    d = exact.exact.sample(np.random.default_rng(5), 2000)
    post = xr.Dataset(
        {
            "mu": (("chain", "draw"), d["mu"][None]),
            "tau": (("chain", "draw"), d["tau"][None]),
            "theta": (("chain", "draw", "study"), d["theta"][None]),
            "theta_new": (("chain", "draw"), d["theta_new"][None]),
        },
        coords={"chain": [0], "draw": np.arange(2000), "study": exact.studies},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mcmc_result(
            xr.DataTree.from_dict({"posterior": post}),
            method="mcmc",
            studies=exact.studies,
            y=exact.y,
            se=exact.se,
            mu_prior=exact.mu_prior,
            tau_prior=exact.tau_prior,
            what="the test pool",
            settings={},
            seed=1,
        )
    diag = res.diagnostics
    assert diag["rhat_max"] is None and diag["rhat_note"] == RHAT_NOTE
    assert not any("R-hat" in p for p in diag["problems"])
    text = json.dumps(res.summary(), allow_nan=False)  # strict JSON: raises on NaN
    got = json.loads(text)["pooled"]["log_hr"]["median"]
    sd = float(np.std(d["mu"]))
    assert got == pytest.approx(exact.mu.median(), abs=4 * 1.25 * sd / math.sqrt(2000))
