"""Posterior probability statements, parsed safely (never ``eval``) and evaluated on draws.

Grammar
-------
::

    statement  := "P" "(" expr ")" | expr
    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := arith (("<" | "<=" | ">" | ">=" | "==" | "!=") arith)*
    arith      := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | power
    power      := atom (("^" | "**") unary)?
    atom       := NUMBER [UNIT | "%"] | STRING | NAME | NAME "(" [expr ("," expr)*] ")"
                | NAME "[" LABEL ["vs" LABEL] "]" | "(" expr ")"

``NAME`` is a quantity stored in the result (``hr``, ``tau``, ``surv_diff`` ...), or one of the
functions ``exp``, ``log``, ``abs``, ``min``, ``max``. A quantity with a ``time`` dimension
called with a number is read at that time (linear interpolation between grid times;
``surv_diff(60)``); a string argument picks a label of its other dimensions
(``theta("AALL1731")``, or ``hr_study[AALL1731]`` and, on a network, ``hr[A vs B]``). A time
may carry its unit (``surv_diff(5 years)``, ``survival(52 weeks)``; days, weeks, months, years),
converted with the result's ``time_scale``; a bare number is in the data's time unit. ``10%``
is 0.10, and ``≤ ≥ −`` copied from a page read as ``<= >= -``. The names each kind of result
holds, with meaning and unit, are in :mod:`bayesurv.query_names`; a threshold outside a name's
range (``surv_diff(60) > 10``) warns (:class:`QueryWarning`). Chained comparisons mean what
they do in mathematics (``0.5 < hr < 0.8``). The probability is the share of posterior draws
where the statement holds; its Monte Carlo standard error is sqrt(p (1 - p) / ESS) with the ESS
of the indicator (ArviZ).

Examples
--------
>>> import numpy as np, xarray as xr
>>> rng = np.random.default_rng(1)
>>> post = xr.Dataset({"hr": (("chain", "draw"), rng.lognormal(np.log(0.6), 0.1, (4, 500)))})
>>> res = probability("P(hr < 0.8)", post)
>>> round(res["probability"], 2), res["statement"]
(1.0, 'P(hr < 0.8)')
"""

from __future__ import annotations

import math
import re
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayesurv.errors import InputError
from bayesurv.query_names import UNIT_WORDS, UNITS_PER_YEAR


class QueryWarning(UserWarning):
    """A statement that parses but probably does not say what was meant."""


SAMPLE_DIMS = ("chain", "draw")
#: the longest statement read (characters) and the deepest nesting of parentheses
MAX_LENGTH = 2000
MAX_DEPTH = 256
_FUNCS = {"exp": np.exp, "log": np.log, "abs": np.abs}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<str>\"[^\"]*\"|'[^']*')"
    r"|(?P<label>\[[^\[\]]*\])|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|<=|>=|==|!=|[-+*/^()<>,%]))"
)
_COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


_ARITH = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": lambda a, b: a**b,
}
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "not": 3,
    "compare": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "neg": 7,
    "^": 8,
}


def _unparse(node, parent: int = 0) -> str:
    """The statement text of a node, for messages: ``("/", ("num", 1.0), ("num", 0.0))`` ->
    ``"1 / 0"``; parentheses only where precedence needs them."""
    kind = node[0]
    if kind == "num":
        return f"{node[1]:g}"
    if kind == "str":
        return f'"{node[1]}"'
    if kind == "time":
        return f"{node[1]:g} {node[2]}"
    if kind == "name":
        return node[1]
    if kind == "call":
        return f"{node[1]}({', '.join(_unparse(a) for a in node[2])})"
    prec = _PRECEDENCE[kind]
    if kind == "neg":
        text = f"-{_unparse(node[1], prec)}"
    elif kind == "not":
        text = f"not {_unparse(node[1], prec)}"
    elif kind == "compare":
        text = _unparse(node[1], prec) + "".join(
            f" {op} {_unparse(right, prec)}" for op, right in node[2]
        )
    else:  # binary; ^ is right-associative
        left = prec + 1 if kind == "^" else prec
        right = prec if kind == "^" else prec + 1
        text = f"{_unparse(node[1], left)} {kind} {_unparse(node[2], right)}"
    return f"({text})" if prec < parent else text


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


