"""One self-contained HTML file per run: metrics, figures, history and config, readable offline.

Images are embedded as base64 data URIs and the CSS is inline, so the file can be mailed or archived
alone; there is no script and no external resource.
"""

from __future__ import annotations

import base64
import html
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepfit.atomic import write_text_atomic
from deepfit.report.tables import MISSING, columns_of, format_cell

_FLOATFMT = ".4g"  # four significant digits: 0.9705, 0.001 and 1.2e-05 all stay readable
# "88.53%", "-2.1 pp", "0.97 ± 0.01 [±0.02]": figures written as text with a unit or an interval, right-aligned
# (a bare "0.01" stays text: it may be a setting in a column of settings)
_NUMBER_TEXT = re.compile(r"[-+]?[\d,]*\.?\d+(e[-+]?\d+)?( ?%| pp| ± .+)", re.S)

_MIME_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; }
th { background: #f4f4f4; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
.scroll { overflow-x: auto; max-height: 32rem; overflow-y: auto; }
.wide { overflow-x: auto; }
.wide table { font-size: 0.85rem; }
td.good { color: #1a7f37; font-weight: 600; }
td.bad { color: #b42318; font-weight: 600; }
td.unclear { color: #8a6d00; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
ul.notes li { margin: 0.2rem 0; }
tr.differs td { background: #fff1b8; font-weight: 600; }
table.header th { background: none; border: none; color: #555; font-weight: 500; padding: 0.1rem 1rem 0.1rem 0;
                  vertical-align: top; white-space: nowrap; }
table.header td { border: none; padding: 0.1rem 0; }
table.header tr { background: none !important; }
table.header code { font-size: 0.85rem; }
""".strip()


def _cell(value: Any, styles: Mapping[str, str] | None = None) -> str:
    text = format_cell(value, _FLOATFMT)
    numeric = (isinstance(value, numbers.Real) and not isinstance(value, bool) and text != MISSING) or (
        isinstance(value, str) and _NUMBER_TEXT.fullmatch(value) is not None)
    body = html.escape(text).replace("\n", "<br>")  # a cell's own line breaks, as in a study's `[±h]`
    classes = " ".join(c for c in ("num" if numeric else "", (styles or {}).get(text, "")) if c)
    return f'<td class="{classes}">{body}</td>' if classes else f"<td>{body}</td>"


def table_html(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    highlight: Sequence[bool] = (),
    styles: Mapping[str, str] | None = None,
) -> str:
    """An escaped HTML table of `rows` (every key of any row when `columns` is None); the rows whose entry
    of `highlight` is true are shaded (class `differs`), as the differing settings of a comparison, and a
    cell whose text is a key of `styles` gets that class (`good`, `bad` or `unclear`: a verdict's colour)."""
    return _table(rows, columns if columns is not None else columns_of(rows), highlight, styles)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], highlight: Sequence[bool] = (),
           styles: Mapping[str, str] | None = None) -> str:
    # a long name (seconds_per_epoch) may break after its underscores, so a wide table narrows
    head = "".join(f"<th>{html.escape(str(c)).replace('_', '_<wbr>')}</th>" for c in columns)
    marks = list(highlight) + [False] * (len(rows) - len(highlight))
    body = "\n".join(
        ('<tr class="differs">' if mark else "<tr>") + "".join(_cell(row.get(c), styles) for c in columns) + "</tr>"
        for row, mark in zip(rows, marks, strict=False)
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _data_uri(image: Path) -> str:
    """The image file as a data URI; the media type follows the suffix."""
    mime = _MIME_TYPES.get(image.suffix.lower())
    if mime is None:
        raise ValueError(
            f"report image {image}: expected one of {', '.join(_MIME_TYPES)}, got {image.suffix or 'no suffix'}"
        )
    return f"data:{mime};base64," + base64.b64encode(image.read_bytes()).decode("ascii")


def figures_html(images: Mapping[str, str | os.PathLike[str]]) -> str:
    """Each image embedded as a data URI in a <figure> with its caption, in the order given."""
    return "\n".join(
        f'<figure><img src="{_data_uri(Path(p))}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for caption, p in images.items()
    )


def render_report(
    *,
    title: str,
    config_text: str,
    metrics: Mapping[str, float | int | str],
    history: Sequence[Mapping[str, Any]],
    images: Mapping[str, str | os.PathLike[str]],
    notes: Sequence[str] | None = None,
    sections: Sequence[tuple[str, str]] = (),
    header: Sequence[tuple[str, str]] = (),
) -> str:
    """Return the HTML text of the report that `write_report` writes."""
    metric_rows = [{"metric": name, "value": value} for name, value in metrics.items()]
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if header:
        parts.append(header_html(header))
    if notes:
        items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
        parts.append(f'<h2>Notes</h2>\n<ul class="notes">{items}</ul>')
    parts.append(
        "<h2>Final metrics</h2>\n" + (_table(metric_rows, ["metric", "value"]) if metric_rows else "<p>No metrics.</p>")
    )
    for heading, body in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>\n{body}")
    if images:
        parts.append("<h2>Figures</h2>\n" + figures_html(images))
    history_html = (
        f'<div class="scroll">{_table(history, columns_of(history))}</div>' if history else "<p>No epochs recorded.</p>"
    )
    parts.append(f"<h2>History ({len(history)} epochs)</h2>\n{history_html}")
    parts.append(f"<h2>Configuration</h2>\n<pre>{html.escape(config_text)}</pre>")
    return _document(title, "\n".join(parts))


def write_report(
    path: str | os.PathLike[str],
    *,
    title: str,
    config_text: str,
    metrics: Mapping[str, float | int | str],
    history: Sequence[Mapping[str, Any]],
    images: Mapping[str, str | os.PathLike[str]],
    notes: Sequence[str] | None = None,
    sections: Sequence[tuple[str, str]] = (),
    header: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write a run's report as one self-contained HTML file, atomically, and return its path.

    The page holds, in order: the title, the `header` lines (label, text: what ran, on which data, why it
    stopped), `notes` (if any), the final metrics, each of `sections`
    (heading, HTML body made by this package, e.g. `findings_html`), each image with its caption, the
    per-epoch history and the config text verbatim in a <pre>. All text but the sections' bodies is escaped.

    Args:
        config_text: the resolved config as written to disk (TOML), shown verbatim.
        images: caption -> image file (.png, .jpg or .svg), embedded in the order given.

    Raises:
        OutputError: the file cannot be written.
        FileNotFoundError: an image does not exist.
    """
    text = render_report(
        title=title, config_text=config_text, metrics=metrics, history=history, images=images, notes=notes,
        sections=sections, header=header,
    )
    return write_text_atomic(path, text)


def render_page(*, title: str, sections: Sequence[tuple[str, str]],
                images: Mapping[str, str | os.PathLike[str]] | None = None, notes: Sequence[str] | None = None) -> str:
    """A self-contained page of headed sections (HTML bodies made by this package) and figures: the
    page of a study or of an index of studies, in the style of the run report."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    parts += [f"<h2>{html.escape(heading)}</h2>\n{body}" for heading, body in sections]
    if images:
        parts.append("<h2>Figures</h2>\n" + figures_html(images))
    return _document(title, "\n".join(parts))


def write_page(path: str | os.PathLike[str], *, title: str, sections: Sequence[tuple[str, str]],
               images: Mapping[str, str | os.PathLike[str]] | None = None, notes: Sequence[str] | None = None) -> Path:
    """Write `render_page` atomically to `path` and return it."""
    return write_text_atomic(path, render_page(title=title, sections=sections, images=images, notes=notes))


def header_html(lines: Sequence[tuple[str, str]]) -> str:
    """Label and text pairs as a borderless two-column table, the header under a report's title."""
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td>{_header_text(label, text)}</td></tr>"
                   for label, text in lines)
    return f'<table class="header">{rows}</table>'


def _header_text(label: str, text: str) -> str:
    return f"<code>{html.escape(text)}</code>" if label == "command" else html.escape(text)


def paragraph_html(text: str) -> str:
    """Escaped text as paragraphs (blank lines separate them)."""
    return "\n".join(f"<p>{html.escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


def link_html(href: str, text: str) -> str:
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


_INLINE = "deepfit-page"  # the class of the <div> an inline page sits in, which scopes its CSS


def inline_html(page: str) -> str:
    """A page of this module as one <div> to show inside another page (a notebook's output): its body,
    with its CSS scoped to the <div> so the notebook's own styles are left alone."""
    start, end = page.index("<body>") + len("<body>"), page.rindex("</body>")
    return f'<div class="{_INLINE}">\n<style>\n{_scoped(_CSS)}\n</style>\n{page[start:end].strip()}\n</div>'


def _scoped(css: str) -> str:
    """`css` with each selector under `.deepfit-page` (`body` becomes the <div> itself)."""
    def scope(selectors: str) -> str:
        parts = [s.strip() for s in selectors.split(",")]
        return ", ".join(f".{_INLINE}" if s == "body" else f".{_INLINE} {s}" for s in parts) + " "
    return re.sub(r"([^{}]+?)\s*\{", lambda m: scope(m.group(1)) + "{", css)
