"""The content of an analysis's ``report.html`` and its figures (layout: :mod:`bayesurv.report`).

A committee paper's order: the spec's questions answered in sentences first
(:mod:`bayesurv.report_answers`: one value per question, the computation that gave it named),
with the convergence status in one sentence; then what the answers rest on (reconstructed
curves, patient-level data, reported summaries only - true for each section of each kind), the
evidence, the models (survival, IPD, pools, networks) and the diagnostics. Every number goes
through :mod:`bayesurv.report_format`. A fit is converged when R-hat <= 1.01, bulk and tail
ESS >= 400 and no transition diverged (:mod:`bayesurv.sampling`'s thresholds), checked here
from the numbers of every fit, whatever its section recorded.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayesurv.evidence.ci import LEVEL_COLUMN, PER_ROW_LABEL, ci_label, level_text, levels
from bayesurv.report import Report
from bayesurv.report_format import interval, level_percent, number, percent

SUMMARY_ONLY = (
    "These survival results rest on reported summaries only: Kaplan-Meier estimates at a landmark "
    "with their confidence intervals, the number of events at each data cut-off, and hazard "
    "ratios and medians where a standard error could be recovered (the tables below say which "
    "numbers entered the likelihood and which could not, and why). No curve of these sections "
    "was digitized, so no patient-level data were reconstructed for them. The shape of "
    "survival between and beyond the landmarks therefore comes from the parametric family and the "
    "cure assumption, not from the trial; the credible intervals reflect the reported numbers' "
    "precision, and the spread across models (the model table) is the part of the uncertainty they "
    "do not show. The reported numbers of one data cut come from the same patients and are "
    "treated as independent, which overstates their precision somewhat."
)
RECONSTRUCTED = (
    "These results rest on patient-level data reconstructed from a digitized Kaplan-Meier figure "
    "and its numbers at risk, not on the trial's own data. Between the clicks the curve is known "
    "to about the digitizing accuracy (the reconstruction table below); the censoring within each "
    "numbers-at-risk interval is not shown by a figure and is assumed spread evenly, so the "
    "credible intervals treat the reconstructed patients as if they were observed and are "
    "somewhat too narrow. Beyond the last click the curves are extrapolation by the parametric "
    "family."
)
CHECKS = "R-hat ≤ 1.01, bulk and tail ESS ≥ 400, no divergent transitions"


def _pct() -> str:
    """The analysis's interval width as a percentage (``"95%"``; ``"90%"`` with ``ci = 0.9``):
    the width in force, which :func:`build_report` sets from the spec's ``ci``. Posterior
    intervals follow it; the trials' published CIs keep their own levels (:func:`_reported_ci`)."""
    return level_percent()


def _upper_pct() -> str:
    """The quantile of an equal-tailed interval's upper limit (``"97.5%"`` for a 95% one)."""
    from bayesurv.intervals import width

    return level_percent((1 + width()) / 2)


def _reported_levels(*frames: pd.DataFrame) -> np.ndarray:
    """The CI level of each row of tables of reported numbers (their ``ci_level``, a blank cell
    or no such column: 0.95), read by :func:`bayesurv.evidence.ci.levels`."""
    return np.concatenate([levels(f) for f in frames] or [np.empty(0)])


def _cis(label: str) -> str:
    """``"95% CI"`` -> ``"95% CIs"``, ``"CI (level per row)"`` -> ``"CIs (level per row)"``."""
    return label.replace("CI", "CIs", 1)


def _reported_ci(frame: pd.DataFrame, lower: str, upper: str) -> tuple[pd.DataFrame, str]:
    """A table of reported numbers as the page shows it, and what its CIs are called
    (:func:`bayesurv.evidence.ci.ci_label`): the ``lower`` and ``upper`` columns renamed
    ``lower 97.5% CI``, ``upper 97.5% CI`` when every row has that level; when the rows' levels
    differ, ``lower CI``, ``upper CI`` and a ``CI level`` column after them with each row's."""
    lv = levels(frame)
    label = ci_label(lv)
    shown = frame.drop(columns=[LEVEL_COLUMN], errors="ignore")
    if label == PER_ROW_LABEL:
        at = list(shown.columns).index(upper) + 1 if upper in shown else len(shown.columns)
        shown.insert(at, "CI level", [level_text(v) for v in lv])
        return shown.rename(columns={lower: "lower CI", upper: "upper CI"}), label
    return shown.rename(columns={lower: f"lower {label}", upper: f"upper {label}"}), label


def _save(fig, out: Path, name: str) -> None:
    """Save under figures/ by a name made safe from section and arm names (never a path)."""
    from bayesurv.outputs import safe_name

    name = safe_name(name, "section or arm name")
    fig.savefig(out / "figures" / f"{name}.png", dpi=120, bbox_inches="tight")
    fig.savefig(out / "figures" / f"{name}.svg", bbox_inches="tight")


