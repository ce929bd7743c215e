"""Turn an uploaded file into structural blocks of clean text.

``parse`` checks that the content is what the extension says and is safe to open
(``formats``), then extracts headings, paragraphs, list items and tables in reading order as
:class:`Block` s of NFC text. PDF text has no reliable headings: it becomes paragraphs, split
where lines are further apart than the document's usual spacing, tagged with their page.
Parsing libraries are imported on first use, so importing this module stays cheap.
"""

from __future__ import annotations

import ctypes
import io
import itertools
import re
import statistics
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from greffier.documents import formats
from greffier.errors import InvalidRequest

BlockKind = Literal["heading", "paragraph", "list_item", "table"]


@dataclass(frozen=True)
class Block:
    text: str  # clean text of one structural unit, no leading/trailing whitespace
    kind: BlockKind
    level: int = 0  # heading level 1..6 for headings, 0 otherwise
    page: int | None = None  # 1-based page number (PDF only), else None


@dataclass(frozen=True)
class ParsedDocument:
    format: str  # "pdf" | "docx" | "odt" | "html" | "markdown" | "text"
    blocks: list[Block]
    pages: int | None = None  # page count for PDFs
    warnings: list[str] = field(default_factory=list)


class DocumentRefused(InvalidRequest):
    """A file that cannot be ingested; ``code`` says why, the message says what to do."""


def parse(
    data: bytes, filename: str, *, max_uncompressed_bytes: int = 200 * 1024 * 1024
) -> ParsedDocument:
    name = formats.display_name(filename)
    try:
        if not data:
            raise formats.refusal("empty_file", name)
        fmt = formats.format_for(filename)
        doc = _PARSERS[fmt](data, name, max_uncompressed_bytes)
        if not doc.blocks:
            raise formats.refusal(
                "no_text",
                name,
                why="it is empty, or holds only images",
                advice="Add the text, or upload a version of the document that has it.",
            )
    except formats.FormatProblem as problem:
        raise DocumentRefused(problem.message, code=problem.code) from None
    except RecursionError as exc:
        problem = formats.corrupt(name, fmt, exc)
        raise DocumentRefused(problem.message, code=problem.code) from None
    return doc


# ---------------------------------------------------------------- text clean-up

# C0 controls (tab and newlines kept), DEL, soft hyphens, zero-width space, BOM; VT/FF break.
_CONTROLS = {c: None for c in [*range(0, 9), *range(14, 32), 0x7F, 0xAD, 0x200B, 0xFEFF, 0xFFFE]}
_CONTROLS |= {0x0B: "\n", 0x0C: "\n\n"}
_SPACES = re.compile(r"[^\S\n]+")
_WHITESPACE = re.compile(r"\s+")


def _clean(text: str, *, keep_lines: bool = False) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS)
    text = unicodedata.normalize("NFC", text)
    if not keep_lines:
        return _WHITESPACE.sub(" ", text).strip()
    return "\n".join(filter(None, (_SPACES.sub(" ", line).strip() for line in text.split("\n"))))


def _add(blocks: list[Block], text: str, kind: BlockKind = "paragraph", level: int = 0) -> None:
    text = _clean(text, keep_lines=kind == "table")
    if text:
        blocks.append(Block(text, kind, max(1, min(6, level)) if kind == "heading" else 0))


