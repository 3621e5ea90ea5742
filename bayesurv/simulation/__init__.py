"""Simulation-study support, not the model core: trials with known truth (``simulate``:
cure models on top of life-table mortality, the cohort's true curves) and simulation-based
calibration of the survival models (``calibration``: SBC ranks, their uniformity test)."""
