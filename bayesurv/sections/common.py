"""What every section of an analysis run shares: names, seeds, progress, the model options of
the survival sections, interval summaries."""

from __future__ import annotations

import re
import time as _time
import zlib

from bayesurv.intervals import summary as interval_summary  # noqa: F401  (for the sections)
from bayesurv.lifetable import UNITS_PER_YEAR  # noqa: F401  (re-exported for the sections)


def key_of(name: str) -> str:
    """A query-friendly identifier for a section name ("EFS across trials" -> efs_across_trials)."""
    k = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return k if k and not k[0].isdigit() else f"s_{k}"


def derived_seed(seed: int, *names: str) -> int:
    return (int(seed) + zlib.crc32("/".join(names).encode())) % (2**31 - 1)


class Progress:
    """A rich status line, or nothing with ``quiet``."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = _time.perf_counter()
        if not quiet:
            from rich.console import Console

            self.console = Console(stderr=True)

    def say(self, msg: str) -> None:
        if not self.quiet:
            self.console.print(f"[dim]{_time.perf_counter() - self.t0:6.1f}s[/] {msg}")


def population_of(sec, files: dict, key: str):
    """The section's :class:`bayesurv.survival.population.Population` (None without one)."""
    if sec.population is None:
        return None
    from bayesurv.lifetable import read_life_table, us_life_table

    p = sec.population
    table = (
        us_life_table(p.year or 2014)
        if p.life_table.lower() == "us"
        else read_life_table(files[f"{key}.population.life_table"])
    )
    return p.build(table)


def population_data(sec, files: dict, key: str) -> dict | None:
    """The section's population as data for a fit task (built on the worker by
    :func:`bayesurv.batch.fits.section_fit`): its spec table and the life table ("us" or the
    resolved path, with its SHA-256 so that a resumed job refits when the file changed)."""
    if sec.population is None:
        return None
    from bayesurv.provenance import file_sha256

    p = sec.population
    if p.life_table.lower() == "us":
        return {"spec": p.model_dump(), "life_table": "us"}
    path = files[f"{key}.population.life_table"]
    return {"spec": p.model_dump(), "life_table": str(path), "sha256": file_sha256(path)}


def sampler_data(sampling) -> dict:
    """The spec's ``[sampling]`` as the core's :class:`~bayesurv.survival.fit.Sampler` fields."""
    s = sampling
    return {"draws": s.draws, "tune": s.tune, "chains": s.chains, "target_accept": s.target_accept}


def model_fields(sec, hazard: str, cure: str) -> dict:
    """The :class:`bayesurv.survival.structure.ModelSpec` fields a section's options give."""
    pop = sec.population
    return {
        "hazard": hazard,
        "cure": cure,
        "effect": sec.effect,
        "effect_on": sec.effect_on if cure != "none" or sec.effect_on == "hazard" else None,
        "nonph": sec.nonph,
        "scale": sec.scale if hazard == "rp" else "hazard",
        "df": sec.df,
        "extra_knots": tuple(sec.extra_knots or ()),
        "priors": dict(sec.priors),
        "time_unit": sec.time_unit,
        "smr_prior": pop.smr_prior if pop is not None else None,
    }
