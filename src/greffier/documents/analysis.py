"""French-aware text analysis for lexical search.

Both indexed passages and queries go through :func:`terms`: words are lower-cased, elided
articles and common stop words dropped, and each word reduced to its Snowball French stem,
so "délibérations", "délibéré" and "Délibération" meet on ``deliber`` once FTS5's
``remove_diacritics`` has folded the accents. The stemmed text is what FTS5 indexes; the
original text is stored and shown separately.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"\w+")

# Function words that carry no meaning for retrieval (French first, then English).
STOP_WORDS = frozenset(
    """
    a à ai aie ainsi alors au aucun aussi autre aux avec avoir avez c ca ça ce cela celle
    celles celui ces cet cette ceux chaque ci comme comment d dans de des du donc dont
    elle elles en encore est et été être eu fait faut il ils j je l la le les leur leurs
    lui m ma mais me même mes moi mon n ne ni nos notre nous on ont ou où par pas peut
    peu plus pour pourquoi qu quand que quel quelle quelles quels qui s sa sans se ses
    si son sont sous sur t ta te tes toi ton tous tout toute toutes très tu un une vos
    votre vous y
    faire fais fait peut peux puis dois doit doivent quoi cas
    an and are as at be by for from how in is it of on or the this to what when which who
    why with
    """.split()
)


@lru_cache(maxsize=1)
def _stemmer():
    return snowballstemmer.stemmer("french")


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def terms(text: str) -> list[str]:
    """Stemmed, accent-folded content words of ``text``, in order."""
    words = [w.lower() for w in _WORD.findall(text)]
    kept = [w for w in words if (w not in STOP_WORDS and len(w) > 1) or w.isdigit()]
    return [_fold(stem) for stem in _stemmer().stemWords(kept)]


def index_text(text: str) -> str:
    """What FTS5 indexes for a passage."""
    return " ".join(terms(text))


FUNCTION_WORDS = {
    "fr": frozenset(
        """le la les des du de un une est et en que qui pour dans sur pas au aux ce
        cette quel quelle quels quelles comment pourquoi où je vous nous il elle on ne""".split()
    ),
    "en": frozenset(
        """the a an of and is are to in for on what which who how why where when do
        does can i you we it this that with not""".split()
    ),
    "de": frozenset(
        """der die das den dem des ein eine und ist sind nicht mit für auf von zu im
        wie was wer warum wo ich sie wir es ich kann""".split()
    ),
    "es": frozenset(
        """el la los las un una y es son de del en que por para con no cómo qué
        quién dónde cuándo yo usted nosotros se""".split()
    ),
    "it": frozenset(
        """il lo la gli le un una e è sono di del della in che per con non come cosa
        chi dove quando io voi noi si""".split()
    ),
}


def guess_language(text: str) -> str:
    """'fr', 'en', 'de', 'es' or 'it', from function words (French on a tie, and for text
    with none): enough to answer in the question's language and to price its tokens."""
    words = [w.lower() for w in _WORD.findall(text)]
    scores = {
        lang: sum(w in vocabulary for w in words) for lang, vocabulary in FUNCTION_WORDS.items()
    }
    scores["fr"] += sum(c in "éèêàùç" for c in text.lower())
    best = max(scores.values())
    return "fr" if scores["fr"] == best else max(scores, key=scores.get)
