"""The spec's questions answered in sentences, one value each, for the top of ``report.html``.

A query of the spec (``P(efs_across_paediatric_trials_pooled_hr < 0.8)``) names a section by
its key and a quantity of the one vocabulary (:mod:`bayesurv.query_names`); the sentence says
the same in words with its uncertainty::

    The probability that the pooled hazard ratio (EFS across paediatric trials) is below 0.8
    is 95.9% (exact, by quadrature over tau).

One value per question. A pool's pooled, predictive, tau and per-study quantities compared with
a number have an exact answer (the normal-normal posterior by quadrature over tau,
:mod:`bayesurv.synthesis.normal_normal`), and so have a contrast network's hazard ratios solved
exactly (:mod:`bayesurv.synthesis.normal_linear`): that value is the one given, and the
computation is named. Every other statement is the share of posterior draws where it holds
(:func:`bayesurv.query.probability`), with its Monte Carlo error sqrt(p (1 - p) / ESS) - or,
when every draw (or none) satisfies it, only the rule of three's bound P > 1 - 3 / draws
(:func:`bayesurv.report_format.share_of_draws`). A threshold keeps its sign
(``surv_diff(5 years) > -0.05``: "the difference ... is above -5 percentage points").
Statements that are more than one comparison of one quantity with a number keep their own
text in the sentence.

Examples
--------
>>> summary = {"pool": {"EFS pool": {"key": "efs_pool", "exact": {"probabilities": {}}}},
...            "queries": [{"statement": "P(efs_pool_pooled_hr < 1)", "probability": 0.98925,
...                         "mcse": 0.0024, "draws": 8000}]}
>>> print(answers(summary)[0].sentence)  # doctest: +NORMALIZE_WHITESPACE
The probability that the pooled hazard ratio (EFS pool) is below 1 is 98.9% (Monte Carlo error
0.2%; 8,000 posterior draws).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bayesurv.query import parse
from bayesurv.query_names import NAMES, UNITS_PER_YEAR
from bayesurv.report_format import number, percent, plain, share_of_draws

_ENDPOINTS = {
    "OS": "overall survival",
    "EFS": "event-free survival",
    "PFS": "progression-free survival",
    "DFS": "disease-free survival",
    "RFS": "relapse-free survival",
    "TTP": "time to progression",
}
_RELATION = {"<": "below", "<=": "at most", ">": "above", ">=": "at least"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
#: a pool's quantities with an exact posterior: name -> (PoolResult.dist name, on the HR scale)
_EXACT = {
    "pooled_hr": ("pooled", True),
    "hr": ("pooled", True),
    "pooled_log_hr": ("pooled", False),
    "log_hr": ("pooled", False),
    "mu": ("pooled", False),
    "predictive_hr": ("predictive", True),
    "predictive_log_hr": ("predictive", False),
    "theta_new": ("predictive", False),
    "tau": ("tau", False),
}
_STUDY = ("hr_study", "study_hr", "hr_subgroup")
EXACT_METHOD = "exact, by quadrature over tau"
SAMPLED_METHOD = "MCMC: share of posterior draws"


@dataclass(frozen=True)
class Answer:
    """One question of the spec, answered: the sentence, the one value and how it was had."""

    statement: str
    sentence: str
    probability: float
    computation: str  # "exact, by quadrature over tau" or "MCMC: share of posterior draws"
    mcse: float | None  # None when exact
    section: str | None  # the section the quantity belongs to (None when not found)


@dataclass(frozen=True)
class _Section:
    kind: str  # survival, ipd, pool, nma
    name: str
    key: str
    arms: tuple[str, ...] = ()
    time_unit: str = ""
    endpoint: str = ""
    model: str = ""
    horizon_years: float | None = None


def _sections(summary: dict, spec=None) -> list[_Section]:
    endpoints = {s.name: s.endpoint for s in getattr(spec, "survival", [])}
    out = []
    for name, s in summary.get("survival", {}).items():
        m = s.get("models", {}).get(s.get("base_case"), {})
        out.append(
            _Section(
                "survival",
                name,
                s["key"],
                tuple(m.get("arms", ())),
                m.get("time_unit", ""),
                endpoints.get(name, name),
                s.get("base_case", ""),
                m.get("horizon_years"),
            )
        )
    for name, s in summary.get("ipd", {}).items():
        m = s.get("models", {}).get(s.get("best"), {})
        out.append(
            _Section(
                "ipd",
                name,
                s["key"],
                tuple(s.get("arms", ())),
                m.get("time_unit", ""),
                "",
                s.get("best", ""),
                m.get("horizon_years"),
            )
        )
    for kind in ("pool", "nma"):
        for name, s in summary.get(kind, {}).items():
            out.append(_Section(kind, name, s["key"]))
    return out


def _split(name: str, sections: list[_Section]) -> tuple[_Section | None, str]:
    """The section whose key prefixes ``name`` (the longest) and the quantity after it."""
    best = None
    for sec in sections:
        if name.startswith(sec.key + "_") and (best is None or len(sec.key) > len(best.key)):
            best = sec
    if best is None:
        return None, name
    return best, name[len(best.key) + 1 :]


def _arm(a: str) -> str:
    return f"the {a} arm" if a in ("experimental", "control") else a


def _what(sec: _Section) -> str:
    """The endpoint in words: 'event-free survival', or the section's name for IPD."""
    if sec.kind == "survival":
        return _ENDPOINTS.get(sec.endpoint.upper(), sec.endpoint or sec.name)
    return f"survival ({sec.name})"


