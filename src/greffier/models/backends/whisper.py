"""Speech to text in-process with faster-whisper (CTranslate2, int8 on CPU).

Voice activity detection (Silero, shipped with faster-whisper) skips silences before
decoding, which also keeps Whisper from inventing text over them.
"""

from __future__ import annotations

import os
import threading

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


class FasterWhisperBackend(SpeechBackend):
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
                    "Speech needs faster-whisper: `pip install 'greffier[speech]'`."
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
            self.stats.active += 1
            try:
                segments, info = model.transcribe(
                    audio,
                    language=language,
                    initial_prompt=prompt or None,
                    word_timestamps=word_timestamps,
                    vad_filter=True,
                    beam_size=5,
                )
                result = []
                for s in segments:  # a lazy generator: decoding happens here
                    words = tuple(
                        Word(
                            round(float(w.start), 3),
                            round(float(w.end), 3),
                            w.word.strip(),
                            round(float(w.probability), 4),
                        )
                        for w in (s.words or ())
                    )
                    result.append(
                        Segment(
                            round(float(s.start), 3), round(float(s.end), 3), s.text.strip(), words
                        )
                    )
                    if progress:
                        progress(float(s.end))
            finally:
                self.stats.active -= 1
        self.stats.completed += 1
        return Transcript(
            info.language,
            round(float(info.language_probability), 4),
            round(float(info.duration), 3),
            tuple(result),
        )

    def load(self) -> None:
        with self._lock:
            self._load()

    def close(self) -> None:
        self._model = None
        self.stats.loaded = False