def _add_table(blocks: list[Block], rows: list[list[str]]) -> None:
    lines = []
    for row in rows:
        cells = [_clean(cell) for cell in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            lines.append(" | ".join(cells))
    _add(blocks, "\n".join(lines), "table")


# ---------------------------------------------------------------- PDF

_PDFIUM = threading.Lock()  # PDFium is not thread-safe; the server may parse in threads.
_Line = tuple[str, float, float]  # text, baseline y (points, upwards), font size


def _parse_pdf(data: bytes, name: str, _limit: int) -> ParsedDocument:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with _PDFIUM:
        pdf = formats.open_pdf(data, name)
        try:
            pages = [_pdf_lines(pdf, index, pdfium_c) for index in range(len(pdf))]
        except pdfium.PdfiumError as exc:
            raise formats.corrupt(name, "pdf", exc) from None
        finally:
            pdf.close()

    ratios = [
        (a[1] - b[1]) / b[2]
        for lines in pages
        for a, b in itertools.pairwise(lines)
        if b[2] > 0 and a[1] - b[1] > 0.5 * b[2]
    ]
    usual = statistics.median(ratios) if ratios else 0.0
    blocks: list[Block] = []
    warnings: list[str] = []
    for number, lines in enumerate(pages, start=1):
        texts = [_clean(_join_lines(p)) for p in _pdf_paragraphs(lines, usual)]
        blocks += [Block(text, "paragraph", page=number) for text in texts if text]
        if not any(texts):
            warnings.append(f"page {number} has no text layer (scanned image?)")
    if not blocks:
        raise formats.refusal(
            "no_text",
            name,
            why=f"none of its {len(pages)} page(s) has a text layer: a scan, or blank pages",
            advice="Run it through OCR to add a text layer, then upload the result.",
        )
    return ParsedDocument("pdf", blocks, pages=len(pages), warnings=warnings)


def _pdf_lines(pdf: Any, index: int, pdfium_c: Any) -> list[_Line]:
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        # String offsets are character indices unless PDFium emitted surrogate pairs; without
        # that alignment there is no geometry, and lines are only split on blank lines.
        aligned = len(text) == textpage.count_chars()
        lines, x, y = [], ctypes.c_double(), ctypes.c_double()
        start = 0
        for end in re.finditer(r"\r\n|\r|\n", text + "\n"):
            line, first = text[start : end.start()], start
            start = end.end()
            if not line.strip():
                lines.append(("", 0.0, 0.0))  # a blank line always ends a paragraph
                continue
            base = size = 0.0
            if aligned:
                i = first + len(line) - len(line.lstrip())
                if pdfium_c.FPDFText_GetCharOrigin(textpage, i, ctypes.byref(x), ctypes.byref(y)):
                    base, size = y.value, pdfium_c.FPDFText_GetFontSize(textpage, i)
            lines.append((line, base, size))
        return lines
    finally:
        textpage.close()
        page.close()


def _pdf_paragraphs(lines: list[_Line], usual: float) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    prev: _Line | None = None
    for line in lines:
        if prev is None or not line[0] or _new_paragraph(prev, line, usual):
            paragraphs.append([])
        if line[0]:
            paragraphs[-1].append(line[0])
        prev = line if line[0] else None
    return [p for p in paragraphs if p]


def _new_paragraph(prev: _Line, line: _Line, usual: float) -> bool:
    """After a gap clearly larger than the document's usual line spacing, a jump upwards (a
    new column or box) or a change of font size (a heading); not without geometry."""
    (_, y0, size0), (_, y, size) = prev, line
    if size <= 0 or size0 <= 0 or abs(y0 - y) < 0.5 * size:  # no geometry, or the same line
        return False
    larger = usual > 0 and (y0 - y) / size > 1.3 * usual
    return y > y0 or larger or abs(size - size0) > 0.15 * max(size, size0)


def _join_lines(lines: list[str]) -> str:
    """Unwrap a paragraph's lines, mending words hyphenated across a line break."""
    out = ""
    for line in (raw.strip() for raw in lines):
        if out.endswith(("\x02", "\xad", "\ufffe")):  # soft hyphens, as PDFium reports them
            out = out[:-1] + line
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha():
            out += line
        else:
            out = f"{out} {line}" if out else line
    return out


# ---------------------------------------------------------------- DOCX

_HEADING_STYLE = re.compile(r"(?:heading|titre|titolo|t[ií]tulo|überschrift)\s*(\d)", re.I)
_LIST_STYLE = re.compile(r"^(?:list|liste)\b|paragraphe de liste", re.I)


def _parse_docx(data: bytes, name: str, limit: int) -> ParsedDocument:
    formats.check_zip(data, name, "docx", limit)
    import docx
    from docx.table import Table

    blocks: list[Block] = []
    try:
        document = docx.Document(io.BytesIO(data))
        for item in _docx_items(document.element.body, document):
            if isinstance(item, Table):  # a merged cell comes back once per grid column
                rows = [{c._tc: c.text for c in row.cells} for row in item.rows]
                _add_table(blocks, [list(cells.values()) for cells in rows])
            else:
                kind, level = _docx_kind(item)
                _add(blocks, item.text, kind, level)
    except Exception as exc:  # python-docx/lxml raise many types on a malformed package
        raise formats.corrupt(name, "docx", exc) from None
    return ParsedDocument("docx", blocks)


def _docx_items(element: Any, parent: Any) -> Iterator[Any]:
    """Paragraphs and tables in order, including those inside content controls (w:sdt)."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in element.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent)
        elif child.tag == qn("w:tbl"):
            yield Table(child, parent)
        elif child.tag == qn("w:sdt") and (content := child.find(qn("w:sdtContent"))) is not None:
            yield from _docx_items(content, parent)


def _docx_kind(paragraph: Any) -> tuple[BlockKind, int]:
    style, names = paragraph.style, []
    for _ in range(4):  # the style and the styles it is based on
        if style is None:
            break
        names += [style.name or "", style.style_id or ""]
        style = style.base_style
    for style_name in names:
        if match := _HEADING_STYLE.fullmatch(style_name.strip()):
            return "heading", int(match.group(1))
        if style_name.strip().lower() in ("title", "titre"):
            return "heading", 1
    ppr = paragraph._p.pPr
    if any(_LIST_STYLE.search(n) for n in names) or (ppr is not None and ppr.numPr is not None):
        return "list_item", 0
    return "paragraph", 0


# ---------------------------------------------------------------- ODT


def _parse_odt(data: bytes, name: str, limit: int) -> ParsedDocument:
    formats.check_zip(data, name, "odt", limit)
    from odf import opendocument

    blocks: list[Block] = []
    try:
        _odf_walk(opendocument.load(io.BytesIO(data)).text, blocks)
    except Exception as exc:  # odfpy surfaces SAX, KeyError, zipfile... errors as they come
        raise formats.corrupt(name, "odt", exc) from None
    return ParsedDocument("odt", blocks)


def _odf_walk(node: Any, blocks: list[Block]) -> None:
    from odf.namespaces import TABLENS, TEXTNS

    for child in node.childNodes:
        if child.nodeType != child.ELEMENT_NODE:
            continue
        ns, tag = child.qname
        if ns == TEXTNS and tag == "h":
            level = child.attributes.get((TEXTNS, "outline-level")) or "1"
            _add(blocks, _odf_text(child), "heading", int(level) if level.isdigit() else 1)
        elif ns == TEXTNS and tag == "p":
            _add(blocks, _odf_text(child))
        elif ns == TEXTNS and tag in ("list-item", "list-header"):
            parts = [c for c in child.childNodes if _qname(c) != (TEXTNS, "list")]
            _add(blocks, " ".join(_odf_text(c) for c in parts), "list_item")
            for sub in child.childNodes:  # nested lists come after the item's own text
                if _qname(sub) == (TEXTNS, "list"):
                    _odf_walk(sub, blocks)
        elif ns == TABLENS and tag == "table":
            _add_table(blocks, _odf_rows(child))
        elif not (ns == TEXTNS and tag in _ODF_SKIP):
            _odf_walk(child, blocks)  # sections, lists, frames, ...


def _qname(node: Any) -> tuple[str, str] | None:
    return node.qname if node.nodeType == node.ELEMENT_NODE else None


def _odf_rows(node: Any) -> list[list[str]]:
    from odf.namespaces import TABLENS

    rows = []
    for child in node.childNodes:
        qname = _qname(child)
        if qname == (TABLENS, "table-row"):
            cells = [c for c in child.childNodes if _qname(c) == (TABLENS, "table-cell")]
            rows.append([_odf_text(c) for c in cells])
        elif qname is not None and qname[0] == TABLENS and qname[1] in _ODF_ROW_GROUPS:
            rows += _odf_rows(child)
    return rows


def _odf_text(node: Any) -> str:
    from odf.namespaces import OFFICENS, TEXTNS

    if node.nodeType == node.TEXT_NODE:
        return node.data
    if node.nodeType != node.ELEMENT_NODE or node.qname in (
        (TEXTNS, "note"),
        (OFFICENS, "annotation"),
    ):
        return ""
    if node.qname in ((TEXTNS, "s"), (TEXTNS, "tab"), (TEXTNS, "line-break")):
        return " "
    text = "".join(_odf_text(c) for c in node.childNodes)
    return f" {text} " if node.qname[1] in ("p", "h") else text


_ODF_ROW_GROUPS = ("table-header-rows", "table-rows", "table-row-group")
_ODF_SKIP = ("tracked-changes", "sequence-decls", "variable-decls", "table-of-content")


# ---------------------------------------------------------------- HTML

_HTML_DROP = {"script", "style", "nav", "noscript", "template", "svg", "iframe", "object"}
_HTML_CHROME = {"header", "footer"}  # page furniture, kept inside an <article> or <main>
_HTML_HEADINGS = {f"h{n}" for n in range(1, 7)}
_HTML_BLOCKS = {
    "p", "div", "section", "article", "main", "aside", "blockquote", "pre", "ul", "ol",
    "dl", "dt", "dd", "figure", "figcaption", "form", "fieldset", "address", "details",
    "summary", "hr", "center", "caption", "body", "br", "li", "tr", "td", "th", "table",
    *_HTML_HEADINGS,
}  # fmt: skip


def _parse_html(data: bytes, name: str, _limit: int) -> ParsedDocument:
    text = formats.decode_text(data, name, "html")
    from selectolax.lexbor import LexborHTMLParser

    blocks: list[Block] = []
    body = LexborHTMLParser(text).body
    if body is not None:
        _html_walk(body, blocks)
    return ParsedDocument("html", blocks)


def _html_walk(root: Any, blocks: list[Block]) -> None:
    loose: list[str] = []  # inline text between block elements

    def flush() -> None:
        _add(blocks, "".join(loose))
        loose.clear()

    def visit(node: Any, in_content: bool) -> None:
        tag = node.tag
        if node.is_text_node:
            loose.append(node.text(deep=False))
        elif node.is_comment_node or tag in _HTML_DROP or (tag in _HTML_CHROME and not in_content):
            return
        elif tag == "br":
            loose.append(" ")
        elif tag in _HTML_HEADINGS:
            flush()
            _add(blocks, _html_text(node), "heading", int(tag[1]))
        elif tag == "li":
            flush()
            nested: list[Any] = []
            _add(blocks, _html_text(node, nested), "list_item")
            for sub in nested:  # nested lists and tables come after the item's own text
                visit(sub, in_content)
        elif tag == "table":
            flush()
            rows = [
                [_html_text(cell) for cell in row.iter() if cell.tag in ("td", "th")]
                for row in node.css("tr")
            ]
            _add_table(blocks, rows)
        else:
            block = tag in _HTML_BLOCKS
            if block:
                flush()
            for child in node.iter(include_text=True):
                visit(child, in_content or tag in ("article", "main"))
            if block:
                flush()

    visit(root, False)
    flush()


def _html_text(node: Any, nested: list[Any] | None = None) -> str:
    """A node's text, spaced at block boundaries; nested lists and tables are left out (and
    collected into ``nested``) when ``nested`` is given."""
    parts = []
    for child in node.iter(include_text=True):
        tag = child.tag
        if child.is_text_node:
            parts.append(child.text(deep=False))
        elif tag in _HTML_DROP or child.is_comment_node:
            continue
        elif nested is not None and tag in ("ul", "ol", "table"):
            nested.append(child)
        elif tag in _HTML_BLOCKS:
            parts.append(f" {_html_text(child, nested)} ")
        else:
            parts.append(_html_text(child, nested))
    return "".join(parts)


# ---------------------------------------------------------------- Markdown and text


def _parse_markdown(data: bytes, name: str, _limit: int) -> ParsedDocument:
    text = formats.decode_text(data, name, "markdown")
    from markdown_it import MarkdownIt
    from selectolax.lexbor import LexborHTMLParser

    blocks: list[Block] = []
    heading, items, row, rows = 0, 0, None, []
    for token in MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(text):
        kind = token.type
        if kind == "heading_open":
            heading = int(token.tag[1])
        elif kind == "heading_close":
            heading = 0
        elif kind in ("list_item_open", "list_item_close"):
            items += 1 if kind == "list_item_open" else -1
        elif kind == "table_open":
            rows = []
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            rows.append(row)
            row = None
        elif kind == "table_close":
            _add_table(blocks, rows)
        elif kind == "inline":
            content = _md_inline(token)
            if row is not None:
                row.append(content)
            elif heading:
                _add(blocks, content, "heading", heading)
            else:
                _add(blocks, content, "list_item" if items else "paragraph")
        elif kind in ("fence", "code_block"):
            _add(blocks, token.content)
        elif kind == "html_block":
            body = LexborHTMLParser(token.content).body
            if body is not None:
                _html_walk(body, blocks)
    return ParsedDocument("markdown", blocks)


def _md_inline(token: Any) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":  # its alt text
            parts.append(_md_inline(child))
    return "".join(parts)


def _parse_text(data: bytes, name: str, _limit: int) -> ParsedDocument:
    text = formats.decode_text(data, name, "text")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    blocks: list[Block] = []
    for paragraph in re.split(r"\n[^\S\n]*\n", text):
        _add(blocks, paragraph)
    return ParsedDocument("text", blocks)


_PARSERS: dict[str, Callable[[bytes, str, int], ParsedDocument]] = {
    "pdf": _parse_pdf,
    "docx": _parse_docx,
    "odt": _parse_odt,
    "html": _parse_html,
    "markdown": _parse_markdown,
    "text": _parse_text,
}
