"""Transcripts as office documents: DOCX (python-docx) and ODT (odfpy, for LibreOffice)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from greffier.meetings.subtitles import timestamp


def _lines(segments: Sequence[dict]) -> list[tuple[str, str, str]]:
    return [(timestamp(s["start"])[:8], s["speaker"], s["text"]) for s in segments]


def docx(title: str, subtitle: str, segments: Sequence[dict]) -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading(title, level=0)
    document.add_paragraph(subtitle)
    for at, speaker, text in _lines(segments):
        paragraph = document.add_paragraph()
        paragraph.add_run(f"[{at}] ").italic = True
        paragraph.add_run(f"{speaker} : ").bold = True
        paragraph.add_run(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt(title: str, subtitle: str, segments: Sequence[dict]) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.style import Style, TextProperties
    from odf.text import H, P, Span

    document = OpenDocumentText()
    bold = Style(name="Speaker", family="text")
    bold.addElement(TextProperties(fontweight="bold"))
    document.automaticstyles.addElement(bold)
    document.text.addElement(H(outlinelevel=1, text=title))
    document.text.addElement(P(text=subtitle))
    for at, speaker, text in _lines(segments):
        paragraph = P(text=f"[{at}] ")
        paragraph.addElement(Span(stylename=bold, text=f"{speaker} : "))
        paragraph.addText(text)
        document.text.addElement(paragraph)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()