#: characters a statement copied from a page may hold, read as their ASCII forms
_TYPOGRAPHY = str.maketrans({"≤": "<=", "≥": ">=", "−": "-", "–": "-", "×": "*", "≠": "!="})


def _tokenize(text: str) -> list[_Tok]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise InputError(
                f"query {text!r}: cannot read {text[pos:].strip()[:12]!r} at character {pos + 1}; "
                "use names, numbers, + - * / ^, comparisons, and/or/not and parentheses."
            )
        kind = m.lastgroup
        out.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


class _Parser:
    """Recursive descent to a small AST of tuples."""

    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self, text: str | None = None, kind: str | None = None) -> _Tok:
        tok = self.peek()
        if (text is not None and tok.text != text) or (kind is not None and tok.kind != kind):
            want = repr(text) if text else kind
            got = "the end" if tok.kind == "end" else repr(tok.text)
            raise InputError(
                f"query {self.text!r}: expected {want} at character {tok.pos + 1} but found {got}."
            )
        self.i += 1
        return tok

    def statement(self):
        tok = self.peek()
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else tok
        if tok.kind == "name" and tok.text == "P" and nxt.text == "(":
            self.take("P")
            self.take("(")
            node = self.expr()
            self.take(")")
        else:
            node = self.expr()
        self.take(kind="end")
        return node

    def expr(self):
        node = self.and_expr()
        while self.peek().text == "or":
            self.take("or")
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.peek().text == "and":
            self.take("and")
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self):
        if self.peek().text == "not":
            self.take("not")
            return ("not", self.not_expr())
        return self.comparison()

    def comparison(self):
        first = self.arith()
        parts = []
        while self.peek().text in _COMPARE:
            op = self.take().text
            parts.append((op, self.arith()))
        if not parts:
            return first
        return ("compare", first, tuple(parts))

    def arith(self):
        node = self.term()
        while self.peek().text in ("+", "-"):
            op = self.take().text
            node = (op, node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.peek().text in ("*", "/"):
            op = self.take().text
            node = (op, node, self.unary())
        return node

    def unary(self):
        if self.peek().text in ("-", "+"):
            op = self.take().text
            inner = self.unary()
            return ("neg", inner) if op == "-" else inner
        return self.power()

    def power(self):
        node = self.atom()
        if self.peek().text in ("^", "**"):
            self.take()
            node = ("^", node, self.unary())
        return node

    def atom(self):
        tok = self.peek()
        if tok.kind == "num":
            self.take()
            value = float(tok.text)
            if not math.isfinite(value):
                raise InputError(
                    f"query {self.text!r}: the number {tok.text} is too large for a float "
                    f"(at character {tok.pos + 1}); write a smaller one."
                )
            nxt = self.peek()
            if nxt.text == "%":
                self.take()
                return ("num", value / 100.0)
            if nxt.kind == "name" and nxt.text.lower() in UNIT_WORDS:
                self.take()
                return ("time", value, UNIT_WORDS[nxt.text.lower()])
            return ("num", value)
        if tok.kind == "str":
            self.take()
            return ("str", tok.text[1:-1])
        if tok.text == "(":
            self.take("(")
            node = self.expr()
            self.take(")")
            return node
        if tok.kind == "name" and tok.text not in ("and", "or", "not"):
            self.take()
            if self.peek().kind == "label":
                inner = self.take().text[1:-1].strip().strip("\"'")
                labels = re.split(r"\s+vs\.?\s+", inner)
                if not all(labels) or len(labels) > 2:
                    raise InputError(
                        f"query {self.text!r}: {tok.text}[{inner}] should name one label, "
                        f"{tok.text}[NAME], or two, {tok.text}[A vs B]."
                    )
                return ("call", tok.text, tuple(("str", x.strip()) for x in labels))
            if self.peek().text == "(":
                self.take("(")
                args = []
                if self.peek().text != ")":
                    args.append(self.expr())
                    while self.peek().text == ",":
                        self.take(",")
                        args.append(self.expr())
                self.take(")")
                return ("call", tok.text, tuple(args))
            return ("name", tok.text)
        got = "the end" if tok.kind == "end" else repr(tok.text)
        raise InputError(
            f"query {self.text!r}: expected a number, a name or '(' at character {tok.pos + 1} "
            f"but found {got}."
        )


def parse(text: str):
    """Parse a statement into an AST (nested tuples); raises InputError on bad syntax."""
    if not text or not text.strip():
        raise InputError("the query is empty; write a statement such as 'P(hr < 0.8)'.")
    text = text.translate(_TYPOGRAPHY)
    if len(text) > MAX_LENGTH:
        raise InputError(
            f"query {text[:30]!r}... is {len(text):,} characters long, more than the "
            f"{MAX_LENGTH:,} bayesurv reads; split it into shorter statements."
        )
    parser = _Parser(text)
    depth = prefix = best = 0
    for tok in parser.toks:
        if tok.text == "(":
            depth += 1
            best = max(best, depth)
        elif tok.text == ")":
            depth -= 1
        elif tok.text in ("-", "+", "not", "^", "**"):
            prefix += 1
    if best > MAX_DEPTH:
        raise InputError(
            f"query {text[:30]!r}... nests parentheses {best} deep, more than the {MAX_DEPTH} "
            "bayesurv reads; remove the redundant ones."
        )
    # recursive descent takes about ten frames per parenthesis and three per prefix operator
    with _recursion_limit(12 * best + 4 * prefix + 200):
        return parser.statement()


class _recursion_limit:
    """Raise the interpreter's recursion limit by ``extra`` frames for one bounded parse."""

    def __init__(self, extra: int):
        self.extra = extra

    def __enter__(self):
        self.old = sys.getrecursionlimit()
        sys.setrecursionlimit(self.old + self.extra)

    def __exit__(self, *exc):
        sys.setrecursionlimit(self.old)


class _Evaluator:
    def __init__(self, text: str, quantities: xr.Dataset):
        self.text = text
        self.q = quantities

    def names(self) -> list[str]:
        return sorted(str(k) for k in self.q.data_vars)

    def resolve(self, name: str) -> str:
        """The stored name of ``name``: itself, or without the section key the report puts in
        front of it (``efs_surv_diff`` on ``efs.nc``, whose ``section_key`` is ``efs``)."""
        found = self._lookup(name)
        if found is None:
            self.unknown(name)
        return found

    def _lookup(self, name: str) -> str | None:
        if name in self.q.data_vars:
            return name
        key = str(self.q.attrs.get("section_key", ""))
        if key and name.startswith(key + "_") and name[len(key) + 1 :] in self.q.data_vars:
            return name[len(key) + 1 :]
        return None

    def unknown(self, name: str):
        raise InputError(
            f"query {self.text!r}: unknown name {name!r}; the result has "
            + ", ".join(self.names())
            + (" (and the functions exp, log, abs, min, max)." if self.names() else ".")
        )

    def ev(self, node):
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "str":
            raise InputError(
                f'query {self.text!r}: the text "{node[1]}" can only be an argument, e.g. '
                f'theta("{node[1]}").'
            )
        if kind == "time":
            raise InputError(
                f"query {self.text!r}: a time such as {_unparse(node)} is the argument of a "
                "quantity over time, e.g. surv_diff(5 years)."
            )
        if kind == "name":
            return self._check_scalar(self.q[self.resolve(node[1])], node[1])
        if kind == "call":
            return self.call(node[1], node[2])
        if kind == "neg":
            return -self.ev(node[1])
        if kind in _ARITH:
            a, b = self.ev(node[1]), self.ev(node[2])
            return self._checked(node, _ARITH[kind], a, b)
        if kind == "compare":
            left = self.ev(node[1])
            out = None
            left_node = node[1]
            for op, right_node in node[2]:
                right = self.ev(right_node)
                self._check_range(left_node, right_node)
                left_node = right_node
                res = _COMPARE[op](left, right)
                out = res if out is None else (out & res)
                left = right
            return out
        if kind in ("and", "or"):
            a, b = self._bool(self.ev(node[1])), self._bool(self.ev(node[2]))
            return (a & b) if kind == "and" else (a | b)
        if kind == "not":
            return ~self._bool(self.ev(node[1]))
        raise AssertionError(kind)  # pragma: no cover

    def _checked(self, node, func, *args):
        """``func(*args)`` with division by zero, overflow and complex or undefined results
        refused in a sentence that names the sub-expression."""
        try:
            with np.errstate(divide="raise", over="raise", invalid="raise"):
                out = func(*args)
        except ZeroDivisionError:
            zero_by_zero = all(not isinstance(a, xr.DataArray) and a == 0 for a in args)
            problem = "is 0/0, undefined" if zero_by_zero else "divides by zero"
            out = None
        except OverflowError:
            problem, out = "overflows (beyond 1.8e308)", None
        except FloatingPointError as exc:
            msg = str(exc)
            if "divide" in msg:
                problem = "divides by zero for some draws"
            elif "overflow" in msg:
                problem = "overflows (beyond 1.8e308) for some draws"
            else:
                problem = (
                    "is not a real number for some draws (0/0, the log of a negative number, "
                    "or a negative number to a fractional power)"
                )
            out = None
        else:
            problem = None
            if isinstance(out, complex):
                problem = "is not a real number (a negative number to a fractional power)"
            elif isinstance(out, float) and not math.isfinite(out):
                problem = "is not a finite number"
            elif isinstance(out, xr.DataArray) and out.dtype.kind == "f":
                # xarray silences numpy's floating-point errors: find new non-finite draws
                fresh = ~np.isfinite(out)
                for a in args:
                    if isinstance(a, xr.DataArray) and a.dtype.kind == "f":
                        fresh = fresh & np.isfinite(a)
                if bool(fresh.any()):
                    problem = (
                        "is infinite for some draws (a division by zero or an overflow)"
                        if bool(np.isinf(out.where(fresh)).any())
                        else "is not a real number for some draws (0/0, the log of a negative "
                        "number, or a negative number to a fractional power)"
                    )
        if problem is not None:
            raise InputError(
                f"query {self.text!r}: {_unparse(node)} {problem}; rewrite that part so it is "
                "a finite real number for every draw."
            )
        return out

    def _check_range(self, a, b) -> None:
        """Warn when a number is compared with a quantity whose values cannot reach it
        (``surv_diff(60) > 10`` for ten points)."""
        for q, num in ((a, b), (b, a)):
            stored = self._lookup(q[1]) if q[0] in ("name", "call") else None
            if num[0] == "neg" and num[1][0] == "num":
                num = ("num", -num[1][1])
            if num[0] != "num" or stored is None:
                continue
            lo, hi = self.q[stored].attrs.get("query_range", (-math.inf, math.inf))
            x = num[1]
            if lo <= x <= hi:
                continue
            hint = f"; did you mean {x / 100:g}?" if lo <= x / 100 <= hi and abs(x) > 1 else "."
            warnings.warn(
                f"query {self.text!r}: {_unparse(q)} lies between {lo:g} and {hi:g}, so a "
                f"threshold of {x:g} is outside its range{hint}",
                QueryWarning,
                stacklevel=2,
            )

    def _bool(self, x):
        if isinstance(x, xr.DataArray) and x.dtype == bool:
            return x
        if isinstance(x, bool | np.bool_):
            return x
        raise InputError(
            f"query {self.text!r}: 'and', 'or' and 'not' join comparisons (e.g. hr < 1 and "
            "tau < 0.5), not numbers."
        )

    def call(self, name: str, args):
        if name in _FUNCS:
            if len(args) != 1:
                raise InputError(f"query {self.text!r}: {name}() takes one argument.")
            return self._checked(("call", name, args), _FUNCS[name], self.ev(args[0]))
        if name in ("min", "max"):
            vals = [self.ev(a) for a in args]
            if len(vals) < 2:
                raise InputError(f"query {self.text!r}: {name}() takes two or more arguments.")
            out = vals[0]
            for v in vals[1:]:
                out = np.minimum(out, v) if name == "min" else np.maximum(out, v)
            return out
        da = self.q[self.resolve(name)]
        for arg in args:
            if arg[0] == "str":
                da = self._select_label(da, name, arg[1])
            elif arg[0] == "time":
                da = self._at_time(da, name, self._in_data_unit(da, name, arg), arg)
            else:
                value = self.ev(arg)
                if isinstance(value, xr.DataArray):
                    raise InputError(
                        f"query {self.text!r}: the argument of {name}() must be a number (a time) "
                        "or a label in quotes."
                    )
                da = self._at_time(da, name, float(value))
        return self._check_scalar(da, name)

    def _in_data_unit(self, da: xr.DataArray, name: str, node) -> float:
        """A time with a unit in the data's time unit: ``t * time_scale / units per year``."""
        if "time" not in da.dims:
            raise InputError(
                f"query {self.text!r}: {name} has no time dimension; use it without a time."
            )
        unit = da.attrs.get("time_unit", "")
        if not unit or "time_scale" not in da.attrs:
            raise InputError(
                f"query {self.text!r}: the result does not say its time unit, so "
                f"{_unparse(node)} cannot be converted; give the time as a bare number in the "
                "data's unit, e.g. " + f"{name}({node[1]:g})."
            )
        return float(node[1]) * float(da.attrs["time_scale"]) / UNITS_PER_YEAR[node[2]]

    def _at_time(self, da: xr.DataArray, name: str, t: float, node=None) -> xr.DataArray:
        if "time" not in da.dims:
            raise InputError(
                f"query {self.text!r}: {name} has no time dimension; use it without a time."
            )
        grid = np.asarray(da["time"].values, dtype=float)
        if grid.size == 1 and t == grid[0]:
            return da.isel(time=0)
        if t < grid.min() or t > grid.max():
            unit = f" {da.attrs['time_unit']}" if da.attrs.get("time_unit") else ""
            asked = f"{_unparse(node)}, {t:g}{unit}" if node is not None else f"{t:g}"
            raise InputError(
                f"query {self.text!r}: {name}({asked}) is outside the result's time grid "
                f"({grid.min():g} to {grid.max():g}{unit}); re-run with that time in the grid."
            )
        exact = np.flatnonzero(grid == t)
        if exact.size:
            return da.isel(time=int(exact[0]))
        return da.interp(time=t)

    def _select_label(self, da: xr.DataArray, name: str, label: str) -> xr.DataArray:
        for dim in da.dims:
            if dim in SAMPLE_DIMS or dim == "time":
                continue
            labels = [str(v) for v in da[dim].values] if dim in da.coords else []
            if label in labels:
                return da.isel({dim: labels.index(label)})
        have = {
            d: [str(v) for v in da[d].values]
            for d in da.dims
            if d not in SAMPLE_DIMS and d != "time" and d in da.coords
        }
        listing = "; ".join(f"{d}: {', '.join(v)}" for d, v in have.items()) or "no labels"
        raise InputError(f"query {self.text!r}: {name} has no label {label!r} ({listing}).")

    def _check_scalar(self, da: xr.DataArray, name: str) -> xr.DataArray:
        extra = [d for d in da.dims if d not in SAMPLE_DIMS]
        if not extra and da.dtype.kind == "f":
            share = float(np.isnan(da.values).mean())
            if share:
                warnings.warn(
                    f"query {self.text!r}: {name} is undefined (NaN) in {100 * share:.1f}% of "
                    "draws (e.g. a difference of two medians not reached), and a comparison "
                    "counts those draws as false.",
                    QueryWarning,
                    stacklevel=2,
                )
        if extra:
            hints = []
            for d in extra:
                if d == "time":
                    unit = da.attrs.get("time_unit")
                    hints.append(
                        f"a time, e.g. {name}(60)"
                        + (f" ({unit}) or {name}(5 years)" if unit else "")
                    )
                elif d in da.coords:
                    hints.append(f'a {d} label, e.g. {name}("{da[d].values[0]}")')
                else:
                    hints.append(f"its {d}")
            raise InputError(
                f"query {self.text!r}: {name} varies over {', '.join(extra)}; give "
                + " and ".join(hints)
                + "."
            )
        return da


def _mcse(indicator: np.ndarray, p: float) -> float:
    import arviz as az

    if p <= 0.0 or p >= 1.0:
        return 0.0
    ess = float(
        az.ess(
            indicator.astype(float)[None, ...] if indicator.ndim == 1 else indicator.astype(float)
        )
    )
    return math.sqrt(p * (1.0 - p) / max(ess, 1.0))


def probability(statement: str, quantities: xr.Dataset) -> dict:
    """Posterior probability of ``statement`` over draws in ``quantities`` (dims chain, draw).

    Returns ``{"statement", "probability", "mcse", "draws", "probability_text", "mcse_text"}``
    (the texts from :func:`for_people`).
    """
    node = parse(statement)
    with _recursion_limit(4 * len(statement) + 200):  # a node per token at most
        val = _Evaluator(statement, quantities).ev(node)
    if not (isinstance(val, xr.DataArray) and val.dtype == bool):
        raise InputError(
            f"query {statement!r} is not a true/false statement about the posterior; compare "
            "something, e.g. 'P(hr < 0.8)'."
        )
    arr = val.transpose(*[d for d in SAMPLE_DIMS if d in val.dims]).values
    p = float(arr.mean())
    if arr.ndim == 1:
        arr = arr[None, :]
    mcse = _mcse(arr, p)
    p_text, mc_text = for_people(p, mcse, int(arr.size))
    return {
        "statement": statement.strip(),
        "probability": p,
        "mcse": mcse,
        "draws": int(arr.size),
        "probability_text": p_text,
        "mcse_text": mc_text,
    }


def for_people(p: float, mcse: float, draws: int) -> tuple[str, str]:
    """A probability and its Monte Carlo error as a reader wants them: three decimals, and
    ``"> 0.999"`` / ``"< 0.001"`` beyond them. When every draw (or none) satisfies the statement
    the estimated error is 0, so the error given is the bound 3 / draws (the rule of three: the
    95% upper limit of a proportion with no event in ``draws`` independent trials), and the
    probability claims no more than that bound: ``"> 0.997"`` from 1,000 draws, not ``"> 0.999"``.

    >>> for_people(1.0, 0.0, 4000)
    ('> 0.999', '< 0.001')
    >>> for_people(1.0, 0.0, 1000)
    ('> 0.997', '< 0.003')
    >>> for_people(0.0, 0.0, 1000)
    ('< 0.003', '< 0.003')
    >>> for_people(0.25, 0.0123, 4000)
    ('0.250', '0.012')
    """
    if p in (0.0, 1.0):
        err = 3.0 / max(draws, 1)
        bound = math.ceil(min(err, 1.0) * 1000 - 1e-9) / 1000  # rounded to claim no more
        mc_text = f"< {max(bound, 0.001):.3f}"
        p_text = f"> {1 - max(bound, 0.001):.3f}" if p == 1.0 else f"< {max(bound, 0.001):.3f}"
        return p_text, mc_text
    if p >= 0.9995:
        p_text = "> 0.999"
    elif p < 0.0005:
        p_text = "< 0.001"
    else:
        p_text = f"{p:.3f}"
    mc_text = "< 0.001" if mcse < 0.0005 else f"{mcse:.3f}"
    return p_text, mc_text


def _regression_quantities(tree: xr.DataTree, like: xr.Dataset) -> xr.Dataset:
    """A saved meta-regression's draws (``pool --covariates --netcdf``: the ``meta_regression``
    group, ``beta`` over ``coefficient`` and ``tau``) under the query names ``coefficient``,
    ``coefficient_hr`` and ``residual_tau``, laid out on the pool's chains and draws (a
    separate posterior: statements joining the two pair draws arbitrarily)."""
    from bayesurv.query_names import regression_aliases

    reg = tree["meta_regression"].to_dataset()
    if "beta" not in reg:
        raise InputError(
            "the result's meta_regression group has no beta draws; save it again with "
            "bayesurv pool --covariates ... --netcdf."
        )
    c, n = reg.sizes.get("chain", 0), reg.sizes.get("draw", 0)
    tc, tn = like.sizes.get("chain", c), like.sizes.get("draw", n)
    if (c, n) != (tc, tn):
        if c * n != tc * tn:
            raise InputError(
                f"the result's meta_regression group holds {c * n:,} draws and its posterior "
                f"{tc * tn:,}; save both from one run of bayesurv pool --covariates ... --netcdf."
            )
        reg = xr.Dataset(
            {
                k: (
                    ("chain", "draw", *v.dims[2:]),
                    v.transpose("chain", "draw", ...).values.reshape(tc, tn, *v.shape[2:]),
                )
                for k, v in reg.data_vars.items()
                if {"chain", "draw"} <= set(v.dims)
            },
            coords={
                "chain": like["chain"].values,
                "draw": like["draw"].values,
                **{d: reg[d].values for d in reg.dims if d not in ("chain", "draw")},
            },
        )
    return regression_aliases(reg)


def quantities_from_tree(
    tree: xr.DataTree, groups=("posterior", "derived"), section_key: str | None = None
) -> xr.Dataset:
    """Merge the named groups of a result into one Dataset of queryable quantities: the
    variables with posterior draws (``chain``, ``draw``); fixed curves such as the general
    population's survival are not statements about the posterior. A pool also gets its natural
    names (:func:`bayesurv.query_names.pool_aliases`), and its meta-regression (the
    ``meta_regression`` group) ``coefficient``, ``coefficient_hr`` and ``residual_tau``
    (:func:`bayesurv.query_names.regression_aliases`); every variable its meaning, unit and
    range (:func:`bayesurv.query_names.annotate`). ``section_key`` (the report's prefix, e.g.
    ``efs`` for ``efs.nc``) lets statements copied from the report name ``efs_surv_diff``."""
    from bayesurv.query_names import annotate, kind_of, pool_aliases

    kind = kind_of(tree)
    parts = []
    for g in groups:
        if g in tree.children:
            ds = tree[g].to_dataset()
            parts.append(ds[[v for v in ds.data_vars if {"chain", "draw"} <= set(ds[v].dims)]])
    if not parts:
        raise InputError(
            f"the result has none of the groups {', '.join(groups)}; is it a bayesurv result?"
        )
    if kind == "pool" and "posterior" in groups:
        aliases = pool_aliases(tree["posterior"].to_dataset())
        parts.append(aliases[[v for v in aliases.data_vars if not any(v in p for p in parts)]])
    if "meta_regression" in tree.children:  # pool --covariates --netcdf
        parts.append(_regression_quantities(tree, parts[0]))
    ds = xr.merge(parts, compat="override", join="outer", combine_attrs="drop")
    attrs = dict(tree["derived"].attrs) if "derived" in tree.children else {}
    ds = annotate(ds, kind, attrs)
    ds.attrs = {"kind": kind, **({"section_key": section_key} if section_key else {})}
    return ds
