"""Document parsing: structure from real files of each format, and refusal of bad files.

Every file is built at test time by ``docfixtures`` with the real libraries (fpdf2,
python-docx, odfpy, zipfile), so what is parsed is what those tools really write.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

import docfixtures as fx
from greffier.documents.parsers import Block, DocumentRefused, ParsedDocument, parse
from greffier.errors import InvalidRequest


def shape(doc: ParsedDocument) -> list[tuple[str, int, str]]:
    return [(b.kind, b.level, b.text) for b in doc.blocks]


def assert_clean(doc: ParsedDocument) -> None:
    for block in doc.blocks:
        assert block.text == block.text.strip() and block.text
        assert "  " not in block.text
        assert unicodedata.is_normalized("NFC", block.text)
        if block.kind != "table":
            assert "\n" not in block.text


# ---------------------------------------------------------------- PDF


def test_pdf_paragraphs_keep_their_page_and_accents(tmp_path: Path) -> None:
    path = fx.pdf(
        tmp_path / "deliberation.pdf",
        [[fx.TITLE, fx.LONG], ["Deuxième page : crédits votés."], [fx.LONG, "Fin de séance."]],
    )
    doc = parse(path.read_bytes(), path.name)

    assert (doc.format, doc.pages, doc.warnings) == ("pdf", 3, [])
    assert [(b.page, b.text) for b in doc.blocks] == [
        (1, fx.TITLE),
        (1, fx.LONG),  # wrapped over three lines in the PDF, unwrapped here
        (2, "Deuxième page : crédits votés."),
        (3, fx.LONG),
        (3, "Fin de séance."),
    ]
    assert {(b.kind, b.level) for b in doc.blocks} == {("paragraph", 0)}
    assert_clean(doc)


def test_pdf_blank_page_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    path = fx.pdf(tmp_path / "scan.pdf", [["Page un."], [], ["Page trois."]])
    doc = parse(path.read_bytes(), path.name)

    assert doc.pages == 3
    assert doc.warnings == ["page 2 has no text layer (scanned image?)"]
    assert [(b.page, b.text) for b in doc.blocks] == [(1, "Page un."), (3, "Page trois.")]


# ---------------------------------------------------------------- DOCX and ODT


def test_docx_headings_lists_and_table(tmp_path: Path) -> None:
    path = fx.docx(tmp_path / "conseil.docx")
    doc = parse(path.read_bytes(), path.name)

    assert (doc.format, doc.pages, doc.warnings) == ("docx", None, [])
    assert shape(doc) == [
        ("heading", 1, fx.TITLE),  # style "Title"
        ("heading", 1, "Ordre du jour"),
        ("paragraph", 0, "Le maire ouvre la séance à 18 h 30."),
        ("list_item", 0, "Approbation du procès-verbal"),
        ("list_item", 0, "Vote du budget"),
        ("heading", 2, "Budget primitif"),
        ("paragraph", 0, fx.LONG),
        ("table", 0, "Poste | 2025 | 2026\nVoirie | 120 000 € | 135 000 €\nÉcoles | 80 000 €"),
        ("heading", 3, "Questions diverses"),  # a style named "Titre 3"
        ("paragraph", 0, "Fin de la séance."),
        ("paragraph", 0, "Signé : le maire"),  # inside a content control
    ]
    assert all(b.page is None for b in doc.blocks)
    assert_clean(doc)


def test_odt_headings_nested_list_and_table(tmp_path: Path) -> None:
    path = fx.odt(tmp_path / "conseil.odt")
    doc = parse(path.read_bytes(), path.name)

    assert (doc.format, doc.pages, doc.warnings) == ("odt", None, [])
    assert shape(doc) == [
        ("heading", 1, fx.TITLE),
        ("paragraph", 0, "Le maire ouvre la séance."),  # <text:s c="3"/> collapsed
        ("heading", 2, "Ordre du jour"),
        ("list_item", 0, "Approbation du procès-verbal"),
        ("list_item", 0, "Séance du 12 février"),
        ("list_item", 0, "Vote du budget"),
        ("table", 0, "Poste | 2026\nVoirie | 135 000 €"),
        ("paragraph", 0, fx.LONG),
    ]
    assert_clean(doc)


# ---------------------------------------------------------------- HTML, Markdown, text


def test_html_structure_without_scripts_or_page_furniture() -> None:
    doc = parse(fx.HTML.encode(), "conseil.html")

    assert doc.format == "html"
    assert shape(doc) == [
        ("heading", 1, fx.TITLE),  # in the <article>'s own <header>: kept
        ("paragraph", 0, "Le maire ouvre la séance. Il est 18 h 30."),
        ("heading", 2, "Ordre du jour"),
        ("list_item", 0, "Approbation du procès-verbal"),
        ("list_item", 0, "Séance du 12 février"),
        ("list_item", 0, "Vote du budget"),
        ("table", 0, "Poste | 2026\nVoirie | 135 000 €"),
        ("paragraph", 0, "Texte libre dans un div"),
        ("heading", 3, "Questions diverses"),
    ]
    text = " ".join(b.text for b in doc.blocks)
    for dropped in ("script", "color", "Menu item", "Site de la mairie", "Mentions", "JavaScript"):
        assert dropped not in text
    assert_clean(doc)


def test_htm_extension_is_html() -> None:
    assert parse(b"<h2>Budget</h2><p>Voirie</p>", "page.HTM").blocks == [
        Block("Budget", "heading", 2),
        Block("Voirie", "paragraph"),
    ]


def test_markdown_structure() -> None:
    doc = parse(fx.MARKDOWN.encode(), "conseil.md")

    assert doc.format == "markdown"
    assert shape(doc) == [
        ("heading", 1, fx.TITLE),
        ("paragraph", 0, "Le maire ouvre la séance à 18 h 30."),  # markup and link dropped
        ("heading", 2, "Ordre du jour"),
        ("list_item", 0, "Approbation du procès-verbal"),
        ("list_item", 0, "Séance du 12 février"),
        ("list_item", 0, "Vote du budget"),
        ("list_item", 0, "Premier point"),
        ("list_item", 0, "Second point"),
        ("table", 0, "Poste | 2026\nVoirie | 135 000 €"),
        ("paragraph", 0, "code kept as text"),
        ("heading", 3, "Questions diverses"),
    ]
    assert parse(fx.MARKDOWN.encode(), "conseil.markdown").blocks == doc.blocks
    assert_clean(doc)


def test_text_paragraphs_split_on_blank_lines_and_normalised() -> None:
    doc = parse(fx.TEXT.encode("utf-8"), "notes.txt")

    assert doc.format == "text"
    assert shape(doc) == [
        ("paragraph", 0, fx.TITLE),  # BOM dropped, decomposed accents composed (NFC)
        ("paragraph", 0, "Le conseil municipal adopte le budget."),
        ("paragraph", 0, "Fin de la séance."),
    ]
    assert_clean(doc)


# ---------------------------------------------------------------- refusals


def refused(data: bytes, filename: str, code: str, **kw: int) -> DocumentRefused:
    with pytest.raises(DocumentRefused) as caught:
        parse(data, filename, **kw)
    error = caught.value
    assert error.code == code, error.message
    assert f'"{filename.rsplit("/", 1)[-1]}"' in error.message
    assert isinstance(error, InvalidRequest) and error.status == 400
    return error


def test_empty_file() -> None:
    refused(b"", "compte-rendu.pdf", "empty_file")
    # a path sent along with the name is not repeated back
    assert "uploads/" not in refused(b"", "uploads/2026/vide.txt", "empty_file").message


def test_unsupported_extension_lists_supported_types() -> None:
    error = refused(b"MZ\x90\x00\x03", "installeur.exe", "unsupported_type")
    assert '".exe"' in error.message
    for ext in (".pdf", ".docx", ".odt", ".html", ".htm", ".md", ".markdown", ".txt"):
        assert ext in error.message
    refused(b"texte", "LISEZMOI", "unsupported_type")


def test_all_blank_pdf_has_no_text(tmp_path: Path) -> None:
    path = fx.pdf(tmp_path / "scan-complet.pdf", [[], []])
    assert "OCR" in refused(path.read_bytes(), path.name, "no_text").message


def test_deeply_nested_html_is_refused_cleanly() -> None:
    data = ("<div>" * 5000 + "texte" + "</div>" * 5000).encode()
    assert "nested too deeply" in refused(data, "profond.html", "corrupt_file").message


def test_document_without_text() -> None:
    refused(b"<html><body><img src='plan.png'></body></html>", "plan.html", "no_text")
    refused(b"\n  \n\t\n", "blanc.txt", "no_text")


def test_truncated_pdf(tmp_path: Path) -> None:
    data = fx.pdf(tmp_path / "full.pdf", [[fx.LONG], [fx.LONG], [fx.LONG]]).read_bytes()
    refused(data[: len(data) // 2], "tronque.pdf", "corrupt_file")


def test_pdf_with_broken_body_is_corrupt() -> None:
    # right header and trailer, nothing PDFium can read in between
    refused(
        b"%PDF-1.7\n" + b"\x13\x37 not objects " * 50 + b"\n%%EOF\n", "casse.pdf", "corrupt_file"
    )


def test_garbage_named_pdf() -> None:
    refused(bytes(range(256)) * 8, "donnees.pdf", "type_mismatch")


def test_password_protected_pdf(tmp_path: Path) -> None:
    path = fx.pdf(tmp_path / "secret.pdf", [["Confidentiel"]], user_password="s3cret")
    assert "decrypt" in refused(path.read_bytes(), path.name, "encrypted_pdf").message.lower()


def test_png_renamed_txt(tmp_path: Path) -> None:
    data = fx.png(tmp_path / "photo.png").read_bytes()
    assert "PNG image" in refused(data, "photo.txt", "type_mismatch").message
    refused(data, "photo.md", "type_mismatch")


def test_windows_1252_text_is_read() -> None:
    parsed = parse("Délibération n° 3 — coût 12 €".encode("cp1252"), "ancien.txt")
    assert parsed.blocks[0].text == "Délibération n° 3 — coût 12 €"


def test_binary_that_is_neither_utf8_nor_text() -> None:
    error = refused(bytes([0x81, 0x8D, 0x41, 0x42]), "bizarre.txt", "type_mismatch")
    assert "UTF-8" in error.message


def test_pdf_named_docx(tmp_path: Path) -> None:
    data = fx.pdf(tmp_path / "x.pdf", [["Texte"]]).read_bytes()
    assert ".pdf" in refused(data, "rapport.docx", "type_mismatch").message
    refused(data, "rapport.odt", "type_mismatch")


def test_zip_that_is_not_an_office_document(tmp_path: Path) -> None:
    data = fx.plain_zip(tmp_path / "archive.zip").read_bytes()
    refused(data, "archive.docx", "type_mismatch")
    refused(data, "archive.odt", "type_mismatch")


def test_docx_and_odt_are_not_interchangeable(tmp_path: Path) -> None:
    docx_data = fx.docx(tmp_path / "a.docx").read_bytes()
    odt_data = fx.odt(tmp_path / "b.odt").read_bytes()
    refused(docx_data, "word.odt", "type_mismatch")
    refused(odt_data, "writer.docx", "type_mismatch")


def test_broken_zip_and_broken_xml(tmp_path: Path) -> None:
    refused(b"PK\x03\x04" + b"\x00garbage" * 20, "abime.docx", "corrupt_file")
    data = fx.docx_with_broken_xml(tmp_path / "broken.docx").read_bytes()
    refused(data, "broken.docx", "corrupt_file")


def test_zip_bomb_over_the_size_limit_is_never_opened(tmp_path, monkeypatch) -> None:
    import docx

    def must_not_open(*args, **kwargs):
        raise AssertionError("python-docx was handed a zip bomb")

    monkeypatch.setattr(docx, "Document", must_not_open)
    path = fx.zip_bomb(tmp_path / "bomb.docx", megabytes=9)
    error = refused(path.read_bytes(), path.name, "zip_bomb", max_uncompressed_bytes=8 << 20)
    assert "9 MB" in error.message and "8 MB" in error.message


def test_zip_bomb_by_compression_ratio(tmp_path: Path) -> None:
    # 12 MB is far below the default 200 MB limit, but 1000 times its compressed size
    path = fx.zip_bomb(tmp_path / "ratio.docx", megabytes=12)
    assert len(path.read_bytes()) < 100_000
    refused(path.read_bytes(), path.name, "zip_bomb")
    # a genuine document with a little padding stays acceptable
    small = fx.zip_bomb(tmp_path / "small.docx", megabytes=2)
    refused(small.read_bytes(), small.name, "corrupt_file")  # not a bomb: parsed, and broken
