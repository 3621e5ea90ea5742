"""NUTS sampling with nutpie, and the convergence checks run after every fit.

One place decides how bayesurv samples (nutpie, 4 chains, seeded) and what counts as a
converged fit (R-hat <= 1.01, bulk and tail ESS >= 400, no divergences; Vehtari et al. 2021).
Models whose structure is fixed and whose data change are compiled once
(:func:`compile_model`) and re-used through nutpie's ``with_data``.

Compiling: PyTensor turns the model's log density and gradient into numba functions, which it
caches on disk by the graph's hash. nutpie then wraps them in C callbacks that numba cannot
cache (they embed the data arrays), which costs ~10 s per model and process whatever its size.
:func:`compile_model` writes those two callbacks itself, from generated source that reads every
array through nutpie's record of pointers and shapes, and lets numba cache them on disk beside
PyTensor's functions (keyed by PyTensor's hash of the graph). A structure compiled once, in any
process, then costs its graph rewrites (~1 s) and a cache load; the callbacks are nutpie's in
all but their source (same signature, record layout, return codes and ``with_data``).

Same seed, same numbers: importing this module turns PyTensor's numba ``fastmath`` off. With it
on, LLVM may reassociate sums differently in a freshly compiled function and in the same
function loaded from the disk cache (the gradient of the GBSG-2 Weibull differed in its last
bits), so the first fit of a structure on a machine drew other chains than every later fit with
the same seed. Off, both are bit-identical; the log density costs 0-15% more (GBSG-2: Weibull
17 -> 11 us, generalized gamma 372 -> 435 us a call, on a loaded machine).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import nutpie
import pymc as pm
import xarray as xr
from numba.core import cgutils
from numba.core import types as numba_types
from numba.extending import intrinsic
from pytensor import config as _pytensor_config

_pytensor_config.numba__fastmath = False  # reproducible across compile-cache states (above)

RHAT_MAX = 1.01
ESS_MIN = 400


class ConvergenceWarning(UserWarning):
    """A fit whose R-hat, ESS or divergences fail the checks in :func:`diagnostics`."""


#: bump to invalidate every cached callback (part of their cache key)
_CALLBACK_VERSION = "1"


def compile_model(model: pm.Model):
    """Compile a PyMC model for nutpie once; re-use it with ``compiled.with_data(name=array)``.

    The result is nutpie's ``CompiledPyMCModel`` with disk-cached callbacks (module docstring);
    a graph PyTensor does not cache falls back to nutpie's own compile."""
    import nutpie.compile_pymc as ncp
    from pymc.initial_point import make_initial_point_fn
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    point_fn = make_initial_point_fn(
        model=model,
        default_strategy="support_point",
        jitter_rvs=set(model.free_RVs),
        return_transformed=True,
    )
    n_dim, n_exp, logp_pt, expand_pt, init_fn, shape_info, repar = ncp._make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=ncp._wrap_with_lock(point_fn),
    )
    keys = [
        CACHED_SRC_FUNCTIONS.get(getattr(f.vm.jit_fn, "py_func", None))
        for f in (logp_pt, expand_pt)
    ]
    if None in keys:
        return nutpie.compile_pymc_model(model)
    shared = list(dict.fromkeys([*logp_pt.get_shared(), *expand_pt.get_shared()]))
    var_keys = {v: f"s{i}" for i, v in enumerate(shared)}  # the record's field names
    data = {var_keys[v]: np.array(v.get_value(), order="C", copy=True) for v in shared}
    for a in data.values():
        a.flags.writeable = False
    user_data = ncp.make_user_data(var_keys, data)
    callbacks = [
        _callback(kind, f, shared, n_dim, n, key)
        for kind, f, n, key in (
            ("logp", logp_pt, n_dim, keys[0]),
            ("expand", expand_pt, n_exp, keys[1]),
        )
    ]
    dims, coords = ncp._prepare_dims_and_coords(model, shape_info, repar)
    return ncp.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=callbacks[0],
        compiled_expand_func=callbacks[1],
        initial_point_func=init_fn,
        shared_data=data,
        shared_var_keys=var_keys,
        user_data=user_data,
        n_expanded=n_exp,
        shape_info=shape_info,
        logp_func=logp_pt,
        expand_func=expand_pt,
    )


