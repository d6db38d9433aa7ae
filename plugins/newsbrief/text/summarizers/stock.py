"""The stock sumy summarizers, fed through sumy's documented parser interface.

Only cleaned candidate sentences reach sumy (see `document.prepare`), one paragraph per block, so
sumy ranks exactly the sentences our splitter found and never sees a heading or a byline. The title
goes in as an upper-case heading line, which is how sumy's plain-text format marks headings; only
Edmundson reads headings.
"""

from __future__ import annotations

from functools import lru_cache

from newsbrief.text.document import Article
from newsbrief.text.lexicon import STIGMA_WORDS, cached_stem, content_words, stop_words
from newsbrief.text.sentences import SumyTokenizer

SUMY_ALGORITHMS = ("lexrank", "lsa", "textrank", "luhn", "edmundson", "kl", "sumbasic")


@lru_cache(maxsize=1)
def _classes() -> dict:
    from sumy.summarizers.edmundson import EdmundsonSummarizer
    from sumy.summarizers.kl import KLSummarizer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.lsa import LsaSummarizer
    from sumy.summarizers.luhn import LuhnSummarizer
    from sumy.summarizers.sum_basic import SumBasicSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer

    class SortedLsaSummarizer(LsaSummarizer):
        """sumy's LSA numbers its terms in frozenset (string-hash) order, so the SVD, and with it the
        summary, changed with PYTHONHASHSEED from one process to the next. Same terms, sorted."""

        def _create_dictionary(self, document):
            return {w: i for i, w in enumerate(sorted(super()._create_dictionary(document)))}

    return {"lexrank": LexRankSummarizer, "lsa": SortedLsaSummarizer, "textrank": TextRankSummarizer,
            "luhn": LuhnSummarizer, "edmundson": EdmundsonSummarizer, "kl": KLSummarizer,
            "sumbasic": SumBasicSummarizer}


def sumy_text(article: Article) -> str:
    """The article as sumy plain text: an upper-case title heading, blank lines between paragraphs."""
    body = "\n\n".join(" ".join(group) for group in article.paragraph_groups())
    heading = article.title.upper()
    if heading and heading.isupper():
        return f"{heading}\n{body}"
    return body


def build(algorithm: str, article: Article):
    """A sumy summarizer with the English stemmer and stop words, otherwise sumy's defaults. Edmundson
    needs word lists: the title's content words are its bonus words (the lede's when there is no
    title), hedging and page-furniture words its stigma words, the stop words its null words."""
    summarizer = _classes()[algorithm](cached_stem)
    if hasattr(summarizer, "stop_words"):
        summarizer.stop_words = stop_words()
    if algorithm == "edmundson":
        bonus = content_words(article.title) or content_words(article.sentences[0])
        summarizer.bonus_words = bonus or ("news",)
        summarizer.stigma_words = STIGMA_WORDS
        summarizer.null_words = stop_words()
    return summarizer


def rank(algorithm: str, article: Article, count: int) -> list[int]:
    """Indices (into article.sentences) of the sentences sumy picks."""
    from sumy.parsers.plaintext import PlaintextParser

    document = PlaintextParser.from_string(sumy_text(article), SumyTokenizer()).document
    picked = build(algorithm, article)(document, count)
    index = {s: i for i, s in enumerate(article.sentences)}
    out = []
    for sentence in picked:
        i = index.get(str(sentence))
        if i is None:
            i = _nearest(article, str(sentence))
        if i is not None and i not in out:
            out.append(i)
    return out


def _nearest(article: Article, text: str) -> int | None:
    """Map a sentence sumy split differently back to the first candidate containing it or inside it."""
    for i, sentence in enumerate(article.sentences):
        if sentence in text or text in sentence:
            return i
    return None
