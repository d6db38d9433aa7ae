"""The `newsbrief` command: summarize and tag articles from a file, stdin or a JSONL stream;
`newsbrief db upgrade|current` for the store's schema.

It calls the same `newsbrief.text.summarize.summarize` and `newsbrief.tagging.tag_article` that the DAGs
use, so what you see here is what the digest gets. Output is always JSONL on stdout, one article a
line; problems go to stderr with the input line and the fix, and never stop the other articles.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newsbrief.errors import ConfigError, InputError
from newsbrief.text.summarize import ALGORITHMS, DEFAULT_ALGORITHM, summarize

EXIT_OK = 0
EXIT_BAD_RECORDS = 1
EXIT_USAGE = 2
JSONL_SUFFIXES = (".jsonl", ".ndjson")
JSONL_FIX = 'write one JSON object a line, e.g. {"id": "a1", "title": "Headline", "text": "Body..."}'

EPILOG = """\
input:
  A text file (.txt, .md, .html or none) is one article: a short first line is its title, the rest
  the body, one paragraph or heading a line (a first line that is a paragraph stays body). A .jsonl/.ndjson file, or --jsonl, is one article a line:
  {"id": "a1", "title": "Headline", "text": "Body..."}   ("id" defaults to the line number).
  Without FILE, or with "-", the article(s) are read from stdin.

output:
  JSONL on stdout, one line per article: {"id", "summary": [sentences]} for summarize,
  {"id", "tags": [{"tag", "score", "evidence": [sentences]}]} for tag, both for process.

examples:
  newsbrief summarize seeds/000_4578fa6d09c8fd9d.txt
  newsbrief summarize --sentences 5 --algorithm lexrank article.txt
  newsbrief summarize --ratio 0.3 < article.txt
  newsbrief tag articles.jsonl --taxonomy config/topics.yaml
  cat articles.jsonl | newsbrief process --jsonl --progress > digest.jsonl

exit codes:
  0  every article processed
  1  some articles were bad (message on stderr with the line number); the others were processed
  2  usage error, unreadable input file or invalid taxonomy: nothing was processed
