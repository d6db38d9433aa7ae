"""Topic tags for articles: a user-editable taxonomy (config/topics.yaml) and an explainable tagger.

    taxonomy = load_taxonomy()            # or load_taxonomy(load_settings().topics_file)
    for hit in tag_article(title, text, taxonomy):
        print(hit.tag, hit.score, hit.evidence)
"""

from __future__ import annotations

from pathlib import Path

from newsbrief.config.settings import PROJECT_ROOT
from newsbrief.tagging.matcher import TagHit, score_article, tag_article
from newsbrief.tagging.taxonomy import Scoring, Taxonomy, Term, Topic, parse_taxonomy

DEFAULT_TAXONOMY_PATH = PROJECT_ROOT / "config" / "topics.yaml"

__all__ = ["DEFAULT_TAXONOMY_PATH", "Scoring", "TagHit", "Taxonomy", "Term", "Topic", "load_taxonomy",
           "score_article", "tag_article"]


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """The taxonomy at path (default: the repository's config/topics.yaml); ConfigError if it is wrong."""
    return parse_taxonomy(DEFAULT_TAXONOMY_PATH if path is None else path)
