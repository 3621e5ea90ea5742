"""docs/spec-keys.md is what the spec's pydantic models say (issue 14 item 6): every key of
every table, so the documentation cannot drift from what `bayesurv run` accepts."""

import typing

from pydantic import BaseModel

from bayesurv import spec_docs


def test_committed_docs_equal_the_generated_ones():
    assert spec_docs.DOC.read_text(encoding="utf-8") == spec_docs.render(), (
        "docs/spec-keys.md is out of date; run: python -m bayesurv.spec_docs"
    )
    assert spec_docs.main(["--check"]) == 0


def test_every_key_of_every_table_is_documented_with_a_meaning():
    text = spec_docs.render()
    seen = set()
    for _, model in spec_docs._models():
        seen.add(model)
        for name, field in model.model_fields.items():
            row = next(
                (
                    line
                    for line in text.splitlines()
                    if line.startswith(f"| `{field.alias or name}`")
                ),
                None,
            )
            assert row is not None, f"{model.__name__}.{name} is not documented"
            assert not row.rstrip().endswith("|  |"), f"{model.__name__}.{name} has no meaning"
    # every nested table of the spec has its own section
    for model in list(seen):
        for field in model.model_fields.values():
            stack = [field.annotation]
            while stack:
                a = stack.pop()
                stack += list(typing.get_args(a))
                if isinstance(a, type) and issubclass(a, BaseModel):
                    assert a in seen, f"{a.__name__} (in {model.__name__}) has no table"


def test_check_fails_when_the_docs_drift(tmp_path, monkeypatch):
    stale = tmp_path / "spec-keys.md"
    stale.write_text(spec_docs.render().replace("posterior draws per chain", "draws"))
    monkeypatch.setattr(spec_docs, "DOC", stale)
    assert spec_docs.main(["--check"]) == 1
    assert spec_docs.main([]) == 0 and spec_docs.main(["--check"]) == 0
