"""OPML export of feeds.yaml's feeds, and an OPML import that checks every outline and reports by line.

The import does not edit feeds.yaml: configuration stays a reviewed file, not something a web form
rewrites. It returns, for each feed outline, what would happen (new, already declared, or refused
with the reason) and the YAML entries of the new feeds to paste under `feeds:`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET
from xml.parsers import expat

import yaml

from newsbrief.sources.feeds import FeedConfig, _default_name
from newsbrief.sources.urls import canonical_url

MAX_OPML_BYTES = 2 * 1024 * 1024


def export_opml(feeds: list[FeedConfig], title: str = "newsbrief feeds") -> str:
    """OPML 2.0 with one rss outline per feed; topics go in `category` (OPML's comma-separated list)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for f in feeds:
        attrs = {"type": "rss", "text": f.name, "title": f.name, "xmlUrl": f.url}
        if f.topics:
            attrs["category"] = ",".join(f.topics)
        if f.language:
            attrs["language"] = f.language
        if not f.enabled:
            attrs["newsbriefEnabled"] = "false"
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


@dataclass
class ImportLine:
    line: int
    name: str
    url: str
    status: str  # new | declared | refused
    reason: str = ""


@dataclass
class ImportReport:
    lines: list[ImportLine] = field(default_factory=list)
    error: str | None = None  # the whole file was unusable

    @property
    def new(self) -> list[ImportLine]:
        return [x for x in self.lines if x.status == "new"]

    @property
    def declared(self) -> list[ImportLine]:
        return [x for x in self.lines if x.status == "declared"]

    @property
    def refused(self) -> list[ImportLine]:
        return [x for x in self.lines if x.status == "refused"]

    def yaml(self) -> str:
        """The new feeds as feeds.yaml entries (a list to paste under `feeds:`)."""
        if not self.new:
            return ""
        return yaml.safe_dump([{"url": x.url, "name": x.name} for x in self.new], sort_keys=False,
                              allow_unicode=True)


def _outlines(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line, attributes) of every <outline>; entity declarations are refused (no expansion bombs)."""
    found: list[tuple[int, dict[str, str]]] = []
    parser = expat.ParserCreate()

    def start(name, attrs):
        if name == "outline":
            found.append((parser.CurrentLineNumber, attrs))

    def no_entities(name, *_):
        raise ValueError(f"the file declares the XML entity {name!r}; OPML needs none")

    parser.StartElementHandler = start
    parser.EntityDeclHandler = no_entities
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.Parse(data, True)
    return found


def import_opml(data: bytes, declared: list[FeedConfig]) -> ImportReport:
    if len(data) > MAX_OPML_BYTES:
        return ImportReport(error=f"the file is {len(data):,} bytes; at most {MAX_OPML_BYTES:,} are read")
    try:
        outlines = _outlines(data)
    except expat.ExpatError as exc:
        return ImportReport(error=f"not well-formed XML at line {exc.lineno}, column {exc.offset + 1}: "
                                  f"{expat.ErrorString(exc.code)}")
    except ValueError as exc:
        return ImportReport(error=str(exc))
    if not outlines:
        return ImportReport(error="no <outline> elements: is this an OPML subscription list?")
    known_urls = {canonical_url(f.url) for f in declared}
    known_names = {f.name.lower() for f in declared}
    report = ImportReport()
    seen: dict[str, int] = {}
    names: dict[str, int] = {}
    for line, attrs in outlines:
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        name = (attrs.get("title") or attrs.get("text") or "").strip()
        if not url:
            if (attrs.get("type") or "").lower() in ("rss", "atom"):
                report.lines.append(ImportLine(line, name, "", "refused", "a feed outline without xmlUrl"))
            continue  # a folder
        if not re.match(r"^https?://", url, re.IGNORECASE) or canonical_url(url) is None:
            report.lines.append(ImportLine(line, name, url, "refused", "xmlUrl is not an absolute http(s) URL"))
            continue
        name = name or _default_name(url)
        key = canonical_url(url)
        if key in known_urls:
            report.lines.append(ImportLine(line, name, url, "declared", "already in feeds.yaml"))
        elif key in seen:
            report.lines.append(ImportLine(line, name, url, "refused", f"the same feed as line {seen[key]}"))
        elif name.lower() in known_names or name.lower() in names:
            where = "feeds.yaml" if name.lower() in known_names else f"line {names[name.lower()]}"
            report.lines.append(ImportLine(line, name, url, "refused",
                                           f"the name {name!r} is already used by {where}: rename one of them"))
        else:
            report.lines.append(ImportLine(line, name, url, "new"))
            names[name.lower()] = line
        seen.setdefault(key, line)
    return report
