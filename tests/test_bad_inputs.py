"""The corpus of bad and hostile inputs, over every command: each ends in exit code 2 and one
line that names the file or option and says what to do, with no traceback, the folder exactly as
it was, and nothing written outside --out; the valid controls exit 0.

Every file is made at test time in a temporary folder. Cases that would run NUTS when broken are
in the mcmc tier; the rest run in the default tier. A second group breaks the last write of each
command (a disk that fills up): the output plan removes what it wrote and the command still ends
in one sentence, exit 2, the folder as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bayesurv.cli import app
from bayesurv.outputs import OutputPlan

ROOT = Path(__file__).resolve().parent.parent
GBSG2 = ROOT / "data" / "examples" / "gbsg2"
EFFECTS = ROOT / "data" / "effects_blinatumomab.csv"
HAS_NMA = (ROOT / "bayesurv" / "cli" / "nma.py").exists()

#: a word that says what to do, one of which every refusal holds
FIX_WORDS = re.compile(
    r"\b(give|use|add|write|choose|check|rename|save|fix|remove|delete|pass|split|export|see|"
    r"keep|name|separate|flatten|rewrite|quote|fill|re-run|select|lower|drop)\b",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------------------------
# files made at test time
# --------------------------------------------------------------------------------------------
def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


CLICKS = "time,survival\n0,1\n5,0.9\n10,0.8\n15,0.7\n20,0.6\n"
CLICKS_COMMA = "time;survival\n0;1\n5;0,9\n10;0,8\n15;0,7\n20;0,6\n"
RANDOM = np.random.default_rng(16).bytes(4000)
LATIN1 = "Zeit (Monate),Ereignis,Überleben\n1,1,0.9\n".encode("latin-1")
IPD = "".join(f"{t},{e}\n" for t, e in zip(range(1, 41), [1, 0] * 20, strict=True))


def write(d: Path, name: str, content: str | bytes) -> Path:
    p = d / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content)
    return p


def saved_result(d: Path) -> Path:
    rng = np.random.default_rng(3)
    post = xr.Dataset({"hr": (("chain", "draw"), rng.lognormal(np.log(0.7), 0.2, (2, 200)))})
    path = d / "result.nc"
    xr.DataTree.from_dict({"posterior": post}).to_netcdf(path)
    return path


def spec(d: Path, body: str, name: str = "spec.toml") -> Path:
    head = 'title = "corpus"\nseed = 1\n[sampling]\ndraws = 100\ntune = 100\nchains = 2\n'
    return write(d, name, head + body)


POOL_SECTION = """
[[pool]]
name = "{name}"
effects = "{effects}"
where = {{ set = "pediatric", outcome = "event-free" }}
tau_prior = "{tau}"
"""


def pool_spec(d: Path, name: str = "EFS pool", tau: str = "halfnormal(0.5)", queries: str = ""):
    body = POOL_SECTION.format(name=name, effects=EFFECTS, tau=tau)
    if queries:
        body += f"[queries]\nstatements = [{queries}]\n"
    return spec(d, body)


def ipd_spec(d: Path, totals: str | None = None, ipd: str | bytes | None = None, clicks=None):
    if ipd is not None:
        path = write(d, "ipd.csv", ipd)
        body = f'[[ipd]]\nname = "trial"\nipd = "{path}"\n'
        return spec(d, body)
    a = clicks or GBSG2 / "clicks_tamoxifen.csv"
    b = GBSG2 / "clicks_no_tamoxifen.csv"
    body = (
        f'[[ipd]]\nname = "trial"\nclicks = {{ tamoxifen = "{a}", no_tamoxifen = "{b}" }}\n'
        f'at_risk = "{GBSG2 / "at_risk.csv"}"\n'
    )
    if totals is not None:
        body += f'totals = "{write(d, "totals.csv", totals)}"\n'
    return spec(d, body)


CASE_STUDY = ROOT / "data" / "case_study"


def survival_spec(d: Path, **edits: tuple[str, str | bytes]) -> Path:
    """A [[survival]] section on the case study's files, each file copied to ``d`` and, for a
    kind in ``edits``, one text replaced (``(old, new)``) or the whole file given (bytes)."""
    body = '[[survival]]\nname = "EFS"\nendpoint = "EFS"\nfamilies = ["weibull"]\ncure = ["none"]\n'
    for kind in ("landmarks", "events", "hazard_ratios"):
        text = (CASE_STUDY / f"study_20120215_{kind}.csv").read_text()
        edit = edits.get(kind)
        if isinstance(edit, bytes):
            content = edit
        elif edit is not None:
            assert edit[0] in text, edit
            content = text.replace(edit[0], edit[1], 1)
        else:
            content = text
        body += f'{kind} = "{write(d, f"{kind}.csv", content)}"\n'
    return spec(d, body)


def semicolons(kind: str) -> str:
    """A case-study file as a European spreadsheet saves it: ';' between cells, decimal commas."""
    import csv
    import io

    text = (CASE_STUDY / f"study_20120215_{kind}.csv").read_text()
    rows = csv.reader(ln for ln in text.splitlines() if not ln.startswith("#"))
    buf = io.StringIO()
    num = re.compile(r"^-?\d+\.\d+$")
    csv.writer(buf, delimiter=";").writerows(
        [c.replace(".", ",") if num.match(c) else c for c in r] for r in rows
    )
    return buf.getvalue()


def ipd_prior_spec(d: Path, priors: str, extra: str = "") -> Path:
    """An [[ipd]] section of a small IPD file with the priors table ``priors``."""
    ipd = write(d, "ipd.csv", "time,event\n" + IPD)
    body = (
        f'[[ipd]]\nname = "trial"\nipd = "{ipd}"\nfamilies = ["weibull"]\n'
        f"priors = {{ {priors} }}\n{extra}"
    )
    return spec(d, body)


def wpd(coll) -> str:
    return json.dumps({"version": [4, 2], "datasetColl": coll})


# --------------------------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------------------------
@dataclass
class Case:
    """A command line built in a folder ``d`` (inputs there, outputs under ``d/out``)."""

    id: str
    build: Callable[[Path], list[str]]
    mentions: tuple[str, ...] = ()  # what the sentence must name (file, option, sub-expression)
    code: int = 2
    check: Callable[[Path, str], None] | None = None  # more checks of a valid run
    marks: list = field(default_factory=list)
    out: str = "out"  # the --out folder (relative to d) outside which nothing may change

    def param(self):
        return pytest.param(self, id=self.id, marks=self.marks)


def rec(curve_name: str, content, *extra: str, n: str = "20"):
    def build(d: Path) -> list[str]:
        curve = write(d, curve_name, content)
        return ["reconstruct", str(curve), "--out", str(d / "out" / "ipd.csv"), "--n", n, *extra]

    return build


def same_ipd_as_points(d: Path, output: str) -> None:
    """The decimal-comma file gives the IPD the decimal-point file gives."""
    got = (d / "out" / "ipd.csv").read_text()
    ref = d / "ref"
    r = CliRunner().invoke(
        app,
        ["reconstruct", str(write(ref, "c.csv", CLICKS)), "--out", str(ref / "i.csv"), "--n", "20"],
    )
    assert r.exit_code == 0, r.output
    assert got == (ref / "i.csv").read_text()


def rec_at(d: Path, *extra: str) -> list[str]:
    curve = write(d, "c.csv", CLICKS)
    return ["reconstruct", str(curve), "--out", str(d / "out" / "ipd.csv"), "--n", "20", *extra]


def fit_args(d: Path, name: str, content, *extra: str) -> list[str]:
    ipd = write(d, name, content)
    return ["fit", str(ipd), "--family", "weibull", "--json", str(d / "out" / "fit.json"), *extra]


def fit_ok(d: Path, *extra: str) -> list[str]:
    return fit_args(
        d,
        "ipd.csv",
        "time,event\n" + IPD,
        "--draws",
        "100",
        "--tune",
        "100",
        "--chains",
        "2",
        *extra,
    )


def pool_args(d: Path, content=None, *extra: str) -> list[str]:
    eff = write(d, "effects.csv", content) if content is not None else EFFECTS
    where = ["--where", "set=pediatric", "--where", "outcome=event-free"] if content is None else []
    return ["pool", str(eff), "--json", str(d / "out" / "pool.json"), *where, *extra]


def query_args(d: Path, *statements: str) -> list[str]:
    return ["query", str(saved_result(d)), *statements]


def run_args(d: Path, spec_path: Path, *extra: str) -> list[str]:
    return ["run", str(spec_path), "--out", str(d / "out" / "res"), "--quiet", *extra]


MCMC = [pytest.mark.mcmc]

CASES = [
    # ---------------------------------------------------------------- reconstruct, clicks
    Case("reconstruct-valid", rec("c.csv", CLICKS), code=0),
    Case(
        "reconstruct-decimal-commas",
        rec("c.csv", CLICKS_COMMA),
        code=0,
        check=same_ipd_as_points,
    ),
    Case(
        "reconstruct-nul-in-number",
        rec("c.csv", b"time,survival\n0,1\n5,0.\x009\n"),
        ("c.csv",),
    ),
    Case(
        "reconstruct-time-inf",
        rec("c.csv", "time,survival\n0,1\ninf,0.8\n"),
        ("c.csv", "row"),
    ),
    Case(
        "reconstruct-time-1e308",
        rec("c.csv", "time,survival\n0,1\n1e308,0.8\n"),
        ("c.csv",),
    ),
    Case("reconstruct-empty", rec("c.csv", ""), ("c.csv",)),
    Case(
        "reconstruct-header-only",
        rec("c.csv", "time,survival\n"),
        ("c.csv",),
    ),
    Case("reconstruct-random-bytes", rec("c.csv", RANDOM), ("c.csv",)),
    Case("reconstruct-latin1", rec("c.csv", "Zeit,Überleben\n0,1\n".encode("latin-1")), ("c.csv",)),
    Case(
        "reconstruct-total-events-0-on-falling-curve",
        rec("c.csv", CLICKS, "--total-events", "0"),
        ("--total-events",),
    ),
    Case(
        "reconstruct-seed-negative",
        rec("c.csv", CLICKS, "--draws", "5", "--seed", "-1"),
        ("--seed",),
    ),
    Case(
        "reconstruct-draws-negative",
        rec("c.csv", CLICKS, "--draws", "-1"),
        ("--draws",),
    ),
    Case(
        "reconstruct-plot-unsupported",
        lambda d: rec_at(d, "--plot", str(d / "out" / "f.xyz")),
        ("--plot",),
    ),
    Case(
        "reconstruct-report-in-missing-folder",
        lambda d: rec_at(d, "--report", str(d / "out" / "no" / "such" / "r.json")),
        code=0,
    ),
    Case(
        "reconstruct-plot-in-missing-folder",
        lambda d: rec_at(d, "--plot", str(d / "out" / "nope" / "f.png")),
        code=0,
    ),
    Case(
        "reconstruct-report-is-out",
        lambda d: rec_at(d, "--report", str(d / "out" / "ipd.csv")),
        ("--report",),
    ),
    Case(
        "reconstruct-out-is-the-input",
        lambda d: [
            "reconstruct",
            str(write(d, "c.csv", CLICKS)),
            "--out",
            str(d / "c.csv"),
            "--n",
            "20",
            "--force",
        ],
        ("c.csv",),
    ),
    Case(
        "reconstruct-wpd-datasetcoll-object",
        rec("p.json", wpd({"name": "a"})),
        ("p.json",),
    ),
    Case(
        "reconstruct-wpd-datasetcoll-strings",
        rec("p.json", wpd(["a", "b"])),
        ("p.json",),
    ),
    Case(
        "reconstruct-wpd-values-numbers",
        rec("p.json", wpd([{"name": "a", "data": [{"value": 3}, {"value": "x"}]}])),
        ("p.json",),
    ),
    Case(
        "reconstruct-wpd-not-json",
        rec("p.json", '{"datasetColl": [}'),
        ("p.json",),
    ),
    Case(
        "reconstruct-json-nested-deep",
        rec("p.json", "{" + '"a":[' * 5000 + "]" * 5000 + "}"),
        ("p.json",),
    ),
    Case(
        "reconstruct-at-risk-decimal-commas",
        lambda d: rec_at(d, "--at-risk", str(write(d, "nar.csv", "time;at_risk\n0;20\n10,5;12\n"))),
        code=0,
    ),
    Case(
        "reconstruct-at-risk-nul",
        lambda d: rec_at(d, "--at-risk", str(write(d, "nar.csv", b"time,at_risk\n0,2\x000\n"))),
        ("nar.csv",),
    ),
    # ---------------------------------------------------------------- reconstruct, figure
    Case(
        "reconstruct-figure-40000-squared",
        lambda d: [
            "reconstruct",
            str(write(d, "f.png", png_claiming(40_000, 40_000))),
            "--out",
            str(d / "out" / "ipd.csv"),
            "--n",
            "20",
        ],
        ("f.png",),
    ),
    Case(
        "reconstruct-figure-random-bytes",
        lambda d: [
            "reconstruct",
            str(write(d, "f.png", RANDOM)),
            "--out",
            str(d / "out" / "ipd.csv"),
            "--n",
            "20",
        ],
        ("f.png",),
    ),
    # ---------------------------------------------------------------- digitize
    Case(
        "digitize-40000-squared",
        lambda d: [
            "digitize",
            str(write(d, "f.png", png_claiming(40_000, 40_000))),
            "--out",
            str(d / "out" / "dig"),
            "--x-range",
            "0,60",
            "--y-range",
            "0,1",
        ],
        ("f.png",),
    ),
    Case(
        "digitize-random-bytes",
        lambda d: [
            "digitize",
            str(write(d, "f.png", RANDOM)),
            "--out",
            str(d / "out" / "dig"),
            "--x-range",
            "0,60",
            "--y-range",
            "0,1",
        ],
        ("f.png",),
    ),
    Case(
        "digitize-truncated-png",
        lambda d: [
            "digitize",
            str(write(d, "f.png", png_claiming(300, 200))),
            "--out",
            str(d / "out" / "dig"),
            "--x-range",
            "0,60",
            "--y-range",
            "0,1",
        ],
        ("f.png",),
    ),
    Case(
        "digitize-no-x-range",
        lambda d: [
            "digitize",
            str(_white_png(d)),
            "--out",
            str(d / "out" / "dig"),
            "--y-range",
            "0,1",
        ],
        ("--x-range",),
    ),
    Case(
        "digitize-out-is-a-file",
        lambda d: [
            "digitize",
            str(write(d, "f.png", RANDOM)),
            "--out",
            str(write(d, "out/taken", "x")),
            "--x-range",
            "0,60",
            "--y-range",
            "0,1",
        ],
        ("taken",),
    ),
    Case(
        "reconstruct-figure-report-is-out",
        lambda d: [
            "reconstruct",
            str(write(d, "f.png", RANDOM)),
            "--out",
            str(d / "out" / "ipd.csv"),
            "--report",
            str(d / "out" / "ipd.csv"),
        ],
        ("--report",),  # refused before the figure is read (which would fail)
    ),
    Case(
        "reconstruct-figure-overlay-is-the-input",
        lambda d: [
            "reconstruct",
            str(write(d, "f.png", RANDOM)),
            "--out",
            str(d / "out" / "ipd.csv"),
            "--overlay",
            str(d / "f.png"),
            "--force",
        ],
        ("--overlay", "f.png"),
    ),
    # ---------------------------------------------------------------- fit
    Case(
        "fit-random-bytes",
        lambda d: fit_args(d, "ipd.csv", RANDOM),
        ("ipd.csv",),
    ),
    Case(
        "fit-latin1-header",
        lambda d: fit_args(d, "ipd.csv", LATIN1),
        ("ipd.csv",),
    ),
    Case("fit-empty", lambda d: fit_args(d, "ipd.csv", ""), ("ipd.csv",)),
    Case(
        "fit-header-only",
        lambda d: fit_args(d, "ipd.csv", "time,event\n"),
        ("ipd.csv",),
    ),
    Case(
        "fit-nul-in-number",
        lambda d: fit_args(d, "ipd.csv", b"time,event\n1\x002,1\n"),
        ("ipd.csv",),
        marks=MCMC,
    ),
    Case(
        "fit-time-inf",
        lambda d: fit_args(d, "ipd.csv", "time,event\ninf,1\n" + IPD),
        ("ipd.csv",),
    ),
    Case("fit-draws-0", lambda d: fit_ok(d)[:-6] + ["--draws", "0"], ("--draws",)),
    Case("fit-draws-negative", lambda d: fit_ok(d)[:-6] + ["--draws", "-1"], ("--draws",)),
    Case("fit-tune-abc", lambda d: fit_ok(d)[:-6] + ["--tune", "abc"], ("--tune",)),
    Case(
        "fit-seed-negative",
        lambda d: fit_ok(d, "--seed", "-1"),
        ("--seed",),
        marks=MCMC,
    ),
    Case(
        "fit-missing-family",
        lambda d: [
            "fit",
            str(write(d, "ipd.csv", "time,event\n" + IPD)),
            "--json",
            str(d / "out" / "f.json"),
        ],
        ("--family",),
    ),
    Case(
        "fit-unknown-family",
        lambda d: fit_ok(d)[:3] + ["--family", "weibul", "--json", str(d / "out" / "f.json")],
        ("weibul",),
    ),
    Case(
        "fit-json-and-netcdf-same-file",
        lambda d: fit_ok(d, "--netcdf", str(d / "out" / "fit.json")),
        ("--netcdf",),
        marks=MCMC,
    ),
    Case(
        "fit-netcdf-under-a-file",
        lambda d: fit_ok(d, "--netcdf", str(write(d, "out/afile", "x") / "r.nc")),
        ("afile",),
        marks=MCMC,
    ),
    Case(
        "fit-arm-column-one-arm",
        lambda d: fit_args(
            d,
            "ipd.csv",
            "time,event,arm\n" + IPD.replace("\n", ",A\n"),
            "--arm-column",
            "arm",
            "--draws",
            "100",
            "--tune",
            "100",
        ),
        ("arm",),
        marks=MCMC,
    ),
    Case(
        "fit-decimal-commas",
        lambda d: fit_args(
            d,
            "ipd.csv",
            "time;event\n" + IPD.replace(",", ";").replace("1;", "1,5;", 3),
            "--draws",
            "1000",
            "--tune",
            "1000",
            "--chains",
            "2",
        ),
        code=0,
        marks=MCMC,
    ),
    # ---------------------------------------------------------------- pool
    Case("pool-valid", lambda d: pool_args(d), code=0),
    Case(
        "pool-decimal-commas",
        lambda d: pool_args(d, "study;hr;lower;upper\nA;0,8;0,6;1,07\nB;0,7;0,5;0,98\n"),
        code=0,
    ),
    Case(
        "pool-log-hr-1000",
        lambda d: pool_args(d, "study,log_hr,se\nA,1000,0.2\nB,-0.2,0.3\n"),
        ("effects.csv",),
    ),
    Case(
        "pool-seed-negative",
        lambda d: pool_args(d, None, "--seed", "-1"),
        ("--seed",),
    ),
    Case("pool-empty", lambda d: pool_args(d, ""), ("effects.csv",)),
    Case(
        "pool-random-bytes",
        lambda d: pool_args(d, RANDOM),
        ("effects.csv",),
    ),
    Case("pool-bad-tau-prior", lambda d: pool_args(d, None, "--tau-prior", "bogus(1)"), ("bogus",)),
    Case(
        "pool-json-is-the-input",
        lambda d: [
            "pool",
            str(write(d, "e.csv", "study,log_hr,se\nA,-0.2,0.2\nB,-0.3,0.3\n")),
            "--json",
            str(d / "e.csv"),
            "--force",
        ],
        ("e.csv",),
    ),
    # ---------------------------------------------------------------- nma (once it exists)
    Case(
        "nma-random-bytes",
        lambda d: ["nma", str(write(d, "c.csv", RANDOM)), "--json", str(d / "out" / "n.json")],
        ("c.csv",),
        marks=[pytest.mark.skipif(not HAS_NMA, reason="bayesurv nma not yet")],
    ),
    Case(
        "nma-empty",
        lambda d: ["nma", str(write(d, "c.csv", "")), "--json", str(d / "out" / "n.json")],
        ("c.csv",),
        marks=[pytest.mark.skipif(not HAS_NMA, reason="bayesurv nma not yet")],
    ),
    Case(
        "nma-json-and-netcdf-same-file",
        lambda d: [
            "nma",
            str(
                write(
                    d,
                    "c.csv",
                    "study,treatment,comparator,log_hr,se\nA,x,y,-0.2,0.1\nB,y,z,0.1,0.2\n",
                )
            ),
            "--json",
            str(d / "out" / "n.json"),
            "--netcdf",
            str(d / "out" / "n.json"),
        ],
        ("--netcdf",),
        marks=[pytest.mark.skipif(not HAS_NMA, reason="bayesurv nma not yet")],
    ),
    # ---------------------------------------------------------------- query
    Case("query-valid", lambda d: query_args(d, "P(hr < 0.8)"), code=0),
    Case(
        "query-depth-200",
        lambda d: query_args(d, "P(" + "(" * 200 + "hr" + ")" * 200 + " < 1)"),
        code=0,
    ),
    Case(
        "query-depth-300",
        lambda d: query_args(d, "P(" + "(" * 300 + "hr" + ")" * 300 + " < 1)"),
        ("nests parentheses",),
    ),
    Case("query-complex", lambda d: query_args(d, "P((-1)^0.5 < hr)"), ("(-1) ^ 0.5",)),
    Case("query-1-over-0", lambda d: query_args(d, "P(1/0 < hr)"), ("1 / 0",)),
    Case("query-0-over-0", lambda d: query_args(d, "P(0/0 < hr)"), ("0 / 0",)),
    Case("query-overflow", lambda d: query_args(d, "P(10^10^10 > hr)"), ("10 ^ 10 ^ 10",)),
    Case("query-import", lambda d: query_args(d, "P(__import__('os') < 1)"), ("__import__",)),
    Case("query-attribute", lambda d: query_args(d, "hr.__class__ < 1"), ("__class__",)),
    Case("query-lambda", lambda d: query_args(d, "P((lambda: 1)() < 1)"), ("lambda",)),
    Case(
        "query-a-csv",
        lambda d: ["query", str(write(d, "r.csv", "a,b\n1,2\n")), "P(hr<1)"],
        ("r.csv",),
    ),
    Case("query-a-folder", lambda d: ["query", str(d), "P(hr<1)"], ("folder",)),
    Case("query-empty-nc", lambda d: ["query", str(write(d, "r.nc", b"")), "P(hr<1)"], ("r.nc",)),
    Case("query-foreign-nc", lambda d: ["query", str(_foreign_nc(d)), "P(hr<1)"], ("f.nc",)),
    # ---------------------------------------------------------------- run
    Case(
        "run-toml-nested-deep",
        lambda d: run_args(d, write(d, "s.toml", "a = " + "[" * 3000 + "]" * 3000 + "\n")),
        ("s.toml",),
    ),
    Case(
        "run-random-bytes-spec",
        lambda d: run_args(d, write(d, "s.toml", RANDOM)),
        ("s.toml",),
    ),
    Case(
        "run-unknown-key", lambda d: run_args(d, spec(d, "[[survivl]]\nname = 'x'\n")), ("survivl",)
    ),
    Case("run-draws-0", lambda d: run_args(d, pool_spec(d), "--draws", "0"), ("--draws",)),
    Case(
        "run-out-is-a-file",
        lambda d: ["run", str(pool_spec(d)), "--out", str(write(d, "out/res", "x")), "--quiet"],
        ("res",),
    ),
    Case(
        "run-ipd-random-bytes",
        lambda d: run_args(d, ipd_spec(d, ipd=RANDOM)),
        ("ipd.csv",),
    ),
    Case(
        "run-ipd-totals-without-arm",
        lambda d: run_args(d, ipd_spec(d, totals="n,total_events\n246,94\n440,205\n")),
        ("totals.csv",),
    ),
    Case(
        "run-ipd-totals-eight",
        lambda d: run_args(
            d, ipd_spec(d, totals="arm,n,total_events\ntamoxifen,246,eight\nno_tamoxifen,440,205\n")
        ),
        ("totals.csv",),
    ),
    Case(
        "run-clicks-survival-1.4",
        lambda d: run_args(
            d, ipd_spec(d, clicks=write(d, "c.csv", "time,survival\n0,1\n5,1.4\n10,0.8\n"))
        ),
        ("c.csv",),
        marks=MCMC,
    ),
    Case(
        "run-tau-prior-negative-scale",
        lambda d: run_args(d, pool_spec(d, tau="halfnormal(-1)")),
        ("spec.toml", "'pool[1].tau_prior'", "halfnormal(-1)", "write e.g. halfnormal(1)"),
    ),
    Case(
        "run-sensitivity-tau-prior-zero",
        lambda d: run_args(
            d,
            spec(
                d,
                POOL_SECTION.format(name="p", effects=EFFECTS, tau="halfnormal(0.5)")
                + 'sensitivity_tau_priors = ["halfnormal(1)", "halfnormal(0)"]\n',
            ),
        ),
        ("spec.toml", "'pool[1].sensitivity_tau_priors[2]'", "halfnormal(1)"),
    ),
    Case(
        "run-ipd-prior-negative-scale",
        lambda d: run_args(d, ipd_prior_spec(d, 'log_shape = "normal(0, -1)"')),
        ("spec.toml", "'ipd[1].priors.log_shape'", "write e.g. normal(0, 1)"),
    ),
    Case(
        "run-ipd-prior-table-without-sigma",
        lambda d: run_args(d, ipd_prior_spec(d, 'log_shape = { dist = "Normal", mu = 0 }')),
        ("spec.toml", "'ipd[1].priors.log_shape'", "sigma"),
    ),
    Case(
        "run-ipd-prior-unknown-distribution",
        lambda d: run_args(d, ipd_prior_spec(d, 'log_shape = "norml(0, 1)"')),
        ("spec.toml", "'ipd[1].priors.log_shape'", "norml", "normal(0, 1.5)"),
    ),
    Case(
        "run-ipd-smr-prior-negative-scale",
        lambda d: run_args(
            d,
            ipd_prior_spec(
                d,
                'log_shape = "normal(0, 1)"',
                'population = { life_table = "us", age = 50, male = 0.5, '
                'smr_prior = "lognormal(0.2, -0.1)" }\n',
            ),
        ),
        ("spec.toml", "'ipd[1].population.smr_prior'", "lognormal(0.2, 0.1)"),
    ),
    Case(
        "run-two-sections-one-key",
        lambda d: run_args(
            d,
            spec(
                d,
                POOL_SECTION.format(name="EFS pool", effects=EFFECTS, tau="halfnormal(0.5)")
                + POOL_SECTION.format(name="efs-pool", effects=EFFECTS, tau="halfnormal(0.5)"),
            ),
        ),
        ("spec.toml", "'EFS pool'", "'efs-pool'", "efs_pool.nc", "rename"),
    ),
    Case(
        "run-survival-landmarks-random-bytes",
        lambda d: run_args(d, survival_spec(d, landmarks=RANDOM)),
        ("landmarks.csv", "UTF-8"),
    ),
    Case(
        "run-survival-landmarks-latin1",
        lambda d: run_args(d, survival_spec(d, landmarks=LATIN1)),
        ("landmarks.csv", "line 1"),
    ),
    Case(
        "run-survival-landmarks-arm-capitalised",
        lambda d: run_args(d, survival_spec(d, landmarks=("EFS,control", "EFS,Control"))),
        ("landmarks.csv", "row 2", "'Control'"),
    ),
    Case(
        "run-survival-events-count-a-word",
        lambda d: run_args(d, survival_spec(d, events=(",54,21,", ",54,twenty-one,"))),
        ("events.csv", "row 1", "events"),
    ),
    Case(
        "run-survival-events-no-arm-column",
        lambda d: run_args(
            d, survival_spec(d, events=("analysis,endpoint,arm,", "analysis,endpoint,group,"))
        ),
        ("events.csv", "'arm'"),
    ),
    Case(
        "run-survival-hazard-ratio-p-a-word",
        lambda d: run_args(d, survival_spec(d, hazard_ratios=(",<0.001,not", ",about 0.001,not"))),
        ("hazard_ratios.csv", "row 1", "about 0.001"),
    ),
    Case(
        "run-survival-landmarks-ragged-semicolons",
        lambda d: run_args(d, survival_spec(d, landmarks=b"arm;time;survival\ncontrol;60;0,3;x\n")),
        ("landmarks.csv", "row 1"),
    ),
    Case(
        "run-survival-semicolons-decimal-commas",
        lambda d: run_args(
            d, survival_spec(d, **{k: semicolons(k).encode() for k in ("landmarks", "events")})
        ),
        code=0,
        marks=MCMC,
        out="out/res",
    ),
    Case(
        "run-bad-query-leaves-nothing",
        lambda d: run_args(d, pool_spec(d, queries='"P(nosuch < 1)"')),
        ("nosuch",),
        marks=MCMC,
    ),
    Case(
        "run-bad-tau-prior-leaves-nothing",
        lambda d: run_args(d, pool_spec(d, tau="bogus(1)")),
        ("bogus",),
        marks=MCMC,
    ),
    Case(
        "run-section-named-escape",
        lambda d: run_args(d, pool_spec(d, name="../../escaped")),
        code=0,
        marks=MCMC,
        out="out/res",
    ),
    Case(
        "run-section-named-a-b-c",
        lambda d: run_args(d, pool_spec(d, name="a/b/c")),
        code=0,
        marks=MCMC,
        out="out/res",
    ),
    Case(
        "run-section-name-with-nul",
        lambda d: run_args(d, pool_spec(d, name="a\\u0000b")),
        ("control character",),
        marks=MCMC,
    ),
    # ---------------------------------------------------------------- demo
    Case(
        "demo-seed-negative",
        lambda d: ["demo", "--out", str(d / "out" / "demo"), "--seed", "-1"],
        ("--seed",),
    ),
    Case(
        "demo-draws-0",
        lambda d: ["demo", "--out", str(d / "out" / "demo"), "--draws", "0"],
        ("--draws",),
    ),
    Case(
        "demo-out-not-ours",
        lambda d: ["demo", "--out", str(write(d, "out/mine/thesis.txt", "x").parent)],
        ("mine",),
    ),
    Case("demo-out-is-a-file", lambda d: ["demo", "--out", str(write(d, "out/f", "x"))], ("f",)),
]


def _white_png(d: Path) -> Path:
    from PIL import Image

    path = d / "f.png"
    Image.new("RGB", (300, 200), "white").save(path)
    return path


def _foreign_nc(d: Path) -> Path:
    path = d / "f.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(path)
    return path


def tree_state(folder: Path) -> dict[str, str]:
    """Every file under folder with the hash of its content (folders as empty entries)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        out[key] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_bad_input_ends_in_one_sentence_and_leaves_the_folder_as_it_was(case, tmp_path):
    d = tmp_path / "case"
    d.mkdir()
    (d / "out").mkdir()
    args = case.build(d)
    before = tree_state(tmp_path)
    r = CliRunner().invoke(app, args)
    text = r.output
    assert "Traceback" not in text
    assert r.exit_code == case.code, f"exit {r.exit_code}: {text[-2000:]}"
    after = tree_state(tmp_path)
    inside = f"case/{case.out}"
    outside = {k: v for k, v in after.items() if not (k + "/").startswith(inside + "/")}
    assert outside == {k: v for k, v in before.items() if not (k + "/").startswith(inside + "/")}, (
        f"files changed outside {inside}: {sorted(set(after) ^ set(before))}"
    )
    if case.code == 2:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) == 1, text
        line = lines[0]
        assert line.startswith("bayesurv: "), line
        for m in case.mentions:
            assert m in line, f"{m!r} not named in: {line}"
        assert FIX_WORDS.search(line), f"no fix in: {line}"
        assert after == before, "a refusal changed the folder"
    elif case.check is not None:
        case.check(d, text)


