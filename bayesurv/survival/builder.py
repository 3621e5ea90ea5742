"""The one builder: a :class:`~bayesurv.survival.structure.ModelSpec` and its data arrays
(:mod:`bayesurv.survival.data`) in, a ``pm.Model`` out, compiled once per structure.

Every array is ``pm.Data``, so one compiled model serves every data set of the same structure:
the cache key is :meth:`ModelSpec.key` (no labels, knot times or means) with the names and ranks
of the arrays. Each parameter gets its prior from :func:`~bayesurv.survival.structure.prior_of`;
a default prior whose location follows the data (log t_ref, a spline's level) takes that
location from a data array too. The likelihood is one ``pm.Potential`` of
:func:`bayesurv.survival.terms.loglik` with PyTensor.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayesurv.priors import DISTRIBUTIONS
from bayesurv.survival import terms
from bayesurv.survival.structure import SHIFTED, ModelSpec, parameters, prior_of

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 16


def _data(d: dict) -> dict:
    return {k: v for k, v in d.items() if isinstance(v, np.ndarray)}


#: the time arrays the likelihood evaluates families at: their logs are data too (below)
_TIMES = ("t", "ev_t", "ce_t", "en_t", "pt_t")


def _log_times(d: dict) -> dict:
    """``log t`` of each time array, computed once per data set (``log 0 = -inf``)."""
    with np.errstate(divide="ignore"):
        return {k: np.log(np.asarray(d[k], dtype=float)) for k in _TIMES if k in _data(d)}


def _with_log_times(times: dict, logs: dict):
    """The PyTensor namespace whose ``log`` of a time array is that array's log given as data.

    Every family takes ``log t`` of the times (Weibull's ``exp(shape (log t - log scale))``,
    log-normal's ``(log t - mu) / sigma``...); PyTensor cannot know that a data array's log is
    the same at every evaluation, so without this each gradient recomputes ~n logarithms (for
    100,000 patients about half the cost of the two-arm Weibull's log density and gradient)."""
    import types

    from bayesurv.survival.families import pytensor_namespace

    base = pytensor_namespace()
    # keyed by id, holding the array itself so that the id cannot be reused while known
    known = {id(times[k]): (times[k], logs[k]) for k in logs}

    def log(x):
        found = known.get(id(x))
        return found[1] if found is not None and found[0] is x else pt.log(x)

    def remember_log(x, log_x):
        """Tell the namespace the log of an expression (an AFT time ``t e^-eta``)."""
        known[id(x)] = (x, log_x)

    return types.SimpleNamespace(**{**vars(base), "log": log, "remember_log": remember_log})


def key(spec: ModelSpec, d: dict) -> str:
    """The structure of a model: the spec's key and the data arrays' names and ranks."""
    shapes = ",".join(f"{k}:{np.ndim(v)}" for k, v in sorted(_data(d).items()))
    shift = ",".join(sorted(d.get("prior_shift", {})))
    return f"{spec.key()}|{shapes}|{shift}"


def _rv(p, prior, loc=None):
    kw = prior.kwargs
    if loc is not None:  # a default normal prior centred on the data's scale
        kw = {**kw, "mu": kw["mu"] + loc}
    return getattr(pm, DISTRIBUTIONS[prior.family][0])(p.name, **kw, dims=p.dim)


def build(spec: ModelSpec, d: dict) -> pm.Model:
    """The PyMC model of ``spec`` with the arrays ``d`` (positional coords; the fit relabels)."""
    params = parameters(spec)
    coords = {p.dim: np.arange(p.size) for p in params if p.dim}
    overrides = dict(spec.priors)
    with pm.Model(coords=coords) as model:
        dd = {k: pm.Data(f"data_{k}", v) for k, v in _data(d).items()}
        logs = {k: pm.Data(f"logdata_{k}", v) for k, v in _log_times(d).items()}
        math = _with_log_times(dd, logs)
        shifts = {
            k: pm.Data(f"shift_{k}", np.asarray(v)) for k, v in d.get("prior_shift", {}).items()
        }
        raw = {}
        for p in params:
            prior = prior_of(spec, p)
            loc = None
            if p.name not in overrides and prior.family == "normal":
                if p.role in SHIFTED:
                    loc = SHIFTED[p.role] * dd["log_t_ref"]
                elif p.name in shifts:
                    loc = shifts[p.name]
            raw[p.name] = _rv(p, prior, loc)
        ll = terms.loglik(math, spec, raw, dd)
        total = ll.pop("ipd", 0.0)
        for v in ll.values():
            total = total + pt.sum(v)
        pm.Potential("loglik", total)
    return model


def compiled(spec: ModelSpec, d: dict):
    """A nutpie-compiled model of ``spec`` carrying ``d``: compiled once per structure (in this
    process, or found on disk), then given the new data with ``with_data``."""
    from bayesurv.sampling import compile_model

    k = key(spec, d)
    arrays = {
        **{f"data_{n}": v for n, v in _data(d).items()},
        **{f"shift_{n}": np.asarray(v) for n, v in d.get("prior_shift", {}).items()},
        **{f"logdata_{n}": v for n, v in _log_times(d).items()},
    }
    if k in _CACHE:
        _CACHE.move_to_end(k)
        model = _CACHE[k]
    else:
        model = compile_model(build(spec, d))
        _CACHE[k] = model
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    known = {v.name for v in getattr(model, "shared_var_keys", {})}
    # arrays are named as build() names their pm.Data (``data_<name>``, ``shift_<name>``); one
    # the log density does not read is not among the compiled model's shared variables
    return model.with_data(**{n: v for n, v in arrays.items() if n in known})
