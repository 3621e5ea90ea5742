"""Bayesian survival models: one spec, one predictor, one likelihood, one fit, outputs on demand.

The flow (each module imports only those above it):

* hazards      ``families`` (six parametric families: log h and H over NumPy/PyTensor),
               ``splines`` (M-spline, Royston-Parmar, piecewise exponential), ``cure``,
               ``waning``, ``population`` (a life table + who, Ederer I, background deaths)
* structure    ``structure``: the frozen ModelSpec, its parameters, the default priors
* predictor    ``predictor``: log h(t | arm, z), H(t | arm, z) and the cohort's S_a, h_a
* terms        ``terms`` (every likelihood term and its NumPy twin), ``evidence`` (reported
               summaries and external evidence read and checked), ``data`` (the arrays)
* builder      ``builder``: the PyMC model, compiled once per structure
* fit          ``fit``: ``fit(...) -> DataTree``; ``outputs``: S, h, HR, RMST, mean, cure
               fraction, life-years from a result; ``compare`` (LOO, AIC/BIC at the MLE)

Simulation-study support (trials with known truth, SBC) is in :mod:`bayesurv.simulation`.
"""