@pytest.mark.slow
def test_pool_of_100000_studies_does_not_hang_silently(tmp_path):
    """Refused by a size limit, or done within a minute (and saying so)."""
    rng = np.random.default_rng(5)
    rows = [
        f"S{k},{x:.4f},{s:.4f}"
        for k, (x, s) in enumerate(
            zip(rng.normal(-0.2, 0.2, 100_000), rng.uniform(0.1, 0.5, 100_000), strict=True)
        )
    ]
    eff = write(tmp_path, "big.csv", "study,log_hr,se\n" + "\n".join(rows) + "\n")
    cmd = [
        str(Path(sys.executable).parent / "bayesurv"),
        "pool",
        str(eff),
        "--json",
        str(tmp_path / "p.json"),
    ]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("bayesurv pool ran past 60 s on 100,000 studies without a word")
    assert r.returncode in (0, 2), r.stderr[-2000:]
    if r.returncode == 2:
        assert len(r.stderr.strip().splitlines()) == 1 and "big.csv" in r.stderr


# --------------------------------------------------------------------------------------------
# same seed, same numbers
# --------------------------------------------------------------------------------------------
def _numbers(doc):
    """Every number in a JSON document (provenance, which holds times and paths, left out)."""
    if isinstance(doc, dict):
        return {k: _numbers(v) for k, v in doc.items() if k != "provenance"}
    if isinstance(doc, list):
        return [_numbers(v) for v in doc]
    return doc


