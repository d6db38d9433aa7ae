"""Build the shipped tag model (plugins/newsbrief/tagging/model.bin): `make tag-model`.

Trained only on text whose licence allows shipping what is learnt from it:
- config/topic_examples.yaml and the `examples:`/`description:` of config/topics.yaml (written for
  newsbrief), and short articles composed from those sentences (a topic's sentences after its
  headline; and other stories that mention it once, deep in the body, as negatives);
- the IPTC Media Topics vocabulary in ../shared/data/taxonomy (CC BY 4.0, (c) IPTC): each concept's
  label and definition, a positive for the topics whose IPTC concepts it falls under;
- the 100 BBC News articles of ../shared/data/bbc-summary-100 (CC0), with newsbrief's own labels
  from bench/data/tag-labels.jsonl.
Reuters-21578 (research only) and the feed and page collections (no licence) are never read here.
Deterministic: the same inputs give the same bytes (a test rebuilds and compares).

    python -m newsbrief.tagging.train [--out PATH] [--shared DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
from pathlib import Path

from newsbrief.config.settings import PROJECT_ROOT
from newsbrief.tagging import load_taxonomy
from newsbrief.tagging import model as tag_model
from newsbrief.tagging.examples import EXAMPLES_PATH, load_examples
from newsbrief.tagging.features import BODY, LEAD, TITLE, TermIndex, document, featurize, term_features

SHARED = PROJECT_ROOT / ".." / "shared" / "data"
LABELS = PROJECT_ROOT / "bench" / "data" / "tag-labels.jsonl"
IPTC_CSV = "taxonomy/iptc-mediatopic-flat.csv"
SEED = 20261202


def iptc_concepts(path: Path) -> list[tuple[str, str, list[str]]]:
    """(code, 'label. definition', ancestors) of every concept that is not retired."""
    rows = {r["qcode"]: r for r in csv.DictReader(path.open(encoding="utf-8"))}

    def ancestors(code: str) -> list[str]:
        out, todo = [], [code]
        while todo:
            parent = rows.get(todo.pop(), {}).get("broader") or ""
            for p in filter(None, parent.split("|")):
                p = p if p.startswith("medtop:") else f"medtop:{p}"
                if p not in out:
                    out.append(p)
                    todo.append(p)
        return out

    return [(code, f"{r['label']}. {r['definition']}".strip(), ancestors(code))
            for code, r in sorted(rows.items()) if not r.get("retired")]


def build(out: Path, shared: Path = SHARED, *, l2: float = 3e-5, composed_per_topic: int = 30,
          bbc_weight: float = 2.0, headline_weight: float = 2.0) -> dict:
    taxonomy = load_taxonomy()
    index = TermIndex(taxonomy)
    topics = taxonomy.ids
    examples = load_examples(EXAMPLES_PATH)
    samples: list[tag_model.Sample] = []

    def add(doc, labels, weight=1.0):
        samples.append(tag_model.Sample(doc, term_features(index.scores(doc)), frozenset(labels), weight))

    sentences = list(examples.sentences)
    for topic in taxonomy.topics:
        sentences += [(e, frozenset([topic.id])) for e in topic.examples]
        if topic.description:
            sentences.append((topic.description, frozenset([topic.id])))
    for text, tags in sentences:
        add(featurize([text], [TITLE], 1), tags, headline_weight)
        add(featurize([text], [BODY], 1), tags, 0.5)

    roots = {t: set(codes) for t, codes in examples.iptc.items() if t in topics}
    concepts = iptc_concepts(shared / IPTC_CSV)
    iptc_pos = iptc_neg = 0
    for code, text, up in concepts:
        lineage = {code, *up}
        labels = {t for t, r in roots.items() if r & lineage}
        # a concept above a topic's own concepts ("economy" above "tariff") says nothing about it
        unsure = {t for t, r in roots.items() if t not in labels and any(code in a for a in
                                                                          (set(x[2]) for x in concepts if x[0] in r))}
        doc = featurize([text], [LEAD], 1)
        s = tag_model.Sample(doc, term_features(index.scores(doc)), frozenset(labels), 0.5)
        if unsure:
            s = tag_model.Sample(doc, s.terms, frozenset(labels | unsure), 0.0)
        samples.append(s)
        iptc_pos += bool(labels)
        iptc_neg += not labels

    rng = random.Random(SEED)
    by_topic = {t: [e for e, tags in sentences if t in tags] for t in topics}
    other = [e for e, tags in sentences if not tags]
    composed = 0
    for t in topics:
        pool = by_topic[t]
        if len(pool) < 3:
            continue
        others = [(e, tags) for e, tags in sentences if t not in tags]
        for _ in range(composed_per_topic):
            title = rng.choice(pool)
            body = rng.sample(pool, min(len(pool) - 1, rng.randint(2, 6)))
            body += [rng.choice(other) for _ in range(rng.randint(0, 3))]
            labels = {t} | next((set(tags) for e, tags in sentences if e == title), set())
            add(document(title, "\n".join(body)), labels)
            host_title, host_tags = rng.choice(others)
            host = [e for e, tags in sentences if tags == host_tags and e != host_title] or other
            lines = rng.sample(host, min(len(host), rng.randint(3, 6)))
            lines.insert(len(lines), rng.choice(pool))
            add(document(host_title, "\n".join(lines)), host_tags)
            composed += 2

    bbc = 0
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else None
        if not row or not row["source"].startswith("bbc-summary-100/"):
            continue
        lines = (shared / row["source"]).read_text(encoding="utf-8", errors="replace").strip().split("\n")
        add(document(lines[0].strip(), "\n".join(x.strip() for x in lines[1:] if x.strip())),
            set(row["tags"]) & set(topics), bbc_weight)
        bbc += 1

    weights = tag_model.fit(samples, topics, l2=l2)
    weights.meta = {
        "built_from": {"examples": str(EXAMPLES_PATH.relative_to(PROJECT_ROOT)), "example_sentences": len(sentences),
                       "composed_articles": composed, "iptc_concepts": len(concepts), "iptc_positive": iptc_pos,
                       "bbc_articles": bbc},
        "attribution": "IPTC Media Topics (c) IPTC, CC BY 4.0, https://iptc.org/standards/media-topics/; "
                       "BBC News Summary (bbc-summary-100), CC0",
        "topics_fingerprint": hashlib.sha256("\n".join(
            f"{t.id}|{t.description}|{'|'.join(t.examples)}" for t in taxonomy.topics).encode()).hexdigest()[:16],
    }
    tag_model.save(weights, out)
    return {"path": str(out), "bytes": out.stat().st_size, "samples": len(samples), **weights.meta["built_from"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=tag_model.MODEL_PATH)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args(argv)
    if not (args.shared / IPTC_CSV).exists():
        sys.exit(f"shared data not found at {args.shared.resolve()} (IPTC vocabulary and BBC articles, see "
                 "../shared/data/README.md)")
    print(json.dumps(build(args.out, args.shared), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
