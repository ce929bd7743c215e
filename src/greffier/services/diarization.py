"""Telling speakers apart: one voice embedding per transcript segment, then clustering.

Each segment's audio is embedded with Resemblyzer's GE2E speaker encoder (256 numbers
that are close for the same voice: cosine ~0.9 for one synthetic voice, ~0.6 between two,
measured on the test recordings). Segments are grouped by average-linkage hierarchical
clustering on cosine distance: into exactly the number of speakers when it is given,
otherwise cutting where voices differ more than ``SAME_VOICE``. Labels follow the order in
which voices first speak: "Intervenant 1", "Intervenant 2"…

Out of scope for now: a segment in which two people speak gets one speaker (turns are
only as fine as Whisper's segments), and overlapping speech is not separated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from greffier.errors import ModelFileError
from greffier.models.backends.base import Segment

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MIN_SECONDS = 0.6  # shorter segments are too short to embed: they take a neighbour's voice
SAME_VOICE = 0.75  # cosine similarity above which two segments count as one voice


def _encoder():
    try:
        from resemblyzer import VoiceEncoder
    except ImportError:
        raise ModelFileError(
            "Telling speakers apart needs resemblyzer: `pip install 'greffier[diarization]'`."
        ) from None
    return VoiceEncoder("cpu", verbose=False)


def embed_segments(audio: np.ndarray, segments: Sequence[Segment]) -> list[np.ndarray | None]:
    from resemblyzer import preprocess_wav

    encoder = _encoder()
    vectors: list[np.ndarray | None] = []
    for s in segments:
        piece = audio[int(s.start * SAMPLE_RATE) : int(s.end * SAMPLE_RATE)]
        if len(piece) < MIN_SECONDS * SAMPLE_RATE:
            vectors.append(None)
            continue
        wav = preprocess_wav(piece, source_sr=SAMPLE_RATE)
        vectors.append(encoder.embed_utterance(wav) if len(wav) else None)
    return vectors


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


def speakers(
    audio_path: str,
    segments: Sequence[Segment],
    expected: int | None = None,
    label: str = "Intervenant {}",
) -> list[str]:
    """One speaker label per segment."""
    if not segments:
        return []
    from faster_whisper import decode_audio

    audio = decode_audio(audio_path, sampling_rate=SAMPLE_RATE)
    vectors = embed_segments(audio, segments)
    known = [i for i, v in enumerate(vectors) if v is not None]
    if not known:
        return [label.format(1)] * len(segments)
    ids = dict(zip(known, cluster([vectors[i] for i in known], expected), strict=True))
    labels: list[str] = []
    for i in range(len(segments)):
        if i not in ids:  # too short to embed: the voice of the nearest embedded segment
            nearest = min(known, key=lambda k: abs(k - i))
            ids[i] = ids[nearest]
        labels.append(label.format(ids[i] + 1))
    return labels