def _twice(tmp_path, make_args, outputs):
    got = []
    for k in range(2):
        d = tmp_path / f"run{k}"
        d.mkdir()
        r = CliRunner().invoke(app, make_args(d))
        assert r.exit_code == 0, r.output
        got.append({o: (d / o).read_bytes() for o in outputs})
    return got


@pytest.mark.slow
def test_pool_same_seed_same_numbers(tmp_path):
    def args(d):
        return [
            "pool",
            str(EFFECTS),
            "--json",
            str(d / "p.json"),
            "--where",
            "set=pediatric",
            "--where",
            "outcome=event-free",
            "--seed",
            "7",
        ]

    a, b = _twice(tmp_path, args, ["p.json"])
    assert _numbers(json.loads(a["p.json"])) == _numbers(json.loads(b["p.json"]))


def test_reconstruct_draws_same_seed_same_numbers(tmp_path):
    def args(d):
        return [
            "reconstruct",
            str(GBSG2 / "clicks_tamoxifen.csv"),
            "--at-risk",
            str(GBSG2 / "at_risk.csv"),
            "--arm",
            "tamoxifen",
            "--total-events",
            "94",
            "--out",
            str(d / "ipd.csv"),
            "--draws",
            "20",
            "--seed",
            "11",
        ]

    a, b = _twice(tmp_path, args, ["ipd.csv", "ipd.report.json"])
    assert a["ipd.csv"] == b["ipd.csv"]
    ra, rb = json.loads(a["ipd.report.json"]), json.loads(b["ipd.report.json"])
    assert "uncertainty" in ra and _numbers(ra) == _numbers(rb)


