"""Readers and validators for published evidence: curves, numbers at risk, reported effects,
trial records."""