def figure_names(spec) -> list[tuple[str, str, str | None]]:
    """Every figure of report.html named after a section or an arm: ``(name, what, arm)``, the
    name before :func:`bayesurv.outputs.safe_name` makes it a file name under ``figures/``."""
    out = []
    for sec in spec.survival:
        what = f"[[survival]] {sec.name!r}"
        out += [(f"{sec.name}_{tag}", what, None) for tag in ("extrapolation", "cure")]
    for sec in spec.ipd:
        what = f"[[ipd]] {sec.name!r}"
        tags = ("survival", "predictive_km", "extrapolation", "hazard", "cure")
        out += [(f"{sec.name}_{tag}", what, None) for tag in tags]
        for arm in sec.clicks or {}:
            out.append((f"{sec.name}_{arm}_reconstruction", f"{what} arm {arm!r}", arm))
    for sec in spec.pool:
        out.append((f"{sec.name}_forest", f"[[pool]] {sec.name!r}", None))
    return out


def check_figure_names(spec, source: str = "the spec") -> None:
    """Refuse, before any work, two section or arm names that make the same figure file (arms
    'A/B' and 'A B' are both ``A_B``; letters, digits, - and _ are kept, and names are compared
    in lower case, as a case-insensitive file system would), in one sentence saying which
    names, where, and how to rename one."""
    from bayesurv.errors import InputError
    from bayesurv.outputs import safe_name

    seen: dict[str, tuple[str, str | None]] = {}
    for name, what, arm in figure_names(spec):
        file = safe_name(name.replace(" ", "_"), "section or arm name")
        key = file.lower()
        if key not in seen:
            seen[key] = (what, arm)
            continue
        other, other_arm = seen[key]
        if arm is not None and other_arm is not None:
            fix = (
                f"rename one arm in clicks and in the at_risk and totals files' arm column, "
                f"e.g. {arm!r} as {arm + ' 2'!r}"
            )
        else:
            fix = "rename one of them"
        raise InputError(
            f"{source}: {other} and {what} both make the figure figures/{file}.png (file names "
            f"keep letters, digits, - and _), so one would overwrite the other; {fix}."
        )


def convergence_problems(d: dict) -> list[str]:
    """Every failed convergence check of a fit's diagnostics, in words, from its numbers
    (``rhat_max``, ``ess_bulk_min``, ``ess_tail_min``, ``divergences``, ``chains``) with
    :mod:`bayesurv.sampling`'s thresholds, plus any other problem the fit recorded. Empty only
    when every check passes.

    >>> convergence_problems({"rhat_max": 1.02, "ess_bulk_min": 44, "ess_tail_min": 500,
    ...                       "divergences": 0, "chains": 4, "problems": []})
    ['R-hat is 1.020 (should be ≤ 1.01)', 'bulk ESS is 44 (should be ≥ 400)']
    """
    import math

    from bayesurv.report_format import rhat as rhat_text
    from bayesurv.sampling import ESS_MIN, RHAT_MAX

    out = []
    rhat = d.get("rhat_max")
    chains = d.get("chains")
    if chains is not None and chains < 2:
        out.append("one chain only, so R-hat cannot check convergence (run 2 or more chains)")
    elif rhat is None or not math.isfinite(float(rhat)) or float(rhat) > RHAT_MAX:
        out.append(f"R-hat is {rhat_text(rhat) or 'not computed'} (should be ≤ {RHAT_MAX})")
    for key, what in (("ess_bulk_min", "bulk ESS"), ("ess_tail_min", "tail ESS")):
        v = d.get(key)
        if v is None or not math.isfinite(float(v)) or float(v) < ESS_MIN:
            out.append(
                f"{what} is {number(v, decimals=0) or 'not computed'} (should be ≥ {ESS_MIN})"
            )
    div = d.get("divergences") or 0
    if div > 0:
        out.append(f"{int(div)} divergent transition{'s' if div != 1 else ''}")
    known = ("R-hat", "bulk ESS", "tail ESS", "divergent", "one chain")
    for p in d.get("problems", []) or []:
        if not any(k in p for k in known) and p not in out:
            out.append(p)
    return out


def _fits(summary: dict, surv_fits: dict, pools: dict, ipd_runs: dict, nmas: dict) -> list[dict]:
    """Every MCMC fit of the analysis: section, model, diagnostics, problems, base case or not."""
    rows = []
    for name, fits in surv_fits.items():
        base = summary["survival"][name]["base_case"]
        for f in fits:
            d = {**f.fit["diagnostics"], "problems": list(f.fit.get("problems", []))}
            rows.append({"section": name, "model": f.label, "d": d, "answers": f.label == base})
    for name in ipd_runs:
        s = summary["ipd"][name]
        for fam, m in s["models"].items():
            rows.append(
                {"section": name, "model": fam, "d": m["diagnostics"], "answers": fam == s["best"]}
            )
    for name, pr in pools.items():
        d = dict(pr.mcmc.diagnostics)
        rows.append({"section": name, "model": "normal-normal (MCMC)", "d": d, "answers": True})
    for name, nr in nmas.items():
        if nr.result.method == "mcmc":
            d = dict(nr.result.diagnostics)
            rows.append({"section": name, "model": "network (MCMC)", "d": d, "answers": True})
    for r in rows:
        r["problems"] = convergence_problems(r["d"])
    return rows


