"""The tagger's statistical layer: one logistic regression per topic over hashed word-stem features.

Each topic's model weighs the article's unigrams and bigrams (plain, and again when they stand in
the title or lead) and its term score from topics.yaml. The weights ship in `model.bin` beside
this module, built by `make tag-model` (newsbrief/tagging/train.py) from text whose licence allows
it; a topic the file does not know (a user added it to topics.yaml) is trained when the taxonomy
is first used, from its own examples and terms against the shipped example sentences, in well
under a second.

File format (deterministic: the same inputs give the same bytes): zlib of
b"NBTAG1\\n" + 8-byte header length + JSON header + feature ids (uint32) + weights (float16,
ids x topics). Only the rows of features seen in training are stored.
"""

from __future__ import annotations

import json
import logging
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsbrief.tagging.features import DIM, HASH_BITS, TERM_FEATURES, Document

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).with_name("model.bin")
MAGIC = b"NBTAG1\n"


@dataclass
class Weights:
    """Per-topic weights: W (DIM x topics) for the hashed features, V (topics x TERM_FEATURES) for
    the term score, b (topics) the bias."""

    topics: list[str]
    W: np.ndarray
    V: np.ndarray
    b: np.ndarray
    meta: dict

    def column(self, topic: str) -> int | None:
        return self.topics.index(topic) if topic in self.topics else None


def save(weights: Weights, path: Path) -> None:
    rows = np.flatnonzero(np.any(weights.W != 0, axis=1)).astype(np.uint32)
    header = {"hash_bits": HASH_BITS, "topics": weights.topics, "term_features": TERM_FEATURES,
              "V": np.round(weights.V, 5).tolist(), "b": np.round(weights.b, 5).tolist(), "rows": int(rows.size),
              **weights.meta}
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    body = (MAGIC + struct.pack("<Q", len(head)) + head + rows.tobytes()
            + weights.W[rows].astype("<f2").tobytes())
    path.write_bytes(zlib.compress(body, 9))


def load(path: Path = MODEL_PATH) -> Weights:
    raw = zlib.decompress(path.read_bytes())
    if not raw.startswith(MAGIC):
        raise ValueError(f"{path}: not a newsbrief tag model (run `make tag-model`)")
    at = len(MAGIC)
    (n,) = struct.unpack("<Q", raw[at:at + 8])
    header = json.loads(raw[at + 8:at + 8 + n])
    if header["hash_bits"] != HASH_BITS or header["term_features"] != TERM_FEATURES:
        raise ValueError(f"{path}: built for another feature layout (run `make tag-model`)")
    at += 8 + n
    k, t = header["rows"], len(header["topics"])
    rows = np.frombuffer(raw, dtype="<u4", count=k, offset=at)
    w = np.frombuffer(raw, dtype="<f2", count=k * t, offset=at + 4 * k).reshape(k, t)
    W = np.zeros((DIM, t), dtype=np.float32)
    W[rows] = w
    meta = {key: v for key, v in header.items()
            if key not in {"hash_bits", "topics", "term_features", "V", "b", "rows"}}
    return Weights(list(header["topics"]), W, np.array(header["V"], dtype=np.float64).reshape(t, TERM_FEATURES),
                   np.array(header["b"], dtype=np.float64), meta)


@dataclass
class Sample:
    doc: Document
    terms: np.ndarray          # (topics x TERM_FEATURES) term features
    labels: frozenset[str]
    weight: float = 1.0


def fit(samples: list[Sample], topics: list[str], *, l2: float = 3e-5, iterations: int = 400,
        rate: float = 0.05, columns: list[int] | None = None) -> Weights:
    """Logistic regression for each topic, full-batch Adam on the hashed features (deterministic:
    no sampling, fixed order). `columns` maps each trained topic to its row of `terms` (default:
    the same position). Positives are up-weighted so each topic's positives and negatives weigh
    the same in the loss."""
    columns = list(range(len(topics))) if columns is None else columns
    n, t = len(samples), len(topics)
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([s.doc.ids.size for s in samples])
    raw_ids = np.concatenate([s.doc.ids for s in samples]) if n else np.zeros(0, dtype=np.int64)
    data = np.concatenate([s.doc.values for s in samples]) if n else np.zeros(0)
    used, local = np.unique(raw_ids, return_inverse=True)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    E = np.stack([s.terms[columns] for s in samples])              # n x t x TERM_FEATURES
    Y = np.array([[topic in s.labels for topic in topics] for s in samples], dtype=np.float64)
    base = np.array([s.weight for s in samples])
    pos = (Y * base[:, None]).sum(0)
    neg = ((1 - Y) * base[:, None]).sum(0)
    S = base[:, None] * np.where(Y > 0, 0.5 / np.maximum(pos, 1e-9), 0.5 / np.maximum(neg, 1e-9))
    f = used.size
    params = [np.zeros((f, t)), np.zeros((t, TERM_FEATURES)), np.zeros(t)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2 = 0.9, 0.999
    for step in range(1, iterations + 1):
        W, V, b = params
        Z = np.add.reduceat(W[local] * data[:, None], indptr[:-1], axis=0) if data.size else np.zeros((n, t))
        Z[np.diff(indptr) == 0] = 0.0
        Z += np.einsum("ntk,tk->nt", E, V) + b
        G = (1.0 / (1.0 + np.exp(-Z)) - Y) * S
        gW = np.stack([np.bincount(local, weights=data * G[rows, j], minlength=f) for j in range(t)], axis=1)
        grads = [gW + l2 * W, np.einsum("ntk,nt->tk", E, G), G.sum(0)]
        lr = rate / (1 + step / 100)
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] = params[i] - lr * (m[i] / (1 - b1 ** step)) / (np.sqrt(v[i] / (1 - b2 ** step)) + 1e-8)
    W = np.zeros((DIM, t), dtype=np.float32)
    W[used] = np.round(params[0], 4)
    return Weights(list(topics), W, np.round(params[1], 5), np.round(params[2], 5), {})


def merge(base: Weights, extra: Weights) -> Weights:
    return Weights(base.topics + extra.topics, np.concatenate([base.W, extra.W], axis=1),
                   np.concatenate([base.V, extra.V]), np.concatenate([base.b, extra.b]), base.meta)
