"""bayesurv: Bayesian evidence synthesis of time-to-event trials.

Published Kaplan-Meier figures, numbers at risk, hazard ratios and landmark survival rates in;
reconstructed individual patient data, Bayesian survival models, hierarchical synthesis and the
posterior probabilities a committee asks for out.

The entry points, imported on first use so that ``import bayesurv`` stays light:

* :func:`reconstruct_figure` -- IPD of every arm of a published KM figure;
* :func:`reconstruct_ipd` -- IPD of one arm from clicks and numbers at risk (Guyot and better);
* :func:`fit` and :func:`load` -- a Bayesian survival model, one DataTree per fit;
* :func:`pool` -- hierarchical pooling of reported hazard ratios;
* :func:`nma` -- network meta-analysis of hazard ratios and event rates;
* :func:`probability` -- a posterior probability statement over named draws.

Examples
--------
>>> import bayesurv
>>> r = bayesurv.pool(([-0.97, -0.36, -0.27], [0.28, 0.2, 0.21], ["a", "b", "c"]))
>>> round(r.summary()["pooled"]["hr"]["median"], 3)  # pooled HR, exact by quadrature over tau
0.616
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bayesurv")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

from bayesurv.errors import InputError

#: public name -> (module, name in it); none of these names is a submodule of bayesurv, so an
#: import of a submodule never shadows one
_LAZY = {
    "reconstruct_figure": ("bayesurv.figure_reconstruction", "reconstruct_figure"),
    "reconstruct_ipd": ("bayesurv.reconstruct", "reconstruct"),
    "fit": ("bayesurv.survival.fit", "fit"),
    "load": ("bayesurv.survival.fit", "load"),
    "pool": ("bayesurv.synthesis.pool", "pool"),
    "nma": ("bayesurv.synthesis.nma", "nma"),
    "probability": ("bayesurv.query", "probability"),
}


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'bayesurv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["InputError", "__version__", *_LAZY]
