"""Parallel corpora (the same text in several languages), to measure what each language costs.

Two sources: Debian's own translated manual (`debian-reference-<lang>` packages, read from
the installed XHTML) and an operator's directory of `<name>.<lang>.txt` files aligned
paragraph by paragraph. Out of scope: sentence alignment, machine translation, downloading
anything (the packages must be installed by the operator), and any tokenizer.
"""

from __future__ import annotations

import gzip
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser, LexborNode

LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es", "it")
DEBIAN_REFERENCE = Path("/usr/share/debian-reference")
MIN_WORDS = 3

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Code, terminal listings and navigation: identical in every language, or not prose.
_DROPPED_TAGS = frozenset({"pre", "script", "style"})
_DROPPED_CLASSES = frozenset(
    {"screen", "programlisting", "literallayout", "synopsis", "navheader", "navfooter", "toc"}
)
_INLINE = frozenset(
    {"a", "abbr", "acronym", "b", "big", "cite", "code", "em", "i", "kbd", "q", "samp", "small"}
    | {"span", "strong", "sub", "sup", "tt", "u", "var"}
)
# XHTML's `<a id="x"/>` is an unclosed `<a>` to an HTML parser, which then copies the anchor
# into the following elements; closing such tags keeps each anchor on its own heading.
_SELF_CLOSED = re.compile(
    r"<(?!(?:area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr)\b)"
    r"([A-Za-z][\w:-]*)([^<>]*?)/>"
)
_BREAK = "\x1f"  # between blocks (paragraphs, list items, table cells) while walking
_FILE_RANK = (("index", 0), ("pr", 1), ("ch", 2), ("ap", 3))
_TXT_NAME = re.compile(r"^(?P<name>.+)\.(?P<lang>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)\.txt$")


class CorpusNotInstalledError(FileNotFoundError):
    """A requested language of the Debian manual is not installed."""


@dataclass(frozen=True)
class ParallelCorpus:
    """Aligned sections: each is a dict language -> text, with every language present."""

    languages: tuple[str, ...]
    sections: list[dict[str, str]]
    source: str

    def __len__(self) -> int:
        return len(self.sections)

    def texts(self, language: str) -> list[str]:
        """The text of every section in `language`, in corpus order."""
        if language not in self.languages:
            raise ValueError(f"language {language!r} is not in this corpus: {self.languages}")
        return [section[language] for section in self.sections]

    def split(self, held_out: float = 0.2, seed: int = 0) -> tuple[ParallelCorpus, ParallelCorpus]:
        """(train, test) by whole sections, deterministic for a seed; both non-empty when len >= 2.

        Each part keeps the corpus order. No stratification (by chapter, length): out of scope.
        """
        if not 0.0 < held_out < 1.0:
            raise ValueError(f"held_out must be strictly between 0 and 1, not {held_out}")
        n = len(self.sections)
        order = list(range(n))
        random.Random(seed).shuffle(order)
        test = set(order[: min(max(round(n * held_out), 1), n - 1)] if n >= 2 else [])

        def part(in_test: bool, label: str) -> ParallelCorpus:
            chosen = [s for i, s in enumerate(self.sections) if (i in test) == in_test]
            return ParallelCorpus(self.languages, chosen, f"{self.source}; {label} (seed {seed})")

        return part(False, "train split"), part(True, f"test split, {held_out:.0%} held out")


def _normalise(text: str) -> str:
    """NFC, runs of ASCII whitespace made one space. No-break spaces are kept: they are part
    of how a language is written (French typography) and of what it costs."""
    return re.sub(r"[ \t\n\r\f\v]+", " ", unicodedata.normalize("NFC", text)).strip()


def _dropped(node: LexborNode) -> bool:
    classes = (node.attributes.get("class") or "").split()
    return node.tag in _DROPPED_TAGS or any(c in _DROPPED_CLASSES for c in classes)


def _anchor(heading: LexborNode) -> str | None:
    anchor = heading if heading.attributes.get("id") else heading.css_first("[id]")
    return anchor.attributes.get("id") if anchor is not None else None


def _html_sections(path: Path) -> list[tuple[str, list[str]]]:
    """(anchor id, text blocks) of each anchored heading's section in one XHTML file, in order.

    A section is the text after a heading with an anchor, up to the next heading of any
    level; heading titles themselves and text before the first heading are not kept.
    """
    html = _SELF_CLOSED.sub(r"<\1\2></\1>", path.read_text(encoding="utf-8"))
    root = LexborHTMLParser(html).body
    sections: list[tuple[str, list[str]]] = []
    current: list[str] = []  # text of the open section; a throwaway one outside sections
    stack: list[LexborNode | None] = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if node is None or node.is_text_node:  # None: leaving a block
            current.append(_BREAK if node is None else (node.text_content or ""))
        elif not node.is_element_node or _dropped(node):
            continue
        elif node.tag in _HEADINGS:
            current = []
            if anchor := _anchor(node):
                sections.append((anchor, current))
        else:
            if node.tag not in _INLINE:
                current.append(_BREAK)
                stack.append(None)
            stack.extend(reversed(list(node.iter(include_text=True))))
    return [
        (anchor, [b for b in map(_normalise, "".join(parts).split(_BREAK)) if b])
        for anchor, parts in sections
    ]


