"""The sections of an analysis spec, one module each; :mod:`bayesurv.runner` runs them."""