def convergence_sentence(fits: list[dict]) -> tuple[str, bool]:
    """The convergence status of every fit in one sentence; True when some fit fails."""
    bad = [f for f in fits if f["problems"]]
    if not fits:
        return "No result of this analysis was sampled by MCMC.", False
    if not bad:
        return (
            f"Convergence: all {len(fits)} MCMC fits pass the checks ({CHECKS}).",
            False,
        )
    if len(bad) <= 3:
        listed = "; ".join(f"{f['section']}, {f['model']}: {', '.join(f['problems'])}" for f in bad)
    else:
        listed = ", ".join(f"{f['section']} {f['model']}" for f in bad)
    return (
        f"Convergence: {len(bad)} of {len(fits)} MCMC fits fail a check ({CHECKS}) - {listed}. "
        "Read their results with caution (run more draws, --draws); the Diagnostics section "
        "lists every fit.",
        True,
    )


def _ipd_source(spec, summary: dict, name: str, ir) -> tuple[str, bool]:
    """What an [[ipd]] section's patients are, and whether they came from a figure: reconstructed
    here, reconstructed earlier by ``bayesurv reconstruct`` (its ``.report.json`` beside the
    file), or a file of patient-level data taken as observed."""
    if ir.reconstructed:
        return "curves reconstructed from a digitized figure (clicks and numbers at risk)", True
    k = next((i for i, sec in enumerate(spec.ipd, start=1) if sec.name == name), None)
    info = summary.get("provenance", {}).get("inputs", {}).get(f"ipd[{k}].ipd", {})
    path = Path(info.get("path") or ir.section.ipd or "")
    sidecar = path.with_suffix(".report.json")
    if path.name and sidecar.exists():
        return (
            f"curves reconstructed from a digitized figure by bayesurv reconstruct ({path.name}; "
            f"its accuracy report {sidecar.name} is beside it)",
            True,
        )
    return (
        f"patient-level data as given ({path.name or 'the IPD file'}), taken as observed",
        False,
    )


def _rests_on(spec, summary: dict, surv_fits: dict, pools: dict, ipd_runs: dict, nmas: dict):
    from bayesurv.sections import nma as nma_part

    rows, from_figure, as_given = [], [], []
    for name in surv_fits:
        rows.append(
            {
                "result": f"{name} (survival, extrapolation)",
                "rests on": "reported summaries only (no curve, no patient-level data)",
            }
        )
    for name, ir in ipd_runs.items():
        what, figure = _ipd_source(spec, summary, name, ir)
        (from_figure if figure else as_given).append(name)
        rows.append({"result": f"{name} (survival models on IPD)", "rests on": what})
    for name, pr in pools.items():
        if {"lower", "upper"} <= set(pr.effects.columns):
            what = f"reported hazard ratios and {_cis(ci_label(levels(pr.effects)))}"
        else:
            what = "reported log hazard ratios and standard errors"
        rows.append(
            {"result": f"{name} (pooled HR)", "rests on": f"{what} (reported summaries only)"}
        )
    for n, r in nmas.items():
        rows += nma_part.rests_on_rows(n, r)
    return pd.DataFrame(rows, columns=["result", "rests on"]), from_figure, as_given


def build_report(
    out: Path,
    spec,
    summary: dict,
    surv_fits: dict,
    pools: dict,
    ipd_runs: dict | None = None,
    nmas: dict | None = None,
) -> None:
    """Write ``out/report.html`` (and its figures under ``out/figures``).

    Each query of ``summary["queries"]`` also gets the sentence the report gives and the
    computation of its one value (``answer``, ``computation``, ``reported_probability``), so
    that summary.json says what the page says."""
    from bayesurv.intervals import ci_width

    check_figure_names(spec)  # bayesurv run checked it before the work; here for any caller
    with ci_width(getattr(spec, "ci", None)):  # every posterior interval at the spec's width
        _build(out, spec, summary, surv_fits, pools, ipd_runs or {}, nmas or {})


def _build(out: Path, spec, summary: dict, surv_fits: dict, pools: dict, ipd_runs, nmas) -> None:
    rep = Report(spec.title, spec.description or None)
    fits = _fits(summary, surv_fits, pools, ipd_runs, nmas)
    _answers_part(rep, spec, summary, pools, nmas, fits)
    _rests_on_part(rep, spec, summary, surv_fits, pools, ipd_runs, nmas)
    _evidence_part(rep, out, surv_fits, pools, ipd_runs, nmas)
    for name, fits_ in surv_fits.items():
        _survival_part(rep, out, name, fits_, summary)
    for name, ir in ipd_runs.items():
        _ipd_part(rep, out, spec, name, ir, summary)
    for name, pr in pools.items():
        _pool_part(rep, out, name, pr, summary)
    if nmas:
        from bayesurv.sections import nma as nma_part

        for name, nr in nmas.items():  # bayesurv.sections.nma writes the content
            nma_part.report_part(rep, out, name, nr, _save)
    if summary.get("scenarios"):  # [[scenario]] sections (bayesurv.sections.scenario)
        from bayesurv.sections.scenario import scenario_table

        rep.section("Scenario analyses")
        for name in summary["scenarios"]:
            rep.table(
                scenario_table(summary, section=name),
                caption=f"{name}: base case and scenarios (posterior median, {_pct()} interval)",
            )
    _diagnostics_part(rep, fits)
    html = rep.render(provenance=summary.get("provenance"))
    (out / "report.html").write_text(html, encoding="utf-8")


