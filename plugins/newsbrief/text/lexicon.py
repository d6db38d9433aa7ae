"""Stemming and stop words shared by the summarizers, cached because news repeats its words."""

from __future__ import annotations

from functools import lru_cache

from newsbrief.text.sentences import tokenize_words

STIGMA_WORDS = ("reportedly", "allegedly", "rumoured", "rumored", "unconfirmed", "hardly", "impossible",
                "advertisement", "subscribe", "click", "newsletter", "caption", "copyright")


@lru_cache(maxsize=1)
def _stemmer():
    from sumy.nlp.stemmers import Stemmer

    return Stemmer("english")


@lru_cache(maxsize=200_000)
def cached_stem(word: str) -> str:
    return _stemmer()(word)


class _TermCache(dict):
    """word as written -> stem, or "" for a stop word. A plain dict filled on a miss, so that
    `map(TERMS.__getitem__, words)` runs in C for the words seen before (nearly all of them)."""

    LIMIT = 500_000

    def __missing__(self, word: str) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        lower = word.strip(".,-'’").lower()
        self[word] = stem = "" if not lower or lower in stop_words() else cached_stem(lower)
        return stem


TERMS = _TermCache()


def term(word: str) -> str:
    """The stem of a word as it appears ("Talks" -> "talk"), or "" for a stop word."""
    return TERMS[word]


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from sumy.utils import get_stop_words

    return frozenset(get_stop_words("english"))


def content_words(text: str) -> tuple[str, ...]:
    """Lower-cased words of a text without stop words and pure numbers, in order, deduplicated."""
    stops = stop_words()
    out = dict.fromkeys(w.lower() for w in tokenize_words(text or ""))
    return tuple(w for w in out if w not in stops and not w.replace(".", "").isdigit())