@pytest.mark.mcmc
@pytest.mark.filterwarnings("ignore::bayesurv.sampling.ConvergenceWarning")  # 2 short chains
def test_fit_same_seed_same_numbers(tmp_path):
    def args(d):
        ipd = write(d, "ipd.csv", "time,event\n" + IPD)
        return [
            "fit",
            str(ipd),
            "--family",
            "weibull",
            "--json",
            str(d / "f.json"),
            "--draws",
            "100",
            "--tune",
            "100",
            "--chains",
            "2",
            "--seed",
            "3",
        ]

    a, b = _twice(tmp_path, args, ["f.json"])
    assert _numbers(json.loads(a["f.json"])) == _numbers(json.loads(b["f.json"]))


@pytest.mark.mcmc
def test_run_same_seed_same_numbers(tmp_path):
    shared = pool_spec(tmp_path)  # one spec file: summary.json names it

    def args(d):
        return ["run", str(shared), "--out", str(d / "res"), "--quiet"]

    a, b = _twice(tmp_path, args, ["res/summary.json"])
    assert _numbers(json.loads(a["res/summary.json"])) == _numbers(
        json.loads(b["res/summary.json"])
    )


# --------------------------------------------------------------------------------------------
# a failure while the outputs are written (the disk fills up at the last file) leaves nothing
# --------------------------------------------------------------------------------------------
def _disk_full(*args, **kwargs):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device")


