"""The tagger gives byte-for-byte the tags, scores, evidence and feature vectors it gave before speed work.

A real sample (Reuters-21578 TRAIN bodies, the shared feeds' full-text items, BBC stories of every
section) goes through `tag_article` and `score_article`; the sha256 of each article's hits (tag, score,
evidence sentences), its probabilities for every topic and its hashed feature vector (ids, and every value
to 7 decimals: numpy sums in a CPU-dependent order, so the last bit of a normalised value differs between
machines; 50 of the 300 did on an AVX-512 EPYC, with the same tags and probabilities) are compared with
`golden_tags.json`, made by the code before the speed work
(research-only data: only hashes are in the repo). The digests hold for one taxonomy and one shipped
model, whose sha256 the file records: after a deliberate change to config/topics.yaml or model.bin,
regenerate with `PYTHONPATH=plugins .venv/bin/python -m tests.tagging.test_golden_tags`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.real_sample import BBC, FEEDS, REUTERS, feed_items, need_shared, reuters_bodies

GOLDEN = Path(__file__).with_name("golden_tags.json")
REUTERS_ARTICLES, FEED_ITEMS, BBC_PER_SECTION = 150, 100, 10


def sample() -> list[tuple[str, str, str]]:
    """(key, title, text) of the sample in a fixed order; skips if ../shared is absent."""
    need_shared(REUTERS, FEEDS, BBC / "article")
    rows = [(f"reuters-{row['newid']}", row.get("title") or "", row["body"])
            for row in reuters_bodies(REUTERS_ARTICLES)]
    rows += [(f"feed-{n}", title, text) for n, (_, title, text) in enumerate(feed_items(FEED_ITEMS), 1)]
    for section in sorted(p for p in (BBC / "article").iterdir() if p.is_dir()):
        for path in sorted(section.glob("*.txt"))[:BBC_PER_SECTION]:
            lines = path.read_text(encoding="utf-8").split("\n")
            rows.append((f"bbc-{section.name}-{path.stem}", lines[0].strip(), "\n".join(lines[1:])))
    return rows


def digests() -> dict:
    """Per sample key, the sha256 of its hits, of its probabilities and of its feature vector; and the
    sha256 of the taxonomy file and model they hold for."""
    from newsbrief.tagging import DEFAULT_TAXONOMY_PATH, load_taxonomy, score_article, tag_article
    from newsbrief.tagging.features import document
    from newsbrief.tagging.model import MODEL_PATH

    taxonomy = load_taxonomy()
    hits, scores, features = {}, {}, {}
    for key, title, text in sample():
        hits[key] = _sha([[h.tag, h.label, repr(h.score), h.evidence] for h in tag_article(title, text, taxonomy)])
        scores[key] = _sha({t: repr(p) for t, p in score_article(title, text, taxonomy).items()})
        doc = document(title, text, taxonomy.scoring.lead_sentences)
        features[key] = _sha([doc.ids.tolist(), [f"{float(v):.7f}" for v in doc.values]])
    return {"taxonomy_sha256": _file_sha(DEFAULT_TAXONOMY_PATH), "model_sha256": _file_sha(MODEL_PATH),
            "hits": hits, "scores": scores, "features": features}


def _sha(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode("utf-8")).hexdigest()


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tags_of_a_real_sample_are_unchanged():
    got = digests()
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(got["hits"]) == REUTERS_ARTICLES + FEED_ITEMS + 5 * BBC_PER_SECTION
    if (got["taxonomy_sha256"], got["model_sha256"]) != (want["taxonomy_sha256"], want["model_sha256"]):
        pytest.fail("config/topics.yaml or tagging/model.bin changed since golden_tags.json was made: if that "
                    "change is deliberate, regenerate it with `python -m tests.tagging.test_golden_tags`")
    for part in ("features", "scores", "hits"):
        changed = sorted(k for k in want[part] if got[part].get(k) != want[part][k])
        assert not changed, f"{len(changed)} articles' {part} differ from the golden ones, e.g. {changed[:5]}"
    assert got == want


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(digests(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
