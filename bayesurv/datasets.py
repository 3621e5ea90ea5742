"""The data sets that ship with bayesurv, as plain pandas tables (a loader as lifelines has).

Every file lives at the same relative path as in a source checkout (``data/...``,
``models/...``); an installed wheel carries them inside the package, under ``bayesurv/_data/``
(``setup.py`` copies them there), found through :mod:`importlib.resources`, and a checkout (or an
editable install) reads them in place::

    path("data/lifetables/survexp_us.csv") = <root>/data/lifetables/survexp_us.csv
    root = importlib.resources.files("bayesurv") / "_data"   (an installed wheel)
         = the repository's top folder                       (a source checkout)

Each loader says where its numbers come from; the files' own ``#`` headers and
``data/README.md`` (shipped too: ``path("data/README.md")``) give the full sources.

Examples
--------
>>> clicks = load_gbsg2_clicks()
>>> sorted(clicks["arm"].unique())
['no_tamoxifen', 'tamoxifen']
>>> path("models/case_study.toml").name
'case_study.toml'
>>> "data/lifetables/survexp_us.csv" in names()
True
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from bayesurv.errors import InputError

if TYPE_CHECKING:  # pandas is imported where a table is read: `bayesurv --help` needs none
    import pandas as pd

#: the reconstruction example's folder (emulated clicks of GBSG-2's KM curves)
GBSG2 = "data/examples/gbsg2"
#: the case study's evidence (study 20120215, NCT02393859)
CASE_STUDY = "data/case_study"
#: the shipped specs
SPECS = ("models/case_study.toml", "models/ball_nma.toml")


@cache
def root() -> Path:
    """The folder that holds the shipped ``data/`` and ``models/``.

    An installed wheel: ``bayesurv/_data`` inside the package. A source checkout (or an editable
    install): the repository's top folder.

    >>> (root() / "data" / "lifetables").is_dir()
    True
    """
    shipped = resources.files("bayesurv") / "_data"
    if shipped.is_dir():
        if not isinstance(shipped, Path):  # a zipped install: the files are not on disk
            raise InputError(
                "bayesurv is installed as a zip archive, so its data files have no path on disk; "
                "install the wheel unpacked (pip install bayesurv does)."
            )
        return shipped
    return Path(__file__).resolve().parent.parent


def path(name: str) -> Path:
    """The shipped file ``name`` (its path in a source checkout, e.g. ``data/...``).

    Parameters
    ----------
    name
        ``"data/lifetables/survexp_us.csv"``, ``"models/case_study.toml"``, ...; see
        :func:`names` for every file.

    Examples
    --------
    >>> path("data/examples/gbsg2/at_risk.csv").is_file()
    True
    >>> path("data/nope.csv")
    Traceback (most recent call last):
    ...
    bayesurv.errors.InputError: data/nope.csv is not a file bayesurv ships; give one of \
