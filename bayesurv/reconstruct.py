"""Individual patient data (IPD) from a digitized Kaplan-Meier curve and its numbers at risk.

The model
---------
Within each numbers-at-risk (NAR) interval [T_i, T_{i+1}) the KM curve falls only at event
times, by the factor (1 - d_j / n_j); censoring removes patients without moving the curve. The
clicked curve fixes the size of every fall, the table fixes how many are still at risk at each
T_i, and the censoring between is unobserved. Following Guyot et al. (BMC Med Res Methodol
2012;12:9), censoring within an interval is spread evenly in time and the events at each click
are ``d_j = round(n_j * (1 - S_j / KM_prev))``, with ``KM_prev`` the *reconstructed* KM before
the click, so rounding errors never accumulate.

What bayesurv does beyond Guyot (``method="bayesurv"``, the default; ``method="guyot"`` runs the
original algorithm for comparison), each measured in ``benchmarks/reconstruction_accuracy.py``:

* clicks are cleaned along the curve, in both axes (:func:`bayesurv.evidence.curves.clean_curve`),
  so noise in time at a vertical drop does not split it into two half-drops;
* the number censored in each interval is *solved*, not iterated: the count n_end(c) at risk at
  the end of an interval falls as the number censored c rises, so a bisection finds the largest c
  leaving at least n_{i+1} at risk, and the remaining gap from rounding (at most a few patients)
  is censored after the interval's last event. It ends in O(log n) steps for any input (Guyot's
  loop can cycle) and matches every number at risk exactly whenever the curve allows it;
* numbers at risk the curve cannot support (more at risk at T_{i+1} than the drop allows even
  with no censoring) are reported with the interval and the numbers, not silently overwritten;
* after the last NAR time the censoring hazard of the preceding interval is carried forward
  (Guyot assumes the average number censored per unit time of the whole follow-up, which
  ignores that fewer patients remain at risk late), and a reported total of events is matched
  exactly;
* the reconstruction can be repeated at random (``draws=``) over what the figure does not pin,
  to show how much the result depends on it, and to carry it into a fit
  (:mod:`bayesurv.propagation`); for small arms this is the honest statement of uncertainty.
  A draw, where the deterministic reconstruction makes one fixed choice:

  - places each interval's censorings (their number is pinned by the table) at random with a
    density ``1 + b (2u - 1)`` over the interval's share u, ``b ~ U(-1, 1)`` per interval
    (early or late censoring, not only even). A density that follows the patients at risk,
    ``S(t) (1 + b (2u - 1))`` (a constant dropout hazard), was tried and not kept: it removes
    a bias where censoring before the last printed time is dropout alone, and makes one where
    an analysis cut-off begins inside the interval (censoring rising to its end; on 40
    simulated trials, table every 36 months, total given, the IPD's HR fell within the draws'
    90% spread in 67.5% of trials, against 95% with this one);
  - splits the drop of a slope that straddles a printed time (the clicks skip steps there) at
    random, ``Binomial(m, p)`` of its ``m`` events before the printed time, ``p`` the share of
    the slope before it (the deterministic reconstruction puts them all after it, so the
    table's count makes the interval before have too few events and too many censored);
  - draws the censoring after the last printed time, which nothing in the figure pins, for
    each patient at risk there: dropout at the hazard carried from the interval before, from
    its Jeffreys posterior ``Gamma(c + 1/2, PT)`` (c censored in PT person-time), and the
    analysis cut-off of staggered entry, follow-up ``U(a, end)`` with the minimum follow-up
    ``a ~ U(last printed time, end)`` unknown; a patient is censored at the earlier of the two
    if still event-free then (probability ``S(t) / S(last printed time)`` from the curve).
    The deterministic reconstruction carries the dropout hazard alone and misses a cut-off
    that starts after the last printed time (unless a reported total pins the count);
  - draws the times of the events of steps the clicks do not show (a sloped stretch between
    clicks) uniformly over that stretch;
  - is drawn again (at most MAX_REDRAWS times) when its KM leaves the curve by more than the
    reading's error allows, where the deterministic reconstruction follows it: the draws are
    the prior above conditioned on the clicks.

  On simulated trials of ``benchmarks/bench_propagation.py`` with numbers at risk at 0 and 30
  months only (administrative censoring from 36), the deterministic reconstruction has 7-10
  events too many after 30 months per arm; the draws' mean number censored after 30 is within a
  patient or two of the truth (``tests/test_reconstruct_draws.py``). On 40 simulated trials
  (exponential arms, HR 0.7, 200 per arm, accrual over 36 months, analysis at 60, corner clicks)
  the IPD's Cox HR lies within the draws' 90% spread (|mean - truth| < 1.645 SD of 20 draws)
  with a table every 12, 24 or 36 months in 90%, 87.5%, 82.5% of trials without total events and
  87.5%, 82.5%, 95% with them (the slow test in ``tests/test_reconstruct_draws.py`` runs the
  36-month case); before these draws 82.5%, 85%, 32.5% and 87.5%, 95%, 97.5% (censoring times
  drawn flat alone: 55-65%). The hazard carried past the last printed time missed the cut-off's
  censoring that only begins after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from bayesurv.errors import InputError
from bayesurv.evidence.curves import CleanedCurve, check_at_risk, clean_curve
from bayesurv.intervals import summary, width
from bayesurv.nonparametric import (
    kaplan_meier,
    step_distance,
    step_median,
    step_rmst,
    step_value,
)

METHODS = ("bayesurv", "guyot")
#: Guyot's loop is capped at this many updates per interval (the R code has no cap).
GUYOT_MAX_ITER = 1000
#: a random reconstruction (``draws=``) whose KM leaves the curve is drawn again at most this
#: many times
MAX_REDRAWS = 20
#: drops within this fraction of the time range before a NAR time may be moved onto it when
#: the table cannot hold them otherwise (about 6 pixels on a 600-pixel-wide figure).
BOUNDARY_TOLERANCE = 0.01


@dataclass
class Reconstruction:
    """Reconstructed IPD and the accuracy report that goes with it."""

    ipd: pd.DataFrame
    report: dict
    curve: CleanedCurve
    at_risk: pd.DataFrame | None = None
    draws: list[pd.DataFrame] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# the per-interval engine (bayesurv method)
# --------------------------------------------------------------------------------------------
def _round(x: float) -> int:
    return int(np.floor(x + 0.5))


def _events_given_censoring(levels, drop_times, cens_times, n_start, km_prev):
    """Sequential Guyot step: events at each drop given censoring times; returns (d, km, n_end)."""
    d = np.zeros(len(levels), dtype=int)
    removed = 0
    cens_before = np.searchsorted(cens_times, drop_times, side="left")
    for j, level in enumerate(levels):
        n_j = n_start - removed - cens_before[j]
        if n_j <= 0 or km_prev <= 0:
            continue
        x = n_j * (1.0 - level / km_prev)
        dj = min(max(_round(x), 0), n_j)
        if dj:
            d[j] = dj
            removed += dj
            km_prev *= 1.0 - dj / n_j
    return d, km_prev, n_start - removed - len(cens_times)


@dataclass
class _Interval:
    """One numbers-at-risk interval: its drops, the censor marks read in it (``known``) and
    the latest time a censoring may be placed (``cens_hi``: the interval's end, or the final
    drop when the curve ends by dropping to 0, whose last patients must still be at risk).
    ``tilt`` (in [-1, 1], a draw's) makes the density of the censorings that the marks do not
    place ``1 + tilt (2u - 1)`` over the interval's share ``u``, in place of a flat one."""

    lo: float
    hi: float
    drop_times: np.ndarray
    levels: np.ndarray
    known: np.ndarray = field(default_factory=lambda: np.empty(0))
    cens_hi: float | None = None
    tilt: float = 0.0

    def __post_init__(self):
        if self.cens_hi is None:
            self.cens_hi = self.hi


def _place(c: int, iv: _Interval, rng: np.random.Generator | None) -> np.ndarray:
    """``c`` censoring times in the interval: the censor marks read there first (all of them,
    or ``c`` of them evenly by rank when there are more marks than censorings), the rest spread
    evenly (at random with ``rng``) over ``[lo, cens_hi)``."""
    if c <= 0:
        return np.empty(0)
    known = iv.known
    if known.size >= c:
        return known[np.round(np.linspace(0, known.size - 1, c)).astype(int)]
    rest = c - known.size
    lo, hi = iv.lo, iv.cens_hi
    if rng is None:
        spread = lo + (hi - lo) * np.arange(1, rest + 1) / (rest + 1)
    else:
        spread = lo + (hi - lo) * _tilted(rng.uniform(size=rest), iv.tilt)
    return np.sort(np.concatenate([known, spread]))


def _tilted(p: np.ndarray, tilt: float) -> np.ndarray:
    """Quantiles ``u`` of the density ``1 + tilt (2u - 1)`` on [0, 1] at probabilities ``p``:
    the root in [0, 1] of ``tilt u^2 + (1 - tilt) u = p``."""
    if abs(tilt) < 1e-9:
        return p
    b = 1.0 - tilt
    return 2.0 * p / (b + np.sqrt(b * b + 4.0 * tilt * p))


def _run(iv, c, n_start, km_prev, rng, trim=True):
    """Place c censorings in the interval and find the events; with ``trim``, censorings beyond
    the patients left after the last event are dropped (they can only be the latest ones).
    Without it a negative count at the end says that c is too many."""
    cens = _place(c, iv, rng)
    d, km, n_end = _events_given_censoring(iv.levels, iv.drop_times, cens, n_start, km_prev)
    if n_end < 0 and trim:
        cens = cens[: cens.size + n_end]
        n_end = 0
    return cens, d, km, n_end


def _solve_interval(iv: _Interval, n_start: int, target: int, km_prev: float, rng):
    """Largest censoring count leaving >= target at risk at iv.hi, then top up to exactly target."""

    def run(c):
        return _run(iv, c, n_start, km_prev, rng, trim=False)

    lo_c, hi_c = 0, max(n_start - target, 0)
    best = run(0)
    if best[3] < target:
        return best, False
    while lo_c < hi_c:  # invariant: n_end(lo_c) >= target
        mid = (lo_c + hi_c + 1) // 2
        trial = run(mid)
        if trial[3] >= target:
            lo_c, best = mid, trial
        else:
            hi_c = mid - 1
    # neighbours of the largest feasible count can leave as many at risk while following the
    # curve better (a drop to 0 needs its last patient): take the one whose KM ends nearest
    # the curve's level at the end of the interval
    level_end = float(iv.levels[-1]) if len(iv.levels) else km_prev
    cands = [best] + [run(c) for c in range(max(lo_c - 2, 0), lo_c)]
    cands = [x for x in cands if x[3] >= target]
    best = min(cands, key=lambda x: (abs(x[2] - level_end), -len(x[0])))
    cens, d, km, n_end = best
    gap = n_end - target
    if gap > 0:  # rounding left a few too many at risk: censor them after the last event
        last_event = iv.drop_times[d > 0].max(initial=iv.lo)
        lo_gap = max(last_event, iv.lo)
        extra = lo_gap + (iv.cens_hi - lo_gap) * np.arange(1, gap + 1) / (gap + 1)
        cens = np.sort(np.concatenate([cens, extra]))
    return (cens, d, km, target), True


def _censoring_hazard(cens_times, event_times, n_start, lo, hi) -> tuple[int, float]:
    """Censored and person-time at risk in [lo, hi), from that interval's IPD: the censoring
    hazard is their ratio."""
    exits = np.concatenate([cens_times, event_times])
    person_time = np.sum(np.clip(exits, lo, hi) - lo) + (n_start - exits.size) * (hi - lo)
    return len(cens_times), float(person_time)


def _last_interval(
    iv: _Interval, n_start, km_prev, total_left, hazard, rng, span, at_least_end, ends_zero
):
    """Events and censoring after the last NAR time; everyone left is censored at the curve end.

    The number censored is chosen to match a reported total of events, else carried from the
    censoring hazard of the previous interval (at least the censor marks read in this one; only
    the marks without a table). Nothing in the figure pins that count, so a draw (``rng``)
    draws it: the hazard from its Jeffreys posterior Gamma(c + 1/2, person-time) given the
    previous interval's c censored, and each patient's censoring from it and from an unknown
    analysis cut-off (:func:`_tail_censoring`). Two
    things the figure pins cap it: a curve that ends by dropping to 0 (``ends_zero``) keeps a
    patient for that drop, so its KM ends at 0 too, and a table row beyond the last click
    (``at_least_end`` still at risk there) keeps that many to the end of the curve.
    """

    def run(c):
        return _run(iv, c, n_start, km_prev, rng)

    def feasible(c) -> bool:
        _, _, km, n_end = run(c)
        if ends_zero and km > 0:
            return False
        return not at_least_end or n_end >= at_least_end

    def cap(c: int) -> int:
        """Largest count <= c that keeps what the figure pins (feasibility falls as c rises)."""
        if c <= 0 or feasible(c):
            return max(c, 0)
        lo_c, hi_c = 0, c - 1
        while lo_c < hi_c:
            mid = (lo_c + hi_c + 1) // 2
            if feasible(mid):
                lo_c = mid
            else:
                hi_c = mid - 1
        return lo_c

    if total_left is not None:
        # D(c) falls as c rises: find the smallest c with D(c) <= total_left
        lo_c, hi_c = 0, n_start
        if run(0)[1].sum() <= total_left:  # falls too little even uncensored: _reconcile says so
            return run(0)
        while lo_c < hi_c:
            mid = (lo_c + hi_c) // 2
            if run(mid)[1].sum() <= total_left:
                hi_c = mid
            else:
                lo_c = mid + 1
        c = cap(lo_c)
        cens, d, km, n_end = run(c)
        delta = total_left - int(d.sum())
        if delta > 0 and c > 0:  # rounding jumped past the total: one censoring less
            c -= 1
            cens, d, km, n_end = run(c)
            delta = total_left - int(d.sum())
        d, cens = _adjust_events(d, delta, iv, n_start, cens, ends_zero)
        return cens, d, km, n_start - int(d.sum()) - len(cens)
    if hazard is None:  # one interval, no table: only the censor marks say who was censored
        return run(cap(int(iv.known.size)))
    count, person_time = hazard
    rate = count / person_time if person_time > 0 else 0.0
    if rng is not None and person_time > 0:
        rate = rng.gamma(count + 0.5, 1.0 / person_time)
    c, best = 0, run(0)
    for _ in range(20):  # fixed point: c = hazard x person-time at risk in the interval
        cens, d, _, _ = best
        ev = np.repeat(iv.drop_times, d)
        exits = np.concatenate([cens, ev])
        pt = np.sum(np.clip(exits, iv.lo, iv.hi) - iv.lo) + (n_start - exits.size) * span
        new_c = min(max(_round(rate * pt), int(iv.known.size)), n_start)
        if new_c == c:
            break
        c, best = new_c, run(new_c)
    if rng is not None:
        # a draw: the censoring times of the patients at risk, from the dropout carried on and
        # an administrative cut-off whose start (the minimum follow-up) the figure does not show
        tail = _tail_censoring(iv, n_start, km_prev, rate, rng)
        # censor marks read there are some of those censorings: the drawn ones beyond them
        extra = max(tail.size - iv.known.size, 0)
        tail = rng.choice(tail, size=extra, replace=False) if extra < tail.size else tail
        iv = replace(iv, known=np.sort(np.concatenate([iv.known, tail])))
        c = int(iv.known.size)
    return run(cap(c))


def _tail_censoring(iv: _Interval, n_start: int, km_prev: float, rate: float, rng) -> np.ndarray:
    """One draw of the censoring times after the last numbers-at-risk time ``iv.lo``.

    Nothing in the figure pins them: the table has no row after ``iv.lo`` and the curve does
    not fall at a censoring. Two sources are drawn for each of the ``n_start`` patients at
    risk at ``iv.lo``: dropout at the carried hazard ``rate`` (exponential), and the analysis
    cut-off of a trial with staggered entry, follow-up ``F ~ U(a, end)`` with the minimum
    follow-up ``a ~ U(iv.lo, end)`` (end: the latest censoring time, the curve's end). Patient
    i is censored at ``C_i = min(dropout_i, F_i)`` when ``C_i < end`` and they are still
    event-free then, with probability ``S(C_i) / S(iv.lo)`` read off the clicked curve (the
    curve's level at ``C_i`` over the reconstructed KM at ``iv.lo``); the others have their
    event, or are censored at the end. ``a`` near ``iv.lo`` gives the heaviest censoring the
    design allows, ``a`` near the end about the dropout alone (the deterministic
    reconstruction's carried hazard).
    """
    lo, hi = float(iv.lo), float(iv.cens_hi)
    if n_start <= 0 or hi <= lo:
        return np.empty(0)
    a = rng.uniform(lo, hi)
    cut = rng.uniform(a, hi, n_start)
    drop = lo + rng.exponential(1.0 / rate, n_start) if rate > 0 else np.full(n_start, np.inf)
    c = np.minimum(cut, drop)
    j = np.searchsorted(iv.drop_times, c, side="right") - 1
    level = np.where(j >= 0, np.asarray(iv.levels, float)[np.maximum(j, 0)], km_prev)
    alive = np.clip(level / km_prev, 0.0, 1.0) if km_prev > 0 else np.zeros(n_start)
    keep = (c < hi) & (rng.uniform(size=n_start) < alive)
    return np.sort(c[keep])


def _adjust_events(d, delta, iv: _Interval, n_start, cens, ends_zero=False):
    """Move a reported total's last few events (|delta| small) onto the latest drops. When the
    curve ends at 0 (``ends_zero``) the last drop keeps its events and an excess event elsewhere
    becomes a censoring at its drop, so that the KM still ends at 0."""
    d = d.copy()
    if delta == 0:
        return d, cens
    order = np.argsort(-iv.drop_times)
    last_event = order[d[order] > 0][0] if ends_zero and (d > 0).any() else None
    for j in order:
        if delta == 0:
            break
        if delta < 0 and d[j] > 0 and j != last_event:
            take = min(d[j], -delta)
            d[j] -= take
            delta += take
            if ends_zero:
                cens = np.sort(np.concatenate([cens, np.full(take, iv.drop_times[j])]))
        elif delta > 0 and iv.levels[j] < (iv.levels[j - 1] if j > 0 else 1.0) - 1e-12:
            # only a patient still at risk at the curve's end is free to die here: the others
            # past this drop die or are censored later (random censoring times in draws= can
            # leave none); what is still missing goes to _reconcile, which swaps censorings
            left = n_start - int(d.sum()) - cens.size
            add = int(min(delta, max(left, 0)))
            d[j] += add
            delta -= add
    return d, cens


def _snap(step_t, step_s, step_upper, which, to):
    """Move the points ``which`` to time ``to``, merging them with a point already there."""
    t = np.where(which, to, step_t)
    uniq, inv = np.unique(t, return_inverse=True)
    lvl = np.full(uniq.size, np.inf)
    up = np.full(uniq.size, -np.inf)
    np.minimum.at(lvl, inv, step_s)
    np.maximum.at(up, inv, step_upper)
    return uniq, lvl, up


def _engine(
    step_t,
    step_s,
    step_upper,
    nar_t,
    nar_n,
    t_end,
    total_events,
    rng,
    warnings,
    censor_times=None,
    at_least_end=None,
):
    """The bayesurv method. Returns drop times, events per drop, censoring times, NAR achieved,
    and the step curve actually used (drops a hair before a NAR time may be moved onto it).

    ``censor_times`` (censor marks read off the figure) are placed first in each interval;
    ``at_least_end`` is the number a table row beyond the last click says are still at risk.
    """
    snapped: list[str] = []
    m = len(nar_t)
    bounds = np.append(nar_t, t_end)
    ev_t, ev_d, cens_all, achieved = [], [], [], [int(nar_n[0])]
    km_prev, n_start, events_so_far = 1.0, int(nar_n[0]), 0
    hazard = None
    marks = np.sort(np.asarray(censor_times if censor_times is not None else [], dtype=float))
    # a curve that ends by dropping to 0: its last patients die in that drop, so no censoring
    # is placed from the time it reaches 0
    ends_zero = bool(step_s[-1] <= 0)
    final_t = float(step_t[np.flatnonzero(step_s <= 0)[0]]) if ends_zero else None

    def interval(lo, hi, last, step_t, step_s, tilt=0.0):
        mask = (step_t >= lo) & ((step_t <= hi) if last else (step_t < hi)) & (step_t > 0)
        inside = (marks >= lo) & ((marks <= hi) if last else (marks < hi))
        cens_hi = hi
        if final_t is not None and lo <= final_t and (final_t <= hi if last else final_t < hi):
            cens_hi = final_t
            inside &= marks < final_t
        iv = _Interval(lo, hi, step_t[mask], step_s[mask], marks[inside], cens_hi, tilt)
        return mask, iv

    for i in range(m):
        lo, hi = bounds[i], bounds[i + 1]
        last = i == m - 1
        # a draw also draws how the interval's censorings lean in time: the table pins their
        # number, not whether they came early or late
        tilt = float(rng.uniform(-1.0, 1.0)) if rng is not None else 0.0
        mask, iv = interval(lo, hi, last, step_t, step_s, tilt)
        if not last:
            target = int(nar_n[i + 1])
            (cens, d, km, n_end), ok = _solve_interval(iv, n_start, target, km_prev, rng)
            near = mask & (step_t >= hi - BOUNDARY_TOLERANCE * t_end)
            if not ok and near.any():
                # drops clicked a hair before a NAR time are events at it (integer-valued times
                # tie with the table's times, and click noise puts half of them just before)
                step_t, step_s, step_upper = _snap(step_t, step_s, step_upper, near, hi)
                snapped.append(f"{int(near.sum())} drop(s) just before {hi:g}")
                mask, iv = interval(lo, hi, last, step_t, step_s, tilt)
                (cens, d, km, n_end), ok = _solve_interval(iv, n_start, target, km_prev, rng)
            if not ok:
                warnings.append(
                    "numbers at risk the curve cannot support: in "
                    f"[{lo:g}, {hi:g}) the curve falls "
                    f"from {_level_before(step_t, step_s, lo):.3f} to "
                    f"{_level_before(step_t, step_s, hi):.3f}, which with {n_start} at risk means "
                    f"at least {n_start - n_end} events, leaving at most {n_end} at risk at "
                    f"{hi:g}, but the table says {target}; the curve was followed ({n_end} at "
                    "risk), so check the clicks near this interval and the table"
                )
            hazard = _censoring_hazard(cens, np.repeat(iv.drop_times, d), n_start, lo, hi)
        else:
            total_left = None if total_events is None else int(total_events) - events_so_far
            cens, d, km, n_end = _last_interval(
                iv,
                n_start,
                km_prev,
                None if total_left is None else max(total_left, 0),
                hazard if m > 1 else None,
                rng,
                hi - lo,
                at_least_end,
                ends_zero,
            )
            if at_least_end and n_end < at_least_end:
                warnings.append(
                    f"the table says at least {at_least_end} are still at risk after the last "
                    f"click ({t_end:g}), but the curve's fall from {lo:g} leaves at most {n_end}; "
                    "check the clicks after the last numbers-at-risk time"
                )
        ev_t.append(iv.drop_times)
        ev_d.append(d)
        cens_all.append(cens)
        events_so_far += int(d.sum())
        km_prev, n_start = km, int(n_end)
        if not last:
            achieved.append(n_start)
    cens = np.sort(np.concatenate(cens_all + [np.full(n_start, t_end)]))
    drop_t, d = np.concatenate(ev_t), np.concatenate(ev_d)
    if snapped:
        warnings.append(
            "moved onto the numbers-at-risk time (the table cannot hold them otherwise): "
            + "; ".join(snapped)
        )
    if total_events is not None and int(d.sum()) != int(total_events):
        d, cens = _reconcile(
            drop_t, step_t, step_s, d, cens, int(nar_n[0]), bounds, total_events, ends_zero
        )
        if int(d.sum()) != int(total_events):
            warnings.append(
                f"the curve allows {int(d.sum())} events, not the {int(total_events)} reported; "
                "check the total and the clicks"
            )
    return drop_t, d, cens, (step_t, step_s, step_upper)


def _reconcile(drop_t, step_t, step_s, d, cens, n0, bounds, total, ends_zero=False):
    """Match a reported total of events exactly while keeping every number at risk.

    An excess event becomes a censoring at the same time (the patient still leaves then); a
    missing event takes the place of the next censoring in the same numbers-at-risk interval
    (or, where there is none, of an earlier one there, at a drop of the curve). Each change
    goes to a drop whose rounding went the other way, where it moves the curve's area least
    (late drops: the KM moves by about S/n from there to the end). When the curve ends at 0
    (``ends_zero``) its last drop with events keeps them all.
    """
    d = d.copy()
    cens = np.sort(cens)
    levels = step_s[np.searchsorted(step_t, drop_t)]
    for _ in range(abs(int(d.sum()) - int(total))):
        delta = int(total) - int(d.sum())
        if delta == 0:
            break
        cum_d = np.concatenate([[0], np.cumsum(d)[:-1]])
        n_j = n0 - cum_d - np.searchsorted(cens, drop_t, side="left")
        with np.errstate(divide="ignore", invalid="ignore"):
            factors = np.where(n_j > 0, 1 - d / np.maximum(n_j, 1), 1.0)
        km_prev = np.concatenate([[1.0], np.cumprod(factors)[:-1]])
        x = n_j * (1 - levels / np.where(km_prev > 0, km_prev, 1.0))
        resid = x - d
        # moving one event changes the KM by about S/n_j from that time to the end: prefer the
        # change that costs the least area, among drops whose rounding went the other way
        with np.errstate(divide="ignore", invalid="ignore"):
            cost = np.where(n_j > 0, km_prev / np.maximum(n_j, 1), np.inf) * (bounds[-1] - drop_t)
        if delta < 0:
            # a final drop to 0 keeps its events: as a censoring its patient would leave the
            # KM above 0 where the curve ends at 0
            keep = np.flatnonzero(d > 0)[-1:] if ends_zero else []
            cand = np.setdiff1d(np.flatnonzero(d > 0), keep)
            if cand.size == 0:
                break
            up = cand[resid[cand] < 0]
            pool = up if up.size else cand
            j = pool[np.argmin(cost[pool])]
            d[j] -= 1
            cens = np.sort(np.append(cens, drop_t[j]))
        else:
            iv = np.searchsorted(bounds, drop_t, side="right") - 1
            iv = np.clip(iv, 0, len(bounds) - 2)
            hi = bounds[iv + 1]
            last_iv = iv == len(bounds) - 2
            k_next = np.searchsorted(cens, drop_t, side="left")
            ok = (k_next < cens.size) & (n_j - d > 0)
            ok &= np.where(
                last_iv,
                cens[np.minimum(k_next, cens.size - 1)] <= hi,
                cens[np.minimum(k_next, cens.size - 1)] < hi,
            )
            cand = np.flatnonzero(ok)
            take = k_next
            if cand.size == 0:
                # else a censoring earlier in the same interval: that patient stays at risk
                # up to a drop of the curve and dies there (the numbers at risk stay the same)
                idx = np.searchsorted(step_t, drop_t)
                prev_level = np.where(idx > 0, step_s[np.maximum(idx - 1, 0)], 1.0)
                take = k_next - 1
                ok = (take >= 0) & (levels < prev_level - 1e-12)
                ok &= cens[np.maximum(take, 0)] >= bounds[iv]
                cand = np.flatnonzero(ok)
            if cand.size == 0:
                break
            down = cand[resid[cand] > 0]
            pool = down if down.size else cand
            j = pool[np.argmin(cost[pool])]
            d[j] += 1
            cens = np.delete(cens, take[j])
    return d, cens


def _event_times(drop_t, d, step_t, step_s, step_upper, bounds, rng=None) -> np.ndarray:
    """Times of the events at each drop. The part of a drop that the clicks show as vertical
    (from ``upper`` to the level at that time) is placed at the click; the part between the
    previous click's level and ``upper`` happened at unseen times since the previous click and
    is spread evenly over that gap (never across a numbers-at-risk time; at random times in it
    with ``rng``, a draw's). A sloped part worth less than two events is taken as click noise."""
    idx = np.searchsorted(step_t, drop_t)
    prev_t = np.where(idx > 0, step_t[np.maximum(idx - 1, 0)], 0.0)
    prev_s = np.where(idx > 0, step_s[np.maximum(idx - 1, 0)], 1.0)
    lo = bounds[np.clip(np.searchsorted(bounds, drop_t, side="right") - 1, 0, None)]
    start = np.maximum(prev_t, lo)
    total_drop = prev_s - step_s[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(total_drop > 0, (prev_s - step_upper[idx]) / total_drop, 0.0)
    frac = np.clip(frac, 0.0, 1.0)
    out = []
    for t, dj, f, s0 in zip(drop_t, d, frac, start, strict=True):
        if dj == 0:
            continue
        # a sloped part worth fewer than two events is within click noise: keep it at the click
        k = _round(f * dj) if f * dj >= 1.75 else 0
        if k == 0 or t <= s0:
            out.append(np.full(dj, t))
            continue
        gap = t - s0
        if rng is not None:  # the unseen steps' times are not pinned: a draw draws them
            u = np.sort(rng.uniform(size=k - 1 if k == dj else k))
            out.append(np.concatenate([s0 + gap * u, np.full(dj - u.size, t)]))
        elif k == dj:
            out.append(s0 + gap * np.arange(1, k + 1) / k)
        else:
            out.append(
                np.concatenate([s0 + gap * np.arange(1, k + 1) / (k + 1), np.full(dj - k, t)])
            )
    return np.concatenate(out) if out else np.empty(0)


def _split_at_nar(step_t, step_s, step_upper, nar_t, nar_n, rng):
    """One draw of the curve's level at each numbers-at-risk time that no click pins.

    When the clicks skip steps, a drop that the next click after a printed time T shows only
    as a slope (from the level of the click before T to the highest point clicked after it)
    happened somewhere between the two clicks, so the figure does not say how many of its
    events came before T, in the interval that ends there, and how many after. The
    deterministic reconstruction puts them all after T. A draw splits them as the events of
    an unseen stretch are placed elsewhere (uniformly in time over it, :func:`_event_times`):
    of the ``m ~ n_T (1 - upper / level)`` events of the slope (``n_T`` the number at risk at
    T), ``Binomial(m, p)`` came before T, ``p`` the share of the stretch before T; they become
    a point a hair before T at the level ``level - f (level - upper)``, ``f`` their share.
    A click at T itself, or a slope worth less than an event, is left as it is.
    """
    t, s, u = step_t, step_s, step_upper
    span = float(t[-1]) if t.size else 0.0
    add_t, add_s = [], []
    for T, n_T in zip(nar_t[1:], nar_n[1:], strict=True):
        j = int(np.searchsorted(t, T, side="left"))
        if j >= t.size or t[j] == T or n_T <= 0:
            continue
        t0, s0 = (float(t[j - 1]), float(s[j - 1])) if j > 0 else (0.0, 1.0)
        top = min(float(u[j]), s0)
        if s0 <= 0 or s0 - top <= 1e-12 or not t0 < T < t[j]:
            continue
        m = _round(n_T * (1.0 - top / s0))
        if m <= 0:
            continue
        f = rng.binomial(m, (T - t0) / (t[j] - t0)) / m
        if f > 0:
            add_t.append(T - min(1e-6 * span, 0.5 * (T - t0)))
            add_s.append(s0 - f * (s0 - top))
    if not add_t:
        return t, s, u
    order = np.argsort(np.concatenate([t, add_t]), kind="stable")
    new_s = np.concatenate([s, add_s])[order]
    new_u = np.concatenate([u, add_s])[order]
    return np.concatenate([t, add_t])[order], new_s, new_u


def _level_before(step_t, step_s, t):
    idx = np.searchsorted(step_t, t, side="left") - 1
    return float(step_s[idx]) if idx >= 0 else 1.0


# --------------------------------------------------------------------------------------------
# Guyot et al. (2012), as published (for comparison)
# --------------------------------------------------------------------------------------------
def _guyot(t_s, s, nar_t, nar_n, total_events, warnings):
    """Guyot's algorithm following the published R code line by line (1-based indices kept in
    comments); the only change is a cap of GUYOT_MAX_ITER on each adjustment loop."""
    n_t = len(t_s)
    n_int = len(nar_t)
    n_risk = np.array(nar_n, dtype=float)
    lower = np.array([np.searchsorted(t_s, T, side="left") for T in nar_t])
    upper = np.append(lower[1:] - 1, n_t - 1)
    cen = np.zeros(n_t, dtype=int)
    n_hat = np.full(n_t + 1, n_risk[0] + 1.0)
    d = np.zeros(n_t, dtype=int)
    km_hat = np.ones(n_t)
    last_i = np.zeros(n_int, dtype=int)
    n_censor = np.zeros(n_int, dtype=int)

    def spread(i, c, lo_t, hi_t, idx_lo, idx_hi):
        cen[idx_lo : idx_hi + 1] = 0
        if c > 0:
            cen_t = lo_t + np.arange(1, c + 1) * (hi_t - lo_t) / (c + 1)
            breaks = t_s[idx_lo : idx_hi + 2] if idx_hi + 1 < n_t else t_s[idx_lo:]
            counts, _ = np.histogram(cen_t, bins=breaks)
            cen[idx_lo : idx_lo + counts.size] = counts

    def forward(i, last):
        n_hat[lower[i]] = n_risk[i]
        for k in range(lower[i], upper[i] + 1):
            if i == 0 and k == lower[i]:
                d[k], km_hat[k] = 0, 1.0
            else:
                d[k] = _round(n_hat[k] * (1 - s[k] / km_hat[last])) if km_hat[last] != 0 else 0
                km_hat[k] = km_hat[last] * (1 - d[k] / n_hat[k]) if n_hat[k] > 0 else km_hat[last]
            n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
            if n_hat[k + 1] < 0:
                n_hat[k + 1] = 0
                cen[k] = int(n_hat[k] - d[k])
            if d[k] != 0:
                last = k
        return last

    for i in range(n_int - 1):
        ratio = s[lower[i + 1]] / s[lower[i]] if s[lower[i]] > 0 else 0.0  # (R gives NaN here)
        n_censor[i] = _round(n_risk[i] * ratio - n_risk[i + 1])
        it = 0
        while True:
            if n_censor[i] <= 0:
                cen[lower[i] : upper[i] + 1] = 0
                n_censor[i] = 0
            else:
                spread(i, n_censor[i], t_s[lower[i]], t_s[lower[i + 1]], lower[i], upper[i])
            last = forward(i, last_i[i])
            n_censor[i] += int(n_hat[lower[i + 1]] - n_risk[i + 1])
            it += 1
            over = n_hat[lower[i + 1]] > n_risk[i + 1]
            under = n_hat[lower[i + 1]] < n_risk[i + 1] and n_censor[i] > 0
            if not (over or under):
                break
            if it >= GUYOT_MAX_ITER:
                warnings.append(
                    f"Guyot's loop did not settle in [{nar_t[i]:g}, {nar_t[i + 1]:g}) after "
                    f"{GUYOT_MAX_ITER} updates (the published code would run for ever)"
                )
                break
        if n_hat[lower[i + 1]] < n_risk[i + 1]:
            warnings.append(
                f"Guyot overwrote the number at risk at {nar_t[i + 1]:g}: the table says "
                f"{int(n_risk[i + 1])}, the curve allows {int(n_hat[lower[i + 1]])}"
            )
            n_risk[i + 1] = n_hat[lower[i + 1]]
        last_i[i + 1] = last
    # last interval: the average number censored per unit time of the earlier intervals
    li = n_int - 1
    if n_int > 1:
        span_prev = t_s[upper[li - 1]] - t_s[lower[0]]
        rate = n_censor[:li].sum() * (t_s[upper[li]] - t_s[lower[li]]) / span_prev
        n_censor[li] = min(_round(rate), int(n_risk[li]))
    else:
        n_censor[li] = 0

    def last_pass():
        if n_censor[li] <= 0:
            cen[lower[li] : upper[li]] = 0
            n_censor[li] = 0
        else:
            spread(li, n_censor[li], t_s[lower[li]], t_s[upper[li]], lower[li], upper[li] - 1)
            cen[upper[li]] = 0
        return forward(li, last_i[li])

    last_pass()
    if total_events is not None:
        sum_dl = d[: upper[li - 1] + 1].sum() if n_int > 1 else 0
        if n_int > 1 and sum_dl >= total_events:
            d[lower[li] : upper[li] + 1] = 0
            cen[lower[li] : upper[li]] = 0
        else:
            sumd = d[: upper[li] + 1].sum()
            it = 0
            while (sumd > total_events) or (sumd < total_events and n_censor[li] > 0):
                n_censor[li] = max(n_censor[li] + int(sumd - total_events), 0)
                last_pass()
                sumd = d[: upper[li] + 1].sum()
                it += 1
                if it >= GUYOT_MAX_ITER:
                    warnings.append("Guyot's total-events loop did not settle")
                    break
    # IPD as the published code writes it: events at click times, censoring at the midpoints
    # between clicks, everyone else censored at the last click
    n = int(nar_n[0])
    ev_t = np.repeat(t_s, d)
    mids = (t_s[:-1] + t_s[1:]) / 2
    cens_t = np.repeat(mids, cen[:-1])
    rest = n - ev_t.size - cens_t.size
    if rest < 0:
        warnings.append(f"Guyot's reconstruction has {-rest} more patients than the arm; trimmed")
        cens_t = cens_t[: max(cens_t.size + rest, 0)]
        rest = 0
    cens_t = np.concatenate([cens_t, np.full(rest, t_s[-1])])
    return ev_t, cens_t


def _classic_clean(raw_t, raw_s):
    """Guyot's preprocessing: sort by time, force the curve non-increasing, start at (0, 1)."""
    order = np.lexsort((-raw_s, raw_t))
    t, s = raw_t[order], np.minimum.accumulate(raw_s[order])
    if t[0] > 0 or s[0] < 1:
        t, s = np.concatenate([[0.0], t]), np.concatenate([[1.0], s])
    return t, s


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def reconstruct(
    curve: pd.DataFrame | CleanedCurve,
    at_risk: pd.DataFrame | None = None,
    *,
    total_events: int | None = None,
    n: int | None = None,
    method: str = "bayesurv",
    percent: bool | None = None,
    cumulative_incidence: bool = False,
    draws: int = 0,
    seed: int = 0,
    ci: float | None = None,
    time_unit: float | None = None,
    censor_times=None,
    reading_error: float | None = None,
    source: str = "curve",
    at_risk_source: str = "numbers at risk",
) -> Reconstruction:
    """Reconstruct IPD (``time``, ``event``) from a digitized KM curve and its numbers at risk.

    Parameters
    ----------
    curve : digitized points (``time``, ``survival``; raw clicks are cleaned here) or a
        :class:`~bayesurv.evidence.curves.CleanedCurve`.
    at_risk : numbers-at-risk table (``time``, ``at_risk``) starting at time 0; optional.
    total_events : the arm's reported number of events, matched exactly when given.
    n : number of patients, needed when there is no numbers-at-risk table.
    method : ``"bayesurv"`` (default) or ``"guyot"`` (the published algorithm, for comparison).
    draws : repeat the reconstruction this many times at random over what the figure does not
        pin (censoring times within each interval, the split of a slope at a printed time, the
        censoring after the last printed time, the times of unseen steps' events; see the
        module docstring), to report how much the result depends on it (``bayesurv`` method
        only). ``report["uncertainty"]["redrawn"]``: how many draws were drawn again because
        their KM left the curve.
    seed : seed for ``draws``.
    ci : the width of the draws' equal-tailed range of the median and RMST in
        ``report["uncertainty"]`` (its ``ci``); default the width in force
        (:func:`bayesurv.intervals.ci_width`: a spec's ``ci``), 0.95 unless set.
    time_unit : the resolution in which the trial recorded times (1 for whole weeks when the
        axis is in weeks): event times are rounded to it. ``None`` detects whole units when the
        drops sit on them (at least 20 drops, mean distance to a whole number, weighted by the
        size of each drop, below 0.15 where 0.25 is expected by chance); ``0`` turns detection off.
    censor_times : times of the censor marks read on the figure (``|``, ``+``, ``/``): each
        interval's censorings are placed there first, the rest spread evenly; without a table
        they are the censorings (none of the peers uses them).
    reading_error : how far the curve as read may be from the truth (survival units; default
        0.01, about two pixels). The trust line says where the reconstructed KM is further from
        the curve than this plus one event's step.

    Returns
    -------
    Reconstruction with ``.ipd`` (DataFrame ``time``, ``event``) and ``.report`` (dict).

    Examples
    --------
    >>> clicks = pd.DataFrame({"time": [0, 2, 2, 5, 5, 9, 9, 12],
    ...                        "survival": [1, 1, .9, .9, .75, .75, .6, .6]})
    >>> nar = pd.DataFrame({"time": [0, 6], "at_risk": [20, 14]})
    >>> r = reconstruct(clicks, nar, total_events=8)
    >>> len(r.ipd), int(r.ipd["event"].sum()), r.report["at_risk"][1]["reconstructed"]
    (20, 8, 14)
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    level = width(ci)  # the draws' range; a bad width is refused before the work
    cleaned = (
        curve
        if isinstance(curve, CleanedCurve)
        else clean_curve(
            curve, source=source, percent=percent, cumulative_incidence=cumulative_incidence
        )
    )
    warnings: list[str] = []
    nar, full_nar, at_least_end = _prepare_at_risk(cleaned, at_risk, n, at_risk_source, warnings)
    if total_events is not None:
        if total_events != int(total_events) or total_events < 0:
            raise InputError(f"--total-events {total_events} is not a count; give a whole number.")
        lowest = float(np.min(cleaned.survival))
        if int(total_events) == 0 and lowest < 1.0 - (reading_error or 0.01):
            raise InputError(
                f"--total-events 0, but the curve falls to {lowest:.3f}, so the arm had events; "
                "give the arm's number of events (or leave --total-events out)."
            )
        if total_events > nar["at_risk"].iloc[0]:
            raise InputError(
                f"--total-events {total_events} is more than the {nar['at_risk'].iloc[0]} "
                "patients in the arm; check both numbers."
            )
    marks = _censor_times(censor_times, float(cleaned.time[-1]), source)
    step_t, step_s, step_upper = cleaned.corners()
    step_s, step_upper = _final_zero(step_s, step_upper, warnings)
    unit = _time_unit(step_t, step_s, time_unit, warnings)
    t_end = max(float(step_t[-1]), float(nar["time"].iloc[-1]))
    nar_t = nar["time"].to_numpy(dtype=float)
    nar_n = nar["at_risk"].to_numpy(dtype=int)

    def one(rng, warn):
        if method == "guyot":
            ct, cs = _classic_clean(
                np.asarray(curve["time"], dtype=float)
                if not isinstance(curve, CleanedCurve)
                else cleaned.time,
                _raw_survival(curve, cleaned),
            )
            if ct[-1] < t_end:
                ct, cs = np.append(ct, t_end), np.append(cs, cs[-1])
            ev_t, cens_t = _guyot(ct, cs, nar_t, nar_n, total_events, warn)
        else:
            curve_t, curve_s, curve_u = step_t, step_s, step_upper
            if rng is not None:  # a draw also draws the curve's level at each printed time
                curve_t, curve_s, curve_u = _split_at_nar(
                    step_t, step_s, step_upper, nar_t, nar_n, rng
                )
            et, ed, cens_t, used = _engine(
                curve_t,
                curve_s,
                curve_u,
                nar_t,
                nar_n,
                t_end,
                total_events,
                rng,
                warn,
                censor_times=marks,
                at_least_end=at_least_end,
            )
            ev_t = _event_times(et, ed, *used, np.append(nar_t, t_end), rng)
            if unit:  # the trial recorded whole units: every time, events and censoring, is one
                ev_t = np.maximum(np.round(ev_t / unit) * unit, unit)
                cens_t = np.maximum(np.round(cens_t / unit) * unit, unit)
        ipd = pd.DataFrame(
            {
                "time": np.concatenate([ev_t, cens_t]),
                "event": np.concatenate([np.ones(ev_t.size, int), np.zeros(cens_t.size, int)]),
            }
        )
        return ipd.sort_values(
            ["time", "event"], ascending=[True, False], kind="stable"
        ).reset_index(drop=True)

    ipd = one(None, warnings)
    agreement = _agreement(ipd, cleaned, reading_error, unit)
    extra, redrawn = [], 0
    if draws:
        if method != "bayesurv":
            raise InputError("draws= needs method='bayesurv'.")
        rng = np.random.default_rng(seed)
        # a draw is one the figure allows: where the reconstruction follows the curve, a draw
        # whose KM leaves it (too few left at risk late for the drops) is drawn again, up to
        # MAX_REDRAWS times (the draws are then the prior's conditioned on the clicks)
        follows = agreement["ok"]
        for _ in range(int(draws)):
            x = one(rng, [])
            for _ in range(MAX_REDRAWS if follows else 0):
                if _agreement(x, cleaned, reading_error, unit)["ok"]:
                    break
                redrawn += 1
                x = one(rng, [])
            extra.append(x)
    report = accuracy_report(
        ipd, cleaned, full_nar, total_events=total_events, method=method, warnings=warnings
    )
    if marks.size:
        report["censor_marks"] = {
            "given": int(marks.size),
            "used": "placed first in each numbers-at-risk interval"
            if at_risk is not None
            else "the censoring times (no numbers-at-risk table)",
        }
    if extra:
        report["uncertainty"] = _uncertainty(extra, report["rmst"]["to"], seed, level)
        report["uncertainty"]["redrawn"] = redrawn
    report["agreement"] = agreement
    if not report["agreement"]["ok"]:
        warnings.append(f"{source}: {report['agreement']['text']}")
        report["warnings"] = list(warnings)
    report["trust"] = _trust(
        nar, at_risk is not None, total_events, int(nar_n[0]), report["agreement"], source
    )
    if at_least_end is not None:
        report["trust"] = (
            f"the table's rows after the last click ({float(cleaned.time[-1]):g}) are not used; "
            + report["trust"].replace(
                "numbers at risk at every printed time constrain the result",
                "the numbers at risk up to it constrain the result",
            )
        )
    return Reconstruction(ipd=ipd, report=report, curve=cleaned, at_risk=full_nar, draws=extra)


#: a curve whose last stretch lies this close to 0 has dropped to 0 (a click on the axis line,
#: two pixels of a 400-pixel axis)
ZERO_LEVEL = 0.01


def _final_zero(step_s, step_upper, warnings):
    """A curve ending within ZERO_LEVEL of 0 ends at 0: its last drop takes everyone left."""
    step_s = step_s.copy()
    tail = step_s <= ZERO_LEVEL
    if not tail[-1] or step_s[-1] <= 0:
        return step_s, step_upper
    k = int(np.flatnonzero(~tail)[-1]) + 1 if (~tail).any() else 0
    warnings.append(
        f"the curve ends at {step_s[-1]:.4f}, within {ZERO_LEVEL} of 0: read as a final drop to 0"
    )
    step_s[k:] = 0.0
    upper = step_upper.copy()
    upper[k:] = np.where(upper[k:] <= ZERO_LEVEL, 0.0, upper[k:])
    return step_s, upper


def _censor_times(censor_times, t_last: float, source: str) -> np.ndarray:
    """Validated censor-mark times within the curve (sorted)."""
    if censor_times is None:
        return np.empty(0)
    marks = np.asarray(pd.to_numeric(pd.Series(censor_times), errors="coerce"), dtype=float)
    if np.isnan(marks).any():
        k = int(np.flatnonzero(np.isnan(marks))[0])
        raise InputError(
            f"{source}: censor mark {k + 1} is not a number; give times in the curve's unit."
        )
    if (marks < 0).any():
        k = int(np.flatnonzero(marks < 0)[0])
        raise InputError(
            f"{source}: censor mark {k + 1} is at time {marks[k]:g}, before 0; fix or drop it."
        )
    return np.sort(marks[marks <= t_last])


def _time_unit(step_t, step_s, time_unit, warnings) -> float | None:
    if time_unit is not None:
        if time_unit < 0:
            raise InputError(
                f"--time-unit {time_unit:g} is negative; give 0 (off) or a positive unit."
            )
        return float(time_unit) or None
    prev = np.concatenate([[1.0], step_s[:-1]])
    size = prev - step_s
    keep = (size > 1e-9) & (step_t > 0)
    drops, size = step_t[keep], size[keep]
    # clicks along a vertical drop make many tiny "drops": weigh each by its size, and count
    # the drops that carry at least a tenth of the average
    if np.sum(size >= 0.1 * size.mean()) < 20 or drops.max() < 10:
        return None
    dist = float(np.average(np.abs(drops - np.round(drops)), weights=size))
    if dist < 0.15:
        warnings.append(
            f"the curve's drops sit on whole time units (mean distance {dist:.3f}, 0.25 "
            "expected by chance): event times were rounded to whole units; pass --time-unit 0 "
            "to keep them as clicked"
        )
        return 1.0
    return None


def _raw_survival(curve, cleaned: CleanedCurve):
    if isinstance(curve, CleanedCurve):
        return cleaned.survival
    y = np.asarray(pd.to_numeric(curve["survival"]), dtype=float)
    y = y / 100.0 if cleaned.scale == "percent" else y
    if any("cumulative incidence" in line for line in cleaned.log):
        y = 1.0 - y
    return np.clip(y, 0.0, 1.0)


def _prepare_at_risk(cleaned, at_risk, n, source, warnings):
    """The table the engine uses (rows up to the last click), the table as given (for the
    report) and how many a row beyond the last click says are still at risk there (or None).

    A table may run past the last click (a figure's table to 18 months under a curve read to
    15.2): rows of 0 there are dropped, and the first row beyond with patients at risk says
    that at least that many are still at risk at the last click, where they are censored.
    """
    t_last = float(cleaned.time[-1])
    if at_risk is None:
        if n is None:
            raise InputError(
                "without a numbers-at-risk table the number of patients is needed; give --n "
                "(or --at-risk NAR.csv)."
            )
        if n != int(n) or n <= 0:
            raise InputError(f"--n {n} is not a number of patients; give a whole number > 0.")
        nar = pd.DataFrame({"time": [0.0], "at_risk": [int(n)]})
        return nar, nar, None
    nar = check_at_risk(at_risk, source=source)
    if n is not None and int(n) != int(nar["at_risk"].iloc[0]):
        raise InputError(
            f"--n {n} disagrees with {source}, which has {nar['at_risk'].iloc[0]} at risk at time "
            "0; give one of them."
        )
    full = nar
    beyond = (nar["time"] > t_last).to_numpy()
    if not beyond.any():
        return nar, full, None
    at_n = nar["at_risk"].to_numpy()
    zero_tail = beyond & (at_n == 0)
    if zero_tail.any():
        warnings.append(
            f"dropped numbers at risk of 0 after the last click (time {t_last:g}): "
            + ", ".join(f"{t:g}" for t in nar.loc[zero_tail, "time"])
        )
    still = beyond & (at_n > 0)
    at_least = None
    if still.any():
        first = int(np.flatnonzero(still)[0])
        at_least = int(at_n[first])
        rows = ", ".join(
            f"{int(k)} at {t:g}"
            for t, k in zip(nar["time"][still], nar["at_risk"][still], strict=True)
        )
        warnings.append(
            f"{source} runs past the last click ({t_last:g}): {rows}; the curve is not known "
            f"beyond {t_last:g}, so the patients still at risk there (at least {at_least}) are "
            f"censored at {t_last:g}; digitize the curve further to use those rows"
        )
    return nar[~beyond].reset_index(drop=True), full, at_least


#: how far in time (share of the curve's range) a drop may be read off its true place: two or
#: three pixels of a 600-pixel axis, or a whole time unit the trial rounded to
TIME_READING_ERROR = 0.005


def _agreement(
    ipd: pd.DataFrame, cleaned: CleanedCurve, reading_error: float | None, unit: float | None
) -> dict:
    """Where the reconstructed KM is further from the curve than the reading's error allows.

    Between two clicks the curve lies between the level after the first and the highest point
    clicked at the second (with both corners of each drop clicked, exactly on the step). The KM
    may leave that band by the reading's error plus one event's step, S(t-)/n(t) (the KM of
    whole patients can be no closer), over [t - dt, t + dt] (a drop read a little early or
    late; dt = TIME_READING_ERROR x the curve's range, at least half the time unit the trial
    rounded to). Compared at every jump of either curve, from both sides.
    """
    err = 0.01 if reading_error is None else float(reading_error)
    km = kaplan_meier(ipd["time"], ipd["event"])
    ct, level, upper = cleaned.corners()
    t_end = float(ct[-1])
    dt = max(TIME_READING_ERROR * t_end, 0.5 * (unit or 0.0))
    grid = np.unique(np.concatenate([[0.0], km["time"], ct, ct - dt, ct + dt]))
    grid = grid[(grid >= 0) & (grid <= t_end)]
    # between clicks i and i + 1 the curve lies between the level after click i and the
    # highest point clicked at i + 1 (both corners clicked: exact; one: anywhere in the drop)
    i_hi = np.searchsorted(ct, grid - dt, side="right") - 1
    hi = np.where(i_hi >= 0, level[np.maximum(i_hi, 0)], 1.0)
    i_lo = np.searchsorted(ct, grid + dt, side="right") - 1
    nxt = np.minimum(i_lo + 1, ct.size - 1)
    lo = np.where(i_lo + 1 < ct.size, upper[nxt], level[np.maximum(i_lo, 0)])
    lo = np.minimum(lo, hi)
    times = np.sort(ipd["time"].to_numpy(float))
    before = step_value(km["time"], km["survival"], grid, left=True)
    at_risk = times.size - np.searchsorted(times, grid, side="left")
    allowed = err + before / np.maximum(at_risk, 1)
    worst = {"excess": 0.0}
    for left in (False, True):
        a = step_value(km["time"], km["survival"], grid, left=left)
        b = step_value(ct, level, grid, left=left)
        excess = np.maximum(a - hi, lo - a) - allowed
        if left:
            excess[0] = -np.inf
        j = int(np.argmax(excess))
        if excess[j] > worst["excess"]:
            worst = {
                "excess": float(excess[j]),
                "time": float(grid[j]),
                "km": float(a[j]),
                "curve": float(b[j]),
                "allowed": float(allowed[j]),
            }
    out = {"ok": worst["excess"] <= 0, "reading_error": err, "time_reading_error": dt}
    if not out["ok"]:
        out.update({k: worst[k] for k in ("time", "km", "curve", "allowed")})
        out["difference"] = abs(worst["km"] - worst["curve"])
        out["text"] = (
            f"the reconstructed KM is {worst['km']:.3f} where the curve is {worst['curve']:.3f} "
            f"(time {worst['time']:g}): {out['difference']:.3f} apart, more than the reading's "
            f"error ({err:.3f}, and {dt:.3g} in time) and one event allow "
            f"({worst['allowed']:.3f}); the numbers at risk, the total events and the curve "
            "disagree there, so check the curve and the table near that time"
        )
    return out


def _trust(nar, has_table, total_events, n, agreement, source) -> str:
    parts = []
    if not agreement["ok"]:
        parts.append(
            f"{source}: the reconstruction does not follow the curve near time "
            f"{agreement['time']:g} (KM {agreement['km']:.3f}, curve {agreement['curve']:.3f}), "
            "so the numbers at risk do not make it trustworthy there"
        )
    if not has_table:
        parts.append(
            "no numbers-at-risk table: when patients were censored is unknown, so the "
            "reconstruction assumes "
            + (
                "the censoring that matches the reported events, spread evenly over follow-up"
                if total_events is not None
                else "no censoring before the curve ends, except at censor marks"
            )
            + "; numbers at risk, RMST and hazard ratios from it can be biased"
        )
    elif len(nar) < 4:
        parts.append(
            f"only {len(nar)} numbers-at-risk times: censoring within the long intervals is "
            "assumed even in time"
        )
    if n < 50:
        parts.append(
            f"small arm (n = {n}): each event moves the curve by at least 1/{n} = {1 / n:.3f}; "
            "use draws= to see how much the result depends on the censoring times"
        )
    return (
        "; ".join(parts) if parts else "numbers at risk at every printed time constrain the result"
    )


def _uncertainty(extra, tau, seed, ci: float) -> dict:
    """The draws' spread: the equal-tailed ``ci`` range of the KM median and RMST over the
    draws (a median not reached is left out), and the fewest and most events."""
    med = np.array([_km_stats(x, tau)[0] for x in extra])
    rmst = np.array([_km_stats(x, tau)[1] for x in extra])
    ev = np.array([int(x["event"].sum()) for x in extra])

    def spread(a):
        a = a[np.isfinite(a)]
        if a.size == 0:
            return [None, None]
        q = summary(a, ci)
        return [q["lower"], q["upper"]]

    return {
        "draws": len(extra),
        "seed": seed,
        "ci": ci,
        "what": (
            "censoring times at random within each numbers-at-risk interval (leaning early or "
            "late), the split at each printed time of a drop the "
            "clicks show only as a slope, the censoring after the last printed time (dropout "
            "and an unknown minimum follow-up), the times of the events of steps the clicks do "
            "not show; draws whose KM leaves the curve drawn again"
        ),
        "median": spread(med),
        "rmst": spread(rmst),
        "events": [int(ev.min()), int(ev.max())],
    }


def _km_stats(ipd, tau):
    km = kaplan_meier(ipd["time"], ipd["event"])
    return step_median(km["time"], km["survival"]), step_rmst(km["time"], km["survival"], tau)


def accuracy_report(
    ipd: pd.DataFrame,
    cleaned: CleanedCurve,
    nar: pd.DataFrame,
    *,
    total_events: int | None = None,
    method: str = "bayesurv",
    warnings: list[str] | None = None,
) -> dict:
    """Compare the KM of reconstructed IPD with the cleaned clicks and the reported numbers.

    The maximum is the absolute maximum of |KM - clicks| over [0, end of curve], both taken as
    right-continuous step functions and compared at every jump of either from both sides; the
    mean is the time-averaged absolute difference. Table rows beyond the curve's end are marked
    ``beyond_curve`` (their patients were censored at the last click).
    """
    km = kaplan_meier(ipd["time"], ipd["event"])
    ct, cs = cleaned.step()
    upto = float(ct[-1])
    sup, mean = step_distance(km["time"], km["survival"], ct, cs, upto=upto)
    at_risk_rows = []
    for t, n_rep in zip(nar["time"], nar["at_risk"], strict=True):
        row = {
            "time": float(t),
            "reported": int(n_rep),
            "reconstructed": int(np.sum(ipd["time"] >= t)),
        }
        if t > upto:
            row["beyond_curve"] = True
        at_risk_rows.append(row)
    tau = upto
    return {
        "method": method,
        "n": {"reported": int(nar["at_risk"].iloc[0]), "reconstructed": int(len(ipd))},
        "events": {
            "reported": None if total_events is None else int(total_events),
            "reconstructed": int(ipd["event"].sum()),
        },
        "at_risk": at_risk_rows,
        "km_vs_clicks": {"max_abs_diff": sup, "mean_abs_diff": mean},
        "median": {
            "clicks": _nan_to_none(step_median(ct, cs)),
            "reconstructed": _nan_to_none(step_median(km["time"], km["survival"])),
        },
        "rmst": {
            "to": tau,
            "clicks": step_rmst(ct, cs, tau),
            "reconstructed": step_rmst(km["time"], km["survival"], tau),
        },
        "cleaning": {"scale": cleaned.scale, "log": list(cleaned.log), "changes": cleaned.changes},
        "warnings": list(warnings or []),
    }


def _nan_to_none(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)
