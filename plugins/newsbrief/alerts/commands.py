"""`newsbrief alerts list | preview`: the alerts of subscribers.yaml, and a query tried on the store."""

from __future__ import annotations

import argparse
import json
import sys

EXIT_USAGE = 2


def add_parser(commands) -> None:
    alerts = commands.add_parser("alerts", help="list alerts, or preview what a query finds in the store",
                                 description="Alerts are declared per subscriber in config/subscribers.yaml "
                                             "(see README 'Alerts').")
    sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    sub.add_parser("list", help="print each subscriber's alerts as JSONL")
    preview = sub.add_parser("preview", help="print the stored articles a query matches, as JSONL, with the terms")
    preview.add_argument("query", help='e.g. "tariff steel -soybean" or \'intitle:"trade war" OR tag:tariffs\'')
    preview.add_argument("--limit", type=int, default=50, help="at most this many articles (default 50)")


def run(args: argparse.Namespace) -> int:
    from newsbrief.alerts.query import QueryError, parse
    from newsbrief.config.settings import load_settings
    from newsbrief.errors import ConfigError

    try:
        settings = load_settings()
        if args.alerts_command == "list":
            from newsbrief.config.subscribers import load_subscribers

            for sub in load_subscribers(settings.subscribers_file):
                for a in sub.alerts:
                    print(json.dumps({"email": sub.email, "id": a.id, "query": str(a.query) if a.query else None,
                                      "topics": list(a.topics), "frequency": a.frequency, "quality": a.quality,
                                      "cap": a.cap, "line": a.line}))
            return 0
        query = parse(args.query)
    except QueryError as exc:
        print(f"newsbrief: {exc} (fix: see README 'Alerts' for the query syntax)", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"newsbrief: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from newsbrief.alerts.matching import candidates_from_store
    from newsbrief.alerts.query import matches
    from newsbrief.store.engine import open_store
    from newsbrief.store.schema import Article

    store = open_store(settings.store_url)
    shown = 0
    with store.session() as s:
        for c in candidates_from_store(s):
            terms = matches(query, c.doc)
            if terms is None:
                continue
            a = s.get(Article, c.article_id)
            print(json.dumps({"id": a.id, "title": a.title, "url": a.url, "source": a.source,
                              "published_at": a.published_at.isoformat() if a.published_at else None,
                              "matched": terms}, ensure_ascii=False))
            shown += 1
            if shown >= args.limit:
                break
    return 0