"""


@dataclass
class Record:
    """One article to process, and where it came from (for messages)."""

    id: str
    title: str
    text: str
    where: str


class Problem(Exception):
    """An input record newsbrief cannot use; the message says where, why and how to fix it."""


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


def _ratio(value: str) -> float:
    number = float(value)
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], e.g. 0.3 for 30% of the sentences, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbrief", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Summarize and tag news articles offline: extractive summaries (sentences of the "
                    "article itself, in its order) and topic tags with the sentences that earned them.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("file", nargs="?", default="-", metavar="FILE",
                        help='a text file (first line = title) or a .jsonl file; "-" or nothing = stdin')
    common.add_argument("--jsonl", action="store_true", help="read the input as JSONL whatever its name")
    common.add_argument("--progress", action="store_true",
                        help="show a progress bar on stderr (shown anyway when stderr is a terminal)")
    summary = argparse.ArgumentParser(add_help=False)
    summary.add_argument("--algorithm", "-a", choices=ALGORITHMS, default=DEFAULT_ALGORITHM,
                         help=f"how sentences are chosen (default: {DEFAULT_ALGORITHM}, position-aware "
                              "centrality; lead = first sentences; the rest are sumy's)")
    size = summary.add_mutually_exclusive_group()
    size.add_argument("--sentences", "-n", type=_positive_int, default=3, help="summary length (default: 3)")
    size.add_argument("--ratio", "-r", type=_ratio, help="summary length as a share of the article's sentences")
    tags = argparse.ArgumentParser(add_help=False)
    tags.add_argument("--taxonomy", "-t", type=Path, metavar="PATH",
                      help="topics YAML (default: the repository's config/topics.yaml)")
    for name, parents, text in [
        ("summarize", [common, summary], "write {id, summary} for each article"),
        ("tag", [common, tags], "write {id, tags} for each article"),
        ("process", [common, summary, tags], "write {id, summary, tags} for each article"),
    ]:
        commands.add_parser(name, parents=parents, help=text, description=text, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_db_commands(commands)
    web = commands.add_parser("web", help="serve the web app (archive, search, feeds, preferences) with uvicorn",
                              description="Serve the web app over the store (NEWSBRIEF_STORE_URL). It binds "
                                          "loopback unless NEWSBRIEF_WEB_TOKEN is set.")
    web.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8088, help="port (default 8088)")
    ledger = commands.add_parser("deliveries", help="list the delivery ledger (one JSON line per digest)",
                                 description="The delivery ledger of the store NEWSBRIEF_STORE_URL names: "
                                             "sent, sending, failed (retried), rejected (5xx), expired.")
    ledger.add_argument("--failed", action="store_true", help="only digests not (yet) sent")
    again = commands.add_parser("redeliver", help="send a run's failed digests again (original Message-IDs)")
    again.add_argument("run", metavar="RUN", help="the run key, as `newsbrief deliveries` shows it")
    subs = commands.add_parser("subscribers", help="who gets digests: subscribers.yaml with the choices made on the web",
                               description="Each subscriber declared in config/subscribers.yaml, with what they "
                                           "chose on the web since (stored in the store's subscriber_prefs, so it "
                                           "survives restarts): opt-out, topics, length, cap, stopped alerts.")
    subs.add_argument("--jsonl", action="store_true", help="one JSON object per subscriber instead of a table")
    from newsbrief.alerts import commands as alert_commands

    alert_commands.add_parser(commands)
    return parser


def subscribers_main(args: argparse.Namespace) -> int:
    """subscribers.yaml joined with subscriber_prefs; web rows of addresses no longer declared are listed too."""
    from newsbrief.config.settings import load_settings
    from newsbrief.config.subscribers import load_subscribers
    from newsbrief.digest.preferences import preferences
    from newsbrief.store import open_store

    try:
        settings = load_settings()
        declared = load_subscribers(settings.subscribers_file)
        prefs = preferences(open_store(settings.store_url))
    except ConfigError as exc:
        _error(str(exc))
        return EXIT_USAGE
    rows = []
    for sub in declared:
        pref = prefs.pop(sub.email.lower(), None)
        muted = set(pref.muted_alerts or []) if pref else set()
        rows.append({
            "email": sub.email, "name": sub.name,
            "state": "unsubscribed" if pref and pref.unsubscribed_at else "subscribed",
            "unsubscribed_at": pref.unsubscribed_at.isoformat() if pref and pref.unsubscribed_at else None,
            "topics": list(pref.topics) if pref and pref.topics is not None else list(sub.topics),
            "sentences": (pref.sentences if pref else None) or sub.sentences,
            "max_items": (pref.max_items if pref else None) or sub.max_items,
            "alerts": [a.id for a in sub.alerts if a.id not in muted], "stopped_alerts": sorted(muted),
            "changed_on_web": pref.updated_at.isoformat() if pref else None,
        })
    for email, pref in sorted(prefs.items()):
        rows.append({"email": email, "name": None, "state": "not declared (web choices kept, no mail)",
                     "unsubscribed_at": pref.unsubscribed_at.isoformat() if pref.unsubscribed_at else None,
                     "topics": pref.topics, "sentences": pref.sentences, "max_items": pref.max_items,
                     "alerts": [], "stopped_alerts": pref.muted_alerts or [],
                     "changed_on_web": pref.updated_at.isoformat()})
    if args.jsonl:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return EXIT_OK
    for row in rows:
        web = f"changed on the web {row['changed_on_web'][:16]}" if row["changed_on_web"] else "as declared"
        print(f"{row['email']}  {row['state']}  ({web})")
        print(f"    topics: {', '.join(row['topics'] or []) or 'all'}; sentences: {row['sentences'] or 'default'}; "
              f"at most {row['max_items']} stories")
        if row["alerts"] or row["stopped_alerts"]:
            print(f"    alerts: {', '.join(row['alerts']) or 'none'}"
                  + (f"; stopped: {', '.join(row['stopped_alerts'])}" if row["stopped_alerts"] else ""))
    return EXIT_OK


DB_EPILOG = """\
The store is NEWSBRIEF_STORE_URL (default: the SQLite file var/newsbrief.db), or --url.
An empty store is migrated when a task first opens it; a store made by an earlier release, or one
behind this code, must be upgraded with `newsbrief db upgrade` before the DAGs run again.

exit codes:
  0  the store is at this newsbrief's schema (after the upgrade, for upgrade)
  1  db current: the store needs `newsbrief db upgrade` (or is newer than this code)
  2  the store cannot be opened or upgraded (message on stderr)