def _fake_digitized():
    """What digitize_file returns, without OCR: two arms, their marks, a table, an overlay."""
    import pandas as pd
    from PIL import Image

    curve = pd.DataFrame({"time": [0.0, 5.0, 10.0], "survival": [1.0, 0.8, 0.6]})
    table = pd.DataFrame({"time": [0.0, 5.0], "at_risk": [20, 15], "arm": ["A", "A"]})
    return SimpleNamespace(
        curves={"A": curve, "B": curve},
        censor_marks=pd.DataFrame({"arm": ["A"], "time": [7.0], "survival": [0.7]}),
        table=SimpleNamespace(to_frame=lambda: table),
        overlay=Image.new("RGB", (60, 40), "white"),
        report={"warnings": []},
        colors={"A": "#1f77b4", "B": "#d62728"},
    )


def _fake_figure_reconstruction():
    import pandas as pd

    dig = _fake_digitized()
    ipd = pd.DataFrame({"time": [1.0, 2.0], "event": [1, 0], "arm": ["A", "B"]})
    return SimpleNamespace(
        ipd=ipd,
        report={"confidence": {}},
        overlay=dig.overlay,
        warnings=[],
        digitized=SimpleNamespace(report={}),
        summary=lambda: "A: 1 patient",
    )


def _late_reconstruct_clicks(d, monkeypatch):
    monkeypatch.setattr(OutputPlan, "figure", _disk_full)
    return rec_at(d, "--plot", str(d / "out" / "figs" / "km.png"))


