"""Which format a file is, and whether it is safe to hand to a parser.

Checks run on the raw bytes before any parsing library sees them: the extension picks the
format, magic bytes confirm it, and ZIP-based formats (DOCX, ODT) are measured from the ZIP
directory so that a decompression bomb is refused without being decompressed. Failures are
raised as :class:`FormatProblem` (a code and a message for a person); ``parsers`` turns them
into ``DocumentRefused``.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

# Extension -> format name, in the order the supported types are listed to users.
EXTENSIONS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".odt": "odt",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
RATIO_LIMIT = 100  # overall uncompressed/compressed ratio above which a big archive is refused
RATIO_MIN_BYTES = 10 * 1024 * 1024  # ... but only once it expands past this size

LABELS = {
    "pdf": "a PDF",
    "docx": "a Word (.docx)",
    "odt": "an OpenDocument text (.odt)",
    "html": "an HTML",
    "markdown": "a Markdown",
    "text": "a text",
}
# Magic bytes of files people commonly rename by mistake, to say what a file really is.
_MAGIC = [
    (b"%PDF-", "a PDF document (rename it to .pdf)"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-format (.doc) or password-protected Microsoft Office file; save it as .docx "
        "without a password",
    ),
    (b"{\\rtf", "an RTF document; save it as .docx or .odt"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
    (b"PK\x03\x04", "a ZIP archive"),
]


_MESSAGES = {
    "empty_file": "is empty (0 bytes): it was probably not saved or copied completely. "
    "Upload the file again.",
    "encrypted_pdf": "is a password-protected (encrypted) PDF. Decrypt it first (open it with "
    "its password and save or print it to a PDF without one), then upload it again.",
    "corrupt_file": "is damaged and cannot be read as {what} file ({error}). Open it in the "
    "application that made it, save it again and re-upload it.",
    "no_text": "contains no text to ingest ({why}). {advice}",
}


class FormatProblem(Exception):
    """Why a file is refused: ``code`` for programs, ``message`` (naming the file) for people."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def refusal(code: str, name: str, **fields: object) -> FormatProblem:
    error = fields.get("error")
    if isinstance(error, RecursionError):  # the parsers walk the document tree recursively
        fields["error"] = "its structure is nested too deeply"
    elif isinstance(error, BaseException):
        fields["error"] = f"{type(error).__name__}: {str(error)[:200]}"
    return FormatProblem(f'"{name}" ' + _MESSAGES[code].format(**fields), code)


def corrupt(name: str, fmt: str, error: BaseException | str) -> FormatProblem:
    return refusal("corrupt_file", name, what=LABELS[fmt], error=error)


def display_name(filename: str) -> str:
    """The file's own name, without any directory a client may have sent with it."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1] or filename


def format_for(filename: str) -> str:
    name = display_name(filename)
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > 0 else ""
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    supported = ", ".join(EXTENSIONS)
    what = f'type "{ext}"' if ext else "no file extension"
    raise FormatProblem(
        f'"{name}" has {what}, which cannot be ingested. Supported types: {supported}.',
        "unsupported_type",
    )


def _really(data: bytes, otherwise: str = "its content is not in that format") -> str:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return f"it looks like {what}"
    return otherwise


def _mismatch(name: str, fmt: str, data: bytes, detail: str = "") -> FormatProblem:
    detail = detail or _really(data)
    return FormatProblem(
        f'"{name}" is named as {LABELS[fmt]} file but {detail}. '
        "Check that the file was saved in that format, or rename it to its real type.",
        "type_mismatch",
    )


def open_pdf(data: bytes, name: str) -> Any:
    """Open a PDF with PDFium (the caller serialises PDFium calls), refusing encrypted ones."""
    if not data.startswith(b"%PDF-"):
        raise _mismatch(name, "pdf", data)
    # A complete PDF ends with %%EOF (trailing junk aside); without it the file was cut short,
    # and PDFium would silently recover whatever pages it can.
    if b"%%EOF" not in data[-2048:]:
        raise FormatProblem(
            f'"{name}" is an incomplete PDF (the end of the file is missing; the upload or '
            "copy was probably cut short). Upload the complete file again.",
            "corrupt_file",
        )
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise refusal("encrypted_pdf", name) from None
        raise corrupt(name, "pdf", exc) from None


def check_zip(data: bytes, name: str, fmt: str, max_uncompressed_bytes: int) -> None:
    """Refuse a DOCX/ODT that is not a readable ZIP, is a bomb, or is the wrong kind of ZIP."""
    if not data.startswith(b"PK\x03\x04"):
        raise _mismatch(name, fmt, data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _check_members(zf, name, fmt, max_uncompressed_bytes)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FormatProblem(
            f'"{name}" is damaged: its ZIP container cannot be read ({exc}). '
            "Open it in your word processor, save it again and re-upload it.",
            "corrupt_file",
        ) from None


def _check_members(zf: zipfile.ZipFile, name: str, fmt: str, max_uncompressed_bytes: int) -> None:
    infos = zf.infolist()
    # Sizes come from the ZIP directory; zipfile never inflates a member past its declared
    # size (it fails on the CRC instead), so these bounds hold for the parsers too.
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    ratio = total / max(packed, 1)
    if total > max_uncompressed_bytes or (ratio > RATIO_LIMIT and total > RATIO_MIN_BYTES):
        mb = 1024 * 1024
        raise FormatProblem(
            f'"{name}" was refused as a possible decompression bomb: it expands to '
            f"{total / mb:.0f} MB ({ratio:.0f} times its compressed size; the limits are "
            f"{max_uncompressed_bytes / mb:.0f} MB, and {RATIO_LIMIT}:1 beyond "
            f"{RATIO_MIN_BYTES // mb} MB). If it is a genuine document, save it again without "
            "embedded media or split it.",
            "zip_bomb",
        )
    members = {i.filename: i for i in infos}
    if fmt == "docx" and "word/document.xml" not in members:
        raise _mismatch(name, fmt, b"", "it is a ZIP archive without a Word document inside")
    if fmt == "odt":
        entry = members.get("mimetype")
        small = entry is not None and entry.file_size <= len(ODT_MIMETYPE) + 2
        mimetype = zf.read(entry).strip() if small else b""
        if mimetype != ODT_MIMETYPE:
            got = mimetype.decode("ascii", "replace") or "no OpenDocument type"
            raise _mismatch(name, fmt, b"", f"it is a ZIP archive with {got} inside")


def decode_text(data: bytes, name: str, fmt: str) -> str:
    """UTF-8 text, or Windows-1252 (what many office PCs still save) when it is not
    UTF-8 but reads as clean text; binary content (NUL bytes) is another type renamed."""
    label = LABELS[fmt]
    if b"\x00" in data:
        raise FormatProblem(
            f'"{name}" is named as {label} file but {_really(data, "it contains binary data")}. '
            "Rename it to its real type, or export it as text.",
            "type_mismatch",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = None
        if text is not None and not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
            return text
        raise FormatProblem(
            f'"{name}" is named as {label} file but is not valid UTF-8 text (invalid byte at '
            f"position {exc.start}). If it is text in another encoding (e.g. Windows-1252), save "
            "it again as UTF-8; if it is not text, rename it to its real type.",
            "type_mismatch",
        ) from None
