"""French text written out the way a person reads it aloud, for a speech synthesiser.

A phonemiser reads "12/03/2024" digit by digit and "M. Dupont" as the letter M; a person
says "douze mars deux mille vingt-quatre" and "monsieur Dupont". :func:`normalise` writes
out, in this order (each step sees the words the previous one wrote):

- citation markers of grounded answers ("[1]", "[2, 3]"): dropped, nobody reads them;
- titles and abbreviations: M., MM., Mme, Mlle, Me, Dr, art., al., n°, p., etc., cf.…;
- telephone numbers in pairs ("01 23 45 67 89" → "zéro un, vingt-trois, …");
- dates (12/03/2024, 2024-03-12), times (14 h 30, 14:30), positions in a recording
  (00:14:32), amounts in euros (12,50 €,
  3 M€), percentages, a few units (km, m², ha…), ordinals (1er, 2e, XXIe siècle);
- every remaining number: integers with French thousands separators ("450 000",
  "1.500"), decimals with a comma ("3,5" → "trois virgule cinq"), signs.

Numbers become words with num2words' French rules (agreement of "vingt" and "cent",
"et un", "quatre-vingts"). Out of scope: guessing gender beyond hours and minutes
("une heure", "vingt et une minutes"), roman numerals outside a few nouns ("XIVe siècle"
yes, "Louis XIV" no), English numbers with a decimal point (read "trois point cinq").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from num2words import num2words

MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
).split()

# Thousands are grouped by a space (plain, non-breaking or narrow) or, in older
# writing, a dot; the decimal separator is a comma.
_SPACE = "[ \u00a0\u202f]"
NUMBER = (
    rf"(?<![\d,.])(?:\d{{1,3}}(?:{_SPACE}\d{{3}})+(?!\d)|\d{{1,3}}(?:\.\d{{3}})+(?![\d.,]?\d)"
    rf"|\d+)(?:,\d+)?(?![\d])"
)


def cardinal(value: int) -> str:
    return num2words(value, lang="fr")


def feminine(words: str) -> str:
    """ "un" → "une" where the number agrees with a feminine noun (une heure, vingt et une
    minutes); "un million" keeps its "un"."""
    return re.sub(r"\bun$", "une", words)


def _parse(number: str) -> tuple[int, str]:
    """("450 000,5") → (450000, "5"): the integer part and the digits after the comma."""
    whole, _, fraction = number.partition(",")
    return int(re.sub(r"[^\d]", "", whole)), fraction


def number_words(number: str) -> str:
    """A number as written in French text, read aloud."""
    whole, fraction = _parse(number)
    words = cardinal(whole)
    if fraction:
        # "0,05" is read "zéro virgule zéro cinq": the leading zeros are said.
        zeros = len(fraction) - len(fraction.lstrip("0"))
        rest = fraction.lstrip("0")
        said = ["zéro"] * zeros + ([cardinal(int(rest))] if rest else [])
        words += " virgule " + " ".join(said)
    return words


def _sub(pattern: str, replace: str | Callable[[re.Match], str], text: str, flags=0) -> str:
    return re.sub(pattern, replace, text, flags=flags)


# --- abbreviations ------------------------------------------------------------------------

_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zà-öø-ÿ"

# (pattern, words). Titles only before a name (a capital), so "M." ending a sentence about
# the letter M, or "Me" in "Me voici", stay as they are.
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    (rf"\bMM\.\s+(?=[{_UPPER}])", "messieurs "),
    (rf"\bM\.\s*(?=[{_UPPER}])", "monsieur "),
    (r"\bMmes\b\.?", "mesdames"),
    (r"\bMme\b\.?", "madame"),
    (r"\bMlles\b\.?", "mesdemoiselles"),
    (r"\bMlle\b\.?", "mademoiselle"),
    (rf"\bMe\s+(?=[{_UPPER}])", "maître "),
    (rf"\bDr\b\.?\s*(?=[{_UPPER}])", "docteur "),
    (rf"\bPr\b\.?\s*(?=[{_UPPER}])", "professeur "),
    (r"\bMgr\b\.?", "monseigneur"),
    (r"\bArt\.\s*", "Article "),
    (r"\bart\.\s*", "article "),
    (r"\bal\.\s*(?=\d)", "alinéa "),
    (r"\b[nN][°º]\s*", "numéro "),
    (r"\bpp\.\s*(?=\d)", "pages "),
    (r"\bp\.\s*(?=\d)", "page "),
    (r"\bchap\.\s*", "chapitre "),
    (r"\bvol\.\s*", "volume "),
    (r"\bcf\.\s*", "confer "),
    (r"\bc\.-à-d\.\s*|\bc-à-d\b\s*", "c'est-à-dire "),
    (rf"\bav\.\s*(?=[{_UPPER}\d])", "avenue "),
    (r"\bbd\b\.?\s*", "boulevard "),
    (r"\benv\.\s*", "environ "),
    (r"\btél\.\s*", "téléphone "),
    (rf"\bSt-(?=[{_UPPER}])", "Saint-"),
    (rf"\bSte-(?=[{_UPPER}])", "Sainte-"),
    (r"\s*&\s*", " et "),
    (r"\s*§\s*", " paragraphe "),
)

# Abbreviations that may end a sentence: their full stop stays one unless a lower-case word
# or a comma follows.
SENTENCE_END_ABBREVIATIONS = (("etc", "et cetera"), ("hab", "habitants"))


def _abbreviations(text: str) -> str:
    for pattern, words in ABBREVIATIONS:
        text = re.sub(pattern, words, text)
    for short, words in SENTENCE_END_ABBREVIATIONS:
        text = re.sub(rf"\b{short}\.(?=\s*[,;:)]|\s+[{_LOWER}])", words, text)
        text = re.sub(rf"\b{short}\.", words + ".", text)
    return text


# --- numbers in context -----------------------------------------------------------------


def _phone(match: re.Match) -> str:
    """French numbers are said in pairs: 01 23 45 67 89."""
    digits = re.sub(r"\D", "", match.group(0))
    pairs = [digits[i : i + 2] for i in range(0, 10, 2)]
    said = [("zéro " + cardinal(int(p[1]))) if p[0] == "0" else cardinal(int(p)) for p in pairs]
    return ", ".join(said)


def _date(day: int, month: int, year: str) -> str | None:
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    said_day = "premier" if day == 1 else cardinal(day)
    return f"{said_day} {MONTHS[month - 1]} {cardinal(int(year))}"


def _date_dmy(match: re.Match) -> str:
    said = _date(int(match["d"]), int(match["m"]), match["y"])
    return said if said else match.group(0).replace("/", " barre ")


def _date_iso(match: re.Match) -> str:
    said = _date(int(match["d"]), int(match["m"]), match["y"])
    return said if said else match.group(0)


def _time(match: re.Match) -> str:
    hours = int(match["h"] or match["h2"])
    minutes = int(match["min"] or match["min2"] or 0)
    if hours > 23 or minutes > 59:
        return match.group(0)
    said = feminine(cardinal(hours)) + (" heure" if hours <= 1 else " heures")
    if minutes:
        said += " " + feminine(cardinal(minutes))
    return said


def _clock(match: re.Match) -> str:
    """A position in a recording, 00:14:32: "quatorze minutes trente-deux secondes"."""
    parts = [int(match[1]), int(match[2]), int(match[3])]
    if parts[1] > 59 or parts[2] > 59:
        return match.group(0)
    units = (("heure", "heures"), ("minute", "minutes"), ("seconde", "secondes"))
    said = [
        f"{feminine(cardinal(value))} {one if value == 1 else many}"
        for value, (one, many) in zip(parts, units, strict=True)
        if value
    ]
    return " ".join(said) or "zéro seconde"


_SCALES = {"k€": ("mille", False), "M€": ("million", True), "Md€": ("milliard", True)}


def _euros(number: str, unit: str) -> str:
    whole, fraction = _parse(number)
    if unit in ("€", "EUR", "euro", "euros"):
        words = cardinal(whole)
        if re.search(r"(million|milliard)s?$", words):
            said = f"{words} d'euros"
        else:
            said = f"{words} euro{'s' if whole >= 2 else ''}"
        cents = int((fraction + "00")[:2]) if fraction else 0
        return said + (f" {cardinal(cents)}" if cents else "")
    scale, takes_de = _SCALES["Md€" if unit.startswith("Md") else unit]
    value = whole + (int(fraction) / 10 ** len(fraction) if fraction else 0)
    noun = scale if scale == "mille" or value < 2 else scale + "s"
    return f"{number_words(number)} {noun} {'d' + chr(39) + 'euros' if takes_de else 'euros'}"


UNITS = {
    "km²": ("kilomètre carré", "kilomètres carrés"),
    "m²": ("mètre carré", "mètres carrés"),
    "m2": ("mètre carré", "mètres carrés"),
    "km": ("kilomètre", "kilomètres"),
    "kg": ("kilogramme", "kilogrammes"),
    "ha": ("hectare", "hectares"),
    "cm": ("centimètre", "centimètres"),
    "min": ("minute", "minutes"),
    "°C": ("degré", "degrés"),
}


def _unit(match: re.Match) -> str:
    whole, fraction = _parse(match["n"])
    singular, plural = UNITS[match["u"]]
    words = number_words(match["n"])
    if match["u"] == "min":
        words = feminine(words)
    return f"{words} {singular if whole < 2 and not fraction else plural}"


def _ordinal(match: re.Match) -> str:
    value, suffix = int(match["n"]), match["s"]
    if value == 1:
        return "première" if suffix in ("re", "ère") else "premier"
    if suffix in ("nd", "nde") and value == 2:
        return "seconde" if suffix == "nde" else "second"
    return num2words(value, lang="fr", to="ordinal")


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
ROMAN_NOUNS = (
    "siècle|siècles|arrondissement|République|millénaire|législature|congrès|plan|"
    "édition|circonscription|régiment|chambre|concile"
)


def roman(numeral: str) -> int | None:
    """The value of a roman numeral up to 399, or None if it is not written canonically."""
    total = 0
    for i, letter in enumerate(numeral):
        value = _ROMAN[letter]
        following = _ROMAN[numeral[i + 1]] if i + 1 < len(numeral) else 0
        total += -value if value < following else value
    if not 0 < total < 400:
        return None
    return total if _to_roman(total) == numeral else None


def _to_roman(value: int) -> str:
    out = ""
    for number, letters in ((100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X")):
        while value >= number:
            out, value = out + letters, value - number
    return out + ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")[value]


def _roman_ordinal(match: re.Match) -> str:
    value = roman(match["r"])
    if value is None:
        return match.group(0)
    if value == 1:
        return "première" if match["s"] in ("re", "ère") else "premier"
    return num2words(value, lang="fr", to="ordinal")


def _numbers_in_context(text: str) -> str:
    text = _sub(r"(?<!\d)0\d(?:[ .\u00a0-]?\d{2}){4}(?!\d)", _phone, text)
    text = _sub(r"\b(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4}|\d{2})\b", _date_dmy, text)
    text = _sub(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b", _date_iso, text)
    text = _sub(r"(?<![\w-])[-−]\s?(?=\d)", "moins ", text)  # not a range: 2023-2024
    text = _sub(r"\b((?:1[89]|20)\d\d)\s?[-–]\s?((?:1[89]|20)\d\d)\b", r"\1 à \2", text)
    text = _sub(r"(?<=\d)[-–](?=\d)", " tiret ", text)  # article L2121-29
    text = _sub(rf"(?<=[{_UPPER}{_LOWER}])(?=\d)", " ", text)  # "L2121": the letter, the number
    text = _sub(r"\b(\d{1,2}):(\d{2}):(\d{2})\b", _clock, text)
    text = _sub(
        r"\b(?P<h>\d{1,2})\s?[hH]\s?(?P<min>\d{2})?(?!\w)|\b(?P<h2>\d{1,2}):(?P<min2>\d{2})\b",
        _time,
        text,
    )
    text = _sub(
        rf"(?P<n>{NUMBER})\s?(?P<u>Mds?€|M€|k€|€|EUR\b)", lambda m: _euros(m["n"], m["u"]), text
    )
    text = _sub(rf"€\s?(?P<n>{NUMBER})", lambda m: _euros(m["n"], "€"), text)
    text = _sub(rf"(?P<n>{NUMBER})\s?%", lambda m: number_words(m["n"]) + " pour cent", text)
    units = "|".join(re.escape(u) for u in UNITS)
    text = _sub(rf"(?P<n>{NUMBER})\s?(?P<u>{units})(?![\w²])", _unit, text)
    text = _sub(r"\b(?P<n>\d+)(?P<s>er|re|ère|ème|e|è|ᵉ|nde|nd)\b", _ordinal, text)
    return _sub(
        rf"\b(?P<r>[IVXLC]+)(?P<s>er|re|ère|ème|e)\b(?=\s+(?:{ROMAN_NOUNS})\b)",
        _roman_ordinal,
        text,
    )


# Nouns a number agrees with in the feminine: "vingt et une voix", "une fois".
FEMININE_NOUNS = (
    "heure|heures|minute|minutes|seconde|secondes|fois|voix|personne|personnes|année|années|"
    "semaine|semaines|page|pages|ligne|lignes|place|places|classe|classes|commune|communes"
)


def _point(match: re.Match) -> str:
    """An English decimal point ("version 3.5"); "1.500" is French for fifteen hundred."""
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", match.group(0)):
        return match.group(0)
    return f"{match[1]} point {match[2]}"


def _remaining_numbers(text: str) -> str:
    text = _sub(r"\b(\d+)\.(\d+)\b(?!\.\d)", _point, text)
    text = _sub(
        rf"(?P<n>{NUMBER})(?P<noun>\s+(?:{FEMININE_NOUNS})\b)",
        lambda m: feminine(number_words(m["n"])) + m["noun"],
        text,
    )
    return _sub(NUMBER, lambda m: number_words(m.group(0)), text)


# --- the whole ------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """``text`` with everything a phonemiser would misread written out as French words."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]", "", text)  # citation markers
    text = _abbreviations(text)
    text = _numbers_in_context(text)
    text = _remaining_numbers(text)
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"[ \t]+", " ", text).strip()