@intrinsic
def _void_pointer(typingctx, src):
    """An address (an unsigned integer) as a ``void *`` (as nutpie's own helper)."""

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return numba_types.voidptr(src), codegen


def _callback_source(kind: str, shared: list, used: list, n_in: int, n_out: int) -> str:
    """The C callback's source: nutpie's signature; the arrays from its record of pointers,
    sizes and shapes (``2 k + sum(ndim)`` unsigned 64-bit integers, in ``shared``'s order)."""
    k = len(shared)
    head = "dim, x_, out_, logp_, ud_" if kind == "logp" else "dim, expanded, x_, out_, ud_"
    lines = [f"def {kind}_callback({head}):", f"    if dim != {n_in}:", "        return -1"]
    if kind == "expand":
        lines += [f"    if expanded != {n_out}:", "        return -1"]
    lines.append(f"    u = carray(ud_, ({2 * k + sum(v.ndim for v in shared)},), uint64)")
    off = 2 * k
    for i, v in enumerate(shared):
        shape = "".join(f"u[{off + j}], " for j in range(v.ndim))
        off += v.ndim
        dtype = np.dtype(v.dtype).name
        lines.append(
            f"    a{i} = carray(void_pointer(u[{i}]), (u[{k + i}],), {dtype}).reshape(({shape}))"
        )
    args = "".join(f", a{shared.index(v)}" for v in used)
    lines += [f"    x = carray(x_, ({n_in},))", f"    out = carray(out_, ({n_out},))"]
    if kind == "logp":  # nutpie's codes: 3 a non-finite gradient, 4 logp, 1 an error
        body = [
            "lp = carray(logp_, ())",
            f"value, grad = inner(x{args})",
            "lp[()] = value",
            "finite = True",
            f"for i in range({n_out}):",
            "    out[i] = grad[i]",
            "    finite = finite and np.isfinite(grad[i])",
            "if not finite:",
            "    return 3",
            "if not np.isfinite(value):",
            "    return 4",
        ]
    else:
        body = [
            f"(values,) = inner(x{args})",
            f"for i in range({n_out}):",
            "    out[i] = values[i]",
        ]
    lines += ["    try:", *(f"        {b}" for b in body), "    except Exception:"]
    lines += [f"        return {1 if kind == 'logp' else -2}", "    return 0"]
    return "\n".join(lines)


def _callback(kind: str, fn, shared: list, n_in: int, n_out: int, inner_key: str):
    """nutpie's ``logp`` or ``expand`` C callback around PyTensor's numba function ``fn``, cached
    on disk (numba ``cache=True``, located by PyTensor's cache locator under ``inner_key``)."""
    import hashlib

    import numba
    from pytensor.link.numba.cache import compile_numba_function_src

    src = _callback_source(kind, shared, list(fn.get_shared()), n_in, n_out)
    key = hashlib.sha256(f"{_CALLBACK_VERSION}|{inner_key}|{src}".encode()).hexdigest()
    env = {
        "__name__": "numba",  # an importable module for numba's cached environment
        "carray": numba.carray,
        "void_pointer": _void_pointer,
        "inner": fn.vm.jit_fn,
        "np": np,
        "uint64": np.uint64,
        **{np.dtype(v.dtype).name: np.dtype(v.dtype).type for v in shared},
    }
    py = compile_numba_function_src(src, f"{kind}_callback", env, cache_key=key)
    t = numba_types
    ptr = t.CPointer(t.double)
    if kind == "logp":
        sig = t.int64(t.uint64, ptr, ptr, ptr, t.voidptr)
    else:
        sig = t.int64(t.uint64, t.uint64, ptr, ptr, t.voidptr)
    return numba.cfunc(sig, cache=True)(py)


def sample(
    model,
    *,
    seed: int,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    progress: bool = False,
    target_accept: float = 0.8,
    adaptation: str = "diag",
) -> xr.DataTree:
    """Draw from the posterior of ``model`` (a ``pm.Model`` or a compiled nutpie model).

    Returns the ArviZ DataTree that nutpie produces (``posterior``, ``sample_stats``,
    ``warmup_*``). ``seed`` is required: every random step in bayesurv is seeded.
    ``adaptation="low_rank"`` uses nutpie's low-rank mass-matrix adaptation, which samples
    strongly correlated posteriors (survival families' shape and scale) far more efficiently.
    """
    compiled = compile_model(model) if isinstance(model, pm.Model) else model
    kwargs = dict(
        draws=draws,
        tune=tune,
        chains=chains,
        seed=int(seed),
        progress_bar=progress,
        target_accept=target_accept,
    )
    if adaptation != "diag":
        kwargs["adaptation"] = adaptation
    if cores is not None:
        kwargs["cores"] = cores
    return nutpie.sample(compiled, **kwargs)


