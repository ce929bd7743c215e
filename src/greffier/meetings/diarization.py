"""Telling speakers apart: voice embeddings per stretch of speech, clustering, and turns cut
at the words where the voice changes.

Each transcript segment's audio is embedded with a speaker encoder, by default Resemblyzer's
GE2E (catalogue entry ``resemblyzer-ge2e``, its file checked by SHA-256 before use; 256
numbers that are close for the same voice: cosine ~0.9 for one synthetic voice, 0.53–0.65
between the voices of the test recordings). Segments are grouped by average-linkage
hierarchical clustering on cosine distance: into exactly the number of speakers when it is
given, otherwise cutting where voices differ more than ``SAME_VOICE``. Labels follow the
order in which voices first speak: "Intervenant 1", "Intervenant 2"…

Turns aligned to words: Whisper cuts segments at sentence ends and pauses, so when one
person takes over from another without a pause, or ends the other's sentence, one segment
holds two voices (or three: A, B, then A again). Before clustering, every segment long
enough to hold two embedding windows is scanned at its word boundaries: the two windows
(1.6 s each, one every 0.4 s, silent ones left out) just before a boundary are averaged and
compared with the two just after it; where the sides are least alike, and below
``CHANGE_BELOW``, the segment is cut between those two words, then each part is scanned
again. Worked example, measured on the test recording where a man says "The budget for the
roads and the schools is set at" and a woman goes on "four hundred and fifty thousand
euros…" 0.1 s later: Whisper returns one segment; the sides compare at 0.58 at the
boundaries before "set" and "at" (windows that straddle the change), 0.47 before "450"
(the real change) and 0.8–0.9 elsewhere, so the cut falls before "450": the sentence is
split between two words, each part with its own voice. Within one voice, the lowest value
measured on the test recordings was 0.73 (robotic French), hence the 0.65 cut; windows
that are mostly silence are left out because they look like another voice (0.59 before
they were). A cut made within one voice anyway is undone after clustering, when both parts
get the same speaker. The windows also give each part its voice (their mean), so a long
segment is embedded once; shorter ones are embedded whole, silences trimmed.

Out of scope: overlapping speech is not separated, and a voice change inside a stretch
shorter than 1.6 s on either side is not seen (it stays with the rest of the segment).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np

from greffier.models.backends.base import Segment, Word

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MIN_SECONDS = 0.6  # shorter segments are too short to embed: they take a neighbour's voice
SAME_VOICE = 0.75  # cosine similarity above which two segments count as one voice
WINDOW_SECONDS = 1.6  # the encoder's partial utterance
WINDOWS_PER_SECOND = 2.5  # one window every 0.4 s when looking for a change of voice
NEAREST_WINDOWS = 2  # windows compared on each side of a word boundary
CHANGE_BELOW = 0.65  # the two sides of a boundary are different voices below this


def _piece(audio: np.ndarray, start: float, end: float) -> np.ndarray:
    return audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]


def embed(encoder, audio: np.ndarray, segment: Segment) -> np.ndarray | None:
    """One voice embedding for the segment, or None when it is too short."""
    from resemblyzer import preprocess_wav

    piece = _piece(audio, segment.start, segment.end)
    if len(piece) < MIN_SECONDS * SAMPLE_RATE:
        return None
    wav = preprocess_wav(piece, source_sr=SAMPLE_RATE)
    return encoder.embed_utterance(wav) if len(wav) else None


def _join(words: Sequence[Word]) -> str:
    """Words back into text: no space before punctuation or a digit group ("450" ",000")."""
    text = ""
    for w in words:
        glue = not text or re.match(r"[,.;:!?%)\]'’-]", w.text)
        text += w.text if glue else f" {w.text}"
    return text


def _cut(segment: Segment, at: int) -> tuple[Segment, Segment]:
    """The segment as two, between words ``at - 1`` and ``at``."""
    left, right = segment.words[:at], segment.words[at:]
    return (
        Segment(segment.start, left[-1].end, _join(left), left),
        Segment(right[0].start, segment.end, _join(right), right),
    )


def _windows(encoder, audio: np.ndarray, segment: Segment):
    """The segment's voiced 1.6 s windows, one every 0.4 s: their embeddings, start and
    stop times (seconds in the recording)."""
    from resemblyzer.audio import normalize_volume

    # Not preprocess_wav: it drops silences, and window positions must stay true to time.
    wav = normalize_volume(
        _piece(audio, segment.start, segment.end), -30, increase_only=True
    ).astype(np.float32)
    _, partials, slices = encoder.embed_utterance(
        wav, return_partials=True, rate=WINDOWS_PER_SECOND
    )
    # 10 ms frames; a window counts if most of it is louder than a tenth of the loud frames.
    frames = wav[: len(wav) // 160 * 160].reshape(-1, 160)
    loud = np.sqrt((frames**2).mean(axis=1))
    voiced = loud > 0.1 * np.percentile(loud, 95)
    keep = np.array(
        [(v := voiced[s.start // 160 : s.stop // 160]).size and v.mean() >= 0.6 for s in slices],
        dtype=bool,
    )
    starts = np.array([s.start for s in slices])[keep] / SAMPLE_RATE + segment.start
    stops = np.array([s.stop for s in slices])[keep] / SAMPLE_RATE + segment.start
    return partials[keep], starts, stops


def _unit(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / np.linalg.norm(mean)


def _split(segment: Segment, partials, starts, stops) -> list[tuple[Segment, np.ndarray | None]]:
    inside = (starts >= segment.start - 0.01) & (stops <= segment.end + 0.01)
    partials, starts, stops = partials[inside], starts[inside], stops[inside]
    voice = _unit(partials) if len(partials) else None
    if len(segment.words) < 2 or segment.end - segment.start < 2 * WINDOW_SECONDS:
        return [(segment, voice)]
    best, lowest = None, CHANGE_BELOW
    for i in range(1, len(segment.words)):
        boundary = (segment.words[i - 1].end + segment.words[i].start) / 2
        left = partials[stops <= boundary][-NEAREST_WINDOWS:]
        right = partials[starts >= boundary][:NEAREST_WINDOWS]
        if not len(left) or not len(right):
            continue
        similarity = float(_unit(left) @ _unit(right))
        if similarity < lowest:
            best, lowest = i, similarity
    if best is None:
        return [(segment, voice)]
    log.debug("Voice change at %.2f s (similarity %.2f)", segment.words[best].start, lowest)
    left, right = _cut(segment, best)
    return _split(left, partials, starts, stops) + _split(right, partials, starts, stops)


def split_at_changes(
    encoder, audio: np.ndarray, segment: Segment
) -> list[tuple[Segment, np.ndarray | None]]:
    """The segment, cut at the word boundaries where the voice changes (see the module
    docstring), each part with its voice (the mean of its voiced windows; None when it has
    none: :func:`embed` it then). The windows are computed once per segment."""
    if len(segment.words) < 2 or segment.end - segment.start < 2 * WINDOW_SECONDS:
        return [(segment, None)]
    return _split(segment, *_windows(encoder, audio, segment))


def cluster(vectors: Sequence[np.ndarray], expected: int | None) -> list[int]:
    """Cluster ids (0-based, in order of first appearance) for unit vectors."""
    if len(vectors) == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(np.stack(vectors), method="average", metric="cosine")
    if expected:
        raw = fcluster(tree, t=min(expected, len(vectors)), criterion="maxclust")
    else:
        raw = fcluster(tree, t=1 - SAME_VOICE, criterion="distance")
    order: dict[int, int] = {}
    return [order.setdefault(int(c), len(order)) for c in raw]


def turns(
    audio_path: str,
    segments: Sequence[Segment],
    expected: int | None,
    encoder,
    label: str = "Intervenant {}",
) -> list[tuple[str, Segment]]:
    """(speaker label, segment) pairs: the segments cut where the voice changes, each with
    its speaker. ``encoder``: a speaker backend's (``SpeakerBackend.encoder()``), its file
    checked."""
    if not segments:
        return []
    from faster_whisper import decode_audio

    audio = decode_audio(audio_path, sampling_rate=SAMPLE_RATE)
    pieces: list[tuple[int, Segment]] = []
    vectors: list[np.ndarray | None] = []
    for origin, segment in enumerate(segments):
        for piece, voice in split_at_changes(encoder, audio, segment):
            pieces.append((origin, piece))
            vectors.append(voice if voice is not None else embed(encoder, audio, piece))
    known = [i for i, v in enumerate(vectors) if v is not None]
    if not known:
        return [(label.format(1), s) for s in segments]
    ids = dict(zip(known, cluster([vectors[i] for i in known], expected), strict=True))
    result: list[tuple[int, str, Segment]] = []
    for i, (origin, piece) in enumerate(pieces):
        if i not in ids:  # too short to embed: the voice of the nearest embedded piece
            ids[i] = ids[min(known, key=lambda k: abs(k - i))]
        speaker = label.format(ids[i] + 1)
        if result and result[-1][0] == origin and result[-1][1] == speaker:
            # A cut inside one voice: put the segment back together.
            previous = result[-1][2]
            words = previous.words + piece.words
            piece = Segment(previous.start, piece.end, _join(words), words)
            result[-1] = (origin, speaker, piece)
        else:
            result.append((origin, speaker, piece))
    # A segment whose cuts were all undone keeps Whisper's own text.
    return [
        (speaker, segments[o] if piece.words == segments[o].words else piece)
        for o, speaker, piece in result
    ]
