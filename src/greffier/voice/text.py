"""Text cut where a reader pauses: sentences (each is synthesised, then sent, on its own,
so the first one is heard while the next is made), and markdown made speakable.

Sentences end at ".", "!", "?" or "…" followed by a space, and at every line break (a
heading, a list item or a table row is a sentence of its own). Run :func:`sentences` on
text whose abbreviations are already written out (``french.normalise``): "M. Dupont"
would otherwise end a sentence after "M.".
"""

from __future__ import annotations

import re

_END = re.compile(r"(?<=[.!?…])(?:\s*[\"»”)])?\s+|\n+")


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, in order, without the blanks between them."""
    return [s.strip() for s in _END.split(text) if s and s.strip(' \t"«»“”()-–—*')]


def from_markdown(markdown: str) -> str:
    """Markdown (meeting minutes, answers) as the plain text a person would read out:
    heading marks, emphasis, code marks, link targets, table rules and the minutes' time
    references ("— [00:14:32]", for readers who jump to the recording) dropped; each
    heading, list item and table row one sentence."""
    lines = []
    for raw in markdown.splitlines():
        line = raw.strip()
        if not line or re.fullmatch(r"[-*_=|: ]{3,}", line):  # rules, table separators
            continue
        line = re.sub(r"^#{1,6}\s+", "", line)
        line = re.sub(r"^(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?", "", line)  # list items
        line = re.sub(r"^>\s?", "", line)
        line = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line)  # links and images: their text
        line = re.sub(r"\s*—?\s*\[\d{1,2}:\d{2}(?::\d{2})?\]", "", line)  # minutes' [00:14:32]
        line = re.sub(r"(\*\*|__|\*|`+)", "", line)
        line = re.sub(r"(?<!\w)_(\S[^_]*\S|\S)_(?!\w)", r"\1", line)
        line = ", ".join(cell.strip() for cell in line.strip("|").split("|") if cell.strip())
        if not line:
            continue
        lines.append(line if line[-1] in ".!?…:;" else line + ".")
    return "\n".join(lines)
