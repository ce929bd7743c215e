"""Speech synthesis without the model: French written out as it is read, sentences,
markdown made speakable, and audio encoded piece by piece into every format (decoded back
with PyAV, FFmpeg's own decoders)."""

from __future__ import annotations

import io
import re
import struct

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from num2words import num2words

from greffier.voice import french
from greffier.voice.encoding import FORMATS, Encoder, wav_header
from greffier.voice.text import from_markdown, sentences


@pytest.mark.parametrize(
    ("written", "said"),
    [
        # dates, times, euros, percentages
        ("le 12/03/2024", "le douze mars deux mille vingt-quatre"),
        ("le 01/05/2025", "le premier mai deux mille vingt-cinq"),
        ("au 2024-05-08", "au huit mai deux mille vingt-quatre"),
        ("à 14h30", "à quatorze heures trente"),
        ("à 21 h 01", "à vingt et une heures une"),
        ("à 1 h", "à une heure"),
        ("à 9:05", "à neuf heures cinq"),
        ("à 00:14:32", "à quatorze minutes trente-deux secondes"),
        ("à 01:00:01", "à une heure une seconde"),
        ("450 000 €", "quatre cent cinquante mille euros"),
        ("450\u202f000 €", "quatre cent cinquante mille euros"),
        ("12,50 €", "douze euros cinquante"),
        ("1 €", "un euro"),
        ("1 000 000 €", "un million d'euros"),
        ("3,5 M€", "trois virgule cinq millions d'euros"),
        ("1,2 M€", "un virgule deux million d'euros"),
        ("5 k€", "cinq mille euros"),
        ("2 Md€", "deux milliards d'euros"),
        ("15 %", "quinze pour cent"),
        ("2,5 %", "deux virgule cinq pour cent"),
        # titles and abbreviations
        ("M. Dupont", "monsieur Dupont"),
        ("MM. Durand et Leroy", "messieurs Durand et Leroy"),
        ("Mme Martin", "madame Martin"),
        ("Mlle Petit", "mademoiselle Petit"),
        ("Me Dubois", "maître Dubois"),
        ("Dr Petit", "docteur Petit"),
        ("l'art. 12", "l'article douze"),
        ("Art. 3", "Article trois"),
        ("al. 2", "alinéa deux"),
        ("n° 5", "numéro cinq"),
        ("p. 4", "page quatre"),
        ("cf. la note", "confer la note"),
        ("les routes, etc., puis", "les routes, et cetera, puis"),
        ("les routes etc. La suite", "les routes et cetera. La suite"),
        ("St-Denis", "Saint-Denis"),
        # ordinals, numbers in other places
        ("le 1er avril", "le premier avril"),
        ("la 1re réunion", "la première réunion"),
        ("la 2e fois", "la deuxième fois"),
        ("le XXIe siècle", "le vingt et unième siècle"),
        ("le XIVe siècle", "le quatorzième siècle"),
        ("Ce matin", "Ce matin"),  # "C" + "e" is no roman ordinal
        ("Louis XIV", "Louis XIV"),
        ("01 23 45 67 89", "zéro un, vingt-trois, quarante-cinq, soixante-sept, quatre-vingt-neuf"),
        ("3 000 agents", "trois mille agents"),
        ("1.500 agents", "mille cinq cents agents"),
        ("3,14", "trois virgule quatorze"),
        ("0,05", "zéro virgule zéro cinq"),
        ("-5 °C", "moins cinq degrés"),
        ("3 km", "trois kilomètres"),
        ("1 km", "un kilomètre"),
        ("21 voix", "vingt et une voix"),
        ("2023-2024", "deux mille vingt-trois à deux mille vingt-quatre"),
        ("L2121-29", "L deux mille cent vingt et un tiret vingt-neuf"),
        ("version 3.5", "version trois point cinq"),
        # what nobody reads aloud
        ("cinq jours [1].", "cinq jours."),
        ("cinq jours [1, 2] et trois [3]", "cinq jours et trois"),
        ("Sécurité & santé", "Sécurité et santé"),
    ],
)
def test_french_is_written_out_as_it_is_read(written, said):
    assert french.normalise(written) == said


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=999_999_999_999))
def test_every_integer_reads_as_num2words_says_with_or_without_french_grouping(n):
    """The reference: num2words' French. Grouped by (narrow) spaces or dots as French
    writes thousands, the number reads the same."""
    reference = num2words(n, lang="fr")
    grouped = f"{n:,}"
    assert french.normalise(str(n)) == reference
    assert french.normalise(grouped.replace(",", " ")) == reference
    assert french.normalise(grouped.replace(",", "\u202f")) == reference
    if n >= 1000:
        assert french.normalise(grouped.replace(",", ".")) == reference


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 9_999_999), st.integers(0, 99))
def test_amounts_in_euros_leave_no_digit_and_say_their_cents(euros, cents):
    written = f"{euros:,}".replace(",", " ") + f",{cents:02d} €"
    said = french.normalise(written)
    assert not re.search(r"\d", said), said
    assert "euro" in said
    if cents:
        assert said.endswith(num2words(cents, lang="fr"))


