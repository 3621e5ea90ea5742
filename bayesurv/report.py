"""A self-contained HTML report: sections of text, tables and figures, nothing fetched.

Figures are embedded as inline SVG (crisp, searchable) or base64 PNG; tables come from pandas;
the stylesheet is inline. The file opens from a USB stick on a committee member's laptop with
no network, and prints.

Examples
--------
>>> import pandas as pd
>>> rep = Report("Example")
>>> rep.section("Evidence", "Numbers as published.")
>>> rep.table(pd.DataFrame({"trial": ["A"], "hr": [0.38]}), caption="Reported hazard ratios")
>>> html = rep.render()
>>> html.startswith("<!DOCTYPE html>") and "Reported hazard ratios" in html
True
"""

from __future__ import annotations

import base64
import datetime as _dt
import html as _html
import io

import pandas as pd

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2733;line-height:1.45;padding:0 1rem}
h1{font-size:1.7rem;border-bottom:2px solid #1f5f99;padding-bottom:.3rem}
h2{font-size:1.3rem;margin-top:2.2rem;color:#1f5f99}
h3{font-size:1.05rem;margin-top:1.4rem}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.9rem}
th,td{border:1px solid #c9d3dd;padding:.25rem .55rem;text-align:right}
th{background:#eef3f8}
td:first-child,th:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding-bottom:.3rem}
figure{margin:1rem 0 1.6rem}
figcaption{font-size:.88rem;color:#4a5866}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.5rem .8rem;margin:.8rem 0}
.meta{font-size:.8rem;color:#66737f}
nav ul{columns:2;font-size:.9rem}
svg{max-width:100%;height:auto}
"""


class Report:
    """Collects sections, tables and figures; :meth:`render` gives one HTML string."""

    def __init__(self, title: str, subtitle: str | None = None):
        self.title = title
        self.subtitle = subtitle
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []

    def section(self, title: str, text: str | None = None, level: int = 2) -> None:
        anchor = f"s{len(self.toc) + 1}"
        if level == 2:
            self.toc.append((anchor, title))
        self.parts.append(f'<h{level} id="{anchor}">{_html.escape(title)}</h{level}>')
        if text:
            self.text(text)

    def text(self, text: str) -> None:
        for para in str(text).split("\n\n"):
            self.parts.append(f"<p>{_html.escape(para.strip())}</p>")

    def note(self, text: str) -> None:
        self.parts.append(f'<div class="note">{_html.escape(text)}</div>')

    def table(
        self, df: pd.DataFrame, caption: str | None = None, float_format: str = "{:.3g}"
    ) -> None:
        def fmt(v):
            if isinstance(v, float):
                return "" if pd.isna(v) else float_format.format(v)
            return v

        body = df.map(fmt).to_html(index=False, escape=True, border=0)
        if caption:
            body = body.replace(
                ">\n  <thead>", f">\n<caption>{_html.escape(caption)}</caption>\n  <thead>", 1
            )
        self.parts.append(body)

    def figure(self, fig, caption: str | None = None, fmt: str = "svg") -> None:
        """Embed a matplotlib figure (SVG inline, or PNG as base64)."""
        buf = io.BytesIO()
        if fmt == "svg":
            fig.savefig(buf, format="svg", bbox_inches="tight")
            svg = buf.getvalue().decode("utf-8")
            svg = svg[svg.index("<svg") :]
            content = svg
        else:
            fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
            data = base64.b64encode(buf.getvalue()).decode("ascii")
            alt = _html.escape(caption or "figure")
            content = f'<img alt="{alt}" src="data:image/png;base64,{data}">'
        cap = f"<figcaption>{_html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(f"<figure>{content}{cap}</figure>")

    def render(self, provenance: dict | None = None) -> str:
        head = (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
        )
        top = f"<h1>{_html.escape(self.title)}</h1>"
        if self.subtitle:
            top += f"<p>{_html.escape(self.subtitle)}</p>"
        if self.toc:
            items = "".join(f'<li><a href="#{a}">{_html.escape(t)}</a></li>' for a, t in self.toc)
            top += f"<nav><ul>{items}</ul></nav>"
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        meta = f'<p class="meta">Made by bayesurv on {stamp}.'
        if provenance:
            versions = provenance.get("versions", {})
            meta += " " + _html.escape(", ".join(f"{k} {v}" for k, v in versions.items()))
            if provenance.get("seed") is not None:
                meta += f"; seed {provenance['seed']}"
        meta += "</p>"
        return head + top + "\n".join(self.parts) + meta + "</body></html>\n"
