"""Structure-aware chunking with a token budget.

Blocks (headings, paragraphs, list items, tables) are laid end to end into the document's
text, separated by blank lines; every chunk records where it sits in that text
(``char_start``/``char_end``), its page and its heading path. A chunk never crosses a
heading or a page, grows block by block up to ``max_tokens`` (counted with the embedder's
tokenizer), and a block too long on its own is cut at sentence ends (at words as a last
resort). When a section continues into a new chunk, the new chunk starts with the last
sentences of the previous one, up to ``overlap_tokens``, so an answer split across the
boundary is still found whole in one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from greffier.documents.parsers import Block

SEPARATOR = "\n\n"
_SENTENCE_END = re.compile(r"(?<=[.!?;:…])\s+")


@dataclass(frozen=True)
class Chunk:
    text: str
    page: int | None
    heading: str  # "Title > Section > Subsection"
    char_start: int
    char_end: int
    tokens: int


@dataclass(frozen=True)
class _Piece:
    """A run of text at a known offset: a whole block, a sentence, or a slice of words."""

    start: int
    end: int
    tokens: int


def document_text(blocks: Sequence[Block]) -> str:
    return SEPARATOR.join(b.text for b in blocks)


def _sentences(text: str, offset: int) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((offset + start, offset + match.start()))
        start = match.end()
    spans.append((offset + start, offset + len(text)))
    return [s for s in spans if s[1] > s[0]]


def _split_long(
    full: str, start: int, end: int, count: Callable[[str], int], budget: int
) -> list[_Piece]:
    """Cut [start, end) into pieces of at most ``budget`` tokens, at sentences then words."""
    pieces: list[_Piece] = []
    for s, e in _sentences(full[start:end], start):
        tokens = count(full[s:e])
        if tokens <= budget:
            pieces.append(_Piece(s, e, tokens))
            continue
        words = [(m.start() + s, m.end() + s) for m in re.finditer(r"\S+", full[s:e])]
        step = max(1, len(words) * budget // (tokens + 1))
        for i in range(0, len(words), step):
            ws, we = words[i][0], words[min(i + step, len(words)) - 1][1]
            pieces.append(_Piece(ws, we, count(full[ws:we])))
    return pieces


def chunk_blocks(
    blocks: Sequence[Block],
    count_tokens: Callable[[str], int],
    *,
    max_tokens: int = 200,
    overlap_tokens: int = 30,
) -> list[Chunk]:
    full = document_text(blocks)
    chunks: list[Chunk] = []
    headings: list[tuple[int, str]] = []  # (level, text) of the enclosing headings
    current: list[_Piece] = []
    page: int | None = None

    def heading_path() -> str:
        return " > ".join(text for _, text in headings)

    def flush(carry_overlap: bool) -> None:
        nonlocal current
        if not current:
            return
        start, end = current[0].start, current[-1].end
        chunks.append(
            Chunk(full[start:end], page, heading_path(), start, end, count_tokens(full[start:end]))
        )
        carried: list[_Piece] = []
        if carry_overlap and overlap_tokens > 0:
            last = _split_long(full, current[-1].start, current[-1].end, count_tokens, max_tokens)
            budget = overlap_tokens
            for piece in reversed(last):
                if piece.tokens > budget:
                    break
                carried.insert(0, piece)
                budget -= piece.tokens
        current = carried

    offset = 0
    for block in blocks:
        start, end = offset, offset + len(block.text)
        offset = end + len(SEPARATOR)
        if block.kind == "heading":
            flush(carry_overlap=False)
            level = block.level or 1
            headings = [h for h in headings if h[0] < level] + [(level, block.text)]
            continue
        if block.page != page:
            flush(carry_overlap=False)
            page = block.page
        tokens = count_tokens(block.text)
        pieces = (
            [_Piece(start, end, tokens)]
            if tokens <= max_tokens
            else _split_long(full, start, end, count_tokens, max_tokens)
        )
        for piece in pieces:
            used = sum(p.tokens for p in current)
            if current and used + piece.tokens > max_tokens:
                flush(carry_overlap=True)
                if sum(p.tokens for p in current) + piece.tokens > max_tokens:
                    current = []
            current.append(piece)
    flush(carry_overlap=False)
    if not chunks and headings:  # a document of headings only still gets found
        chunks.append(Chunk(full, None, heading_path(), 0, len(full), count_tokens(full)))
    return chunks
