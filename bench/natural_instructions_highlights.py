"""Turn Natural-Instructions' CNN/DailyMail task into the JSONL that `bench/summaries.py --highlights` reads.

Usage:  .venv/bin/python bench/natural_instructions_highlights.py task1553_cnn_dailymail_summarization.json \
            [--limit 304] > highlights.jsonl

The task file (github.com/allenai/natural-instructions, tasks/task1553_cnn_dailymail_summarization.json)
holds real CNN/DailyMail articles with their human highlights as {"input": article, "output":
[highlights, one per line]}. The sample measured in bench/README.md is its first 304 instances; the
data set's licence is research-only, so no copy is kept in this repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", type=Path, help="the Natural-Instructions task JSON file")
    parser.add_argument("--limit", type=int, default=None, help="keep the first N instances")
    args = parser.parse_args(argv)
    try:
        instances = json.loads(args.task.read_text(encoding="utf-8"))["Instances"]
    except (OSError, ValueError, KeyError) as exc:
        sys.exit(f"{args.task}: not a Natural-Instructions task file ({exc})")
    for number, instance in enumerate(instances[: args.limit]):
        article, highlights = instance["input"], instance["output"][0]
        digest = hashlib.sha1(article.encode("utf-8")).hexdigest()[:12]
        print(json.dumps({"id": f"ni1553-{number:04d}-{digest}", "article": article,
                          "highlights": [h.strip() for h in highlights.split("\n") if h.strip()]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
