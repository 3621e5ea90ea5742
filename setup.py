"""Packaging hook: the wheel carries the shipped data inside the package.

``data/`` (life tables, the case study's evidence, the examples, the reference data) and
``models/*.toml`` (the shipped specs) stay at the top of the source tree, where the tests, specs
and docs name them. ``build_py`` copies them into the package under the same relative paths,
``bayesurv/_data/data/...`` and ``bayesurv/_data/models/...``, where :mod:`bayesurv.datasets`
finds them through :mod:`importlib.resources` (and where a spec's ``data/...`` paths resolve from
``bayesurv/_data/models/``). An editable install reads them from the checkout instead.
Everything else is configured in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

#: what ships, as globs relative to the source tree (sdists carry the same through MANIFEST.in)
SHIPPED = ("data/**/*", "models/*.toml")
#: where it goes inside the built package
TARGET = Path("bayesurv") / "_data"


def _shipped() -> list[Path]:
    files = {p for pattern in SHIPPED for p in Path().glob(pattern) if p.is_file()}
    return sorted(p for p in files if "__pycache__" not in p.parts)


class BuildPyWithData(build_py):
    """``build_py`` that also copies :data:`SHIPPED` into ``build_lib/bayesurv/_data``."""

    def _targets(self) -> list[tuple[Path, Path]]:
        return [(src, Path(self.build_lib) / TARGET / src) for src in _shipped()]

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads data/ and models/ in place
            return
        for src, dst in self._targets():
            self.mkpath(str(dst.parent))
            self.copy_file(str(src), str(dst))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [str(dst) for _, dst in self._targets()]


setup(cmdclass={"build_py": BuildPyWithData})
