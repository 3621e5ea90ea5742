"""Shared test fixtures. Every random step is seeded per test."""

import matplotlib

matplotlib.use("Agg")
