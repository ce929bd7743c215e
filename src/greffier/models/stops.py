"""Stop sequences over streamed text.

Text arrives in pieces; a stop sequence may straddle two pieces. :class:`StopScanner`
holds back only the tail that could still be the start of a stop sequence. With
``stop=["\\n\\n"]``: feed("Paris.\\n") emits "Paris." and holds "\\n"; feed("\\nNext") finds
the stop, emits nothing more and reports stopped.

A stop found in the text is not final while a longer one may still begin before it: with
``stop=[".", "é.b"]``, "é." holds both characters back (it may become "é.b", which cuts
earlier), and the text is cut at "." only if the next piece is not "b" — or when the
generation ends (:meth:`flush`).
"""

from __future__ import annotations


class StopScanner:
    def __init__(self, stops: tuple[str, ...]):
        self._stops = tuple(s for s in stops if s)
        self._longest = max((len(s) for s in self._stops), default=0)
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Return the text that is safe to emit now."""
        if not self._stops:
            return text
        buffer = self._held + text
        cut = self._first_stop(buffer)
        pending = self._pending_start(buffer, cut if cut >= 0 else len(buffer))
        if pending is not None:
            self._held = buffer[pending:]
            return buffer[:pending]
        self._held = ""
        if cut >= 0:
            self.stopped = True
            return buffer[:cut]
        return buffer

    def flush(self) -> str:
        """Text still held when generation ends (cut at a stop sequence it holds)."""
        held, self._held = self._held, ""
        cut = self._first_stop(held)
        if cut >= 0:
            self.stopped = True
            return held[:cut]
        return held

    def _first_stop(self, text: str) -> int:
        """Where the earliest complete stop sequence starts, or -1."""
        return min((i for i in (text.find(s) for s in self._stops) if i >= 0), default=-1)

    def _pending_start(self, text: str, before: int) -> int | None:
        """The earliest position before ``before`` where a stop sequence may begin but
        runs past the end of ``text`` (the rest of ``text`` is a proper prefix of it)."""
        for start in range(max(0, len(text) - self._longest + 1), before):
            tail = text[start:]
            if any(len(s) > len(tail) and s.startswith(tail) for s in self._stops):
                return start
        return None
