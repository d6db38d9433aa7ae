"""Near-duplicate clustering on real articles: one story from several outlets is one cluster, others stay apart."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest

from newsbrief.sources.extract import html_to_text
from newsbrief.stories.clustering import Doc, MinHasher, cluster_docs, features, jaccard

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
POOL = DATA / "feeds" / "laapy-rss-pool" / "current"
BBC = DATA / "bbc-summary-100" / "article"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared real data not found at {path.resolve()} (see ../shared/data/README.md)")
    return path


def _pool_docs() -> tuple[list[Doc], list[str], list[str]]:
    docs, feeds, links = [], [], []
    seen = set()
    for path in sorted(_need(POOL).glob("*.xml")):
        if path.name in ("deduplicated.xml", "fulltext.xml"):
            continue
        for entry in feedparser.parse(path.read_bytes()).entries:
            if entry.get("link") in seen:
                continue
            seen.add(entry.get("link"))
            docs.append(Doc(len(docs), entry.get("title", ""), html_to_text(entry.get("summary", "")), source=path.name))
            feeds.append(path.name)
            links.append(entry.get("link"))
    return docs, feeds, links


def test_same_story_from_two_outlets_is_one_cluster():
    """Google News pools repeat wire stories under another URL, with ' - Reuters' appended and a different teaser."""
    docs, feeds, links = _pool_docs()
    groups = cluster_docs(docs)
    cluster_of = {doc_id: n for n, group in enumerate(groups) for doc_id in group}
    by_title: dict[str, list[int]] = {}
    for d in docs:
        key = re.sub(r"\s+-\s+(Reuters|Bloomberg(\.com)?|ロイター)$", "", d.title).strip().lower()
        by_title.setdefault(key, []).append(d.id)
    pairs = [(a, b) for ids in by_title.values() for a in ids for b in ids
             if a < b and links[a] != links[b] and feeds[a] != feeds[b] and len(key_words(docs[a].title)) >= 5]
    assert len(pairs) >= 30, "expected real cross-outlet repeats in the pool"
    together = sum(1 for a, b in pairs if a in cluster_of and cluster_of.get(a) == cluster_of.get(b))
    assert together / len(pairs) >= 0.9, f"only {together}/{len(pairs)} same-story pairs clustered"


def key_words(title: str) -> list[str]:
    return re.findall(r"\w+", title)


def test_different_stories_do_not_cluster():
    """100 distinct BBC stories (five topics, so many share vocabulary) stay 100 stories."""
    docs = []
    for path in sorted(_need(BBC).rglob("*.txt")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        docs.append(Doc(len(docs), lines[0], "\n".join(lines[1:])))
    assert len(docs) == 100
    groups = cluster_docs(docs)
    assert sum(len(g) for g in groups) <= 4, [[docs[i].title for i in g] for g in groups]


def test_exact_copy_and_rewrite_with_threshold():
    text = ("The central bank raised its main interest rate by half a percentage point on Thursday, "
            "citing persistent inflation in services and a tight labour market, and signalled more increases.")
    rewrite = ("Citing stubborn services inflation and a tight labour market, the central bank on Thursday lifted "
               "its key interest rate by 50 basis points and signalled further increases ahead.")
    other = "Heavy rain flooded roads in the north of the country, and rescue teams evacuated hundreds of residents."
    docs = [Doc(1, "Central bank raises rates by half a point", text),
            Doc(2, "Central bank lifts key rate by 50 basis points", rewrite),
            Doc(3, "Floods force evacuations in the north", other)]
    assert cluster_docs(docs) == [[1, 2]]
    assert cluster_docs(docs, threshold=0.95) == []
    assert jaccard(features(docs[0].title, text), features(docs[0].title, text)) == 1.0


def test_minhash_estimates_jaccard():
    hasher = MinHasher(permutations=256)
    a = frozenset(f"w{i}" for i in range(100))
    b = frozenset(f"w{i}" for i in range(50, 150))
    estimate = (hasher.signature(a) == hasher.signature(b)).mean()
    assert abs(estimate - jaccard(a, b)) < 0.1


WORDS = ["zorvex", "quillan", "brantok", "melvira", "tostrand", "pellucid", "garnish", "hoplite", "vintner",
         "ocelot", "saffron", "juniper", "marmot", "tundra", "basalt", "cobalt", "walrus", "lantern", "sorrel",
         "quokka"]


def _doc(i: int, words: list[str], source: str | None = None) -> Doc:
    return Doc(i, "", " ".join(words), source=source)


def test_similar_neighbours_do_not_chain_unrelated_articles():
    """A~B, B~C, C~D, each sharing half their words: single link would make A..D one story though A and D
    share nothing; every member must be similar to its story's lead."""
    docs = [_doc(1, WORDS[0:8], "a"), _doc(2, WORDS[4:12], "b"), _doc(3, WORDS[8:16], "c"), _doc(4, WORDS[12:20], "d")]
    groups = cluster_docs(docs)
    assert groups and not any({1, 4} <= set(g) for g in groups)