def _answers_part(rep: Report, spec, summary: dict, pools: dict, nmas: dict, fits) -> None:
    from bayesurv.report_answers import answers

    rep.section("Questions the committee asked", anchor="answers")
    found = answers(summary, spec, pools, nmas)
    failing = {f["section"]: f for f in fits if f["answers"] and f["problems"]}
    items = []
    for q, a in zip(summary.get("queries", []), found, strict=True):
        asked = f"asked as {a.statement}"
        if a.mcse is not None and a.section in failing:
            f = failing[a.section]
            asked += f" - caution: the {f['model']} fit failed a convergence check"
        items.append((a.sentence, asked))
        q.update(answer=a.sentence, computation=a.computation, reported_probability=a.probability)
    if items:
        rep.answers(items)
    else:
        rep.text("The spec asks no questions ([queries] statements); the results follow.")
    sentence, bad = convergence_sentence(fits)
    (rep.note if bad else rep.text)(sentence)
    for w in warnings_shown(summary.get("warnings") or []):
        rep.note(w)


def warnings_shown(notes: list[str], most: int = 8) -> list[str]:
    """The warnings an analysis raised (identifiability, queries, convergence, one chain), as
    the report shows them under its answers: each once, the first ``most``, then how many more
    summary.json holds."""
    shown = [f"Warning: {n}" for n in dict.fromkeys(notes)]
    if len(shown) > most:
        rest = len(shown) - most
        shown = shown[:most] + [f"{rest} more warning{'s' if rest != 1 else ''}: see summary.json."]
    return shown


def _rests_on_part(rep, spec, summary, surv_fits, pools, ipd_runs, nmas) -> None:
    rep.section("What this analysis rests on")
    rests, from_figure, as_given = _rests_on(spec, summary, surv_fits, pools, ipd_runs, nmas)
    rep.table(
        rests,
        caption="Which results rest on reconstructed curves and which on reported summaries",
    )
    if surv_fits:
        rep.note(SUMMARY_ONLY)
    if from_figure:
        rep.note(f"{', '.join(from_figure)}: {RECONSTRUCTED}")
    if as_given:
        rep.text(
            f"{', '.join(as_given)}: the patient-level data were read from a file and are taken "
            "as observed. bayesurv cannot tell whether they were themselves reconstructed from a "
            "figure elsewhere; if they were, their credible intervals are somewhat too narrow, "
            "as for any reconstruction."
        )
    if not from_figure:
        rep.text("No Kaplan-Meier curve was reconstructed from a figure in this analysis.")
    if pools:
        with_ci = [pr.effects for pr in pools.values() if "lower" in pr.effects.columns]
        what = (
            f"the hazard ratios and {_cis(ci_label(_reported_levels(*with_ci)))} each trial "
            "reported (standard errors recovered from the CIs on the log scale, each at its level)"
            if with_ci
            else "the log hazard ratios and standard errors each trial reported"
        )
        rep.text(
            f"The pooled hazard ratios rest on {what}; trials marked 'secondary' in the evidence "
            "table were taken from a summary of the publication, not the paper."
        )


def _evidence_part(rep, out, surv_fits, pools, ipd_runs, nmas) -> None:
    from bayesurv.sections.ipd import reconstruction_accuracy

    rep.section("Evidence")
    for name, fits in surv_fits.items():
        f0 = fits[0]
        cols = ["arm", "time", "published", "published_lower", "published_upper", LEVEL_COLUMN]
        lm = f0.landmark_check[[c for c in cols if c in f0.landmark_check.columns]]
        lm, label = _reported_ci(lm, "published_lower", "published_upper")
        rep.table(
            lm.rename(columns={"time": f"time ({f0.section.time_unit})"}),
            caption=f"{name}: reported Kaplan-Meier estimates ({label})",
        )
    for name, pr in pools.items():
        names = ("study", "endpoint", "outcome", "hr", "lower", "upper", LEVEL_COLUMN, "tag")
        cols = [c for c in (*names, "source") if c in pr.effects.columns]
        shown, label = _reported_ci(pr.effects[cols], "lower", "upper")
        rep.table(
            shown.rename(columns={"hr": "HR"}),
            caption=f"{name}: reported hazard ratios"
            + (f" ({label})" if "lower" in pr.effects.columns else "")
            + " and their sources",
        )
    for name, nr in nmas.items():
        net = nr.result.network
        for frame, what in ((net.contrasts, "contrasts"), (net.arms, "arm counts")):
            if len(frame):
                cols = [c for c in frame.columns if c != "row"]
                rep.table(
                    frame[cols].rename(columns={"log_hr": "log HR", "se": "SE"}),
                    caption=f"{name}: the trials' {what} as they enter the likelihood",
                )
    recon = {n: ir for n, ir in ipd_runs.items() if ir.reconstructed}
    if not recon:
        return
    from bayesurv.plots.reconstruction import plot_reconstruction

    rep.section("Reconstructed curves", level=3)
    for name, ir in recon.items():
        rep.table(
            reconstruction_accuracy(ir.reconstructions),
            caption=f"{name}: accuracy of the reconstruction (reconstructed KM against "
            "the digitized clicks; patients, events and numbers at risk against the reported)",
        )
        for arm, rec in ir.reconstructions.items():
            fig = plot_reconstruction(rec, title=f"{name}: {arm}")
            _save(fig, out, f"{name}_{arm}_reconstruction".replace(" ", "_"))
            rep.figure(
                fig,
                f"{name}, {arm}: reconstructed Kaplan-Meier curve over the clicks, "
                "with the numbers at risk",
            )
            plt.close(fig)


