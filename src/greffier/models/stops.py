"""Stop sequences over streamed text.

Text arrives in pieces; a stop sequence may straddle two pieces. :class:`StopScanner`
holds back only the tail that could still be the start of a stop sequence. With
``stop=["\\n\\n"]``: feed("Paris.\\n") emits "Paris." and holds "\\n"; feed("\\nNext") finds
the stop, emits nothing more and reports stopped.
"""

from __future__ import annotations


class StopScanner:
    def __init__(self, stops: tuple[str, ...]):
        self._stops = tuple(s for s in stops if s)
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Return the text that is safe to emit now."""
        if not self._stops:
            return text
        buffer = self._held + text
        cut = min((i for i in (buffer.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self._held = ""
            self.stopped = True
            return buffer[:cut]
        keep = 0
        for stop in self._stops:
            for length in range(min(len(stop) - 1, len(buffer)), 0, -1):
                if buffer.endswith(stop[:length]):
                    keep = max(keep, length)
                    break
        self._held = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """Text still held when generation ends without a stop sequence."""
        held, self._held = self._held, ""
        return held
