"""`[[nma]]` sections: a network meta-analysis of trials given as contrasts, arm counts or IPD
(:mod:`bayesurv.synthesis.nma`), its consistency checks, and its part of the report.

The section's spec model (:class:`Nma`) lives here, beside the code that runs it;
:mod:`bayesurv.spec` adds it to the analysis spec as ``nma: list[Nma]``. A section says in
``assumptions`` what the comparison rests on (one trial per comparison, similar comparator
arms...); the report prints those sentences beside the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bayesurv.report_format import level_percent
from bayesurv.sections.common import Progress, derived_seed

if TYPE_CHECKING:  # pragma: no cover
    from bayesurv.synthesis.nma import NmaResult


class Nma(BaseModel):
    """A network meta-analysis of hazard ratios."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="the section's name (its results are named after it)")
    data: str = Field(description="network CSV: contrasts, arm counts with follow-up, or IPD")
    reference: str | None = Field(None, description="treatment every HR is expressed against")
    effects: Literal["fixed", "random"] = Field("random", description="fixed or random effects")
    method: Literal["auto", "exact", "mcmc"] = Field(
        "auto", description="exact for contrast networks, NUTS otherwise (auto)"
    )
    d_prior: str = Field("normal(0, 4)", description="prior of each basic log HR d")
    tau_prior: str = Field("halfnormal(0.5)", description="prior of the between-trial sd")
    link: Literal["cloglog", "logit"] = Field(
        "cloglog", description="link of arm counts (cloglog with log follow-up: hazard ratios)"
    )
    consistency: bool = Field(True, description="UME model and node-splits beside the answer")
    sensitivity: list[dict] = Field(
        [],
        description="other analyses of the same network, e.g. [{effects = 'random', "
        "tau_prior = 'turner(mortality, pharma-pharma)'}]",
    )
    thresholds: list[float] = Field([1.0], description="HRs t of the P(HR < t) reported")
    assumptions: list[str] = Field(
        [], description="what the comparison rests on, in words, printed with the answer"
    )

    @field_validator("thresholds")
    @classmethod
    def _positive(cls, v):
        if any(x <= 0 for x in v):
            raise ValueError("hazard-ratio thresholds must be positive")
        return v

    @field_validator("sensitivity")
    @classmethod
    def _known(cls, v):
        allowed = {"effects", "tau_prior", "d_prior", "method", "label"}
        for item in v:
            extra = set(item) - allowed
            if extra:
                raise ValueError(
                    f"a sensitivity analysis takes {', '.join(sorted(allowed))}; "
                    f"got {', '.join(sorted(extra))}"
                )
        return v


@dataclass
class NmaRun:
    section: Nma
    result: NmaResult
    doc: dict
    sensitivity: pd.DataFrame


def _fit(sec: Nma, path, seed: int, draws: int, tune: int, chains: int, **over):
    from bayesurv.synthesis.nma import nma

    return nma(
        path,
        reference=sec.reference,
        effects=over.get("effects", sec.effects),
        method=over.get("method", sec.method),
        d_prior=over.get("d_prior", sec.d_prior),
        tau_prior=over.get("tau_prior", sec.tau_prior),
        link=sec.link,
        seed=seed,
        draws=draws,
        tune=tune,
        chains=chains,
    )


def run_nma_section(sec: Nma, files: dict, k: int, spec, progress: Progress) -> NmaRun:
    """Fit the section's network, its consistency checks and sensitivity analyses."""
    from bayesurv.synthesis.nma import consistency

    progress.say(f"{sec.name}: network meta-analysis")
    s = spec.sampling
    path = files[f"nma[{k}].data"]
    seed = derived_seed(spec.seed, sec.name)
    res = _fit(sec, path, seed, s.draws, s.tune, s.chains)
    level = spec.ci  # every interval of the section at the spec's width
    doc = res.summary(level=level, thresholds=sec.thresholds)
    if sec.consistency:
        doc["consistency"] = consistency(
            res, level=level, draws=s.draws, tune=s.tune, chains=s.chains
        )
    doc["assumptions"] = list(sec.assumptions)
    rows = [_sens_row("as specified", sec.effects, sec.tau_prior, res, level)]
    for j, over in enumerate(sec.sensitivity):
        r = _fit(
            sec, path, derived_seed(spec.seed, sec.name, str(j)), s.draws, s.tune, s.chains, **over
        )
        rows.append(
            _sens_row(
                over.get("label", f"sensitivity {j + 1}"),
                over.get("effects", sec.effects),
                over.get("tau_prior", sec.tau_prior),
                r,
                level,
            )
        )
    sens = pd.DataFrame(rows)
    doc["sensitivity"] = sens.to_dict(orient="records")
    return NmaRun(sec, res, doc, sens)


def _sens_row(label: str, effects: str, tau_prior: str, r: NmaResult, level: float) -> dict:
    out = {
        "analysis": label,
        "effects": effects,
        "tau_prior": tau_prior if effects == "random" else "-",
    }
    for a, b in r.pairs():
        d = r.effect(a, b)
        lo, hi = d.interval(level)
        out[f"HR {a} vs {b}"] = (
            f"{math.exp(d.median()):.2f} ({math.exp(lo):.2f}-{math.exp(hi):.2f})"
        )
        out[f"P(HR {a} vs {b} < 1)"] = round(float(d.cdf(0.0)), 3)
    return out


def nma_quantities(tree: xr.DataTree) -> xr.Dataset:
    """Queryable quantities of a saved NMA: ``log_hr, hr, predictive_log_hr, predictive_hr``
    (dims ``treatment, vs``), ``rank`` (``treatment``), ``d`` and ``tau``."""
    ds = tree["derived"].to_dataset()
    post = tree["posterior"].to_dataset()
    out = {k: ds[k] for k in ds.data_vars}
    out["d"] = post["d"]
    if "tau" in post:
        out["tau"] = post["tau"]
    return xr.Dataset(out)


