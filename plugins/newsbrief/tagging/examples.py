"""config/topic_examples.yaml: the sentences the tag model learns from, read and validated.

Each example is (text, tags): a topic's examples carry that topic and its `also:` topics, a `mixed:`
entry its own tags, a `negatives:` entry none. Mistakes come back as ConfigError with the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from newsbrief.config.settings import PROJECT_ROOT
from newsbrief.config.yamlconf import Checker, load_yaml

EXAMPLES_PATH = PROJECT_ROOT / "config" / "topic_examples.yaml"
_IPTC = re.compile(r"^medtop:\d{8}$")


@dataclass(frozen=True)
class Examples:
    sentences: tuple[tuple[str, frozenset[str]], ...]
    iptc: dict[str, tuple[str, ...]]
    path: Path


def load_examples(path: str | Path = EXAMPLES_PATH) -> Examples:
    path = Path(path)
    check = Checker(path)
    data = load_yaml(path, what="topic examples file")
    root = check.mapping(data, "the file")
    check.known_keys(root, {"version", "topics", "mixed", "negatives"}, "the file")
    out: list[tuple[str, frozenset[str]]] = []
    iptc: dict[str, tuple[str, ...]] = {}
    topics = check.mapping(root.get("topics"), "topics")
    for topic_id, node in topics.items():
        where = f"topic '{topic_id}'"
        node = check.mapping(node, where)
        check.known_keys(node, {"iptc", "also", "examples"}, where)
        codes = check.strings(node, "iptc", where)
        for i, code in enumerate(codes):
            if not _IPTC.match(code):
                check.fail(node["iptc"], i, f"{where}: {code!r} is not an IPTC Media Topic code",
                           "write it as medtop: and eight digits")
        iptc[topic_id] = tuple(codes)
        tags = frozenset([topic_id, *check.strings(node, "also", where)])
        out.extend((" ".join(e.split()), tags) for e in check.strings(node, "examples", where, required=True))
    for i, entry in enumerate(check.sequence(root, "mixed", "the file", required=False) or []):
        entry = check.mapping(entry, f"mixed item {i + 1}")
        check.known_keys(entry, {"tags", "text"}, f"mixed item {i + 1}")
        out.append((check.string(entry, "text", f"mixed item {i + 1}"),
                    frozenset(check.strings(entry, "tags", f"mixed item {i + 1}", required=True))))
    out.extend((" ".join(e.split()), frozenset()) for e in check.strings(root, "negatives", "the file"))
    return Examples(tuple(out), iptc, path)