def _survival_part(rep, out, name: str, fits: list, summary: dict) -> None:
    from bayesurv.plots.extrapolation import plot_cure_fractions, plot_extrapolation
    from bayesurv.sections.common import UNITS_PER_YEAR
    from bayesurv.sections.survival import base_case

    sec = fits[0].section
    scale = UNITS_PER_YEAR[sec.time_unit]
    best = base_case(fits)
    s = summary["survival"][name]
    rep.section(f"{name}: survival and extrapolation")
    how = "chosen in the spec" if sec.base_case else "best WAIC among converged models"
    rep.text(
        f"Base case: {best.label} ({how}). "
        "WAIC differences of one or two units between models fitted to a handful of reported "
        f"numbers do not tell them apart. {s['background'][:1].upper()}{s['background'][1:]}. "
        f"Horizon {number(sec.horizon_years, trim=True)} years; life-years discounted at "
        f"{number(100 * sec.discount, trim=True)}% a year."
    )
    fig = plot_extrapolation(
        best.tree,
        landmarks=best.landmark_check.rename(
            columns={
                "published": "survival",
                "published_lower": "lower",
                "published_upper": "upper",
            }
        ),
        title=f"{name}: {best.label}",
        follow_up=s.get("max_followup") or float(best.landmark_check["time"].max()),
    )
    _save(fig, out, f"{best.section.name}_extrapolation".replace(" ", "_"))
    rep.figure(
        fig,
        f"{name}: posterior survival per arm with {_pct()} bands, published estimates "
        f"({ci_label(levels(best.landmark_check))}) and general-population survival",
    )
    plt.close(fig)
    gain = "life-years gained" if sec.endpoint.upper() == "OS" else "mean event-free years gained"
    rows = []
    for f in fits:
        m = s["models"][f.label]
        diag = m["fit"]["diagnostics"]
        rows.append(
            {
                "model": f.label,
                "elpd WAIC": m["fit"]["elpd_waic"],
                "p WAIC": m["fit"]["p_waic"],
                "landmarks in published CI": (
                    f"{int(f.landmark_check['within_published_ci'].sum())}/{len(f.landmark_check)}"
                ),
                gain: interval(m["life_years_gained"]),
                f"{gain}, discounted": interval(m["life_years_gained_discounted"]),
                "R-hat max": diag["rhat_max"],
                "ESS bulk min": diag["ess_bulk_min"],
                "divergences": diag["divergences"],
            }
        )
    rep.table(pd.DataFrame(rows), caption=f"{name}: models compared (WAIC on the reported numbers)")
    lt = pd.DataFrame(s["models"][best.label]["survival"])
    lt["estimate"] = [interval(r, pct=True) for r in s["models"][best.label]["survival"]]
    lt = lt.pivot(index="time", columns="arm", values="estimate").reset_index()
    lt.columns.name = None
    lt["years"] = lt["time"] / scale
    rep.table(
        lt[["years"] + [c for c in lt.columns if c not in ("time", "years")]],
        caption=f"{name}: survival at landmarks, base case (posterior median, {_pct()} CrI)",
    )
    _check_tables(rep, name, best)
    if "cure_fraction" in s["models"][best.label]:
        fig = plot_cure_fractions(best.tree, f"{name}: cure fraction ({best.label})")
        _save(fig, out, f"{best.section.name}_cure".replace(" ", "_"))
        rep.figure(fig, f"{name}: posterior of the cure fraction per arm")
        plt.close(fig)


def _check_tables(rep, name: str, best) -> None:
    """The model against what was published: landmark, hazard-ratio and median checks of the
    chosen fit, the published limits labelled at the level their rows carry
    (:func:`_reported_ci`: ``lower 95% CI`` or a ``CI level`` column when rows differ)."""
    lm, label = _reported_ci(best.landmark_check, "published_lower", "published_upper")
    rep.table(
        lm,
        caption=f"{name}: model ({_pct()} CrI) against the published landmark estimates ({label})",
    )
    if len(best.hr_check):
        hr, label = _reported_ci(best.hr_check, "published_lower", "published_upper")
        if "within_published_ci" in hr:
            hr["within_published_ci"] = hr["within_published_ci"].map(
                {True: "yes", False: "no", None: "no CI"}
            )
        rep.table(
            hr,
            caption=(
                f"{name}: published hazard ratios ({label}, experimental vs control) and the "
                "model's, as a Cox fit of that data cut would see it (event-weighted average of "
                "the log hazard ratio over follow-up); 'reason' says why a row did not enter the "
                "likelihood"
            ),
        )
    if len(best.median_check):
        med, label = _reported_ci(best.median_check, "lower", "upper")
        rep.table(
            med,
            caption=f"{name}: published medians ({label}); the model's S at each "
            "(0.5 when the model reproduces it)",
        )


