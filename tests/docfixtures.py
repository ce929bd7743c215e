"""Build real documents for the parser tests, with the real libraries, into a test's tmp dir.

Nothing binary is committed: every PDF, DOCX, ODT and ZIP is written at test time by fpdf2,
python-docx, odfpy or zipfile, and returned as the path of the file on disk.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

TITLE = "Délibération du conseil municipal — budget 2026"
# Long enough to wrap over several lines, so that unwrapping is exercised.
LONG = (
    "Le conseil municipal, réuni en séance publique, a examiné le projet de budget primitif "
    "présenté par le maire. Après délibération, il adopte à l'unanimité les crédits "
    "d'investissement et de fonctionnement, ainsi que les taux d'imposition de l'année."
)


def pdf(path: Path, pages: list[list[str]], *, user_password: str | None = None) -> Path:
    """One PDF page per entry, each a list of paragraphs (an empty list: a blank page)."""
    from fpdf import FPDF

    doc = FPDF()
    doc.core_fonts_encoding = "windows-1252"  # core fonts: accents, "—", "œ", "€"
    doc.set_font("Helvetica", size=11)
    for paragraphs in pages:
        doc.add_page()
        for paragraph in paragraphs:
            doc.multi_cell(0, 6, paragraph)
            doc.ln(8)  # paragraph spacing
    if user_password:
        doc.set_encryption(owner_password="owner-" + user_password, user_password=user_password)
    doc.output(str(path))
    return path


def docx(path: Path) -> Path:
    """Title, headings (one in a French-named style), paragraphs, lists, a table, and a
    paragraph inside a content control (w:sdt), as Word templates have."""
    import docx as python_docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    doc = python_docx.Document()
    doc.add_heading(TITLE, level=0)  # style "Title"
    doc.add_heading("Ordre du jour", level=1)
    doc.add_paragraph("Le   maire ouvre la séance à  18 h 30.")
    doc.add_paragraph("Approbation du procès-verbal", style="List Bullet")
    doc.add_paragraph("Vote du budget", style="List Number")
    doc.add_heading("Budget primitif", level=2)
    doc.add_paragraph(LONG)
    table = doc.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows,
        [
            ("Poste", "2025", "2026"),
            ("Voirie", "120 000 €", "135 000 €"),
            ("Écoles", "80 000 €", ""),
        ],
        strict=True,
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    titre = doc.styles.add_style("Titre 3", WD_STYLE_TYPE.PARAGRAPH)
    doc.add_paragraph("Questions diverses", style=titre)
    control = doc.add_paragraph("Fin de la séance.")
    control._p.addnext(
        parse_xml(
            f"<w:sdt {nsdecls('w')}><w:sdtPr/><w:sdtContent><w:p><w:r>"
            "<w:t>Signé : le maire</w:t></w:r></w:p></w:sdtContent></w:sdt>"
        )
    )
    doc.save(str(path))
    return path


def odt(path: Path) -> Path:
    """Headings with outline levels, paragraphs, a nested list and a table."""
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, P, S

    doc = OpenDocumentText()
    body = doc.text
    body.addElement(H(outlinelevel=1, text=TITLE))
    intro = P(text="Le maire")
    intro.addElement(S(c=3))  # <text:s text:c="3"/>: three spaces
    intro.addText("ouvre la séance.")
    body.addElement(intro)
    body.addElement(H(outlinelevel=2, text="Ordre du jour"))
    items = List()
    first = ListItem()
    first.addElement(P(text="Approbation du procès-verbal"))
    sub = List()
    sub_item = ListItem()
    sub_item.addElement(P(text="Séance du 12 février"))
    sub.addElement(sub_item)
    first.addElement(sub)
    items.addElement(first)
    second = ListItem()
    second.addElement(P(text="Vote du budget"))
    items.addElement(second)
    body.addElement(items)
    table = Table(name="Budget")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for values in [("Poste", "2026"), ("Voirie", "135 000 €")]:
        row = TableRow()
        for value in values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    body.addElement(table)
    body.addElement(P(text=LONG))
    doc.save(str(path))
    return path


HTML = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Ignored title</title>
<style>body { color: red; }</style><script>var secret = "script text";</script></head>
<body>
<header><a href="/">Site de la mairie</a> accueil</header>
<nav><ul><li>Menu item</li></ul></nav>
<main>
<article>
<header><h1>D&eacute;lib&eacute;ration du conseil municipal &mdash; budget 2026</h1></header>
<p>Le   maire <b>ouvre</b> la <a href="#">séance</a>.<br>Il est 18 h 30.</p>
<h2>Ordre du jour</h2>
<ul>
  <li>Approbation du procès-verbal
    <ul><li>Séance du 12 février</li></ul>
  </li>
  <li><p>Vote du budget</p></li>
</ul>
<table>
  <thead><tr><th>Poste</th><th>2026</th></tr></thead>
  <tbody><tr><td>Voirie</td><td>135 000 €</td></tr></tbody>
</table>
<div>Texte libre dans un div<noscript>Activez JavaScript</noscript></div>
<h3>Questions diverses</h3>
</article>
</main>
<footer>Mentions légales</footer>
<script>document.write("more script")</script>
</body></html>
"""

MARKDOWN = f"""# {TITLE}

Le maire **ouvre** la [séance](https://example.org)
à 18 h 30.

## Ordre du jour

- Approbation du procès-verbal
  - Séance du 12 février
- Vote du budget

1. Premier point
2. Second point

| Poste | 2026 |
|-------|------|
| Voirie | 135 000 € |

```
code   kept as text
```

### Questions diverses
"""

# BOM, CRLF line ends, blank lines made of spaces, runs of spaces, a decomposed "é" (NFD).
TEXT = (
    "\ufeffDe\u0301libe\u0301ration du conseil municipal — budget 2026\r\n"
    "\r\n"
    "Le   conseil\r\nmunicipal adopte le budget.\r\n"
    "   \r\n\r\n"
    "Fin de la séance.\r\n"
)


def png(path: Path) -> Path:
    """A real 1x1 PNG image (binary, with NUL bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b""))
    return path


def plain_zip(path: Path) -> Path:
    """A valid ZIP archive that is not an office document."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notes.txt", "Compte rendu de réunion.")
        zf.writestr("images/logo.svg", "<svg/>")
    return path


def docx_with_broken_xml(path: Path) -> Path:
    """A ZIP laid out like a DOCX whose document.xml is not well-formed XML."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types")
        zf.writestr("word/document.xml", "<w:document><w:body>")
    return path


def zip_bomb(path: Path, megabytes: int) -> Path:
    """A DOCX-shaped ZIP with a member of ``megabytes`` MB of zeros, streamed in 1 MB chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", "<w:document/>")
        with zf.open("word/media/padding.bin", "w") as member:
            block = bytes(1024 * 1024)
            for _ in range(megabytes):
                member.write(block)
    return path