def _late_reconstruct_figure(d, monkeypatch):
    import bayesurv.figure_reconstruction

    monkeypatch.setattr(
        bayesurv.figure_reconstruction,
        "reconstruct_figure",
        lambda *a, **k: _fake_figure_reconstruction(),
    )
    monkeypatch.setattr(OutputPlan, "image", _disk_full)
    nar = write(d, "nar.csv", "time;at_risk;arm\n0;20;A\n5;15;A\n0;20;B\n5;12,0;B\n")
    figure = write(d, "f.png", png_claiming(60, 40))
    return ["reconstruct", str(figure), "--out", str(d / "out" / "ipd.csv"), "--at-risk", str(nar)]


def _late_digitize(d, monkeypatch):
    import bayesurv.digitize

    monkeypatch.setattr(bayesurv.digitize, "digitize_file", lambda *a, **k: _fake_digitized())
    monkeypatch.setattr(OutputPlan, "text", _disk_full)  # digitize.json, the last file
    figure = write(d, "f.png", png_claiming(60, 40))
    return ["digitize", str(figure), "--out", str(d / "out" / "dig")]


def _late_fit(d, monkeypatch):
    from known_draws import mock_nuts

    mock_nuts(monkeypatch, {})
    monkeypatch.setattr(OutputPlan, "netcdf", _disk_full)
    return fit_args(
        d, "ipd.csv", "time,event\n" + IPD, "--netcdf", str(d / "out" / "fit.nc"),
        "--draws", "100", "--tune", "100", "--chains", "2",
    )  # fmt: skip