"""


def _add_db_commands(commands) -> None:
    db = commands.add_parser("db", help="the store's schema: upgrade it, show its revision",
                             description="Schema migrations of the store (Alembic).", epilog=DB_EPILOG,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    url = argparse.ArgumentParser(add_help=False)
    url.add_argument("--url", metavar="URL", help="the store's SQLAlchemy URL (default: NEWSBRIEF_STORE_URL)")
    for name, text in [("upgrade", "migrate the store to this newsbrief's schema (a store of the release "
                                    "before migrations is recognised and stamped first)"),
                       ("current", "show the store's schema revision and whether it is up to date")]:
        actions.add_parser(name, parents=[url], help=text, description=text, epilog=DB_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)


def db_main(args: argparse.Namespace) -> int:
    from newsbrief.store import migrate
    from newsbrief.store.engine import Store

    try:
        url = args.url
        if not url:
            from newsbrief.config.settings import load_settings

            url = load_settings().store_url
        store = Store(url, check_schema=False)
    except ConfigError as exc:
        _error(str(exc))
        return EXIT_USAGE
    try:
        if args.db_command == "upgrade":
            before, after = migrate.upgrade(store.engine, url)
            if before.current == after.current:
                print(f"{after.store}: already at {', '.join(after.current)}")
            else:
                print(f"{after.store}: upgraded from {', '.join(before.current) or before.state} "
                      f"to {', '.join(after.current)}")
            return EXIT_OK
        with store.engine.connect() as connection:
            st = migrate.status(connection, url)
        print(st.describe())
        return EXIT_OK if st.state == "current" else EXIT_BAD_RECORDS
    except ConfigError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - a database error: name the store, not a traceback
        _error(f"{migrate.masked(url)}: {type(exc).__name__}: {exc}")
        return EXIT_USAGE
    finally:
        store.engine.dispose()


def web_main(args: argparse.Namespace) -> int:
    import ipaddress
    import os

    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        _error(f"--host {args.host!r} is not an IP address (fix: give e.g. 127.0.0.1)")
        return EXIT_USAGE
    if not loopback and not os.environ.get("NEWSBRIEF_WEB_TOKEN", "").strip():
        _error(f"refusing to serve on {args.host}, which is not loopback, without NEWSBRIEF_WEB_TOKEN "
               "(fix: set NEWSBRIEF_WEB_TOKEN to a long random string, or bind 127.0.0.1 behind a proxy)")
        return EXIT_USAGE
    import uvicorn

    from newsbrief.web.app import create_app

    print(f"newsbrief web on http://{args.host}:{args.port}/ (Ctrl-C stops it)", file=sys.stderr)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")
    return EXIT_OK


def _delivery_command(args: argparse.Namespace) -> int:
    """`deliveries` and `redeliver`: the ledger on the command line."""
    from datetime import UTC, datetime, timedelta

    from newsbrief.config.settings import load_settings
    from newsbrief.digest import delivery
    from newsbrief.store import open_store

    settings = load_settings()
    store = open_store(settings.store_url)
    if args.command == "deliveries":
        for row in delivery.ledger_rows(store, failed_only=args.failed):
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return EXIT_OK
    reopened = delivery.reopen(store, args.run)
    if not delivery.pending_digests(store, run_key=args.run):
        _error(f"run {args.run!r} has no failed digest to send (see `newsbrief deliveries --failed`)")
        return EXIT_OK
    report = delivery.redeliver_failed(store, settings, now=datetime.now(UTC), run_key=args.run,
                                       max_age=timedelta.max)
    for recipient in report.sent:
        print(json.dumps({"recipient": recipient, "status": "sent"}))
    for recipient, reason in report.failed.items():
        status = "rejected" if recipient in report.rejected else "failed"
        print(json.dumps({"recipient": recipient, "status": status, "error": reason}))
    if reopened:
        _error(f"{reopened} expired digest(s) of {args.run} were tried again on request")
    return EXIT_BAD_RECORDS if report.failed else EXIT_OK


def read_input(file: str, *, decode: bool = True) -> tuple[str, str]:
    """(label, text) of FILE or stdin; OSError/UnicodeDecodeError propagate to main as usage errors.
    With decode=False a file is only checked for readability: the seed reader decodes it itself,
    whatever its encoding."""
    if file == "-":
        return "<stdin>", sys.stdin.read()
    data = Path(file).read_bytes()
    return file, data.decode("utf-8-sig") if decode else ""


def plain_record(label: str, text: str) -> Record:
    """One article read the way seeds are (newsbrief.sources.seeds): a title-like first line is the title,
    otherwise the first sentence names the story and the whole text is body. Files go through the
    seed reader, so any common encoding, Markdown and HTML work too."""
    from newsbrief.sources import seeds

    if label != "<stdin>":
        try:
            doc = seeds.read_seed(label, any_suffix=True)
        except InputError as exc:
            raise Problem(str(exc)) from None
        return Record(Path(label).stem, doc.title, doc.body, label)
    try:
        doc = seeds.parse_text(text, label)
    except InputError:
        raise Problem(f"{label}: has no article text (fix: give a title line, then the article body)") from None
    return Record("stdin", doc.title, doc.body, label)


def jsonl_records(label: str, text: str) -> Iterator[Record | Problem]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{label}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Problem(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}) (fix: {JSONL_FIX})")
            continue
        if not isinstance(data, dict):
            yield Problem(f"{where}: a JSON {type(data).__name__}, not an object (fix: {JSONL_FIX})")
            continue
        text_value, title = data.get("text"), data.get("title", "")
        if not isinstance(text_value, str) or not text_value.strip():
            yield Problem(f'{where}: no "text" string with the article body (fix: {JSONL_FIX})')
            continue
        if title is None:
            title = ""
        if not isinstance(title, str):
            yield Problem(f'{where}: "title" must be a string, got {type(title).__name__} (fix: {JSONL_FIX})')
            continue
        ident = data.get("id", number)
        yield Record(str(ident), title, text_value, where)


class Processor:
    """Turns records into output rows for one command; taxonomy loaded once, lazily."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.taxonomy = None
        if args.command in ("tag", "process"):
            from newsbrief.tagging import load_taxonomy

            self.taxonomy = load_taxonomy(args.taxonomy)

    def __call__(self, record: Record) -> dict:
        row: dict = {"id": record.id}
        if self.args.command in ("summarize", "process"):
            row["summary"] = summarize(record.text, title=record.title, sentences=self.args.sentences,
                                       ratio=self.args.ratio, algorithm=self.args.algorithm)
            if not row["summary"]:
                raise Problem(f"{record.where}: article {record.id!r} has no sentence to summarize (only "
                              "headings, captions or boilerplate) (fix: pass the article body as text)")
        if self.taxonomy is not None:
            from newsbrief.tagging import tag_article

            row["tags"] = [{"tag": hit.tag, "score": round(float(hit.score), 4), "evidence": list(hit.evidence)}
                           for hit in tag_article(record.title, record.text, self.taxonomy)]
        return row