def _when(arg, sec: _Section) -> str | None:
    """A time argument in words: 60 (months) -> '5 years'; '18 months' stays as it is."""
    if arg[0] == "time":
        v, unit = arg[1], arg[2]
    elif arg[0] == "num":
        v, unit = arg[1], sec.time_unit
        scale = UNITS_PER_YEAR.get(unit)
        if scale and unit != "years":
            years = v / scale
            if abs(years - round(years)) < 1e-9 and round(years) >= 1:
                v, unit = round(years), "years"
    else:
        return None
    unit = unit or "time units"
    if v == 1 and unit.endswith("s"):
        unit = unit[:-1]
    return f"{plain(v)} {unit}"


def _threshold(value: float, q: str) -> str:
    """A threshold in the quantity's unit, with its sign: percentages, percentage points
    (``-5 percentage points``), years or a number, as typed (:func:`plain`)."""
    e = NAMES.get(q)
    unit = e.unit if e else ""
    if unit == "probability":
        return f"{plain(100 * value)}%"
    if q in ("surv_diff", "cure_diff"):
        pts = plain(100 * value)
        return f"{pts} percentage point{'' if pts.lstrip('-') == '1' else 's'}"
    if unit == "years":
        return f"{plain(value)} year{'' if abs(value) == 1 else 's'}"
    return plain(value)


def _years_of(n: float, disc: str, sec: _Section) -> str:
    """``n`` years gained in words: '2 discounted life-years' (OS, IPD) or '2 discounted years
    of event-free survival'."""
    s = "" if n == 1 else "s"
    if sec.kind == "survival" and sec.endpoint.upper() not in ("OS", ""):
        return f"{plain(n)} {disc}year{s} of {_ENDPOINTS.get(sec.endpoint.upper(), sec.endpoint)}"
    return f"{plain(n)} {disc}life-year{s}"


