"""Extractive summaries: a few sentences of the article itself, in the order it tells them.

`summarize` is the one entry point for the DAGs, the CLI and the benchmark. Every algorithm chooses
from the same cleaned candidates (no headings, no title repeat, no bylines/captions/"Read more",
no duplicates; see `newsbrief.text.document`), so the guarantees hold whichever is chosen.
The default, "newsbrief", is our own position-aware centrality scorer (see
`newsbrief.text.summarizers.positional`); "lead" takes the first sentences; the others are sumy's.
"""

from __future__ import annotations

import math

from newsbrief.text.document import Article, prepare
from newsbrief.text.furniture import Body
from newsbrief.text.summarizers import positional, stock

ALGORITHMS: tuple[str, ...] = ("newsbrief", "lead", *stock.SUMY_ALGORITHMS)
DEFAULT_ALGORITHM = "newsbrief"


def summary_length(available: int, sentences: int = 3, ratio: float | None = None) -> int:
    """How many sentences to return: `ratio` of the article (at least one) when given, else `sentences`."""
    if ratio is not None:
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {ratio!r}")
        return min(available, max(1, math.ceil(ratio * available)))
    if sentences < 0:
        raise ValueError(f"sentences must be >= 0, got {sentences!r}")
    return min(available, sentences)


def choose(article: Article, count: int, algorithm: str) -> list[int]:
    """Indices of the chosen candidate sentences, in document order; exactly `count` of them (should a
    sumy summarizer return fewer, the earliest remaining sentences make up the difference)."""
    if count <= 0 or not article.sentences:
        return []
    if count >= len(article.sentences):
        return list(range(len(article.sentences)))
    if algorithm == "lead":
        picked = list(range(count))
    elif algorithm == "newsbrief":
        picked = positional.rank(article, count)
    else:
        picked = stock.rank(algorithm, article, count)
    chosen = sorted(set(picked))[:count]
    if len(chosen) < count:
        rest = [i for i in range(len(article.sentences)) if i not in chosen]
        chosen = sorted(chosen + rest[: count - len(chosen)])
    return chosen


def summarize(text: str | Body, *, title: str | None = None, sentences: int = 3, ratio: float | None = None,
              algorithm: str = DEFAULT_ALGORITHM, templates: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The article's most informative sentences, in document order.

    `text` is the body, one paragraph or heading per line; `title` is passed separately (a first body
    line equal to it is not a sentence). `ratio` (0 < r <= 1) overrides `sentences`. Fewer candidates
    than asked gives all of them; empty text gives []. Unknown `algorithm` raises ValueError. `templates`
    are the source's learned template keys (see `newsbrief.text.stage.template_keys`). A `Body` already
    parsed (`newsbrief.text.furniture.Body`) is not parsed again and brings its own title.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown summarization algorithm {algorithm!r}; choose one of: {', '.join(ALGORITHMS)}")
    article = prepare(text, title, templates)
    count = summary_length(len(article.sentences), sentences, ratio)
    return [article.sentences[i] for i in choose(article, count, algorithm)]