def _ipd_part(rep, out, spec, name: str, ir, summary: dict) -> None:
    from bayesurv.plots.survival import plot_predictive_km, plot_survival

    s = summary["ipd"][name]
    what, figure = _ipd_source(spec, summary, name, ir)
    rep.section(f"{name}: survival models on {'reconstructed ' if figure else ''}IPD")
    if figure:
        rep.note(
            f"{name} rests on {what}"
            + (
                " (see Reconstructed curves for how closely they match it)."
                if ir.reconstructed
                else "."
            )
        )
    cox = s["cox_hr"]
    per_arm = ", ".join(f"{a}: {number(s['n'][a])}" for a in s["arms"])
    rep.text(
        f"{number(sum(s['n'].values()))} patients ({per_arm}), "
        f"{number(sum(s['events'].values()))} events. Cox hazard ratio (Efron ties) of "
        f"{', '.join(s['arms'][1:])} vs {s['arms'][0]}: "
        f"{interval({'median': cox['hr'], 'lower': cox['lower'], 'upper': cox['upper']})} "
        # computed here, not reported: bayesurv.nonparametric.cox_hazard_ratio's 95% Wald CI
        f"(95% CI). Best model by LOO: {s['best']}."
    )
    if ir.comparison is not None:
        rep.table(
            ir.comparison,
            caption=f"{name}: models compared (NICE DSU TSD 14: PSIS-LOO, "
            "stacking weights, AIC/BIC at the maximum likelihood)",
        )
    rows = []
    for fam, m in s["models"].items():
        row = {"model": fam, "effect": m["effect"]}
        ratios = (("hr", "HR"), ("time_ratio", "time ratio"), ("odds_ratio", "odds ratio"))
        for k, label in ratios:
            if k in m:
                row[label] = interval(m[k])
        row.update(
            {
                "R-hat max": m["diagnostics"]["rhat_max"],
                "ESS bulk min": m["diagnostics"]["ess_bulk_min"],
                "divergences": m["diagnostics"]["divergences"],
            }
        )
        rows.append(row)
    rep.table(
        pd.DataFrame(rows),
        caption=f"{name}: treatment effect per model (posterior median, {_pct()} CrI)",
    )
    if "reconstruction_uncertainty" in s:
        _widening_part(rep, name, s["reconstruction_uncertainty"])
    best = ir.fits[s["best"]]
    if ir.section.cure != "none" or ir.section.population or ir.section.waning:
        _longterm_part(rep, out, name, s, best, figure)
        return
    fig = plot_survival(best, horizon=ir.section.horizon)
    _save(fig, out, f"{name}_survival".replace(" ", "_"))
    rep.figure(
        fig,
        f"{name}: {s['best']} posterior survival over the Kaplan-Meier curve of the "
        f"{'reconstructed ' if figure else ''}IPD",
    )
    plt.close(fig)
    fig = plot_predictive_km(best, seed=spec.seed % (2**31))
    _save(fig, out, f"{name}_predictive_km".replace(" ", "_"))
    rep.figure(
        fig,
        f"{name}: observed Kaplan-Meier curve against the {_pct()} band of posterior "
        f"predictive Kaplan-Meier curves ({s['best']}, same censoring)",
    )
    plt.close(fig)


def _widening_part(rep, name: str, ru: dict) -> None:
    """``[[ipd]] propagate = K``: each quantity's interval from the one reconstruction beside the
    K random reconstructions' pooled interval, and how much wider it became."""
    from bayesurv.intervals import width

    ci = float(ru["quantities"][0]["ci"]) if ru["quantities"] else width()
    rows = []
    for r in ru["quantities"]:
        one = {k: r[f"single_{k}"] for k in ("median", "lower", "upper")}
        many = {k: r[f"pooled_{k}"] for k in ("median", "lower", "upper")}
        ratio = r["width_ratio"]
        rows.append(
            {
                "quantity": r["quantity"],
                "one reconstruction": interval(one),
                f"pooled over {ru['reconstructions']}": interval(many),
                "change in width": ""
                if ratio is None or not np.isfinite(ratio)
                else f"{100 * (ratio - 1):+.1f}%",
                "missing information": percent(r.get("missing_information")),
            }
        )
    rep.table(
        pd.DataFrame(rows),
        caption=f"{name}: reconstruction uncertainty carried into the posterior "
        f"({ru['model']}; {ru['reconstructions']} random reconstructions fitted and pooled as a "
        f"mixture of their draws; posterior median and {number(100 * ci, trim=True)}% "
        "CrI; missing information: Rubin's fraction (1 + 1/K) B / T; the limits carry Monte "
        "Carlo error, so a small change of either sign is noise)",
    )


