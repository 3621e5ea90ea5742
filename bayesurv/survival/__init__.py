"""Bayesian parametric survival models: families, model builder, derived quantities.

Module map (one idea per file; import the module you need, nothing heavy is imported here):

* ``families``     the six flexsurv families, each two formulas (log h, H) over a math namespace
                   (``NP`` NumPy/SciPy, ``PT`` PyTensor), plus quantile/mean/PH/AFT maps
* ``model``        spec -> ``pm.Model`` (one arm, PH/AFT/separate arms, left truncation, priors),
                   compiled once per structure and re-used with new data
* ``fit``          ``fit(ipd, family, seed=...) -> DataTree``, ``summarize``, ``save``/``load``,
                   ``prior_predictive``
* ``quantities``   S(t), h(t), HR(t), median, RMST, mean, arm differences, predictive KM bands
* ``compare``      LOO/AIC/BIC table (TSD 14), stacking weights, model-averaged S(t)
* ``calibration``  simulation-based calibration
"""
