"""Review leftovers of the benchmark scripts: ``bench_propagation --resume`` keeps runs with
different ``--methods`` apart (and their fits the same), ``paired_table`` on replicates sharing
no method is one sentence, and ``bench_batch``'s failed warm-up leaves no temporary folder."""

from __future__ import annotations

import importlib.util
import json
import re
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _ran_resumed(out: str) -> tuple[int, int]:
    m = re.search(r"(\d+) ran, (\d+) resumed", out)
    return int(m.group(1)), int(m.group(2))


def _oracle_values(folder: Path) -> dict:
    """The oracle summaries stored in a job folder, by (design, rep)."""
    from bayesurv.batch.store import ResultStore

    store = ResultStore(folder)
    out = {}
    for meta in store.tasks.glob("*.meta.json"):
        key = json.loads(meta.read_text())["key"]
        v = store.load(key)
        out.setdefault((v["design"], v["rep"]), []).append(v["oracle"])
    return out


def test_resume_keeps_runs_of_different_methods_apart(tmp_path, capsys):
    bp = _load("bench_propagation")
    common = ["--reps", "2", "--designs", "coarse", "--draws", "2", "--scheduler", "serial"]
    common += ["--out", str(tmp_path / "job"), "--csv", str(tmp_path / "cov.csv")]
    assert bp.main([*common, "--methods", "oracle"]) == 0
    assert _ran_resumed(capsys.readouterr().out) == (2, 0)
    assert bp.main([*common, "--methods", "oracle,single", "--resume"]) == 0
    assert _ran_resumed(capsys.readouterr().out) == (2, 0)
    # the oracle-only run is still there: resuming it runs nothing (its tasks used to share
    # their keys with the other run's, which had overwritten them with other inputs)
    assert bp.main([*common, "--methods", "oracle", "--resume"]) == 0
    assert _ran_resumed(capsys.readouterr().out) == (0, 2)
    # both runs' oracle fits of a trial are the same fit (the seed does not depend on --methods)
    stored = _oracle_values(tmp_path / "job")
    assert sorted(stored) == [("coarse", 0), ("coarse", 1)]
    for fits in stored.values():
        assert len(fits) == 2 and fits[0] == fits[1]


def test_paired_table_without_a_common_method_is_one_sentence():
    bp = _load("bench_propagation")
    cell = {"hr": {"covered": 1, "width": 0.5, "median": 0.7}}
    mixed = [
        {"rep": 0, "design": "coarse", "oracle": cell},
        {"rep": 1, "design": "coarse", "single": cell, "pooled": cell},
    ]
    with pytest.raises(ValueError, match=r"share no method \(got oracle, single\+pooled\)") as e:
        bp.paired_table(mixed)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match=r"share no method \(got none\)"):
        bp.paired_table([])
    # one method alone, or two: a table with the differences that exist
    alone = bp.paired_table([{"rep": 0, "design": "coarse", "oracle": cell}])
    assert list(alone.columns) == ["design", "quantity", "R"]


def test_bench_batch_failed_warmup_leaves_no_temporary_folder(tmp_path, monkeypatch, capsys):
    bb = _load("bench_batch")

    class Failed:
        returncode, stdout, stderr = 1, "", "warm-up child: boom"

    monkeypatch.setattr(bb.subprocess, "run", lambda *a, **k: Failed())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert bb.main(["--families", "exponential", "--out", str(tmp_path / "b.txt")]) == 2
    err = capsys.readouterr().err
    assert "boom" in err and "the warm-up run failed" in err
    assert not list(tmp_path.glob("bench_batch_*"))


def test_digitize_benchmark_keeps_the_notes_of_the_table_it_replaces(tmp_path):
    """A rerun of digitize_real_styles writes the new table and keeps the file's notes (lines
    that start with ``#``); a run of some styles goes beside it, never over the full table."""
    bench = _load("digitize_real_styles")
    out = tmp_path / "digitize_real_styles.txt"
    out.write_text("old table\nnejm 0.0016\n\n# 2026-12-03: a note\n# another note\n")
    assert bench.write_table(["new table", "nejm 0.0015"], partial=False, out=out) == out
    assert out.read_text() == "new table\nnejm 0.0015\n\n# 2026-12-03: a note\n# another note\n"
    part = bench.write_table(["nejm only"], partial=True, out=out)
    assert part.name == "digitize_real_styles.partial.txt"
    assert part.read_text() == "nejm only\n"
    assert "# another note" in out.read_text()