def _clause(q: str, args: tuple, op: str, value: float, sec: _Section) -> str | None:
    """``<quantity> <op> <value>`` in words, or None when no wording fits."""
    arms = sec.arms
    two = len(arms) == 2
    rel = _RELATION[op]
    strings = [a[1] for a in args if a[0] == "str"]
    times = [_when(a, sec) for a in args if a[0] in ("num", "time")]
    t = times[0] if times else None
    if sec.kind == "pool":
        subject = {
            "pooled_hr": "the pooled hazard ratio",
            "hr": "the pooled hazard ratio",
            "pooled_log_hr": "the pooled log hazard ratio",
            "log_hr": "the pooled log hazard ratio",
            "mu": "the pooled log hazard ratio",
            "predictive_hr": "the hazard ratio of a new trial",
            "predictive_log_hr": "the log hazard ratio of a new trial",
            "theta_new": "the log hazard ratio of a new trial",
            "tau": "the between-trial standard deviation tau of the log hazard ratio",
        }.get(q)
        if q in _STUDY and strings:
            subject = f"the hazard ratio of {strings[0]}"
        if q in ("coefficient_hr", "coefficient") and strings:
            what = (
                "ratio of hazard ratios" if q == "coefficient_hr" else "log ratio of hazard ratios"
            )
            subject = f"the meta-regression's {what} for {strings[0]}"
        if subject is None:
            return None
        return f"{subject} ({sec.name}) is {rel} {_threshold(value, q)}"
    if sec.kind == "nma":
        if q in ("hr", "predictive_hr", "log_hr", "predictive_log_hr") and len(strings) == 2:
            what = "log hazard ratio" if "log" in q else "hazard ratio"
            new = " in a new trial" if q.startswith("predictive") else ""
            return (
                f"the {what} of {strings[0]} versus {strings[1]}{new} ({sec.name}) is {rel} "
                f"{_threshold(value, q)}"
            )
        if q == "rank" and len(strings) == 1:
            return f"the rank of {strings[0]} ({sec.name}; 1 = best) is {rel} {plain(value)}"
        return None
    if sec.kind not in ("survival", "ipd"):
        return None
    if q in ("surv_diff", "cure_diff") and two and (t or q == "cure_diff"):
        what = _what(sec) + (f" at {t}" if t and q == "surv_diff" else "")
        if q == "cure_diff":
            what = f"the cured fraction ({sec.name})"
        rest = ""
        if value == 0 and op in (">", ">="):
            rest = "higher" if op == ">" else "at least as high"
        elif value == 0:
            rest = "lower" if op == "<" else "at most as high"
        elif value > 0 and op in (">", ">="):
            rest = f"{'more than' if op == '>' else 'at least'} {_threshold(value, q)} higher"
        elif value < 0 and op in ("<", "<="):  # the size of the difference, its sign in "lower"
            rest = f"{'more than' if op == '<' else 'at least'} {_threshold(-value, q)} lower"
        else:
            return (
                f"the difference in {what} ({_arm(arms[1])} minus {_arm(arms[0])}) is {rel} "
                f"{_threshold(value, q)}"
            )
        return f"{what} is {rest} in {_arm(arms[1])} than in {_arm(arms[0])}"
    if q in ("life_years_gained", "life_years_gained_discounted") and two:
        disc = "discounted " if q.endswith("discounted") else ""
        within = f" within {number(sec.horizon_years)} years" if sec.horizon_years else ""
        gained = _years_of(abs(value), disc, sec)
        if op in (">", ">=") and value >= 0:
            verb = "gains more than" if op == ">" else "gains at least"
            return f"{_arm(arms[1])} {verb} {gained} over {_arm(arms[0])}{within} ({sec.name})"
        return (
            f"the {disc}mean survival gained with {_arm(arms[1])} over {_arm(arms[0])}"
            f"{within} ({sec.name}) is {rel} {_threshold(value, q)}"
        )
    if q == "survival" and strings and t:
        return f"{_what(sec)} at {t} in {_arm(strings[0])} is {rel} {_threshold(value, q)}"
    if q == "cure_fraction" and strings:
        return (
            f"the cured fraction in {_arm(strings[0])} ({sec.name}) is {rel} {_threshold(value, q)}"
        )
    if q in ("hr", "hazard_ratio", "time_ratio", "odds_ratio") and two:
        label = {
            "hr": "hazard ratio",
            "hazard_ratio": "hazard ratio",
            "time_ratio": "time ratio",
            "odds_ratio": "survival odds ratio",
        }[q]
        at = f" at {t}" if t and q == "hazard_ratio" else ""
        return (
            f"the {label} of {_arm(arms[1])} to {_arm(arms[0])}{at} ({sec.name}) is {rel} "
            f"{_threshold(value, q)}"
        )
    e = NAMES.get(q)
    if e is None or (args and not (t or strings)):
        return None
    at = f" at {t}" if t else ""
    of = f" in {_arm(strings[0])}" if strings else ""
    unit = e.unit.replace("{t}", sec.time_unit or "time units")
    shown = _threshold(value, q) + (
        f" {unit}" if unit and unit not in ("probability", "ratio", "years", "log HR") else ""
    )
    meaning = e.meaning
    if two:
        meaning = meaning.replace(
            "(second arm minus first)", f"({_arm(arms[1])} minus {_arm(arms[0])})"
        ).replace("second arm to first", f"{_arm(arms[1])} to {_arm(arms[0])}")
    return f"the {meaning}{of}{at} ({sec.name}) is {rel} {shown}"