def _probability_label(key: str) -> str:
    """``pooled_hr_lt_0_8`` -> ``P(pooled HR < 0.8)``."""
    which, _, tag = key.partition("_hr_lt_")
    if not tag:
        return key.replace("_", " ")
    who = {"pooled": "pooled HR", "predictive": "HR of a new trial"}.get(which, f"{which} HR")
    return f"P({who} < {tag.replace('_', '.')})"


def _pool_part(rep, out, name: str, pr, summary: dict) -> None:
    from bayesurv.plots.forest import forest

    rep.section(f"{name}: hierarchical synthesis")
    fig = forest(pr.exact, title=name)
    _save(fig, out, f"{name}_forest".replace(" ", "_"))
    rep.figure(
        fig, f"{name}: observed and shrunken hazard ratios, pooled HR and prediction interval"
    )
    plt.close(fig)
    ex = summary["pool"][name]["exact"]
    rows = [
        {"quantity": "pooled HR", "exact posterior": interval(ex["pooled"]["hr"])},
        {"quantity": "HR in a new trial", "exact posterior": interval(ex["predictive"]["hr"])},
        {"quantity": "tau (log HR)", "exact posterior": interval(ex["tau"])},
    ]
    rows += [
        {"quantity": _probability_label(k), "exact posterior": percent(v)}
        for k, v in ex["probabilities"].items()
    ]
    rep.table(
        pd.DataFrame(rows),
        caption=f"{name}: exact posterior (quadrature over tau): median ({_pct()} CrI) and "
        "probabilities; the answers above use these values",
    )
    sens = pr.sensitivity.reset_index()
    table = pd.DataFrame({"tau prior": sens.get("tau_prior", sens.iloc[:, 0])})
    if {"tau_median", "tau_upper"} <= set(sens.columns):
        table[f"tau median ({_upper_pct()} limit)"] = [
            f"{number(a)} ({number(b)})"
            for a, b in zip(sens["tau_median"], sens["tau_upper"], strict=True)
        ]
    if {"hr_median", "hr_lower", "hr_upper"} <= set(sens.columns):
        table[f"pooled HR ({_pct()} CrI)"] = [
            interval({"median": a, "lower": b, "upper": c})
            for a, b, c in zip(sens["hr_median"], sens["hr_lower"], sens["hr_upper"], strict=True)
        ]
    if {"new_hr_lower", "new_hr_upper"} <= set(sens.columns):
        table[f"HR of a new trial, {_pct()} PrI"] = [
            f"{number(a)} to {number(b)}"
            for a, b in zip(sens["new_hr_lower"], sens["new_hr_upper"], strict=True)
        ]
    for c in sens.columns:
        if "_hr_lt_" in c:
            table[_probability_label(c)] = sens[c]
    rep.table(table, caption=f"{name}: sensitivity to the heterogeneity prior (exact)")
    from bayesurv.sections.pool import checks_table

    rep.table(checks_table(pr), caption=f"{name}: checks beside the pooled answer")
    planned = summary["pool"][name].get("map_prior")
    if planned:  # plan_events: the MAP prior and the planned trial (sections.pool.planned_trial)
        table, caption = planned_trial_table(planned)
        rep.table(table, caption=f"{name}: {caption}")
    if pr.regression is not None:
        from bayesurv.sections.pool import regression_table

        rep.table(
            regression_table(pr),
            caption=f"{name}: meta-regression on {', '.join(pr.section.covariates)}",
            float_format="{:.3f}",
        )


def planned_trial_table(record: dict) -> tuple[pd.DataFrame, str]:
    """The report's table of a ``[[pool]]`` section's planned trial (summary.json's
    ``map_prior`` record, :func:`bayesurv.sections.pool.planned_trial`) and its caption: the
    prior effective sample sizes in events (ELIR) of the MAP and the robust prior, the critical
    HR, the type I error, the power at every HR the record lists and the probability of
    success, borrowing through the robust MAP prior beside no borrowing (the vague prior)."""
    from bayesurv.report_format import percent

    robust, vague = record["planned_trial"], record["planned_trial_without_borrowing"]
    v = record.get("vague", {})
    vague_text = f"N({number(v.get('mean', 0))}, {number(v.get('sd', 2))}²)"
    cols = ("quantity", "borrowing (robust MAP prior)", f"no borrowing ({vague_text} prior)")

    def row(what, a, b):
        return dict(zip(cols, (what, a, b), strict=True))

    ess = record["ess_events"]
    rows = [
        row("prior ESS of the MAP prior, events (ELIR)", number(ess["map"]["elir"]), ""),
        row(
            f"prior ESS of the prior used, events (ELIR; robust: weight "
            f"{number(record['robust_weight'], trim=True)} on the vague prior)",
            number(robust["prior_ess_events"]["elir"]),
            number(vague["prior_ess_events"]["elir"]),
        ),
        row(
            "critical HR (success if the observed HR is below)",
            number(robust["critical_hr"]),
            number(vague["critical_hr"]),
        ),
        row("type I error (true HR 1)", percent(robust["type_one_error"]),
            percent(vague["type_one_error"])),
    ]  # fmt: skip
    without = {float(r["hr"]): r["power"] for r in vague["power"]}
    for r in robust["power"]:
        if float(r["hr"]) == 1.0:  # the type I error, above
            continue
        rows.append(
            row(
                f"power at HR {number(r['hr'], trim=True)}",
                percent(r["power"]),
                percent(without[float(r["hr"])]),
            )
        )
    rows.append(
        row(
            "probability of success (true HR drawn from the column's prior)",
            percent(robust["probability_of_success"]),
            percent(vague["probability_of_success"]),
        )
    )
    events = number(robust["events"])
    alloc = robust.get("allocation", 1)
    caption = (
        f"planned trial with {events} events borrowing through the robust MAP prior "
        f"(success: {robust['decision']}; allocation {number(alloc, trim=True)}:1, "
        "experimental : control)"
    )
    return pd.DataFrame(rows, columns=list(cols)), caption


