"""The content of an analysis's ``report.html`` and its figures (layout: :mod:`bayesurv.report`).

What the report must say plainly: which results rest on reconstructed curves and which on
reported summaries only, and what that does to their uncertainty.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from bayesurv.report import Report

SUMMARY_ONLY = (
    "These survival results rest on reported summaries only: Kaplan-Meier estimates at a landmark "
    "with their 95% confidence intervals, the number of events at each data cut-off, and hazard "
    "ratios and medians where a standard error could be recovered (the tables below say which "
    "numbers entered the likelihood and which could not, and why). No curve "
    "of this trial could be digitized, so no patient-level data were reconstructed. The shape of "
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


def _save(fig, out: Path, name: str) -> None:
    """Save under figures/ by a name made safe from section and arm names (never a path)."""
    from bayesurv.outputs import safe_name

    name = safe_name(name, "section or arm name")
    fig.savefig(out / "figures" / f"{name}.png", dpi=120, bbox_inches="tight")
    fig.savefig(out / "figures" / f"{name}.svg", bbox_inches="tight")


_DIAGNOSTICS = ("rhat_max", "ess_bulk_min", "ess_tail_min", "divergences", "chains", "draws")


def _diagnostics_row(section: str, model: str, d: dict) -> dict:
    return {
        "section": section,
        "model": model,
        **{k: d.get(k) for k in _DIAGNOSTICS},
        "problems": "; ".join(d.get("problems", [])) or "none",
    }


def _fmt_interval(d: dict, pct: bool = False, digits: int = 2) -> str:
    if pct:
        return f"{100 * d['median']:.1f}% ({100 * d['lower']:.1f}-{100 * d['upper']:.1f})"
    return f"{d['median']:.{digits}f} ({d['lower']:.{digits}f}-{d['upper']:.{digits}f})"


def _rests_on(summary: dict, surv_fits: dict, pools: dict, ipd_runs: dict) -> pd.DataFrame:
    rows = []
    for name in surv_fits:
        rows.append(
            {
                "result": f"{name} (survival, extrapolation)",
                "rests on": "reported summaries only (no curve, no patient-level data)",
            }
        )
    for name, ir in ipd_runs.items():
        rows.append(
            {
                "result": f"{name} (survival models on IPD)",
                "rests on": (
                    "curves reconstructed from a digitized figure"
                    if ir.reconstructed
                    else "patient-level data as given"
                ),
            }
        )
    for name in pools:
        rows.append(
            {
                "result": f"{name} (pooled HR)",
                "rests on": "reported hazard ratios and 95% CIs (reported summaries only)",
            }
        )
    return pd.DataFrame(rows)


def build_report(
    out: Path,
    spec,
    summary: dict,
    surv_fits: dict,
    pools: dict,
    ipd_runs: dict | None = None,
    nmas: dict | None = None,
) -> None:
    from bayesurv.plots.extrapolation import plot_cure_fractions, plot_extrapolation
    from bayesurv.plots.forest import forest
    from bayesurv.sections.common import UNITS_PER_YEAR
    from bayesurv.sections.ipd import reconstruction_accuracy
    from bayesurv.sections.survival import base_case

    ipd_runs = ipd_runs or {}
    rep = Report(spec.title, spec.description or None)
    rep.section("What this analysis rests on")
    from bayesurv.sections import nma as nma_part

    nmas = nmas or {}
    rests = _rests_on(summary, surv_fits, pools, ipd_runs)
    rests = pd.concat(
        [rests, *[pd.DataFrame(nma_part.rests_on_rows(n, r)) for n, r in nmas.items()]],
        ignore_index=True,
    )
    rep.table(
        rests,
        caption="Which results rest on reconstructed curves and which on reported summaries",
    )
    if surv_fits:
        rep.note(SUMMARY_ONLY)
    if any(ir.reconstructed for ir in ipd_runs.values()):
        rep.note(RECONSTRUCTED)
    if pools:
        rep.text(
            "The pooled hazard ratios rest on the hazard ratios and 95% CIs each trial reported "
            "(standard errors recovered from the CIs on the log scale); trials marked 'secondary' "
            "in the evidence table were taken from a summary of the publication, not the paper."
        )
    rep.section("Reconstructed curves")
    recon = {n: ir for n, ir in ipd_runs.items() if ir.reconstructed}
    if recon:
        from bayesurv.plots.reconstruction import plot_reconstruction

        for name, ir in recon.items():
            acc = reconstruction_accuracy(ir.reconstructions)
            rep.table(
                acc,
                caption=f"{name}: accuracy of the reconstruction (reconstructed KM against "
                "the digitized clicks; patients, events and numbers at risk against the reported)",
                float_format="{:.4g}",
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
    else:
        rep.text(
            "No curve was reconstructed in this analysis: no Kaplan-Meier figure of these trials "
            "is "
            "public in a form that can be digitized, so every survival result rests on reported "
            "summaries. bayesurv's reconstruction (bayesurv reconstruct, bayesurv digitize) is "
            "measured on real trials with known truth in benchmarks/reconstruction_accuracy.py: on "
            "GBSG-2 and Rossi arms of 200+ patients the reconstructed Kaplan-Meier curve is within "
            "0.005 of the truth on average and the Cox hazard ratio within 2%."
        )
    # ---- evidence
    rep.section("Evidence")
    for name, fits in surv_fits.items():
        f0 = fits[0]
        lm = f0.landmark_check[["arm", "time", "published", "published_lower", "published_upper"]]
        rep.table(
            lm.rename(columns={"time": f"time ({f0.section.time_unit})"}),
            caption=f"{name}: reported Kaplan-Meier estimates (95% CI)",
        )
    for name, pr in pools.items():
        cols = [
            c
            for c in ("study", "endpoint", "outcome", "hr", "lower", "upper", "tag", "source")
            if c in pr.effects.columns
        ]
        rep.table(pr.effects[cols], caption=f"{name}: reported hazard ratios and their sources")
    # ---- survival
    for name, fits in surv_fits.items():
        sec = fits[0].section
        scale = UNITS_PER_YEAR[sec.time_unit]
        best = base_case(fits)
        s = summary["survival"][name]
        rep.section(f"{name}: survival and extrapolation")
        how = "chosen in the spec" if sec.base_case else "best WAIC among converged models"
        rep.text(
            f"Base case: {best.label} ({how}). "
            "WAIC differences of one or two units between models fitted to a handful of reported "
            f"numbers do not tell them apart. {s['background']}. "
            f"Horizon {sec.horizon_years:g} years; life-years discounted at "
            f"{100 * sec.discount:g}% a year."
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
            f"{name}: posterior survival per arm with 95% bands, published estimates and "
            "general-population survival",
        )
        plt.close(fig)
        gain = (
            "life-years gained" if sec.endpoint.upper() == "OS" else "mean event-free years gained"
        )
        rows = []
        for f in fits:
            m = s["models"][f.label]
            diag = m["fit"]["diagnostics"]
            rows.append(
                {
                    "model": f.label,
                    "elpd_waic": m["fit"]["elpd_waic"],
                    "p_waic": m["fit"]["p_waic"],
                    "landmarks in published CI": (
                        f"{int(f.landmark_check['within_published_ci'].sum())}"
                        f"/{len(f.landmark_check)}"
                    ),
                    gain: _fmt_interval(m["life_years_gained"]),
                    f"{gain}, discounted": _fmt_interval(m["life_years_gained_discounted"]),
                    "R-hat max": diag["rhat_max"],
                    "ESS bulk min": diag["ess_bulk_min"],
                    "divergences": diag["divergences"],
                }
            )
        rep.table(
            pd.DataFrame(rows), caption=f"{name}: models compared (WAIC on the reported numbers)"
        )
        lt = pd.DataFrame(s["models"][best.label]["survival"])
        lt["estimate"] = [_fmt_interval(r, pct=True) for r in s["models"][best.label]["survival"]]
        lt = lt.pivot(index="time", columns="arm", values="estimate").reset_index()
        lt.columns.name = None
        lt["years"] = lt["time"] / scale
        rep.table(
            lt[["years"] + [c for c in lt.columns if c not in ("time", "years")]],
            caption=f"{name}: survival at landmarks, base case (posterior median, 95% CrI)",
        )
        rep.table(
            best.landmark_check, caption=f"{name}: model against the published landmark estimates"
        )
        if len(best.hr_check):
            hr = best.hr_check.copy()
            hr["within_published_ci"] = hr["within_published_ci"].map(
                {True: "yes", False: "no", None: "no CI"}
            )
            rep.table(
                hr,
                caption=(
                    f"{name}: published hazard ratios (experimental vs control) and the model's, "
                    "as a Cox fit of that data cut would see it (event-weighted average of the log "
                    "hazard ratio "
                    "over follow-up); 'reason' says why a row did not enter the likelihood"
                ),
            )
        if len(best.median_check):
            rep.table(
                best.median_check,
                caption=f"{name}: published medians; the model's S at each "
                "(0.5 when the model reproduces it)",
            )
        if "cure_fraction" in s["models"][best.label]:
            fig = plot_cure_fractions(best.tree, f"{name}: cure fraction ({best.label})")
            _save(fig, out, f"{best.section.name}_cure".replace(" ", "_"))
            rep.figure(fig, f"{name}: posterior of the cure fraction per arm")
            plt.close(fig)
    # ---- ipd sections
    for name, ir in ipd_runs.items():
        from bayesurv.plots.survival import plot_predictive_km, plot_survival

        s = summary["ipd"][name]
        rep.section(f"{name}: survival models on {'reconstructed ' if ir.reconstructed else ''}IPD")
        if ir.reconstructed:
            rep.note(
                f"{name} rests on curves reconstructed from a digitized figure (see "
                "Reconstructed curves for how closely they match it)."
            )
        cox = s["cox_hr"]
        per_arm = ", ".join(f"{a}: {s['n'][a]}" for a in s["arms"])
        rep.text(
            f"{sum(s['n'].values())} patients ({per_arm}), "
            f"{sum(s['events'].values())} events. Cox hazard ratio (Efron ties) of "
            f"{', '.join(s['arms'][1:])} vs {s['arms'][0]}: {cox['hr']:.3f} "
            f"(95% CI {cox['lower']:.3f}-{cox['upper']:.3f}). Best model by LOO: {s['best']}."
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
                    row[label] = _fmt_interval(m[k], digits=3)
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
            caption=f"{name}: treatment effect per model (posterior median, 95% CrI)",
        )
        best = ir.fits[s["best"]]
        if ir.section.cure != "none" or ir.section.population or ir.section.waning:
            _longterm_part(rep, out, name, s, best, ir.reconstructed)
            continue
        fig = plot_survival(best, horizon=ir.section.horizon)
        _save(fig, out, f"{name}_survival".replace(" ", "_"))
        rep.figure(
            fig,
            f"{name}: {s['best']} posterior survival over the Kaplan-Meier curve of the "
            f"{'reconstructed ' if ir.reconstructed else ''}IPD",
        )
        plt.close(fig)
        fig = plot_predictive_km(best, seed=spec.seed % (2**31))
        _save(fig, out, f"{name}_predictive_km".replace(" ", "_"))
        rep.figure(
            fig,
            f"{name}: observed Kaplan-Meier curve against the 95% band of posterior "
            f"predictive Kaplan-Meier curves ({s['best']}, same censoring)",
        )
        plt.close(fig)
    # ---- pools
    for name, pr in pools.items():
        rep.section(f"{name}: hierarchical synthesis")
        fig = forest(pr.exact, title=name)
        _save(fig, out, f"{name}_forest".replace(" ", "_"))
        rep.figure(
            fig, f"{name}: observed and shrunken hazard ratios, pooled HR and prediction interval"
        )
        plt.close(fig)
        ex = summary["pool"][name]["exact"]
        rows = [
            {"quantity": "pooled HR", "median (95% CrI)": _fmt_interval(ex["pooled"]["hr"])},
            {
                "quantity": "HR in a new trial",
                "median (95% CrI)": _fmt_interval(ex["predictive"]["hr"]),
            },
            {"quantity": "tau (log HR)", "median (95% CrI)": _fmt_interval(ex["tau"])},
        ]
        rows += [
            {"quantity": k.replace("_", " "), "median (95% CrI)": f"{v:.3f}"}
            for k, v in ex["probabilities"].items()
        ]
        rep.table(pd.DataFrame(rows), caption=f"{name}: exact posterior (quadrature)")
        rep.table(
            pr.sensitivity.reset_index(), caption=f"{name}: sensitivity to the heterogeneity prior"
        )
        if pr.regression is not None:
            from bayesurv.sections.pool import regression_table

            rep.table(
                regression_table(pr),
                caption=f"{name}: meta-regression on {', '.join(pr.section.covariates)}",
                float_format="{:.3f}",
            )
    for name, nr in nmas.items():  # ---- networks (bayesurv.sections.nma writes the content)
        nma_part.report_part(rep, out, name, nr, _save)
    # ---- queries
    if summary["queries"]:
        rep.section("Questions the committee asked")
        rep.table(
            pd.DataFrame(
                [
                    {
                        "statement": q["statement"],
                        "posterior probability": q["probability"],
                        "Monte Carlo error": q["mcse"],
                    }
                    for q in summary["queries"]
                ]
            ),
            caption="Posterior probabilities (share of posterior draws; MC error from the ESS)",
            float_format="{:.3f}",
        )
    # ---- diagnostics
    rep.section("Diagnostics")
    rows = []
    for name, fits in surv_fits.items():
        for f in fits:
            rows.append(
                {
                    "section": name,
                    "model": f.label,
                    **f.fit["diagnostics"],
                    "problems": "; ".join(f.fit["problems"]) or "none",
                }
            )
    for name in ipd_runs:
        for fam, m in summary["ipd"][name]["models"].items():
            rows.append(_diagnostics_row(name, fam, m["diagnostics"]))
    for name, pr in pools.items():
        rows.append(_diagnostics_row(name, "normal-normal (MCMC)", dict(pr.mcmc.diagnostics)))
    for name, nr in nmas.items():
        if nr.result.method == "mcmc":
            rows.append(_diagnostics_row(name, "network (MCMC)", dict(nr.result.diagnostics)))
    rep.table(pd.DataFrame(rows), caption="Convergence (R-hat <= 1.01, ESS >= 400, no divergences)")
    html = rep.render(provenance=summary.get("provenance"))
    (out / "report.html").write_text(html, encoding="utf-8")


def _longterm_part(rep, out, name, s, best, reconstructed) -> None:
    """A long-term IPD model in the report: extrapolation, hazard, cure fraction, landmarks
    against the KM, mean survival and life-years gained, identifiability notes."""
    import matplotlib.pyplot as plt

    from bayesurv.plots.extrapolation import (
        plot_cure_fractions,
        plot_extrapolation,
        plot_hazard_extrapolation,
    )
    from bayesurv.survival.outputs import fitted

    lt = s["models"][s["best"]]
    F = fitted(best)
    what = f"{s['best']}, {lt['cure']} cure"
    if F.population is not None:
        what += f", general-population mortality (SMR {F.population.smr:g})"
    if F.spec.waning:
        w = F.spec.waning
        what += f", effect waning {w[0]} from {w[1]:g}" + (f" to {w[2]:g}" if w[2] else "")
        what += f" {lt['time_unit']}"
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
            f"{name}: hazard per year (log scale), posterior median and 95% band",
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
            "model (95% CrI)": _fmt_interval(r, digits=3),
            "Kaplan-Meier": "" if r["km"] is None or r["km"] != r["km"] else f"{r['km']:.3f}",
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
            f"Life-years gained over {lt['horizon_years']:.0f} years: "
            f"{_fmt_interval(lt['life_years_gained'])} undiscounted, "
            f"{_fmt_interval(lt['life_years_gained_discounted'])} discounted at "
            f"{100 * best['derived'].attrs['discount']:g}% a year (posterior "
            "median, 95% CrI)."
        )