def _error(message: str) -> None:
    print(f"newsbrief: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "db":
        return db_main(args)
    if args.command == "web":
        return web_main(args)
    if args.command in ("deliveries", "redeliver"):
        return _delivery_command(args)
    if args.command == "subscribers":
        return subscribers_main(args)
    if args.command == "alerts":
        from newsbrief.alerts import commands as alert_commands

        return alert_commands.run(args)
    if args.file == "-" and sys.stdin.isatty():
        _error("no input: give FILE, or pipe an article into stdin (see newsbrief --help)")
        return EXIT_USAGE
    jsonl = args.jsonl or (args.file != "-" and Path(args.file).suffix.lower() in JSONL_SUFFIXES)
    try:
        label, text = read_input(args.file, decode=jsonl)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        _error(f"cannot read {args.file}: {reason} (fix: give a readable UTF-8 text or JSONL file)")
        return EXIT_USAGE
    try:
        processor = Processor(args)
    except ConfigError as exc:
        _error(f"invalid taxonomy: {exc}")
        return EXIT_USAGE
    if jsonl:
        records: Iterator[Record | Problem] = jsonl_records(label, text)
        total = sum(1 for line in text.split("\n") if line.strip())
    else:
        records = iter(_plain_or_problem(label, text))
        total = 1
    return _run(records, processor, total, show_progress=args.progress or sys.stderr.isatty())


def _plain_or_problem(label: str, text: str) -> list[Record | Problem]:
    try:
        return [plain_record(label, text)]
    except Problem as problem:
        return [problem]


def _run(records: Iterator[Record | Problem], processor: Processor, total: int, show_progress: bool) -> int:
    from tqdm import tqdm

    bad = 0
    with tqdm(records, total=total, unit="article", file=sys.stderr, disable=not show_progress) as bar:
        for item in bar:
            try:
                if isinstance(item, Problem):
                    raise item
                row = processor(item)
            except Problem as problem:
                bad += 1
                bar.write(f"newsbrief: {problem}", file=sys.stderr)
                continue
            try:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
                sys.stdout.flush()
            except BrokenPipeError:
                sys.stderr.close()
                return EXIT_OK
    if bad:
        _error(f"{bad} of {total} article(s) could not be processed; see the messages above")
        return EXIT_BAD_RECORDS
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