def _diagnostics_part(rep, fits: list[dict]) -> None:
    rep.section("Diagnostics")
    sentence, _ = convergence_sentence(fits)
    rep.text(sentence)
    rows = [
        {
            "section": f["section"],
            "model": f["model"],
            "R-hat max": f["d"].get("rhat_max"),
            "ESS bulk min": f["d"].get("ess_bulk_min"),
            "ESS tail min": f["d"].get("ess_tail_min"),
            "divergences": f["d"].get("divergences"),
            "chains": f["d"].get("chains"),
            "draws per chain": f["d"].get("draws"),
            "problems": "; ".join(f["problems"]) or "none",
        }
        for f in fits
    ]
    if rows:
        rep.table(pd.DataFrame(rows), caption=f"Convergence of every MCMC fit ({CHECKS})")


def model_words(best, label: str, row: dict) -> str:
    """The base-case model in words: family and cure, general-population mortality (a fixed
    SMR, or an estimated one with its posterior median, interval and prior), waning. The
    interval is the analysis's width (:func:`bayesurv.intervals.width`: the spec's ``ci``, 0.95
    unless set), and the sentence says which."""
    from bayesurv.intervals import summary, width
    from bayesurv.survival.outputs import fitted

    F = fitted(best)
    what = f"{label}, {row['cure']} cure"
    if F.population is not None and F.spec.smr_prior is not None and "smr" in best["posterior"]:
        q = summary(best["posterior"]["smr"])
        what += (
            f", general-population mortality (SMR estimated: {q['median']:.2f}, "
            f"{100 * width():g}% interval {q['lower']:.2f} to {q['upper']:.2f}, "
            f"prior {F.spec.smr_prior.text})"
        )
    elif F.population is not None:
        what += f", general-population mortality (SMR {F.population.smr:g})"
    if F.spec.waning:
        w = F.spec.waning
        what += f", effect waning {w[0]} from {w[1]:g}" + (f" to {w[2]:g}" if w[2] else "")
        what += f" {row['time_unit']}"
    return what


def _longterm_part(rep, out, name, s, best, reconstructed) -> None:
    """A long-term IPD model in the report: extrapolation, hazard, cure fraction, landmarks
    against the KM, mean survival and life-years gained, identifiability notes."""
    import matplotlib.pyplot as plt

    from bayesurv.plots.extrapolation import (
        plot_cure_fractions,
        plot_extrapolation,
        plot_hazard_extrapolation,
    )

    lt = s["models"][s["best"]]
    what = model_words(best, s["best"], lt)
    for note in lt.get("notes", []):
        rep.note(f"{name} ({s['best']}): {note}")
    figs = [
        (
            plot_extrapolation(best, title=f"{name}: {s['best']}, {lt['cure']} cure"),
            "extrapolation",
            f"{name}: extrapolated survival ({what}) over the Kaplan-Meier curve of the "
            f"{'reconstructed ' if reconstructed else ''}IPD, with the general population",
        ),
        (
            plot_hazard_extrapolation(best, title=f"{name}: hazard"),
            "hazard",
            f"{name}: hazard per year (log scale), posterior median and {_pct()} band",
        ),
    ]
    if "cure_fraction" in best["derived"]:
        figs.append(
            (
                plot_cure_fractions(best, title=f"{name}: cure fraction"),
                "cure",
                f"{name}: posterior of the cure fraction per arm",
            )
        )
    for fig, tag, caption in figs:
        _save(fig, out, f"{name}_{tag}".replace(" ", "_"))
        rep.figure(fig, caption)
        plt.close(fig)
    rows = [
        {
            "arm": r["arm"],
            "landmark": r["landmark"],
            f"model ({_pct()} CrI)": interval(r),
            "Kaplan-Meier": number(r["km"]),
        }
        for r in lt.get("landmarks", [])
    ]
    if rows:
        rep.table(
            pd.DataFrame(rows),
            caption=f"{name}: survival at landmarks and lifetime mean "
            "survival, model against the Kaplan-Meier estimate",
        )
    if "life_years_gained" in lt:
        rep.text(
            f"Life-years gained over {number(round(lt['horizon_years']))} years: "
            f"{interval(lt['life_years_gained'])} undiscounted, "
            f"{interval(lt['life_years_gained_discounted'])} discounted at "
            f"{number(100 * best['derived'].attrs['discount'], trim=True)}% a year (posterior "
            f"median, {_pct()} CrI)."
        )
