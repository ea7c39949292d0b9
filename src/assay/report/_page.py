"""The page around the sections: head (inline style, a content security policy that forbids
loading anything), title, overview, navigation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from ._context import Section
from ._html import Markup, el, fmt, join

__all__ = ["CSP", "STYLE", "page"]

#: The page may load nothing: no script, no stylesheet, no font, no image but ``data:``
#: URIs. The browser enforces it, so a report opened anywhere makes no request.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
:root { --ink:#1d232b; --muted:#5d6875; --line:#dfe3e8; --bg:#f5f6f8; --card:#fff;
        --accent:#1f5fbf; --alert:#c62828; --ok:#2e7d32; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
       color:var(--ink); background:var(--bg); }
header.page { background:#16202c; color:#fff; padding:20px 32px 14px; }
header.page h1 { margin:0 0 4px; font-size:22px; font-weight:600; }
header.page .meta { color:#b8c2cf; font-size:12.5px; margin:0; }
header.page code { color:#fff; }
nav { display:flex; flex-wrap:wrap; gap:6px; margin-top:12px; }
nav a { color:#fff; text-decoration:none; padding:3px 10px; border:1px solid #3a4a5c; border-radius:14px; font-size:12.5px; }
nav a:hover { background:#2a3a4c; }
.facts { display:flex; flex-wrap:wrap; gap:10px; padding:16px 32px 0; }
.fact { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px 14px; min-width:120px; }
.fact b { display:block; font-size:20px; font-weight:600; }
.fact span { color:var(--muted); font-size:12px; }
.fact.alert b { color:var(--alert); }
main { padding:8px 32px 40px; max-width:1600px; }
section.section { background:var(--card); border:1px solid var(--line); border-radius:10px; margin:18px 0; padding:6px 22px 18px; }
section.section > h2 { font-size:18px; margin:14px 0 8px; }
h3 { font-size:15px; margin:18px 0 6px; }
h4 { font-size:13.5px; margin:14px 0 6px; color:#33404d; }
code { font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; background:#eef1f5; padding:0 4px; border-radius:4px; }
header.page code { background:#2a3a4c; }
.sub { border-top:1px solid var(--line); margin-top:14px; padding-top:2px; }
.muted { color:var(--muted); }
.small { font-size:12px; margin:4px 0; overflow-wrap:anywhere; }
.scroll { overflow-x:auto; margin:8px 0; }
table.data { border-collapse:collapse; font-size:12.5px; min-width:40%; }
table.data caption { text-align:left; color:var(--muted); font-size:12px; padding:2px 0 4px; caption-side:top; }
table.data th, table.data td { border-bottom:1px solid var(--line); padding:3px 10px 3px 0; text-align:left;
                               vertical-align:top; overflow-wrap:anywhere; max-width:420px; }
table.data th { font-weight:600; white-space:nowrap; }
table.data .num { text-align:right; font-variant-numeric:tabular-nums; padding-left:12px; }
.inline-list { line-height:2; }
.pill { display:inline-block; background:#eef1f5; border-radius:10px; padding:0 8px; margin-right:4px; font-size:12px; }
.meter { display:inline-block; width:140px; height:12px; background:#eef1f5; border-radius:3px; vertical-align:middle; margin-right:6px; }
.meter .fill { display:block; height:100%; background:#7aa7e0; border-radius:3px; }
.alert { border-left:4px solid var(--alert); background:#fdecea; padding:8px 12px; margin:10px 0; }
.ok { border-left:4px solid var(--ok); background:#edf7ed; padding:8px 12px; margin:10px 0; }
figure.plot-figure { margin:10px 0; }
figure.plot-figure figcaption { color:var(--muted); font-size:12px; }
svg.plot { max-width:100%; height:auto; display:block; }
svg.plot * { stroke-linejoin:round; stroke-linecap:butt; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(480px, 1fr)); gap:12px; margin:8px 0; }
article.card { border:1px solid var(--line); border-radius:8px; padding:8px 10px; background:#fbfcfd; min-width:0; }
article.card header { display:flex; flex-wrap:wrap; align-items:baseline; gap:8px; margin-bottom:6px; }
.rank { color:var(--muted); font-weight:600; }
.badge { background:#e3ecfa; color:var(--accent); border-radius:4px; padding:0 6px; font-weight:600; font-size:12.5px; }
.where { overflow-wrap:anywhere; }
.severity { margin-left:auto; color:var(--muted); font-size:12px; }
.cards.compact { grid-template-columns:repeat(auto-fill, minmax(280px, 1fr)); }
.frames { display:flex; flex-wrap:wrap; gap:6px; }
.frames svg.frame { flex:1 1 160px; max-width:380px; height:auto; display:block; border-radius:4px; }
svg.frame .canvas { fill:#2a2f37; }
svg.frame .box { fill:none; stroke:#56c2ff; }
svg.frame .box.hit { stroke:#ff5252; fill:rgba(255,82,82,.14); }
svg.frame .box.near { stroke:#cfd6de; stroke-dasharray:6 4; opacity:.5; }
svg.frame .trail { fill:none; stroke:#ffd54f; opacity:.85; }
svg.frame .caption { fill:#fff; }
svg.frame .ego { fill:#fff; }
.factor-box { margin:2px 0 8px; }
svg.factors text { font-size:11px; fill:#33404d; }
svg.factors .axis { stroke:#9aa4af; stroke-width:1; }
svg.factors .bar.pos { fill:#43a047; }
svg.factors .bar.neg { fill:#e53935; }
.two { display:grid; grid-template-columns:repeat(auto-fit, minmax(380px, 1fr)); gap:16px; }
footer { color:var(--muted); font-size:12px; padding:0 32px 30px; }
"""


def page(title: str, where: str, sections: Sequence[Section], version: str) -> str:
    """The whole HTML document."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    facts = [(label, value) for s in sections for label, value in s.facts]
    tiles = [el("div", el("b", fmt(v)), el("span", label),
                class_="fact alert" if label == "drift alerts" and v else "fact")
             for label, v in facts]
    body = [el("section", el("h2", s.title), s.body, id=s.id, class_="section") for s in sections]
    if not sections:
        body = [el("section", el("h2", "Nothing to report yet"),
                   el("p", "The workspace holds no tables and no runs. Add data with ",
                      el("code", "assay ingest"), " or ", el("code", "Workspace.add"), "."),
                   id="empty", class_="section empty")]
    doc = join([
        Markup("<!DOCTYPE html>\n"),
        el("html",
           el("head",
              el("meta", charset="utf-8"),
              el("meta", http_equiv="Content-Security-Policy", content=CSP),
              el("meta", name="viewport", content="width=device-width, initial-scale=1"),
              el("meta", name="generator", content=f"assay {version}"),
              el("title", title),
              el("style", Markup(STYLE))),
           el("body",
              el("header",
                 el("h1", title),
                 el("p", "workspace ", el("code", where), f" · made {now} by assay {version}",
                    class_="meta"),
                 el("nav", [el("a", s.title, href=f"#{s.id}") for s in sections]),
                 class_="page"),
              el("div", tiles, class_="facts") if tiles else None,
              el("main", body),
              el("footer", "Made by assay report. Everything on this page is in this one file; "
                           "it loads nothing from anywhere.")),
           lang="en"),
    ])
    return str(doc) + "\n"
