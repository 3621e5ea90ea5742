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


_MEASURE = """<script>
window.addEventListener("load", function () {
  var vw = window.innerWidth, vh = window.innerHeight, sy = window.scrollY;
  function box(e) {
    var r = e.getBoundingClientRect();
    return {top: r.top + sy, bottom: r.bottom + sy, left: r.left, right: r.right,
            scrollWidth: e.scrollWidth, clientWidth: e.clientWidth,
            text: (e.textContent || "").trim().slice(0, 400)};
  }
  function clipped(e) {
    for (var p = e.parentElement; p; p = p.parentElement) {
      var o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden") return true;
    }
    return false;
  }
  var found = {}, selectors = %s;
  selectors.forEach(function (s) {
    found[s] = Array.prototype.map.call(document.querySelectorAll(s), box);
  });
  var wide = [];
  Array.prototype.forEach.call(document.body.querySelectorAll("*"), function (e) {
    var r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 0.5 && !clipped(e)) {
      wide.push({tag: e.tagName.toLowerCase(), cls: String(e.className), right: r.right});
    }
  });
  var out = {viewport: [vw, vh], scrollWidth: document.documentElement.scrollWidth,
             scrollHeight: document.documentElement.scrollHeight, elements: found,
             overflowing: wide.slice(0, 20)};
  var pre = document.createElement("pre");
  pre.id = "bayesurv-layout";
  pre.style.display = "none";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def layout(
    html_path: str | Path,
    selectors: list[str],
    *,
    width: int = 1400,
    height: int = 900,
    timeout: float = 120.0,
) -> dict:
    """Lay ``html_path`` out in headless Chromium at ``width`` x ``height`` and measure it.

    Returns ``{"viewport": [w, h], "scrollWidth", "scrollHeight", "elements": {selector:
    [{"top", "bottom", "left", "right", "scrollWidth", "clientWidth", "text"}, ...]},
    "overflowing": [...]}``: page
    coordinates (px from the top of the document) of every element each CSS selector matches, in
    document order, and the elements that stick out to the right of the viewport outside any
    scroll box. The page is measured on a copy with a measuring script added after layout (the
    report itself holds no script); Chromium's ``--dump-dom`` returns the result.
    """
    import json

    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (Debian package 'chromium')")
    src = Path(html_path)
    text = src.read_text(encoding="utf-8")
    script = _MEASURE % json.dumps(list(selectors))
    text = text.replace("</body>", script + "</body>", 1) if "</body>" in text else text + script
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(text, encoding="utf-8")
        proc = subprocess.run(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={Path(tmp) / 'profile'}",
                f"--window-size={width},{height}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    m = re.search(r'<pre id="bayesurv-layout"[^>]*>(.*?)</pre>', proc.stdout, re.S)
    if m is None:
        raise RuntimeError(f"chromium returned no layout: {proc.stderr[-500:]}")
    import html as _html

    return json.loads(_html.unescape(m.group(1)))


def print_pdf(html_path: str | Path, pdf_path: str | Path, *, timeout: float = 120.0) -> Path:
    """Print ``html_path`` to ``pdf_path`` as Chromium prints it (the page's print stylesheet,
    its ``@page`` size; no header or footer)."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (Debian package 'chromium')")
    pdf_path = Path(pdf_path)
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf_path.resolve()}",
                Path(html_path).resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if not pdf_path.exists():
        raise RuntimeError(f"chromium wrote no PDF: {proc.stderr[-500:]}")
    return pdf_path
