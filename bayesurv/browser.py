"""Open an HTML file in headless Chromium: console errors and a screenshot.

Used by the tests of :mod:`bayesurv.report` (Debian's ``chromium`` package; ``.ci/run``
installs it). The flags keep Chromium off the network, as the machines running it have none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(
    html_path: str | Path,
    png_path: str | Path,
    *,
    width: int = 1200,
    height: int = 3000,
    timeout: float = 120.0,
) -> list[str]:
    """Screenshot ``html_path`` to ``png_path``; return the page's console error messages."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (Debian package 'chromium')")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png_path}",
                Path(html_path).resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    errors = [ln for ln in console if re.search(r"error|Uncaught", ln, re.I)]
    if not Path(png_path).exists():
        raise RuntimeError(f"chromium wrote no screenshot: {proc.stderr[-500:]}")
    return errors
