"""Text to speech in-process with Kokoro-82M (int8 ONNX, onnxruntime on CPU).

Words become phonemes with Debian's espeak-ng (``espeak-ng -q -v fr-fr --ipa``, run
without a shell, the text on its standard input); only symbols of the model's vocabulary
are kept. espeak-ng drops punctuation, yet Kokoro reads its pauses and intonation from it:
the text is cut into clauses at its punctuation, given to espeak-ng one clause a line (it
ends a clause at each line, so one line comes back for each), and each clause's phonemes
get their mark back.

One model call reads at most 510 tokens (512 positions, two of them padding): each
sentence is one call, and a longer one is cut at its clause ends, then between words.
The style of a call is the voice file's row at the call's number of tokens (a Kokoro voice
holds one 256-number style per input length). Out come 24 kHz float samples; the near
silence the model puts at both ends of each call is cut to ``EDGE_SECONDS``, so sentences
follow each other with a short, even pause.

Every file is checked before first use: the ONNX model against the catalogue's SHA-256
(``files.verify``), the vocabulary and the voice likewise (``files.verify_companions``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator

import numpy as np

from greffier.errors import CatalogueError, GreffierError, ModelFileError
from greffier.models import files
from greffier.models.backends.base import SpeechPiece, SpeechSynthesisBackend

MAX_TOKENS = 510
STYLE_SIZE = 256
ESPEAK_VOICE = "fr-fr"
EDGE_SECONDS = 0.15
SILENCE = 0.01  # amplitude under which a sample counts as silence at the edges

_CLAUSE = re.compile(r"([^,;:.!?…—\n]+)([,;:.!?…—]*)")
_SENTENCE_END = ".!?…"


class KokoroBackend(SpeechSynthesisBackend):
    location = "in-process"
    sample_rate = 24000

    def __init__(self, entry, settings):
        super().__init__(entry, settings)
        self._session = None
        self._vocab: dict[str, int] = {}
        self._styles: dict[str, np.ndarray] = {}
        self._espeak = ""
        self._load_lock = threading.Lock()
        # One model call at a time: two at once would only share the same cores, and a
        # request waiting for one sentence's turn still streams what it has.
        self._run_lock = threading.Lock()

    # --- loading ----------------------------------------------------------------------

    def load(self) -> None:
        with self._load_lock:
            if self._session is None:
                self._load()

    def _load(self) -> None:
        path = files.verify(self.settings.models_dir, self.entry)
        companions = files.verify_companions(self.settings.models_dir, self.entry)
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise ModelFileError(
                "Speaking needs Debian's espeak-ng (French text to phonemes): "
                "`apt-get install espeak-ng` (`make run` installs it)."
            )
        try:
            import onnxruntime
        except ImportError:
            raise ModelFileError(
                "Speaking needs onnxruntime: `pip install 'greffier[voice]'`."
            ) from None
        if "vocab.json" not in companions:
            raise CatalogueError(f"Model '{self.entry.id}' names no vocab.json companion.")
        vocab = json.loads(companions["vocab.json"].read_text("utf-8"))["vocab"]
        styles = {}
        for voice in self.voices:
            voice_file = companions.get(f"{voice}.bin")
            if voice_file is None:
                raise CatalogueError(
                    f"Model '{self.entry.id}' lists the voice '{voice}' but no {voice}.bin "
                    "companion holds it."
                )
            styles[voice] = np.fromfile(voice_file, dtype="<f4").reshape(-1, STYLE_SIZE)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.settings.threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._vocab, self._styles, self._espeak = vocab, styles, espeak
        self.stats.loaded = True

    def close(self) -> None:
        with self._load_lock:
            self._session = None
            self.stats.loaded = False

    # --- text to phonemes -------------------------------------------------------------

    def _espeak_lines(self, clauses: list[str]) -> list[str]:
        result = subprocess.run(
            [self._espeak, "-q", "-v", ESPEAK_VOICE, "--ipa"],
            input="\n".join(clauses) + "\n",
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise GreffierError(f"espeak-ng failed: {result.stderr.strip()[:200]}")
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]

    def phonemes(self, text: str) -> list[str]:
        """The clauses of ``text`` as phonemes, each followed by its punctuation mark."""
        clauses = [(w.strip(), mark) for w, mark in _CLAUSE.findall(text) if w.strip()]
        if not clauses:
            return []
        lines = self._espeak_lines([words for words, _ in clauses])
        if len(lines) != len(clauses):  # a clause espeak-ng cut or dropped: one call each
            lines = [" ".join(self._espeak_lines([words])) for words, _ in clauses]
        out = []
        for (_, marks), ipa in zip(clauses, lines, strict=True):
            mark = next((m for m in marks if m in self._vocab), "")
            kept = "".join(c for c in ipa if c in self._vocab).strip()
            if kept:
                out.append(kept + mark)
        return out

    # --- phonemes to audio ------------------------------------------------------------

    def _tokens(self, phonemes: str) -> list[int]:
        return [self._vocab[c] for c in phonemes if c in self._vocab]

    def calls(self, clauses: list[str]) -> list[list[int]]:
        """Token lists of at most MAX_TOKENS: one per sentence; a longer sentence cut at its
        clause ends, a longer clause between words (a word longer than a call, never
        seen, at the limit)."""
        sentences, current = [], []
        for clause in clauses:
            current.append(clause)
            if clause[-1] in _SENTENCE_END:
                sentences.append(current)
                current = []
        if current:
            sentences.append(current)
        space = self._tokens(" ")
        calls = []
        for sentence in sentences:
            units = []
            for clause in sentence:
                tokens = self._tokens(clause)
                if len(tokens) <= MAX_TOKENS:
                    units.append(tokens)
                    continue
                words = [self._tokens(w) for w in clause.split(" ")]
                cut = [w[i : i + MAX_TOKENS] for w in words for i in range(0, len(w), MAX_TOKENS)]
                units += pack(cut, space)
            calls += pack(units, space)
        return [c for c in calls if c]

    def _run(self, tokens: list[int], style: np.ndarray, speed: float) -> np.ndarray:
        row = style[min(len(tokens), len(style) - 1)].reshape(1, STYLE_SIZE)
        self.stats.waiting += 1
        with self._run_lock:
            self.stats.waiting -= 1
            self.stats.active += 1
            try:
                audio = self._session.run(
                    None,
                    {
                        "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                        "style": row.astype(np.float32),
                        "speed": np.array([speed], dtype=np.float32),
                    },
                )[0]
            finally:
                self.stats.active -= 1
        return trim(np.asarray(audio, dtype=np.float32).reshape(-1), self.sample_rate)

    def synthesize(self, text, *, voice, speed=1.0) -> Iterator[SpeechPiece]:
        self.load()
        style = self._styles[voice]
        for tokens in self.calls(self.phonemes(text)):
            if tokens:
                yield SpeechPiece(self._run(tokens, style, speed), len(tokens))
        self.stats.completed += 1


def trim(audio: np.ndarray, sample_rate: int, edge: float = EDGE_SECONDS) -> np.ndarray:
    """``audio`` with at most ``edge`` seconds of near silence left at each end."""
    loud = np.flatnonzero(np.abs(audio) > SILENCE)
    if not len(loud):
        return audio[:0]
    keep = int(edge * sample_rate)
    return audio[max(0, loud[0] - keep) : loud[-1] + 1 + keep]


def pack(units: list[list[int]], separator: list[int]) -> list[list[int]]:
    """Consecutive units joined by ``separator`` into as few lists of at most MAX_TOKENS as
    a greedy pass makes (each unit is at most MAX_TOKENS itself)."""
    packed: list[list[int]] = []
    for unit in units:
        if packed and len(packed[-1]) + len(separator) + len(unit) <= MAX_TOKENS:
            packed[-1] = packed[-1] + separator + unit
        else:
            packed.append(list(unit))
    return packed