def _file_key(stem: str) -> tuple[int, str]:
    """DocBook reading order: index, preface, chapters, appendices, then anything else."""
    return next((r for p, r in _FILE_RANK if stem.startswith(p)), len(_FILE_RANK)), stem


def _debian_version(directory: Path) -> str | None:
    changelog = directory.parent / "doc" / "debian-reference-common" / "changelog.gz"
    try:
        with gzip.open(changelog, "rt", encoding="utf-8") as f:
            match = re.match(r"\S+ \(([^)]+)\)", f.readline())
    except (OSError, EOFError, UnicodeDecodeError):
        return None
    return match.group(1) if match else None


def load_debian_reference(
    directory: Path = DEBIAN_REFERENCE, languages: Sequence[str] = LANGUAGES
) -> ParallelCorpus:
    """Debian Reference, aligned by (file, heading anchor) across `languages`.

    Code listings and navigation are dropped. Within a section, a block (paragraph, list
    item, table cell) whose text is the same in two languages is dropped in all of them:
    untranslated paragraphs (left in English by the translators), package names, numbers.
    A section whose blocks do not correspond one to one is dropped, and so is one with fewer
    than MIN_WORDS words left in some language. Blocks are joined by a newline. The PDF and
    plain-text builds are not read.
    """
    directory, languages = Path(directory), tuple(languages)
    if not languages:
        raise ValueError("at least one language is needed")
    files = {lang: list(directory.glob(f"*.{lang}.html")) for lang in languages}
    if missing := [lang for lang in languages if not files[lang]]:
        packages = " ".join(f"debian-reference-{lang}" for lang in missing)
        raise CorpusNotInstalledError(
            f"no Debian Reference in {', '.join(missing)} under {directory}: install Debian's "
            f"{packages.replace(' ', ', ')} package{'s' * (len(missing) > 1)}: "
            f"apt-get install {packages}"
        )
    by_language: dict[str, dict[tuple[str, str], list[str]]] = {}
    for lang in languages:
        found: dict[tuple[str, str], list[str]] = {}  # insertion order is reading order
        stems = {path.name[: -len(f".{lang}.html")]: path for path in files[lang]}
        for stem in sorted(stems, key=_file_key):
            for anchor, blocks in _html_sections(stems[stem]):
                found.setdefault((stem, anchor), []).extend(blocks)
        by_language[lang] = found
    sections: list[dict[str, str]] = []
    for key in by_language[languages[0]]:
        columns = [by_language[lang].get(key) for lang in languages]
        if any(c is None for c in columns) or len({len(c or ()) for c in columns}) != 1:
            continue
        rows = [row for row in zip(*columns, strict=True) if len(set(row)) == len(row)]
        texts = {lang: "\n".join(row[i] for row in rows) for i, lang in enumerate(languages)}
        if all(len(text.split()) >= MIN_WORDS for text in texts.values()):
            sections.append(texts)
    if not sections:
        raise ValueError(f"no section of {directory} is present in all of {languages}")
    version = _debian_version(directory)
    name = f"debian-reference {version}" if version else "debian-reference"
    return ParallelCorpus(languages, sections, f"{name} (GPL-2+), {directory}")


def _paragraphs(path: Path) -> list[str]:
    blocks = re.split(r"\n[ \t\r\f\v]*\n", path.read_text(encoding="utf-8-sig"))
    return [p for p in map(_normalise, blocks) if p]


def load_directory(directory: Path, languages: Sequence[str] | None = None) -> ParallelCorpus:
    """An operator's parallel text: `<name>.<lang>.txt` files (UTF-8), aligned by paragraph.

    Paragraphs are separated by blank lines; files of one name must have as many paragraphs
    in every language (no realignment is attempted). `languages=None` means every language
    present in every name. Other files are ignored; subdirectories are not read.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no such directory: {directory}")
    names: dict[str, dict[str, Path]] = {}
    for path in directory.glob("*.txt"):
        if (match := _TXT_NAME.match(path.name)) and path.is_file():
            names.setdefault(match["name"], {})[match["lang"]] = path
    if not names:
        raise ValueError(f"no <name>.<lang>.txt file in {directory}")
    if languages is None:
        common = set.intersection(*(set(files) for files in names.values()))
        rank = {lang: i for i, lang in enumerate(LANGUAGES)}
        chosen = tuple(sorted(common, key=lambda x: (rank.get(x, len(rank)), x)))
    else:
        chosen = tuple(languages)
    if not chosen:
        raise ValueError(f"no language is given or present for every name in {directory}")
    sections: list[dict[str, str]] = []
    for name, files in sorted(names.items()):
        if absent := [lang for lang in chosen if lang not in files]:
            raise ValueError(f"{name!r} has no file in {', '.join(absent)} in {directory}")
        paragraphs = [_paragraphs(files[lang]) for lang in chosen]
        if len({len(p) for p in paragraphs}) != 1:
            counts = dict(zip(chosen, map(len, paragraphs), strict=True))
            raise ValueError(f"{name!r} has different paragraph counts per language: {counts}")
        sections.extend(
            dict(zip(chosen, row, strict=True)) for row in zip(*paragraphs, strict=True)
        )
    return ParallelCorpus(chosen, sections, f"parallel text files, {directory}")