def test_sentences_are_cut_at_their_end_and_at_each_line():
    text = "Bonjour. Ça va ? Oui… très bien !\nLe point « un. » Fin (voir plus bas.) Suite"
    assert sentences(text) == [
        "Bonjour.",
        "Ça va ?",
        "Oui…",
        "très bien !",
        "Le point « un.",
        "Fin (voir plus bas.",
        "Suite",
    ]
    assert sentences("  \n\n ") == []
    # Written out first, "M." no longer ends a sentence.
    assert sentences(french.normalise("M. Dupont arrive. Mme Martin aussi.")) == [
        "monsieur Dupont arrive.",
        "madame Martin aussi.",
    ]


def test_markdown_minutes_become_sentences_a_person_reads():
    minutes = """# Compte rendu — Conseil municipal

## Décisions
- **Budget des routes** voté : 450 000 € — [00:14:32]
- [x] Action _urgente_ pour [la voirie](http://127.0.0.1/voirie)

| Qui | Quoi |
|-----|------|
| Mme Martin | Devis avant le 15/04/2025 |

---
> Prochaine séance le 3 mai
"""
    assert from_markdown(minutes).splitlines() == [
        "Compte rendu — Conseil municipal.",
        "Décisions.",
        "Budget des routes voté : 450 000 €.",
        "Action urgente pour la voirie.",
        "Qui, Quoi.",
        "Mme Martin, Devis avant le 15/04/2025.",
        "Prochaine séance le 3 mai.",
    ]


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
        return np.concatenate(frames), stream.rate


def _tone(seconds: float, rate: int = 24000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_is_encoded_piece_by_piece_and_decodes_to_the_same_length(fmt):
    pieces = [_tone(0.7), _tone(0.5), _tone(0.8)]
    encoder = Encoder(fmt, 24000)
    out = [encoder.encode(p) for p in pieces]
    out.append(encoder.finish())
    data = b"".join(out)
    assert out[0], "nothing came out after the first piece: the stream would wait for the end"
    total = sum(len(p) for p in pieces) / 24000
    if fmt == "pcm":
        samples = np.frombuffer(data, "<i2")
        assert len(samples) == sum(len(p) for p in pieces)
        assert np.abs(samples.astype(np.float32) / 32767 - np.concatenate(pieces)).max() < 1e-4
        return
    samples, rate = _decode(data)
    assert rate == (48000 if fmt == "opus" else 24000)  # Opus is always decoded at 48 kHz
    # Lossy codecs add their priming and padding samples (up to a frame each side).
    assert abs(len(samples) / rate - total) < 0.1, (fmt, len(samples) / rate, total)
    assert np.abs(samples).max() > 0.3  # the tone, not silence


def test_a_streamed_wav_says_its_length_is_unknown():
    header = wav_header(24000)
    assert header[:4] == b"RIFF" and header[8:16] == b"WAVEfmt "
    assert struct.unpack("<I", header[4:8])[0] == 0xFFFFFFFF
    assert struct.unpack("<I", header[40:44])[0] == 0xFFFFFFFF
    channels, rate = struct.unpack("<HI", header[22:28])
    assert (channels, rate) == (1, 24000)