@dataclass(frozen=True)
class Diagnostics:
    """Worst-case convergence summaries over the monitored parameters."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    chains: int
    draws: int

    @property
    def problems(self) -> list[str]:
        """Plain-language descriptions of every failed check (empty when all pass). One chain
        has no R-hat (:attr:`rhat_note` says so); its ESS and divergences are still checked."""
        out = []
        if self.chains >= 2 and (not np.isfinite(self.rhat_max) or self.rhat_max > RHAT_MAX):
            out.append(f"R-hat is {self.rhat_max:.3f} (should be <= {RHAT_MAX})")
        if self.ess_bulk_min < ESS_MIN:
            out.append(f"bulk ESS is {self.ess_bulk_min:.0f} (should be >= {ESS_MIN})")
        if self.ess_tail_min < ESS_MIN:
            out.append(f"tail ESS is {self.ess_tail_min:.0f} (should be >= {ESS_MIN})")
        if self.divergences > 0:
            out.append(f"{self.divergences} divergent transitions")
        return out

    @property
    def rhat_note(self) -> str | None:
        """Why there is no R-hat (one chain), else None."""
        from bayesurv.report_format import RHAT_NOTE

        return RHAT_NOTE if self.chains < 2 else None

    def as_dict(self) -> dict[str, float | int | str | None]:
        """The numbers for strict JSON: a number that is not finite is None; with one chain
        ``rhat_max`` is None and ``rhat_note`` says why."""

        def finite(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        out: dict[str, float | int | str | None] = {
            "rhat_max": finite(self.rhat_max) if self.chains >= 2 else None,
            "ess_bulk_min": finite(self.ess_bulk_min),
            "ess_tail_min": finite(self.ess_tail_min),
            "divergences": int(self.divergences),
            "chains": int(self.chains),
            "draws": int(self.draws),
        }
        if self.rhat_note:
            out["rhat_note"] = self.rhat_note
        return out


def _worst(ds: xr.Dataset, how: str) -> float:
    vals = [np.asarray(v.values, dtype=float).ravel() for v in ds.data_vars.values()]
    vals = np.concatenate(vals) if vals else np.array([np.nan])
    vals = vals[np.isfinite(vals)] if how == "min" else vals[~np.isnan(vals)]
    if vals.size == 0:  # nothing computed (e.g. R-hat of one chain): NaN, without numpy's
        return float("nan")  # "All-NaN slice" warning
    return float(vals.max() if how == "max" else vals.min())


def diagnostics(idata: xr.DataTree, var_names: list[str] | None = None) -> Diagnostics:
    """R-hat (rank-normalized), bulk and tail ESS, and divergences, computed by ArviZ."""
    post = idata["posterior"].to_dataset()
    if var_names is not None:
        post = post[var_names]
    one = int(post.sizes["chain"]) < 2  # R-hat compares chains: one has none (rhat_note)
    rhat = xr.Dataset() if one else az.rhat(post)
    ess_bulk = az.ess(post, method="bulk")
    ess_tail = az.ess(post, method="tail")
    div = 0
    if "sample_stats" in idata.children and "diverging" in idata["sample_stats"]:
        div = int(np.asarray(idata["sample_stats"]["diverging"].values).sum())
    return Diagnostics(
        rhat_max=_worst(rhat, "max"),
        ess_bulk_min=_worst(ess_bulk, "min"),
        ess_tail_min=_worst(ess_tail, "min"),
        divergences=div,
        chains=int(post.sizes["chain"]),
        draws=int(post.sizes["draw"]),
    )


def check(diag: Diagnostics, what: str = "the fit") -> Diagnostics:
    """Warn (``ConvergenceWarning``) in plain words when ``diag`` fails a check; return it."""
    if diag.problems:
        warnings.warn(
            f"{what} may not have converged: "
            + "; ".join(diag.problems)
            + " - run more draws (--draws), or treat these results with caution.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return diag