def test_one_outlet_is_not_its_own_second_source():
    """An outlet's series or follow-up with much the same words is a different item, not 'also reported by'."""
    assert cluster_docs([_doc(1, WORDS[0:8], "same"), _doc(2, WORDS[2:10], "same")]) == []
    assert cluster_docs([_doc(1, WORDS[0:8], "one"), _doc(2, WORDS[2:10], "other")]) == [[1, 2]]
    assert cluster_docs([_doc(1, WORDS[0:10], "same"), _doc(2, WORDS[0:10] + ["ocelot"], "same")]) == [[1, 2]]


def test_clusters_do_not_depend_on_the_order_articles_arrive_in():
    """Parallel fetches store articles in any order: the same articles must give the same stories."""
    import random

    docs, _, _ = _pool_docs()
    expected = cluster_docs(docs)
    assert len(expected) >= 10
    for seed in range(3):
        shuffled = docs[:]
        random.Random(seed).shuffle(shuffled)
        assert cluster_docs(shuffled) == expected


REUTERS = DATA / "tagging" / "reuters21578-train" / "articles.jsonl"


def _reuters_docs(n: int) -> list[Doc]:
    import json

    docs = []
    with _need(REUTERS).open() as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("body", "").strip():
                docs.append(Doc(len(docs), row.get("title") or "", row["body"], source=f"feed{len(docs) % 20}"))
                if len(docs) == n:
                    break
    return docs


@pytest.mark.parametrize(("sample", "groups", "digest"), [("pool", 167, "ee8b028a26cc6973"),
                                                          ("reuters", 238, "94f58e7b9e9ceba2")])
def test_clusters_are_byte_identical_to_before_the_speed_work(sample, groups, digest):
    """Fingerprints of cluster_docs on real samples, computed with the code of commit 5d351ce (before the
    vectorised signatures, the sorted LSH buckets and the word cache): the speed work changed no cluster."""
    import hashlib
    import json

    docs = _pool_docs()[0] if sample == "pool" else _reuters_docs(3000)
    got = cluster_docs(docs)
    assert len(got) == groups
    assert hashlib.sha256(json.dumps(got).encode()).hexdigest()[:16] == digest


def _reference_features(title: str, text: str, lead_words: int = 120) -> frozenset[str]:
    """The features of commit 5d351ce: the whole text matched, one word at a time."""
    from newsbrief.stories.clustering import _CJK, _WORD, _stemmer_and_stops

    stem, stops = _stemmer_and_stops()
    words = _WORD.findall(f"{title}\n{text}".lower())[: lead_words + len(_WORD.findall(title))]
    out: set[str] = set()
    for word in words:
        if _CJK.search(word):
            out.update(word[i:i + 2] for i in range(max(len(word) - 1, 1)))
        elif word[0].isdigit():
            if len(word) >= 2:
                out.add(word.replace(",", "."))
        elif len(word) > 2 and word not in stops:
            out.add(stem(word))
    return frozenset(out)


def test_features_of_long_short_and_mixed_texts_are_the_reference_ones():
    """Only the start of a body is matched now: long texts, texts of few long words, CJK and figures agree."""
    cases = [(d.title, d.text) for d in _reuters_docs(300)]
    cases += [("Long", "word " * 5 + "supercalifragilistic" * 40 + " tail words here"),
              ("Zahlen", "$966mln and 1,234.5 units, 7 items; " * 50),
              ("東京の株価", "日経平均株価は上昇した。Tokyo stocks rose 2% on Monday, " * 30),
              ("", ""), ("Title only here", "")]
    for title, text in cases:
        assert features(title, text) == _reference_features(title, text)
        assert features(title, "", lead_words=0) == _reference_features(title, "", lead_words=0)


def test_signatures_in_bulk_equal_one_at_a_time():
    import random

    rng = random.Random(3)
    sets = [frozenset(f"w{rng.randrange(5000)}" for _ in range(rng.randrange(1, 300))) for _ in range(200)]
    hasher = MinHasher()
    bulk = hasher.signatures(sets, chunk=1000)
    for row, items in zip(bulk, sets, strict=True):
        assert (row == hasher.signature(items)).all()


def test_sorted_lsh_buckets_give_the_pairs_of_dict_buckets():
    import numpy as np

    from newsbrief.stories.clustering import candidate_pairs

    rng = np.random.default_rng(5)
    matrix = rng.integers(0, 3, size=(400, 12), dtype=np.uint64)
    matrix[:250, :4] = 1  # one bucket of more than 200: skipped by both
    expected: set[tuple[int, int]] = set()
    for band in range(4):
        buckets: dict[bytes, list[int]] = {}
        for i in range(len(matrix)):
            buckets.setdefault(matrix[i, band * 3:(band + 1) * 3].tobytes(), []).append(i)
        for members in buckets.values():
            if 1 < len(members) <= 200:
                expected.update((a, b) for x, a in enumerate(members) for b in members[x + 1:])
    got = candidate_pairs(matrix, 4, 3)
    assert expected and got == expected
