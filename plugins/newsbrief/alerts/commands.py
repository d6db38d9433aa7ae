"""`newsbrief alerts list | add | remove | preview`.

`add` and `remove` change the store (`alert_subscriptions`), never subscribers.yaml: the file stays
the reviewed declaration, the store holds what a subscriber changed since (see alerts/subscriptions.py).
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_USAGE = 2
_OPTIONS = ("query", "topics", "frequency", "hour", "day", "timezone", "quality", "cap",
            "min_interval_minutes", "quiet_hours")


def add_parser(commands) -> None:
    alerts = commands.add_parser("alerts", help="list, add or remove alerts, or preview what a query finds",
                                 description="Alerts are declared per subscriber in config/subscribers.yaml; "
                                             "`add` and `remove` change them in the store (NEWSBRIEF_STORE_URL) "
                                             "without editing the file (see README 'Alerts').")
    sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    sub.add_parser("list", help="print every active alert as JSONL, with where it is defined")
    add = sub.add_parser("add", help="add an alert for a subscriber of subscribers.yaml (kept in the store)")
    add.add_argument("email", help="a subscriber declared in subscribers.yaml")
    add.add_argument("id", help="the alert's id: letters, digits, '-' or '_'")
    add.add_argument("--query", help='e.g. "tariff steel -soybean"')
    add.add_argument("--topic", dest="topics", action="append", metavar="TOPIC",
                     help="a topic id of topics.yaml (repeatable)")
    add.add_argument("--frequency", choices=("as_it_happens", "daily", "weekly"))
    add.add_argument("--hour", type=int, help="daily/weekly: the hour of the send (0-23, default 8)")
    add.add_argument("--day", help="weekly: the day (default monday)")
    add.add_argument("--timezone", help="IANA name for hour and quiet hours (default UTC)")
    add.add_argument("--quality", choices=("best", "all"))
    add.add_argument("--cap", type=int, help="at most this many items an email (default 20)")
    add.add_argument("--min-interval-minutes", type=int,
                     help="as_it_happens: at most one email every N minutes (default 15)")
    add.add_argument("--quiet-hours", help="as_it_happens: e.g. 22:00-07:00; items wait for the first send after")
    add.add_argument("--replace", action="store_true", help="replace the subscriber's alert of this id")
    remove = sub.add_parser("remove", help="turn an alert off (a declared one too: the store overrides the file)")
    remove.add_argument("email")
    remove.add_argument("id")
    preview = sub.add_parser("preview", help="print the stored articles a query matches, as JSONL, with the terms")
    preview.add_argument("query", help='e.g. "tariff steel -soybean" or \'intitle:"trade war" OR tag:tariffs\'')
    preview.add_argument("--limit", type=int, default=50, help="at most this many articles (default 50)")


def describe(alert, origin: str) -> dict:
    return {"email": alert.email, "id": alert.id, "query": str(alert.query) if alert.query else None,
            "topics": list(alert.topics), "frequency": alert.frequency, "hour": alert.hour, "day": alert.day,
            "timezone": alert.timezone, "quality": alert.quality, "cap": alert.cap,
            "min_interval_minutes": alert.min_interval_minutes,
            "quiet_hours": "-".join(t.strftime("%H:%M") for t in alert.quiet_hours) if alert.quiet_hours else None,
            "defined_in": f"subscribers.yaml:{alert.line}" if origin == "subscribers.yaml" else "store"}


def run(args: argparse.Namespace) -> int:
    from newsbrief.alerts.query import QueryError, parse
    from newsbrief.config.settings import load_settings
    from newsbrief.errors import ConfigError

    try:
        settings = load_settings()
        if args.alerts_command != "preview":
            return _manage(args, settings)
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


def _manage(args: argparse.Namespace, settings) -> int:
    from newsbrief.alerts import subscriptions
    from newsbrief.config.subscribers import load_subscribers
    from newsbrief.store.engine import open_store
    from newsbrief.tagging import load_taxonomy

    known = set(load_taxonomy(settings.topics_file).ids)
    subscribers = load_subscribers(settings.subscribers_file, known_topics=known)
    store = open_store(settings.store_url)
    if args.alerts_command == "list":
        for active in subscriptions.active_alerts(store, subscribers, known_topics=known):
            print(json.dumps(describe(active.alert, active.origin), ensure_ascii=False))
        return 0
    if args.alerts_command == "add":
        definition = {k: getattr(args, k) for k in _OPTIONS}
        alert = subscriptions.add_alert(store, subscribers, args.email, args.id, definition, known_topics=known,
                                        replace=args.replace)
        print(json.dumps(describe(alert, subscriptions.STORE), ensure_ascii=False))
        return 0
    origin = subscriptions.remove_alert(store, subscribers, args.email, args.id)
    note = (" (subscribers.yaml still declares it; the store's removal overrides the file until "
            "`newsbrief alerts add` sets it again)") if origin == subscriptions.DECLARED else ""
    print(f"removed alert '{args.id}' of {args.email}{note}", file=sys.stderr)
    return 0
