"""The heading of each turn in a meeting's indexed transcript: "Mme Martin — 00:14:32".

A meeting is indexed for search as a document whose headings are its turns, so a passage
found by a question cites who spoke and when. The heading is written and read back (by
the passage viewer, to play the audio from that second) here only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from greffier.meetings.subtitles import clock_seconds, timestamp

_SEPARATOR = " — "
_HEADING = re.compile(r"^(?P<speaker>.*) — (?P<clock>\d{2}:\d{2}:\d{2})$")


@dataclass(frozen=True)
class Turn:
    speaker: str
    clock: str  # "00:14:32"

    @property
    def seconds(self) -> int:
        return int(clock_seconds(self.clock))


def heading(speaker: str, start: float) -> str:
    """The heading of a turn starting at ``start`` seconds."""
    return f"{speaker}{_SEPARATOR}{timestamp(start)[:8]}"


def speaker_of(text: str) -> str:
    """The speaker named by a heading."""
    return text.split(_SEPARATOR)[0]


def parse(heading_path: str) -> Turn | None:
    """The turn named by the last heading of a heading path ("Conseil > Mme Martin — …")."""
    match = _HEADING.match(heading_path.split(" > ")[-1])
    return Turn(match["speaker"], match["clock"]) if match else None