def _simple(node) -> tuple[str, tuple, str, float] | None:
    """``quantity op number`` (either way round) -> (name, args, op, number); else None."""
    if node[0] != "compare" or len(node[2]) != 1:
        return None
    left, ((op, right),) = node[1], node[2]
    if op not in _RELATION:
        return None

    def num(n):
        if n[0] == "num":
            return n[1]
        if n[0] == "neg" and n[1][0] == "num":
            return -n[1][1]
        return None

    def qty(n):
        if n[0] == "name":
            return n[1], ()
        if n[0] == "call" and n[1] not in ("exp", "log", "abs", "min", "max"):
            return n[1], n[2]
        return None

    if qty(left) and num(right) is not None:
        return (*qty(left), op, num(right))
    if qty(right) and num(left) is not None:
        return (*qty(right), _FLIP[op], num(left))
    return None


def _exact_nma(q, args, op, value, sec: _Section, summary: dict, nmas):
    """A network's exact P(HR of A vs B against a number) (contrast networks solved by
    quadrature), or None; with the summary alone, its recorded P(HR < 1)."""
    if q not in ("hr", "predictive_hr", "log_hr", "predictive_log_hr") or len(args) != 2:
        return None
    if not all(a[0] == "str" for a in args):
        return None
    a, b = args[0][1], args[1][1]
    hr_scale = "log" not in q
    if hr_scale and value <= 0:
        return 0.0 if op in ("<", "<=") else 1.0
    cut = math.log(value) if hr_scale else value
    run = (nmas or {}).get(sec.name)
    result = getattr(run, "result", None)
    if result is not None:
        if getattr(result, "exact", None) is None:
            return None
        try:
            dist = result.predictive(a, b) if q.startswith("predictive") else result.effect(a, b)
        except Exception:  # a treatment that is not in the network
            return None
        below = float(dist.cdf(cut))
        return below if op in ("<", "<=") else 1.0 - below
    doc = summary.get("nma", {}).get(sec.name, {})
    if doc.get("method") != "exact" or q != "hr" or value != 1:
        return None
    for r in doc.get("relative_effects", []):
        if (r.get("treatment"), r.get("vs")) == (a, b) and r.get("p_hr_lt_1") is not None:
            p = float(r["p_hr_lt_1"])
            return p if op in ("<", "<=") else 1.0 - p
    return None


def _exact_regression(q, label: str, op, value, sec: _Section, summary: dict, pools):
    """A meta-regression coefficient's exact P(against a number), or None (sampled)."""
    hr_scale = q == "coefficient_hr"
    if hr_scale and value <= 0:
        return 0.0 if op in ("<", "<=") else 1.0
    cut = math.log(value) if hr_scale else value
    run = (pools or {}).get(sec.name)
    reg = getattr(run, "regression", None)
    if reg is not None:
        if getattr(reg, "method", "") != "exact" or label not in getattr(reg, "names", ()):
            return None
        below = float(reg.coefficient(label).cdf(cut))
        return below if op in ("<", "<=") else 1.0 - below
    doc = summary.get("pool", {}).get(sec.name, {}).get("meta_regression") or {}
    if doc.get("method") != "exact" or cut != 0:
        return None
    for c in doc.get("coefficients", []):
        if c.get("name") == label and c.get("p_below_0") is not None:
            p = float(c["p_below_0"])
            return p if op in ("<", "<=") else 1.0 - p
    return None


