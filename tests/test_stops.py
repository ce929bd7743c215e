"""StopScanner against the obvious reference: cut the whole text at the first stop."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from greffier.models.stops import StopScanner

alphabet = st.sampled_from("ab\n. é")


def reference(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    cuts = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


@given(
    pieces=st.lists(st.text(alphabet, max_size=6), max_size=12),
    stops=st.lists(st.text(alphabet, min_size=1, max_size=4), max_size=4).map(tuple),
)
def test_streamed_equals_whole(pieces, stops):
    scanner = StopScanner(stops)
    out = ""
    for piece in pieces:
        out += scanner.feed(piece)
        if scanner.stopped:
            break
    else:
        out += scanner.flush()
    assert (out, scanner.stopped) == reference("".join(pieces), stops)


def test_worked_example():
    scanner = StopScanner(("\n\n",))
    assert scanner.feed("Paris.\n") == "Paris."
    assert scanner.feed("\nNext") == ""
    assert scanner.stopped
