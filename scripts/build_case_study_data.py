"""Write the case study's reported survival summaries as tidy CSV, from the evidence TOML.

Source: ../shared/evidence/study_20120215.toml (published numbers with their sources). Every row
keeps the analysis, the source and the tag; derived counts say how they were derived.

    .venv/bin/python scripts/build_case_study_data.py [--evidence ../shared/evidence]
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "case_study"
ARMS = ("experimental", "control")


def landmarks(ev: dict) -> pd.DataFrame:
    rows = []
    for an in ev["analysis"]:
        for endpoint in ("efs", "os"):
            block = an.get(endpoint, {})
            for key, val in block.items():
                if not (key.startswith("km_") and key.endswith("_months")):
                    continue
                t = float(key[3:-7])
                for arm in ARMS:
                    est, lo, hi = val[arm]
                    rows.append(
                        {
                            "analysis": an["name"],
                            "endpoint": endpoint.upper(),
                            "arm": arm,
                            "time_months": t,
                            "survival": est,
                            "lower": lo,
                            "upper": hi,
                            "tag": an["tag"],
                            "source": an["source"],
                        }
                    )
    return pd.DataFrame(rows)


def events(ev: dict) -> pd.DataFrame:
    rows = []
    for an in ev["analysis"]:
        n = an.get("n")
        if n is None:
            continue
        fu = an.get("median_followup_months")
        rng = an.get("followup_range_months", [None, None])
        for endpoint, block in (("EFS", an.get("efs", {})), ("OS", an.get("os", {}))):
            for arm in ARMS:
                count, how = None, None
                if "events" in block:
                    count, how = block["events"][arm], "events as reported"
                elif "deaths" in block:
                    count, how = block["deaths"][arm], "deaths as reported"
                elif "event_free" in block:
                    count = n[arm] - block["event_free"][arm]
                    how = f"n - event-free ({n[arm]} - {block['event_free'][arm]})"
                elif "alive" in block:
                    count = n[arm] - block["alive"][arm]
                    how = f"n - alive ({n[arm]} - {block['alive'][arm]})"
                if count is None:
                    continue
                rows.append(
                    {
                        "analysis": an["name"],
                        "endpoint": endpoint,
                        "arm": arm,
                        "n": n[arm],
                        "events": count,
                        "derivation": how,
                        "median_followup_months": fu,
                        "min_followup_months": rng[0],
                        "max_followup_months": rng[1],
                        "data_cutoff": an.get("data_cutoff", ""),
                        "tag": an["tag"],
                        "source": an["source"],
                    }
                )
    return pd.DataFrame(rows)


def hazard_ratios(ev: dict) -> pd.DataFrame:
    """Every published HR of the trial (experimental vs control), with its CI and p-value as
    printed ("<0.001" stays a bound) and the follow-up of its data cut where the evidence gives
    one. Whether a row can enter a likelihood is decided by bayesurv (evidence.reported
    .hazard_ratio_terms), not here: a row is kept even when it gives no standard error."""
    rows = []
    for an in ev["analysis"]:
        rng = an.get("followup_range_months", [None, None])
        for endpoint in ("efs", "os"):
            block = an.get(endpoint, {})
            p = block.get("p", block.get("logrank_p"))
            if "hr" not in block and p is None:
                continue
            lo, hi = block.get("ci", [None, None])
            rows.append(
                {
                    "analysis": an["name"],
                    "endpoint": endpoint.upper(),
                    "hr": block.get("hr"),
                    "lower": lo,
                    "upper": hi,
                    "p": p,
                    "p_test": "log-rank"
                    if "logrank_p" in block
                    else ("not stated" if p is not None else ""),
                    "median_followup_months": an.get("median_followup_months"),
                    "max_followup_months": rng[1],
                    "data_cutoff": an.get("data_cutoff", ""),
                    "tag": an["tag"],
                    "source": an["source"],
                }
            )
    return pd.DataFrame(rows)


def main(evidence: Path) -> None:
    ev = tomllib.loads((evidence / "study_20120215.toml").read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    head = (
        "# Study 20120215 (NCT02393859), blinatumomab (experimental) vs HC3 chemotherapy "
        "(control),\n"
        "# as published; built by scripts/build_case_study_data.py from the evidence file "
        "study_20120215.toml.\n"
    )
    tables = (
        ("study_20120215_landmarks.csv", landmarks(ev)),
        ("study_20120215_events.csv", events(ev)),
        ("study_20120215_hazard_ratios.csv", hazard_ratios(ev)),
    )
    for name, df in tables:
        with open(OUT / name, "w") as fh:
            fh.write(head)
            df.to_csv(fh, index=False)
        print(name, len(df), "rows")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evidence", type=Path, default=ROOT.parent / "shared" / "evidence")
    main(ap.parse_args().evidence)