def _late_fit_families(d, monkeypatch):
    from known_draws import mock_nuts

    mock_nuts(monkeypatch, {})
    monkeypatch.setattr(OutputPlan, "figure", _disk_full)  # models.png after the TSD 14 JSON
    args = fit_args(
        d, "ipd.csv", "time,event\n" + IPD, "--plots", str(d / "out" / "figs"),
        "--draws", "100", "--tune", "100", "--chains", "2",
    )  # fmt: skip
    args[args.index("weibull")] = "weibull,exponential"
    return args


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(_late_reconstruct_clicks, id="reconstruct-clicks-plot"),
        pytest.param(_late_reconstruct_figure, id="reconstruct-figure-overlay"),
        pytest.param(_late_digitize, id="digitize-report"),
        pytest.param(_late_fit, id="fit-netcdf"),
        pytest.param(_late_fit_families, id="fit-family-list-models-png"),
    ],
)
@pytest.mark.filterwarnings(
    "ignore::bayesurv.sampling.ConvergenceWarning",
    "ignore::bayesurv.survival.fit.IdentifiabilityWarning",
)
def test_a_failure_while_writing_leaves_nothing_and_is_one_sentence(build, tmp_path, monkeypatch):
    d = tmp_path / "case"
    (d / "out").mkdir(parents=True)
    args = build(d, monkeypatch)
    before = tree_state(tmp_path)
    r = CliRunner().invoke(app, args)
    assert "Traceback" not in r.output
    assert r.exit_code == 2, r.output[-2000:]
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("bayesurv: "), r.output
    assert "no space left on device" in lines[0] and "nothing was written" in lines[0]
    assert FIX_WORDS.search(lines[0])
    assert tree_state(tmp_path) == before, "a failed write left files behind"