bayesurv.datasets.names() (e.g. data/lifetables/survexp_us.csv).
    """
    rel = Path(name)
    full = root() / rel
    if rel.is_absolute() or ".." in rel.parts or not full.is_file():
        raise InputError(
            f"{name} is not a file bayesurv ships; give one of bayesurv.datasets.names() "
            "(e.g. data/lifetables/survexp_us.csv)."
        )
    return full


def names() -> list[str]:
    """Every shipped file, as the relative name :func:`path` takes.

    >>> [n for n in names() if n.startswith("models/")]
    ['models/ball_nma.toml', 'models/case_study.toml']
    """
    base = root()
    found = [p for p in (base / "data").rglob("*") if p.is_file()]
    found += [base / s for s in SPECS if (base / s).is_file()]
    return sorted(
        p.relative_to(base).as_posix()
        for p in found
        if "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def _read(name: str) -> pd.DataFrame:
    # round_trip: the life table's 17 significant digits give R's doubles exactly
    import pandas as pd

    return pd.read_csv(path(name), comment="#", skipinitialspace=True, float_precision="round_trip")


# ---- the reconstruction example (GBSG-2) -------------------------------------------------------
def load_gbsg2_clicks() -> pd.DataFrame:
    """EMULATED digitizer clicks of GBSG-2's recurrence-free survival KM curves, both arms.

    Not a published figure: the curves were computed from the German Breast Cancer Study Group 2
    trial's IPD as lifelines ships it (``lifelines.datasets.load_gbsg2``; Schumacher et al., J
    Clin Oncol 1994;12:2086-93), then clicked at both corners of each step with 1-pixel noise on a
    600x400 px plot by :mod:`bayesurv.emulate` (seeds 2026, 2027). Used by ``bayesurv demo``.

    Returns
    -------
    DataFrame with ``time`` (months), ``survival`` (0-1) and ``arm`` (``tamoxifen``,
    ``no_tamoxifen``), in clicking order within each arm.

    Examples
    --------
    >>> clicks = load_gbsg2_clicks()
    >>> list(clicks.columns)
    ['time', 'survival', 'arm']
    >>> clicks.groupby("arm")["survival"].max().round(1).to_dict()
    {'no_tamoxifen': 1.0, 'tamoxifen': 1.0}
    """
    arms = []
    for arm in ("tamoxifen", "no_tamoxifen"):
        df = _read(f"{GBSG2}/clicks_{arm}.csv")
        df["arm"] = arm
        arms.append(df)
    import pandas as pd

    return pd.concat(arms, ignore_index=True)


def load_gbsg2_at_risk() -> pd.DataFrame:
    """Numbers at risk every 12 months per arm of GBSG-2, as a journal prints them.

    Computed from the same IPD as :func:`load_gbsg2_clicks` (lifelines' ``load_gbsg2``).

    >>> nar = load_gbsg2_at_risk()
    >>> nar[nar["time"] == 0].set_index("arm")["at_risk"].to_dict()
    {'tamoxifen': 246, 'no_tamoxifen': 440}
    """
    return _read(f"{GBSG2}/at_risk.csv")


def load_gbsg2_events() -> pd.DataFrame:
    """Patients and total events (recurrence or death) per arm of GBSG-2, from the same IPD.

    >>> load_gbsg2_events().set_index("arm")["total_events"].to_dict()
    {'tamoxifen': 94, 'no_tamoxifen': 205}
    """
    return _read(f"{GBSG2}/events.csv")


def load_gbsg2_truth() -> pd.Series:
    """The original IPD's Cox hazard ratio (Efron ties), tamoxifen vs none, with its 95% CI.

    The known truth a reconstruction from :func:`load_gbsg2_clicks` is compared with.

    >>> load_gbsg2_truth()["hr"]
    np.float64(0.6949)
    """
    return _read(f"{GBSG2}/truth.csv").set_index("quantity")["value"]


# ---- the case study (study 20120215) -----------------------------------------------------------
def load_case_study_landmarks() -> pd.DataFrame:
    """Published KM estimates at landmarks with 95% CIs, per arm and endpoint, of study 20120215.

    Blinatumomab vs HC3 chemotherapy in high-risk first-relapse paediatric B-ALL (NCT02393859);
    each row names its publication in ``source`` (e.g. Locatelli et al., final 5-year analysis).
    Built by ``scripts/build_case_study_data.py`` from the project's evidence files; nothing
    imputed.

    >>> lm = load_case_study_landmarks()
    >>> lm.query("endpoint == 'EFS' and arm == 'experimental'")["survival"].iloc[0]
    np.float64(0.578)
    """
    return _read(f"{CASE_STUDY}/study_20120215_landmarks.csv")


def load_case_study_events() -> pd.DataFrame:
    """Patients and events per arm at each data cut of study 20120215, with follow-up.

    Derived counts say how in ``derivation`` (``n - event-free``); sources as in
    :func:`load_case_study_landmarks`.

    >>> ev = load_case_study_events()
    >>> int(ev.query("endpoint == 'EFS' and arm == 'experimental'")["n"].iloc[0])
    54
    """
    return _read(f"{CASE_STUDY}/study_20120215_events.csv")


def load_case_study_hazard_ratios() -> pd.DataFrame:
    """Every published hazard ratio of study 20120215 (blinatumomab vs chemotherapy).

    With its 95% CI and p-value as printed (``<0.001`` stays a bound, so ``p`` is text); which
    rows enter a likelihood, and why, is in ``data/README.md``.

    >>> hr = load_case_study_hazard_ratios()
    >>> hr.query("analysis == 'final 5-year' and endpoint == 'EFS'")[["hr", "lower", "upper"]]
    ... # doctest: +NORMALIZE_WHITESPACE
         hr  lower  upper
    0  0.38   0.22   0.65
    """
    return _read(f"{CASE_STUDY}/study_20120215_hazard_ratios.csv")


def load_blinatumomab_effects() -> pd.DataFrame:
    """Reported hazard ratios of blinatumomab vs control across trials (``bayesurv pool`` input).

    Copied exactly from the project's evidence files, each row with its ``source``; ``set``
    separates the paediatric pools from the adult sensitivity trials and superseded data cuts
    (``data/EFFECTS.md``).

    >>> eff = load_blinatumomab_effects()
    >>> bool((eff["hr"] > 0).all())
    True
    """
    return _read("data/effects_blinatumomab.csv")


def load_ball_nma() -> pd.DataFrame:
    """Overall survival HRs of TOWER and INO-VATE vs chemotherapy (relapsed/refractory adult B-ALL).

    The indirect comparison of blinatumomab with inotuzumab ozogamicin (``models/ball_nma.toml``);
    copied from the project's evidence files with sources. INO-VATE reports a 97.5% CI
    (``ci_level``).

    >>> load_ball_nma()["study"].tolist()
    ['TOWER', 'INO-VATE']
    """
    return _read("data/nma_ball_os.csv")


# ---- general-population mortality ----------------------------------------------------------
def load_us_life_table() -> pd.DataFrame:
    """The US total-population life table from R ``survival::survexp.us`` (2010, 2012, 2014).

    Exported unchanged by ``data/lifetables/export_survexp_us.R`` (survival 3.5.3):
    ``hazard = survexp.us[age + 1, sex, year] * 365.25``, the annual hazard in ``[age, age + 1)``
    for ages 0-109 and both sexes (``data/lifetables/README.md``). ``--life-table us`` and
    :func:`bayesurv.lifetable.us_life_table` read this file.

    Returns
    -------
    DataFrame with ``year``, ``age``, ``sex``, ``hazard`` (660 rows).

    Examples
    --------
    >>> lt = load_us_life_table()
    >>> lt.shape
    (660, 4)
    >>> row = lt.query("year == 2014 and age == 70 and sex == 'male'")
    >>> round(float(row["hazard"].iloc[0]), 5)
    0.02296
    """
    return _read("data/lifetables/survexp_us.csv")