def rests_on_rows(name: str, run: NmaRun) -> list[dict]:
    """Lines of the report's 'What this analysis rests on' table."""
    net = run.result.network
    kinds = {net.kind(s) for s in net.studies}
    what = {
        "contrast": "reported hazard ratios with their CIs",
        "arm": "reported event counts with follow-up",
        "ipd": "patient-level data",
    }
    per = net.edges()["n_studies"]
    one = " (one trial per comparison)" if len(per) and per.max() == 1 else ""
    return [
        {
            "result": f"{name} (network meta-analysis)",
            "rests on": "; ".join(what[k] for k in sorted(kinds)) + one,
        }
    ]


def report_part(rep, out, name: str, run: NmaRun, save) -> None:
    """The section's part of report.html: the answer in words, the assumptions, the network,
    the forest plot against the reference, the league table, ranks, consistency."""
    import matplotlib.pyplot as plt

    from bayesurv.intervals import width
    from bayesurv.plots.forest import nma_forest
    from bayesurv.plots.network import league_plot, network_plot

    res, doc = run.result, run.doc
    level = doc.get("level") or width()  # the width the section's numbers were computed at
    pct = level_percent(level)
    rep.section(f"{name}: network meta-analysis")
    ref = res.network.reference
    lines = []
    for a, b in res.pairs():
        d = res.effect(a, b)
        lo, hi = d.interval(level)
        lines.append(
            f"The hazard ratio of {a} versus {b} is {math.exp(d.median()):.2f} ({pct} credible "
            f"interval {math.exp(lo):.2f} to {math.exp(hi):.2f}); the probability that {a} is "
            f"better (HR below 1) is {100 * float(d.cdf(0.0)):.0f}%."
        )
    rep.text(" ".join(lines) + f" ({res.effects} effects, {res.method} posterior.)")
    for sentence in doc.get("assumptions", []):
        rep.note(sentence)
    for sentence in res.network.notes:
        rep.note(f"Note: {sentence}.")
    figs = (
        ("network", network_plot(res.network), "the network of trials"),
        ("forest", nma_forest(res, level=level), f"hazard ratios against {ref}"),
        ("league", league_plot(res, level=level), "league table of every pairwise hazard ratio"),
    )
    for tag, fig, caption in figs:
        save(fig, out, f"{name}_{tag}".replace(" ", "_"))
        rep.figure(fig, f"{name}: {caption}")
        plt.close(fig)
    rel = pd.DataFrame(
        [
            {
                "comparison": f"{r['treatment']} vs {r['vs']}",
                f"HR ({pct} CrI)": _fmt(r["hr"]),
                f"new trial HR ({pct} PrI)": _fmt(r["predictive"]["hr"]),
                "P(HR < 1)": r["p_hr_lt_1"],
            }
            for r in doc["relative_effects"]
        ]
    )
    rep.table(
        rel,
        caption=f"{name}: relative effects (posterior medians; credible and predictive intervals)",
        float_format="{:.3f}",
    )
    rk = pd.DataFrame(
        [
            {
                "treatment": r["treatment"],
                "mean rank": r["mean_rank"],
                "SUCRA": r["sucra"],
                "P(best)": r["probabilities"][0],
            }
            for r in doc["ranks"]
        ]
    )
    rep.table(rk, caption=f"{name}: ranks (1 = lowest hazard) and SUCRA", float_format="{:.2f}")
    if len(run.sensitivity) > 1:
        rep.table(run.sensitivity, caption=f"{name}: sensitivity analyses")
    for sentence in loo_warnings(doc):
        rep.note(f"{sentence}.")
    c = doc.get("consistency")
    if c:
        fit = pd.DataFrame(
            [
                {
                    "model": k,
                    **{
                        m: v.get(m)
                        for m in ("resdev", "pD", "DIC", "loo_elpd_loo", "loo_n_pareto_k_high")
                        if m in v
                    },
                }
                for k, v in c["fit"].items()
            ]
        )
        rep.table(
            fit,
            caption=f"{name}: consistency vs unrelated mean effects (DIC, LOO)",
            float_format="{:.2f}",
        )
        if c.get("nodesplit"):
            rep.table(
                pd.DataFrame(c["nodesplit"]), caption=f"{name}: node-splits", float_format="{:.3f}"
            )
        elif c.get("nodesplit_note"):
            rep.note(f"Node-splitting: {c['nodesplit_note']}.")


def loo_warnings(doc: dict) -> list[str]:
    """The sentences saying for which studies PSIS-LOO is unreliable (Pareto k > 0.7), for the
    model as fitted and for each model of the consistency check, each naming its model."""
    out = []
    w = (doc.get("diagnostics", {}).get("loo") or {}).get("warning")
    if w:
        out.append(f"{doc.get('model', 'consistency')} model: {w}")
    for model, fit in (doc.get("consistency") or {}).get("fit", {}).items():
        w = fit.get("loo_warning")
        if w and model != doc.get("model", "consistency"):
            out.append(f"{model} model: {w}")
    return out


def _fmt(d: dict) -> str:
    return f"{d['median']:.2f} ({d['lower']:.2f}-{d['upper']:.2f})"


def nma_summary(run: NmaRun, key: str) -> dict:
    """The section's entry in summary.json."""
    return {"key": key, **run.doc}


__all__ = [
    "Nma",
    "NmaRun",
    "loo_warnings",
    "nma_quantities",
    "nma_summary",
    "report_part",
    "rests_on_rows",
    "run_nma_section",
]
