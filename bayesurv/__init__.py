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

__all__ = ["InputError", "__version__"]
