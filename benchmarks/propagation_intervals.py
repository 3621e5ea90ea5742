"""Per-interval events and censorings of the reconstruction draws against the simulated truth.

The coarse design of ``bench_propagation.py`` (numbers at risk at 0 and 30 only, sparse
clicks): for each trial (the benchmark's trials and seeds) and arm, the mean over the K draws
of the events and censorings in each time bin minus the simulated IPD's, and the draws' mean
Weibull MLE log HR minus the IPD's. ``--variant`` swaps parts of the draw code for diagnosis
(monkeypatched here, the library is not changed): ``a36`` the minimum follow-up fixed at its
true 36 months, ``end60`` the cut-off's end at the true 60, ``atrisk`` each interval's
censorings placed with density S(t) (1 + b (2u - 1)), ``noevt`` the unseen steps'
event times not drawn, ``nosplit`` no split of a slope at 30, ``noredraw`` no redraws.

    .venv/bin/python benchmarks/propagation_intervals.py --reps 150 --draws 10
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import bayesurv.reconstruct as R

sys.path.insert(0, str(Path(__file__).parent))
import bench_propagation as bp

from bayesurv.batch.tasks import task_seed
from bayesurv.emulate import at_risk_table, emulate_clicks
from bayesurv.propagation import imputations

BINS = np.array([0, 10, 20, 30, 40, 50, 55, 1e9])
LAB = ["0-10", "10-20", "20-30", "30-40", "40-50", "50-55", "55-end"]


def counts(df):
    t, e = df["time"].to_numpy(), df["event"].to_numpy()
    i = np.searchsorted(BINS, t, side="right") - 1
    ev = np.bincount(i[e == 1], minlength=len(LAB))
    ce = np.bincount(i[e == 0], minlength=len(LAB))
    return ev, ce


FIT = True
fitter, fkw = bp._fitter("laplace")
fkw = dict(fkw, draws=50)


def run(reps, K, seed=2026, design="coarse", tag=""):
    cfg = bp.DESIGNS[design]
    rows = []
    t0 = time.time()
    for rep in range(reps):
        rng = np.random.default_rng([seed, rep])
        ipd = bp.simulate(rng)
        arms = {}
        for k, (label, g) in enumerate(ipd.groupby("arm", sort=True)):
            t, e = g["time"].to_numpy(), g["event"].to_numpy()
            clicks = emulate_clicks(
                t, e, style=cfg["style"], x_max=bp.ANALYSIS, seed=int(rng.integers(2**31)) + k
            )
            kw = {
                "curve": clicks,
                "at_risk": at_risk_table(t, np.arange(0.0, t.max(), cfg["nar_every"])),
            }
            if cfg["total_events"]:
                kw["total_events"] = int(e.sum())
            arms[label] = kw
        best, sets = imputations(arms, draws=K, seed=task_seed(seed, f"{design}/{rep:04d}"))
        fitinfo = {}
        if FIT:

            def lh(d):
                return float(fitter(d, seed=1, **fkw).attrs["mode"][2])

            fitinfo = dict(
                lhr_true=lh(ipd),
                lhr_det=lh(best),
                lhr_draws=np.mean([lh(s) for s in sets]),
                lhr_draws_sd=np.std([lh(s) for s in sets], ddof=1),
            )
        for label in ("control", "treated"):
            tr = ipd[ipd.arm == label]
            evt, cet = counts(tr)
            evb, ceb = counts(best[best.arm == label])
            evd = np.mean([counts(s[s.arm == label])[0] for s in sets], axis=0)
            ced = np.mean([counts(s[s.arm == label])[1] for s in sets], axis=0)
            rows.append(
                dict(
                    rep=rep,
                    arm=label,
                    tmax=tr.time.max(),
                    **fitinfo,
                    **{f"ev_true_{b}": v for b, v in zip(LAB, evt, strict=True)},
                    **{f"ce_true_{b}": v for b, v in zip(LAB, cet, strict=True)},
                    **{f"ev_det_{b}": v for b, v in zip(LAB, evb, strict=True)},
                    **{f"ce_det_{b}": v for b, v in zip(LAB, ceb, strict=True)},
                    **{f"ev_draw_{b}": v for b, v in zip(LAB, evd, strict=True)},
                    **{f"ce_draw_{b}": v for b, v in zip(LAB, ced, strict=True)},
                )
            )
    df = pd.DataFrame(rows)
    print(f"{tag} {reps} trials K={K} seed={seed}: {time.time() - t0:.0f} s")
    return df


def table(df):
    out = []
    for arm, g in df.groupby("arm"):
        for kind in ("ev", "ce"):
            for b in LAB:
                dd = g[f"{kind}_draw_{b}"] - g[f"{kind}_true_{b}"]
                de = g[f"{kind}_det_{b}"] - g[f"{kind}_true_{b}"]
                out.append(
                    dict(
                        arm=arm,
                        kind=kind,
                        bin=b,
                        truth=g[f"{kind}_true_{b}"].mean(),
                        draw_minus_truth=dd.mean(),
                        se=dd.std(ddof=1) / np.sqrt(len(g)),
                        det_minus_truth=de.mean(),
                        se_det=de.std(ddof=1) / np.sqrt(len(g)),
                    )
                )
    return pd.DataFrame(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=150)
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument(
        "--variant",
        default="",
        help="comma-separated, of a36, end60, atrisk, noevt, nosplit, noredraw",
    )
    args = ap.parse_args(argv)
    V.update(x for x in args.variant.split(",") if x)
    R._tail_censoring, R._place = tail, place
    if "noevt" in V:  # the unseen steps' event times as the deterministic reconstruction's
        evt = R._event_times
        R._event_times = lambda *a, **k: evt(*a[:-1], None) if len(a) == 7 else evt(*a)
    if "nosplit" in V:  # no split of a slope at a printed time
        R._split_at_nar = lambda t, s, u, *a: (t, s, u)
    if "noredraw" in V:
        R.MAX_REDRAWS = 0
    df = run(args.reps, args.draws, seed=args.seed, tag=args.variant or "as shipped")
    if FIT:
        for c in ("lhr_det", "lhr_draws"):
            d = df.drop_duplicates("rep")
            x = d[c] - d["lhr_true"]
            y = d[c] - np.log(0.7)
            print(
                f"{c}: minus IPD {x.mean():+.4f} (se {x.std(ddof=1) / np.sqrt(len(x)):.4f}), "
                f"minus truth {y.mean():+.4f}; IPD minus truth "
                f"{(d.lhr_true - np.log(0.7)).mean():+.4f}; "
                f"between-draw sd {d.lhr_draws_sd.mean():.4f}"
            )
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(table(df).to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


V: set[str] = set()
_orig_tail = R._tail_censoring
_orig_place = R._place


def tail(iv, n_start, km_prev, rate, rng):
    lo, hi = float(iv.lo), float(iv.cens_hi)
    if n_start <= 0 or hi <= lo:
        return np.empty(0)
    a = rng.uniform(lo, hi)
    if "a36" in V:
        a = 36.0
    top = 60.0 if "end60" in V else hi
    if "a36" in V or "end60" in V:
        cut = rng.uniform(a, top, n_start)
    else:
        cut = rng.uniform(a, hi, n_start)
    if "nodrop" in V:
        rate = 0.0
    drop = lo + rng.exponential(1.0 / rate, n_start) if rate > 0 else np.full(n_start, np.inf)
    c = np.minimum(cut, drop)
    j = np.searchsorted(iv.drop_times, c, side="right") - 1
    level = np.where(j >= 0, np.asarray(iv.levels, float)[np.maximum(j, 0)], km_prev)
    alive = np.clip(level / km_prev, 0.0, 1.0) if km_prev > 0 else np.zeros(n_start)
    keep = (c < hi) & (rng.uniform(size=n_start) < alive)
    return np.sort(c[keep])


def place(c, iv, rng):
    if rng is None or "atrisk" not in V or c <= 0 or iv.known.size >= c:
        return _orig_place(c, iv, rng)
    rest = c - iv.known.size
    lo, hi = iv.lo, iv.cens_hi
    g = np.linspace(lo, hi, 401)
    j = np.searchsorted(iv.drop_times, g, side="right") - 1
    lv = np.where(j >= 0, np.asarray(iv.levels, float)[np.maximum(j, 0)], 1.0)
    lv = lv / lv[0] if lv[0] > 0 else lv
    u = (g - lo) / (hi - lo)
    dens = lv * np.exp(-KAPPA * u) * (1 + iv.tilt * (2 * u - 1))
    cdf = np.concatenate([[0], np.cumsum((dens[1:] + dens[:-1]) / 2)])
    cdf /= cdf[-1]
    spread = np.interp(rng.uniform(size=rest), cdf, g)
    return np.sort(np.concatenate([iv.known, spread]))


KAPPA = 0.0


if __name__ == "__main__":
    sys.exit(main())
