"""Speech to text in-process with faster-whisper (CTranslate2, int8 on CPU).

Voice activity detection (Silero, shipped with faster-whisper) skips silences before
decoding, which also keeps Whisper from inventing text over them.

Long recordings are transcribed in pieces of at most ``PIECE_SECONDS``, each cut at the
quietest tenth of a second of its last ``CUT_SEARCH_SECONDS`` (a pause, not a word),
with the language found on the first piece: faster-whisper computes the log-mel features
of everything it is given at once, which took 3.7 GiB for one hour of speech (0.85 GiB
for ten minutes). The decoded recording itself is kept whole (16 kHz float32, 230 MB an
hour).
"""

from __future__ import annotations

import os
import threading

import numpy as np

from greffier.errors import InvalidRequest, ModelFileError
from greffier.models import files
from greffier.models.backends.base import Segment, SpeechBackend, Transcript, Word

# Languages Whisper knows, as ISO 639-1 codes (the ones a person would send).
LANGUAGES = frozenset(
    """af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha
    haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr
    ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th
    tk tl tr tt uk ur uz vi yi yo yue zh""".split()
)


SAMPLE_RATE = 16000
PIECE_SECONDS = 600.0
CUT_SEARCH_SECONDS = 30.0


def pieces(audio: np.ndarray, limit: float = PIECE_SECONDS) -> list[tuple[int, int]]:
    """(start, end) sample ranges covering ``audio``, each at most ``limit`` seconds, cut
    at the quietest 0.1 s of the last ``CUT_SEARCH_SECONDS`` before the limit."""
    size, step, frame = len(audio), int(limit * SAMPLE_RATE), SAMPLE_RATE // 10
    ranges, start = [], 0
    while size - start > step:
        search = audio[start + step - int(CUT_SEARCH_SECONDS * SAMPLE_RATE) : start + step]
        frames = search[: len(search) // frame * frame].reshape(-1, frame)
        quietest = int(np.argmin((frames.astype(np.float64) ** 2).sum(axis=1)))
        cut = start + step - len(search) + quietest * frame + frame // 2
        ranges.append((start, cut))
        start = cut
    ranges.append((start, size))
    return ranges


class FasterWhisperBackend(SpeechBackend):
    runtime_modules = ("faster_whisper",)
    location = "in-process"

    def __init__(self, entry, settings):
        super().__init__(entry, settings)
        self._model = None
        self._lock = threading.Lock()  # one decoder, one request at a time

    def _load(self):
        if self._model is None:
            path = files.verify(self.settings.models_dir, self.entry)
            try:
                from faster_whisper import WhisperModel
            except ImportError:
                raise ModelFileError(
                    "Speech to text is not ready on this server: an administrator must install it.",
                    detail="It needs faster-whisper: `pip install 'greffier[speech]'`.",
                ) from None
            threads = self.settings.threads or os.cpu_count() or 1
            self._model = WhisperModel(
                str(path.parent), device="cpu", compute_type="int8", cpu_threads=threads
            )
            self.stats.loaded = True
        return self._model

    def transcribe(
        self, audio, *, language=None, prompt=None, word_timestamps=False, progress=None
    ):
        if language is not None and language not in LANGUAGES:
            raise InvalidRequest(
                f"Unknown language code '{language}': use an ISO 639-1 code such as fr, en, "
                "de, es or it, or leave it out to detect the language.",
                param="language",
                code="invalid_language",
            )
        with self._lock:
            model = self._load()
            from faster_whisper import decode_audio

            samples = audio if isinstance(audio, np.ndarray) else decode_audio(audio)
            self.stats.active += 1
            try:
                result, first = [], None
                for start, end in pieces(samples):
                    offset = start / SAMPLE_RATE
                    segments, info = model.transcribe(
                        samples[start:end],
                        language=language,
                        initial_prompt=prompt or None,
                        word_timestamps=word_timestamps,
                        vad_filter=True,
                        beam_size=5,
                    )
                    if first is None:
                        first, language = info, info.language  # the same for every piece
                    for s in segments:  # a lazy generator: decoding happens here
                        words = tuple(
                            Word(
                                round(float(w.start) + offset, 3),
                                round(float(w.end) + offset, 3),
                                w.word.strip(),
                                round(float(w.probability), 4),
                            )
                            for w in (s.words or ())
                        )
                        result.append(
                            Segment(
                                round(float(s.start) + offset, 3),
                                round(float(s.end) + offset, 3),
                                s.text.strip(),
                                words,
                            )
                        )
                        if progress:
                            progress(float(s.end) + offset)
            finally:
                self.stats.active -= 1
        self.stats.completed += 1
        return Transcript(
            first.language,
            round(float(first.language_probability), 4),
            round(len(samples) / SAMPLE_RATE, 3),
            tuple(result),
        )

    def load(self) -> None:
        with self._lock:
            self._load()

    def close(self) -> None:
        self._model = None
        self.stats.loaded = False
