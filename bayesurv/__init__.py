"""bayesurv: Bayesian evidence synthesis of time-to-event trials.

Published Kaplan-Meier figures, numbers at risk, hazard ratios and landmark survival rates in;
reconstructed individual patient data, Bayesian survival models, hierarchical synthesis and the
posterior probabilities a committee asks for out.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bayesurv")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

from bayesurv.errors import InputError


def reconstruct_figure(path, **kwargs):
    """IPD of every arm of a Kaplan-Meier figure (:mod:`bayesurv.figure_reconstruction`)."""
    from bayesurv.figure_reconstruction import reconstruct_figure as _reconstruct_figure

    return _reconstruct_figure(path, **kwargs)


__all__ = ["InputError", "__version__", "reconstruct_figure"]
