"""A network of trials, each given in the form it was reported, and the designs that relate them.

One table (DATA.csv) holds every trial of a network; each row is one of three kinds, told apart
by which columns are filled:

* a **contrast** -- ``study, treatment, comparator`` with ``hr, lower, upper`` (a CI at
  ``ci_level``, default 0.95) or ``log_hr, se``: the log HR of ``treatment`` vs ``comparator``.
  A multi-arm trial reported as contrasts gives one row per non-comparator arm, all against one
  comparator; ``comparator_se`` (the standard error of the comparator arm's log hazard, about
  ``1/sqrt(events)``) gives their covariance, which is otherwise taken as zero, and said so;
* an **arm** -- ``study, treatment, events, n, time``: events among n patients followed for
  ``time`` (a binomial with a complementary log-log link and a ``log(time)`` offset, so that
  relative effects are log hazard ratios; NICE DSU TSD 2, Dias et al. 2011);
* **IPD** -- ``study, treatment, ipd``: a CSV (relative to DATA.csv) of ``time, event`` for that
  arm, or of ``time, event, treatment`` (or ``arm``) for the whole trial, given or reconstructed
  from a KM figure (:mod:`bayesurv.reconstruct`); a piecewise-exponential likelihood per arm.

Each study enters in one form. Relative effects are parameterized against a reference treatment:
``d_k`` is the log HR of treatment ``k`` vs the reference (``d_ref = 0``). In study ``i`` with
baseline ``b_i`` (the shared comparator of its contrasts; for arms and IPD the arm whose
treatment comes first in the network's order, the reference first), arm ``k`` has the relative
effect ``delta_ik`` with mean ``d_k - d_b`` (consistency), a free ``d_(b,k)`` per observed
comparison (unrelated mean effects, UME; Dias et al. 2013, TSD 4), or, for a node-split of
``X`` vs ``Y``, a direct ``d_dir`` on the ``Y`` arm of trials that hold both (Dias et al. 2010).
Random effects add ``tau`` times a draw with correlation 1/2 between the arms of a multi-arm
trial. A study-level covariate adds ``(beta_k - beta_b)(x_i - xbar)`` (independent interactions
per treatment, as multinma's ``regression = ~.trt:x``). :meth:`Network.design` returns the
matrix ``M`` with ``E(delta) = M theta`` for any of these models; the exact solver
(:mod:`~bayesurv.synthesis.normal_linear`) and the PyMC model (:mod:`~bayesurv.synthesis.nma_model`)
both take it.

Bad input is refused in one sentence naming the file, the row and the fix: a treatment compared
with itself, a multi-arm trial whose contrasts do not share a comparator, se <= 0, a CI level
outside (0, 1), a study given in two forms, a disconnected network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayesurv.errors import InputError, where
from bayesurv.evidence.ci import parse_level
from bayesurv.evidence.effects import ALIASES, canonical_columns, check_se, ci_to_log_se

#: aliases of the network columns, on top of the effects file's
NETWORK_ALIASES: dict[str, tuple[str, ...]] = {
    **{k: v for k, v in ALIASES.items()},
    "treatment": ("treatment", "trt", "intervention", "treatment_name", "trtc"),
    "comparator": ("comparator", "control", "versus", "vs", "trt_b", "reference_arm"),
    "events": ("events", "r", "deaths", "n_events", "event_count"),
    "n": ("n", "total", "patients", "sample_size", "n_patients"),
    "time": ("time", "follow_up", "followup", "exposure", "follow_up_time", "years"),
    "ipd": ("ipd", "ipd_file", "patients_file"),
    "comparator_se": ("comparator_se", "se_comparator", "baseline_se"),
}
KINDS = ("contrast", "arm", "ipd")


@dataclass
class Network:
    """The studies of a network, by kind, and the treatments in order (reference first)."""

    treatments: list[str]
    contrasts: pd.DataFrame  # study, treatment, comparator, log_hr, se, comparator_se, row
    arms: pd.DataFrame  # study, treatment, events, n, time, row
    ipd: pd.DataFrame  # study, treatment, time, event
    source: str = "the network"
    link: str = "cloglog"
    covariate: pd.Series | None = None  # study -> value
    covariate_name: str | None = None
    notes: list[str] = field(default_factory=list)
    first_row: dict[str, int] = field(default_factory=dict)

    # -- structure ---------------------------------------------------------------------------
    @property
    def reference(self) -> str:
        return self.treatments[0]

    @property
    def studies(self) -> list[str]:
        seen: list[str] = []
        for frame in (self.contrasts, self.arms, self.ipd):
            for s in frame["study"].tolist():
                if s not in seen:
                    seen.append(s)
        return seen

    def kind(self, study: str) -> str:
        if study in set(self.contrasts["study"]):
            return "contrast"
        if study in set(self.arms["study"]):
            return "arm"
        return "ipd"

    def study_arms(self, study: str) -> list[str]:
        """Treatments of a study, baseline first."""
        if self.kind(study) == "contrast":
            rows = self.contrasts[self.contrasts["study"] == study]
            return [str(rows["comparator"].iloc[0]), *rows["treatment"].astype(str)]
        frame = self.arms if self.kind(study) == "arm" else self.ipd
        trts = list(dict.fromkeys(frame.loc[frame["study"] == study, "treatment"].astype(str)))
        return sorted(trts, key=self.treatments.index)

    def arm_table(self) -> pd.DataFrame:
        """One row per non-baseline arm of every study (the stacked relative effects):
        ``study, treatment, baseline, kind, index`` in study order."""
        rows = []
        for s in self.studies:
            arms = self.study_arms(s)
            for t in arms[1:]:
                rows.append({"study": s, "treatment": t, "baseline": arms[0], "kind": self.kind(s)})
        out = pd.DataFrame(rows, columns=["study", "treatment", "baseline", "kind"])
        out["index"] = np.arange(len(out))
        return out

    def edges(self) -> pd.DataFrame:
        """Direct comparisons: ``treatment_a, treatment_b, studies`` (every pair of arms of each
        study, a multi-arm trial giving all its pairs)."""
        count: dict[tuple[str, str], list[str]] = {}
        for s in self.studies:
            arms = self.study_arms(s)
            for i, a in enumerate(arms):
                for b in arms[i + 1 :]:
                    key = tuple(sorted((a, b), key=self.treatments.index))
                    count.setdefault(key, []).append(s)
        return pd.DataFrame(
            [
                {"treatment_a": a, "treatment_b": b, "n_studies": len(v), "studies": ", ".join(v)}
                for (a, b), v in count.items()
            ]
        )

    def patients(self) -> pd.Series:
        """Patients per treatment where known (arm data and IPD; contrasts carry no counts)."""
        n = self.arms.groupby("treatment")["n"].sum() if len(self.arms) else pd.Series(dtype=float)
        m = self.ipd.groupby("treatment").size() if len(self.ipd) else pd.Series(dtype=float)
        return n.add(m, fill_value=0).reindex(self.treatments).fillna(0)

    # -- designs -------------------------------------------------------------------------------
    def parameters(
        self, model: str = "consistency", split: tuple[str, str] | None = None
    ) -> list[str]:
        """Names of the location parameters of ``model``: ``d[k]`` per non-reference treatment
        (consistency; plus ``d_direct`` for a node-split and ``beta[k]`` with a covariate), or
        ``d[k vs b]`` per observed comparison (UME)."""
        if model == "ume":
            names = [f"d[{t} vs {b}]" for b, t in self._ume_pairs()]
        else:
            names = [f"d[{t}]" for t in self.treatments[1:]]
            if model == "nodesplit":
                names.append("d_direct")
        if self.covariate is not None:
            names += [f"beta[{t}]" for t in self.treatments[1:]]
        return names

    def _ume_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for _, r in self.arm_table().iterrows():
            key = (r["baseline"], r["treatment"])
            if key not in pairs:
                pairs.append(key)
        return pairs

    def design(
        self, model: str = "consistency", split: tuple[str, str] | None = None
    ) -> np.ndarray:
        """``M`` with ``E(delta) = M theta`` over the stacked non-baseline arms
        (:meth:`arm_table`), for ``model`` ``"consistency"``, ``"ume"`` or ``"nodesplit"``
        (``split = (X, Y)``; trials holding both put X first)."""
        tab = self.arm_table_for(model, split)
        names = self.parameters(model, split)
        M = np.zeros((len(tab), len(names)))
        col = {t: j for j, t in enumerate(self.treatments[1:])}
        pairs = self._ume_pairs() if model == "ume" else []
        for c, r in enumerate(tab.itertuples()):
            t, b = r.treatment, r.baseline
            if model == "ume":
                M[c, pairs.index((b, t))] = 1.0
            elif model == "nodesplit" and r.direct:
                M[c, names.index("d_direct")] = r.direct_sign
            else:
                if t != self.reference:
                    M[c, col[t]] += 1.0
                if b != self.reference:
                    M[c, col[b]] -= 1.0
            if self.covariate is not None:
                x = float(self.covariate[r.study] - self.covariate.mean())
                off = len(names) - (len(self.treatments) - 1)
                if t != self.reference:
                    M[c, off + col[t]] += x
                if b != self.reference:
                    M[c, off + col[b]] -= x
        return M

    def arm_table_for(
        self, model: str = "consistency", split: tuple[str, str] | None = None
    ) -> pd.DataFrame:
        """:meth:`arm_table` with a ``direct`` flag; for a node-split of ``(X, Y)`` the trials
        that hold both are re-based on X (arms and IPD), so that their Y arm is the direct
        contrast. Contrast trials must already compare Y (or X) against the other."""
        tab = self.arm_table()
        tab["direct"] = False
        tab["direct_sign"] = 1.0
        if model != "nodesplit":
            return tab
        if split is None:
            raise InputError("a node-split needs the comparison to split, e.g. ('A', 'B').")
        x, y = split
        rows = []
        for s in self.studies:
            arms = self.study_arms(s)
            sub = tab[tab["study"] == s]
            if x in arms and y in arms:
                if self.kind(s) == "contrast":
                    if arms[0] not in (x, y):
                        # a multi-arm contrast trial without X or Y as comparator: keep it
                        rows.extend(sub.to_dict(orient="records"))
                        continue
                    base = arms[0]
                    other = y if base == x else x
                    for r in sub.to_dict(orient="records"):
                        r["direct"] = r["treatment"] == other
                        rows.append(r)
                    continue
                for t in [a for a in arms if a != x]:
                    rows.append(
                        {
                            "study": s,
                            "treatment": t,
                            "baseline": x,
                            "kind": self.kind(s),
                            "direct": t == y,
                        }
                    )
            else:
                rows.extend(sub.to_dict(orient="records"))
        out = pd.DataFrame(rows)
        out["index"] = np.arange(len(out))
        # a contrast trial based on Y reports Y's effect vs X reversed: d_direct is X vs Y there
        out["direct_sign"] = [
            (-1.0 if (r.direct and r.baseline == y) else 1.0) for r in out.itertuples()
        ]
        return out

    def splittable(self) -> list[tuple[str, str]]:
        """Comparisons with both direct and indirect evidence: X and Y share a trial and are
        still connected once every trial holding both is removed (van Valkenhoef et al. 2016,
        simplified to whole trials)."""
        out = []
        for e in self.edges().itertuples():
            a, b = e.treatment_a, e.treatment_b
            keep = [s for s in self.studies if not {a, b} <= set(self.study_arms(s))]
            if _connected(a, b, [self.study_arms(s) for s in keep]):
                out.append((a, b))
        return out


def _components(treatments: list[str], studies: list[list[str]]) -> list[set[str]]:
    parent = {t: t for t in treatments}

    def find(t):
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for arms in studies:
        for t in arms[1:]:
            parent[find(t)] = find(arms[0])
    groups: dict[str, set[str]] = {}
    for t in treatments:
        groups.setdefault(find(t), set()).add(t)
    return list(groups.values())


def _connected(a: str, b: str, studies: list[list[str]]) -> bool:
    trts = sorted({t for arms in studies for t in arms} | {a, b})
    return any({a, b} <= g for g in _components(trts, studies))


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""


def _float(v, col: str, src: str, row: int) -> float:
    try:
        out = float(v)
    except (TypeError, ValueError):
        raise InputError(
            f"{where(src, row)}column {col!r} holds {v!r}, not a number; write a plain decimal "
            "number."
        ) from None
    if not math.isfinite(out):
        raise InputError(f"{where(src, row)}column {col!r} is not finite; fill it in.")
    return out


def _read_ipd(path: Path, treatment: str, src: str, row: int) -> pd.DataFrame:
    from bayesurv.evidence.effects import read_table

    if not path.exists():
        raise InputError(
            f"{where(src, row)}the IPD file {path.name} does not exist; fix the path "
            "(relative to the network file)."
        )
    df = read_table(
        path,
        {
            "time": ("time", "t"),
            "event": ("event", "status", "dead", "d"),
            "treatment": ("treatment", "trt", "arm"),
        },
    )
    for col in ("time", "event"):
        if col not in df.columns:
            raise InputError(
                f"{path.name}: column {col!r} is missing; give time,event (and "
                "treatment or arm for a whole trial)."
            )
    if "treatment" in df.columns:
        df = df[df["treatment"].astype(str).str.strip() == treatment]
        if len(df) == 0:
            raise InputError(
                f"{where(src, row)}{path.name} has no patient with treatment "
                f"{treatment!r}; check the treatment names."
            )
    t = pd.to_numeric(df["time"], errors="coerce").to_numpy(float)
    e = pd.to_numeric(df["event"], errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~np.isfinite(t) | (t < 0) | ~np.isin(e, (0, 1)))
    if bad.size:
        raise InputError(
            f"{path.name}, row {int(df.index[bad[0]]) + 1}: time must be a "
            "non-negative number and event 0 or 1."
        )
    return pd.DataFrame({"time": t, "event": e.astype(int)})


def read_network(
    data: str | Path | pd.DataFrame,
    reference: str | None = None,
    link: str = "cloglog",
    covariate: str | None = None,
    source: str | None = None,
) -> Network:
    """Read and check a network file (or table); see the module docstring for its rows.

    Parameters
    ----------
    data : DATA.csv or a DataFrame of the same columns.
    reference : the treatment every effect is expressed against (default: the first treatment
        named as a comparator, else the first one in the file).
    link : ``"cloglog"`` (arm data give log hazard ratios; needs ``time``) or ``"logit"`` (log
        odds ratios, for binary outcomes such as the NICE TSD examples).
    covariate : a numeric study-level column for network meta-regression.

    Examples
    --------
    >>> t = pd.DataFrame({"study": ["A", "B"], "treatment": ["x", "y"],
    ...                   "comparator": ["c", "c"], "log_hr": [-0.3, -0.2], "se": [0.1, 0.2]})
    >>> read_network(t, reference="c").treatments
    ['c', 'x', 'y']
    """
    if link not in ("cloglog", "logit"):
        raise InputError(f"link {link!r} is not known; use cloglog (hazard ratios) or logit.")
    base = None
    if isinstance(data, pd.DataFrame):
        raw = data.astype(object).where(data.notna(), None).astype(str)
        raw = raw.mask(raw == "None")  # missing cells as NaN (replace() downcasts an empty column)
        raw.columns = canonical_columns(list(raw.columns), source, NETWORK_ALIASES)
        src = source or "the network"
    else:
        from bayesurv.evidence.effects import read_table

        path = Path(data)
        base = path.parent
        src = source or path.name
        raw = read_table(path, NETWORK_ALIASES)
    for col in ("study", "treatment"):
        if col not in raw.columns:
            raise InputError(
                f"{src}: there is no {col!r} column; a network file has study, treatment and "
                "either comparator with hr,lower,upper (or log_hr,se), or events,n,time, or ipd."
            )
    has = {c: c in raw.columns for c in ("comparator", "events", "ipd", "hr", "log_hr")}
    contrasts, arms, ipd_rows = [], [], []
    kind_of: dict[str, tuple[str, int]] = {}
    order: list[str] = []
    first_row: dict[str, int] = {}
    for i, r in raw.reset_index(drop=True).iterrows():
        row = int(i) + 1
        study = "" if _blank(r["study"]) else str(r["study"]).strip()
        trt = "" if _blank(r["treatment"]) else str(r["treatment"]).strip()
        if not study or not trt:
            raise InputError(f"{where(src, row)}the study or treatment name is empty; name both.")
        first_row.setdefault(study, row)
        if has["comparator"] and not _blank(r["comparator"]):
            kind = "contrast"
        elif has["events"] and not _blank(r["events"]):
            kind = "arm"
        elif has["ipd"] and not _blank(r["ipd"]):
            kind = "ipd"
        else:
            raise InputError(
                f"{where(src, row)}the row gives no data; give a comparator with hr,lower,upper "
                "or log_hr,se (a contrast), events,n,time (an arm), or ipd FILE."
            )
        if study in kind_of and kind_of[study][0] != kind:
            raise InputError(
                f"{where(src, row)}study {study!r} is given both as {kind_of[study][0]}s (row "
                f"{kind_of[study][1]}) and as {kind}s; give each study in one form."
            )
        kind_of.setdefault(study, (kind, row))
        if kind == "contrast":
            comp = str(r["comparator"]).strip()
            if comp == trt:
                raise InputError(
                    f"{where(src, row)}treatment {trt!r} is compared with itself; the "
                    "comparator must be another arm of the trial."
                )
            if has["hr"] and not _blank(r.get("hr")):
                hr, lo, up = (_float(r.get(c), c, src, row) for c in ("hr", "lower", "upper"))
                lv = parse_level(r.get("ci_level"), src, row)
                y, s = ci_to_log_se([hr], [lo], [up], [lv], src, [row])
                y, s = float(y[0]), float(s[0])
            elif has["log_hr"] and not _blank(r.get("log_hr")):
                y = _float(r.get("log_hr"), "log_hr", src, row)
                s = _float(r.get("se"), "se", src, row) if "se" in raw.columns else float("nan")
                check_se([s], src, [row])
            else:
                raise InputError(
                    f"{where(src, row)}a contrast needs hr,lower,upper or log_hr,se; fill them in."
                )
            cse = (
                float("nan")
                if "comparator_se" not in raw.columns or _blank(r.get("comparator_se"))
                else _float(r.get("comparator_se"), "comparator_se", src, row)
            )
            if math.isfinite(cse) and cse <= 0:
                raise InputError(
                    f"{where(src, row)}comparator_se must be positive; give the se "
                    "of the comparator arm's log hazard."
                )
            contrasts.append(
                {
                    "study": study,
                    "treatment": trt,
                    "comparator": comp,
                    "log_hr": y,
                    "se": s,
                    "comparator_se": cse,
                    "row": row,
                }
            )
            for t in (comp, trt):
                if t not in order:
                    order.append(t)
        elif kind == "arm":
            ev = _float(r.get("events"), "events", src, row)
            n = _float(r.get("n"), "n", src, row) if "n" in raw.columns else float("nan")
            if not (
                ev >= 0 and n > 0 and ev <= n and float(ev).is_integer() and float(n).is_integer()
            ):
                raise InputError(
                    f"{where(src, row)}events ({ev:g}) and n ({n:g}) must be whole numbers with "
                    "0 <= events <= n and n > 0."
                )
            if link == "cloglog":
                if "time" not in raw.columns or _blank(r.get("time")):
                    raise InputError(
                        f"{where(src, row)}an arm needs its follow-up time for a hazard ratio "
                        "(cloglog link); fill in time, or use the logit link for odds ratios."
                    )
                tm = _float(r.get("time"), "time", src, row)
                if tm <= 0:
                    raise InputError(f"{where(src, row)}time must be positive (got {tm:g}).")
            else:
                tm = float("nan")
            arms.append(
                {"study": study, "treatment": trt, "events": ev, "n": n, "time": tm, "row": row}
            )
            if trt not in order:
                order.append(trt)
        else:
            p = Path(str(r["ipd"]).strip())
            p = p if p.is_absolute() or base is None else base / p
            d = _read_ipd(p, trt, src, row)
            d.insert(0, "treatment", trt)
            d.insert(0, "study", study)
            ipd_rows.append(d)
            if trt not in order:
                order.append(trt)
    ct = pd.DataFrame(
        contrasts,
        columns=["study", "treatment", "comparator", "log_hr", "se", "comparator_se", "row"],
    )
    ar = pd.DataFrame(arms, columns=["study", "treatment", "events", "n", "time", "row"])
    ip = (
        pd.concat(ipd_rows, ignore_index=True)
        if ipd_rows
        else pd.DataFrame(columns=["study", "treatment", "time", "event"])
    )
    notes: list[str] = []
    _check_contrast_studies(ct, src, notes)
    _check_arm_studies(ar, ip, src)
    if reference is None:
        reference = str(ct["comparator"].iloc[0]) if len(ct) else order[0]
    if reference not in order:
        raise InputError(
            f"{src}: the reference {reference!r} is not a treatment of the network; use one of "
            f"{', '.join(order)}."
        )
    treatments = [reference] + [t for t in order if t != reference]
    cov = None
    if covariate is not None:
        key = canonical_columns([covariate])[0]
        if key not in raw.columns:
            raise InputError(
                f"{src}: there is no covariate column {covariate!r}; use one of "
                f"{', '.join(raw.columns)}."
            )
        vals = {}
        for i, r in raw.reset_index(drop=True).iterrows():
            s = str(r["study"]).strip()
            v = _float(r[key], key, src, int(i) + 1)
            if s in vals and vals[s] != v:
                raise InputError(
                    f"{where(src, int(i) + 1)}study {s!r} has two values of "
                    f"{covariate!r}; a study-level covariate has one per study."
                )
            vals[s] = v
        cov = pd.Series(vals)
    net = Network(
        treatments=treatments,
        contrasts=ct,
        arms=ar,
        ipd=ip,
        source=src,
        link=link,
        covariate=cov,
        covariate_name=covariate,
        notes=notes,
        first_row=first_row,
    )
    _check_connected(net)
    return net


def _check_contrast_studies(ct: pd.DataFrame, src: str, notes: list[str]) -> None:
    for study, rows in ct.groupby("study", sort=False):
        comps = rows["comparator"].unique()
        if comps.size > 1:
            bad = rows[rows["comparator"] != comps[0]].iloc[0]
            raise InputError(
                f"{where(src, int(bad['row']))}the contrasts of multi-arm trial {study!r} do not "
                f"share a comparator ({', '.join(comps)}); give every arm against one comparator "
                f"such as {comps[0]!r}."
            )
        dup = rows["treatment"].duplicated()
        if dup.any():
            bad = rows[dup].iloc[0]
            raise InputError(
                f"{where(src, int(bad['row']))}treatment {bad['treatment']!r} appears twice in "
                f"study {study!r}; give each arm once."
            )
        if comps[0] in set(rows["treatment"]):
            bad = rows[rows["treatment"] == comps[0]].iloc[0]
            raise InputError(
                f"{where(src, int(bad['row']))}treatment {comps[0]!r} is also the comparator of "
                f"study {study!r}; a treatment cannot be compared with itself."
            )
        if len(rows) > 1 and rows["comparator_se"].isna().any():
            notes.append(
                f"multi-arm trial {study} is given as contrasts without comparator_se; their "
                "covariance is taken as zero, which overstates its information"
            )


def _check_arm_studies(ar: pd.DataFrame, ip: pd.DataFrame, src: str) -> None:
    for frame, what in ((ar, "arm"), (ip, "IPD")):
        if not len(frame):
            continue
        if what == "arm":
            for study, rows in frame.groupby("study", sort=False):
                dup = rows["treatment"].duplicated()
                if dup.any():
                    raise InputError(
                        f"{where(src, int(rows[dup]['row'].iloc[0]))}treatment "
                        f"{rows[dup]['treatment'].iloc[0]!r} appears twice in study {study!r}; "
                        "give each arm once."
                    )
                if len(rows) < 2:
                    raise InputError(
                        f"{where(src, int(rows['row'].iloc[0]))}study {study!r} has one arm; a "
                        "trial in a network needs at least two."
                    )
        else:
            for study, rows in frame.groupby("study", sort=False):
                if rows["treatment"].nunique() < 2:
                    raise InputError(
                        f"{src}: IPD study {study!r} has one arm; give its other arm too."
                    )
                for trt, pts in rows.groupby("treatment"):
                    if pts["event"].sum() < 1:
                        raise InputError(
                            f"{src}: the IPD of {study!r}, {trt!r} has no event; a "
                            "hazard needs events."
                        )


def _check_connected(net: Network) -> None:
    comps = _components(net.treatments, [net.study_arms(s) for s in net.studies])
    if len(comps) > 1:
        main = next(g for g in comps if net.reference in g)
        other = sorted(min((g for g in comps if g is not main), key=len), key=net.treatments.index)
        study = next(s for s in net.studies if set(net.study_arms(s)) & set(other))
        raise InputError(
            f"{where(net.source, net.first_row.get(study))}the network is disconnected: "
            f"{', '.join(other)} (study {study!r}) share no trial with {net.reference!r} or the "
            "treatments linked to it; add a trial that links them or analyse them separately."
        )