def _exact(q: str, args: tuple, op: str, value: float, sec: _Section, summary: dict, pools):
    """The exact posterior probability of a pool quantity, or None when there is none."""
    if sec.kind != "pool":
        return None
    if q in ("coefficient", "coefficient_hr") and len(args) == 1 and args[0][0] == "str":
        return _exact_regression(q, args[0][1], op, value, sec, summary, pools)
    if q in _STUDY and len(args) == 1 and args[0][0] == "str":
        which, hr_scale = args[0][1], True
    elif q in _EXACT and not args:
        which, hr_scale = _EXACT[q]
    else:
        return None
    run = (pools or {}).get(sec.name)
    exact = getattr(run, "exact", None)
    if exact is not None:
        try:
            dist = exact.dist(which)
        except Exception:  # a label that is not one of the pooled studies
            return None
        if hr_scale:
            below = 0.0 if value <= 0 else float(dist.cdf(math.log(value)))
        else:
            below = float(dist.cdf(value))
        return below if op in ("<", "<=") else 1.0 - below
    # only the summary: the exact probabilities it recorded (HR below its thresholds)
    probs = summary.get("pool", {}).get(sec.name, {}).get("exact", {}).get("probabilities", {})
    if hr_scale and which in ("pooled", "predictive") and value > 0:
        got = probs.get(f"{which}_hr_lt_{f'{value:g}'.replace('.', '_')}")
        if got is not None:
            return float(got) if op in ("<", "<=") else 1.0 - float(got)
    return None


def answer(query: dict, summary: dict, spec=None, pools=None, nmas=None) -> Answer:
    """One recorded query (``summary["queries"]`` row) as a sentence with its one value
    (``pools``, ``nmas``: the runs by section name, for exact answers at any threshold)."""
    statement = query["statement"]
    sections = _sections(summary, spec)
    node = parse(statement)
    simple = _simple(node)
    sec, clause, exact = None, None, None
    if simple is not None:
        name, args, op, value = simple
        sec, q = _split(name, sections)
        if sec is not None:
            clause = _clause(q, args, op, value, sec)
            if sec.kind == "nma":
                exact = _exact_nma(q, args, op, value, sec, summary, nmas)
            else:
                exact = _exact(q, args, op, value, sec, summary, pools)
    if clause is None:
        text = statement.strip()
        inner = text[2:-1].strip() if text.startswith("P(") and text.endswith(")") else text
        clause = f"the statement {inner} holds"
    if exact is not None:
        method = EXACT_METHOD
        doc = summary.get("nma", {}).get(sec.name, {}) if sec.kind == "nma" else {}
        if doc.get("effects") == "fixed":
            method = "exact: the fixed-effect posterior is normal"
        p, how, mcse, computation = exact, method, None, method
        p_text = percent(p, words=True)
    else:
        p, mcse, draws = query["probability"], query["mcse"], int(query["draws"])
        model = f" of the {sec.model} model" if sec is not None and sec.model else ""
        p_text, how = share_of_draws(p, mcse, draws, of=model)
        computation = SAMPLED_METHOD
    sentence = f"The probability that {clause} is {p_text} ({how})."
    sentence = sentence.replace("  ", " ")
    return Answer(statement, sentence, p, computation, mcse, sec.name if sec else None)


def answers(summary: dict, spec=None, pools=None, nmas=None) -> list[Answer]:
    """Every query of ``summary`` answered (:func:`answer`), in the spec's order."""
    return [answer(q, summary, spec, pools, nmas) for q in summary.get("queries", [])]


def console_line(query: dict, width: int = 55) -> str:
    """One answered query (a ``summary["queries"]`` row after the report was built) for the
    terminal: the statement, the value the report gives and the computation that gave it - the
    exact value where there is one, never a second, sampled one beside it. A row without the
    report's ``reported_probability`` is the share of posterior draws, and says so.

    >>> row = {"statement": "P(os_hr < 1)", "probability": 0.954, "mcse": 0.0049, "draws": 8000}
    >>> print(console_line(row, width=14))  # doctest: +NORMALIZE_WHITESPACE
    P(os_hr < 1)   95.4% (MCMC: share of posterior draws; Monte Carlo error 0.5%;
    8,000 posterior draws)
    """
    statement = f"{query['statement']:<{width}s}"
    computation = query.get("computation", SAMPLED_METHOD)
    p = query.get("reported_probability", query["probability"])
    if computation == SAMPLED_METHOD:
        p_text, how = share_of_draws(p, query["mcse"], int(query["draws"]))
        return f"{statement} {p_text} ({computation}; {how})"
    return f"{statement} {percent(p, words=True)} ({computation})"
