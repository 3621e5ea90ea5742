"""Figures: one module per kind of plot; each takes plain tables/DataTrees and returns a
matplotlib Figure."""
