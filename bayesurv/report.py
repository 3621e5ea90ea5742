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
import re

import pandas as pd

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2733;line-height:1.45;padding:0 1rem}
h1{font-size:1.7rem;border-bottom:2px solid #1f5f99;padding-bottom:.3rem;margin-bottom:.6rem}
h2{font-size:1.3rem;margin-top:2.2rem;color:#1f5f99}
h3{font-size:1.05rem;margin-top:1.4rem}
p,li,figcaption{overflow-wrap:anywhere}
.subtitle{margin-top:0;color:#3a4856}
.table-box{overflow-x:auto;max-width:100%;margin:0 0 1.2rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #c9d3dd;padding:.25rem .55rem;text-align:left;vertical-align:top}
td.num{text-align:right;white-space:nowrap}
td.long{min-width:14rem;overflow-wrap:anywhere}
th{background:#eef3f8}
.caption{font-weight:600;margin:1rem 0 .3rem}
.table-box+.caption,.note+.caption{margin-top:1.2rem}
figure{margin:1rem 0 1.6rem}
figcaption{font-size:.88rem;color:#4a5866}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.5rem .8rem;margin:.8rem 0}
.answers{background:#eaf2fb;border-left:5px solid #1f5f99;padding:.6rem 1rem .6rem 2.2rem;
margin:.4rem 0 1rem}
.answers li{margin:.35rem 0}
.answer .asked{display:block;font-size:.78rem;color:#5b6875;
font-family:ui-monospace,Menlo,monospace}
#answers{margin-top:1rem}
.meta{font-size:.8rem;color:#66737f}
nav ul{columns:2;font-size:.9rem}
svg,img{max-width:100%;height:auto}
@media print{
@page{size:A4;margin:15mm 14mm}
body{max-width:none;margin:0;padding:0;font-size:10pt;line-height:1.35}
h1{font-size:16pt}h2{font-size:13pt;break-after:avoid;page-break-after:avoid}
nav{display:none}
.table-box{overflow:visible;max-width:none}
table{width:100%;font-size:8pt;break-inside:avoid;page-break-inside:avoid}
th,td{padding:.1rem .25rem}
td.long{min-width:0}
thead{display:table-header-group}
tr,figure,.note,.answers li{break-inside:avoid;page-break-inside:avoid}
.caption{break-after:avoid;page-break-after:avoid}
figure svg,figure img{max-height:22cm;width:auto;max-width:100%}
.answers{border-left-width:3px}
a{color:inherit;text-decoration:none}
}
"""


#: a cell longer than this wraps (a source, a warning); shorter ones (numbers) never do
LONG_CELL = 32


class Report:
    """Collects sections, tables and figures; :meth:`render` gives one HTML string.

    The table of contents goes after the first section (the answers come first); every table
    is formatted by :func:`bayesurv.report_format.format_table` and sits in its own box, which
    scrolls sideways on a narrow screen instead of widening the page.
    """

    def __init__(self, title: str, subtitle: str | None = None):
        self.title = title
        self.subtitle = subtitle
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self._nav_at: int | None = None

    def section(
        self, title: str, text: str | None = None, level: int = 2, anchor: str | None = None
    ) -> None:
        anchor = anchor or f"s{len(self.toc) + 1}"
        if level == 2:
            if len(self.toc) == 1:
                self._nav_at = len(self.parts)
            self.toc.append((anchor, title))
        self.parts.append(f'<h{level} id="{anchor}">{_html.escape(title)}</h{level}>')
        if text:
            self.text(text)

    def text(self, text: str) -> None:
        for para in str(text).split("\n\n"):
            self.parts.append(f"<p>{_html.escape(para.strip())}</p>")

    def note(self, text: str) -> None:
        self.parts.append(f'<div class="note">{_html.escape(text)}</div>')

    def answers(self, items: list[tuple[str, str]]) -> None:
        """Numbered answers: each a sentence, with the statement it answers in small print."""
        lis = "".join(
            f'<li class="answer"><span class="sentence">{_html.escape(sentence)}</span>'
            f'<span class="asked">{_html.escape(asked)}</span></li>'
            for sentence, asked in items
        )
        self.parts.append(f'<ol class="answers">{lis}</ol>')

    def table(
        self,
        df: pd.DataFrame,
        caption: str | None = None,
        float_format: str | None = None,
        percent: tuple[str, ...] = (),
    ) -> None:
        """``df`` as a table in its own box; numbers for people (:mod:`bayesurv.report_format`;
        a legacy ``float_format`` such as ``"{:.3f}"`` sets the decimals), columns named like
        probabilities or listed in ``percent`` as percentages."""
        from bayesurv.report_format import format_table

        body = format_table(df, float_format, percent).to_html(index=False, escape=True, border=0)
        body = _CELL.sub(_cell_class, body)
        # the caption sits above the box (a wide table scrolls; its title stays in view)
        cap = f'<div class="caption">{_html.escape(caption)}</div>' if caption else ""
        self.parts.append(f'{cap}<div class="table-box">{body}</div>')

    def figure(self, fig, caption: str | None = None, fmt: str = "svg") -> None:
        """Embed a matplotlib figure (SVG inline, or PNG as base64)."""
        buf = io.BytesIO()
        if fmt == "svg":
            import matplotlib as mpl

            # text as <text> (searchable, a third of the bytes), not one path per glyph
            with mpl.rc_context({"svg.fonttype": "none"}):
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
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
        )
        top = f"<h1>{_html.escape(self.title)}</h1>"
        if self.subtitle:
            top += f'<p class="subtitle">{_html.escape(self.subtitle)}</p>'
        nav = ""
        if self.toc:
            items = "".join(f'<li><a href="#{a}">{_html.escape(t)}</a></li>' for a, t in self.toc)
            nav = f"<nav><ul>{items}</ul></nav>"
        at = self._nav_at if self._nav_at is not None else 0
        parts = [*self.parts[:at], nav, *self.parts[at:]]
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        meta = f'<p class="meta">Made by bayesurv on {stamp}.'
        if provenance:
            versions = provenance.get("versions", {})
            meta += " " + _html.escape(", ".join(f"{k} {v}" for k, v in versions.items()))
            if provenance.get("seed") is not None:
                meta += f"; seed {provenance['seed']}"
        meta += "</p>"
        return head + top + "\n".join(parts) + meta + "</body></html>\n"


_CELL = re.compile(r"<td>([^<]*)</td>")
#: a cell that reads as a number, a percentage or an interval: right-aligned, never wrapped
_NUMERIC = re.compile(r"[-+<>≤≥~∞0-9.,%() ]*[0-9∞][-+<>≤≥~∞0-9.,%() to]*")


def _cell_class(m: re.Match) -> str:
    text = _html.unescape(m.group(1)).strip()
    if _NUMERIC.fullmatch(text):
        return f'<td class="num">{m.group(1)}</td>'
    if len(text) > LONG_CELL:
        return f'<td class="long">{m.group(1)}</td>'
    return m.group(0)