def test_the_corpus_covers_every_command():
    ids = " ".join(c.id for c in CASES)
    for command in ("reconstruct", "digitize", "fit", "pool", "nma", "query", "run", "demo"):
        assert f"{command}-" in ids


# --------------------------------------------------------------------------------------------
# fuzz: the click and NAR readers give a table or an InputError, never anything else
# --------------------------------------------------------------------------------------------
_CELLS = st.sampled_from(
    [
        "0",
        "1",
        "0.5",
        "12,5",
        "-3",
        "1e308",
        "inf",
        "nan",
        "",
        "x",
        "time",
        "survival",
        "at_risk",
        "arm",
        "A",
        '"',
        "#",
    ]
)
_TABLES = st.lists(
    st.lists(_CELLS, min_size=1, max_size=4).map(lambda r: ",".join(r)), max_size=6
).map("\n".join)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the case is quoted in the reason
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=_TABLES | st.text(max_size=40))
def test_fuzz_click_and_nar_readers(tmp_path, text):
    from bayesurv.errors import InputError
    from bayesurv.evidence.curves import clean_curve, read_at_risk, read_curves, select_curve

    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    try:
        curves = read_curves(path)
        clean_curve(select_curve(curves, str(path), None), source=str(path))
    except InputError:
        pass
    try:
        read_at_risk(path)
    except InputError:
        pass
