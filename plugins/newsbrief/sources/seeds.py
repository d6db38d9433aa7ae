"""Reading seed articles dropped in `seeds/`: plain text, Markdown or HTML, any common encoding.

A bad file (empty, binary, unreadable, over-size, unsupported type) raises `InputError` naming the
file and the fix; `read_seeds` collects those instead of stopping, so one bad file costs only itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from newsbrief.errors import InputError
from newsbrief.text.sentences import HEADING, PARAGRAPH, Block, is_heading, normalize_space, split_sentences

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES
MAX_TITLE_WORDS = 25

_LATIN_LOOKALIKES = {"cp1250", "iso8859_2", "mac_latin2", "cp852", "cp775", "cp850", "mac_iceland", "mac_roman",
                     "latin_1", "iso8859_15", "cp1257", "iso8859_4", "iso8859_13"}
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_MD_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")


@dataclass
class SeedDocument:
    """A seed article: its title, its body blocks (headings kept as structure) and a content hash."""

    path: Path
    title: str
    blocks: list[Block] = field(default_factory=list)
    encoding: str = "utf-8"

    @property
    def body(self) -> str:
        """The body as one block per line: what the store keeps and the summarizer reads."""
        return "\n".join(b.text for b in self.blocks)

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.body)


@dataclass
class SeedScan:
    """The outcome of reading a folder of seeds: documents read and files refused, with reasons."""

    documents: list[SeedDocument] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)


def content_hash(title: str, body: str) -> str:
    """Identity of an article's content, insensitive to whitespace and case."""
    norm = " ".join(f"{title}\n{body}".split()).casefold()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def decode_bytes(data: bytes, source: str) -> tuple[str, str]:
    """Decode text whose encoding is unknown; refuse binary data with a message naming the source."""
    if not data.strip():
        raise InputError(source, "the file is empty", "put the article text in it, or delete it")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(source, "looks like a binary file, not text",
                         "save the article as .txt, .md or .html text")
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise InputError(source, f"starts with a {enc} byte-order mark but is not valid {enc} "
                                 f"(byte {exc.start}: {exc.reason})",
                                 "save the file again as UTF-8 text") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InputError(source, "cannot detect the text encoding (binary data?)",
                         "save the file as UTF-8 text")
    text, encoding = str(best), best.encoding
    if encoding in _LATIN_LOOKALIKES:
        # Short Western text is often guessed as a Central European code page; Windows-1252 is likelier.
        with contextlib.suppress(UnicodeDecodeError):
            text, encoding = data.decode("cp1252"), "cp1252"
    if _control_ratio(text) > 0.05:
        raise InputError(source, "looks like a binary file, not text",
                         "save the article as .txt, .md or .html text")
    return text, encoding


def _control_ratio(text: str) -> float:
    sample = text[:4096]
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / max(1, len(sample))


def read_seed(path: str | Path, *, max_bytes: int = 5 * 1024 * 1024, any_suffix: bool = False) -> SeedDocument:
    """Read one seed file into a SeedDocument, or raise InputError saying what is wrong and how to fix it.

    `any_suffix` reads a file of another or no suffix as plain text (the CLI's `newsbrief summarize article`).
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES and not any_suffix:
        raise InputError(source, f"unsupported file type '{suffix or '(none)'}'",
                         "save it as .txt, .md or .html")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(source, f"too large ({size:,} bytes; the limit is {max_bytes:,})",
                             "split the file, or raise NEWSBRIEF_MAX_SEED_BYTES")
        data = path.read_bytes()
    except InputError:
        raise
    except OSError as exc:
        raise InputError(source, f"cannot be read: {exc.strerror or exc}",
                         "check that the file exists and is readable") from None
    text, encoding = decode_bytes(data, source)
    if suffix in HTML_SUFFIXES:
        title, blocks = _parse_html(text)
    elif suffix in MARKDOWN_SUFFIXES:
        title, blocks = _parse_markdown(text)
    else:
        return parse_text(text, source, path=path, encoding=encoding)
    return _document(source, path, title, blocks, encoding)


def parse_text(text: str, source: str = "<text>", *, path: Path | None = None,
               encoding: str = "utf-8") -> SeedDocument:
    """A plain-text article: a title-like first line is the title, else its first sentence names the story."""
    title, blocks = _parse_text(text)
    return _document(source, path or Path(source), title, blocks, encoding)


def _document(source: str, path: Path, title: str, blocks: list[Block], encoding: str) -> SeedDocument:
    if not title or not any(b.kind == PARAGRAPH for b in blocks):
        raise InputError(source, "has no article text (only a title or headings)",
                         "put at least one paragraph of text under the title")
    return SeedDocument(path=path, title=title, blocks=blocks, encoding=encoding)


def read_seeds(paths, *, max_bytes: int = 5 * 1024 * 1024) -> SeedScan:
    """Read many seed files; bad ones are reported in `problems`, the others still read."""
    scan = SeedScan()
    for path in paths:
        try:
            scan.documents.append(read_seed(path, max_bytes=max_bytes))
        except InputError as exc:
            scan.problems.append(exc)
    return scan


def seed_label(path: str | Path, seeds_dir: str | Path) -> str:
    """A seed's name as readers see it: `seeds/<relative path>`, never the server's absolute path."""
    path, root = Path(path), Path(seeds_dir)
    for base in (root, root.resolve()):
        try:
            return f"seeds/{path.relative_to(base).as_posix()}"
        except ValueError:
            continue
    return f"seeds/{path.name}"


def scan_seed_paths(seeds_dir: str | Path, patterns: str | list[str] = "*") -> tuple[list[Path], list[InputError]]:
    """Regular files under `seeds_dir` matching the globs, and refusals naming each pattern or file.

    Refused: absolute patterns and `..`, symlinks (or symlinked folders) resolving outside seeds/,
    dangling symlinks and special files (FIFOs, devices, sockets). Hidden files and READMEs are ignored.
    """
    seeds_dir = Path(seeds_dir)
    root = seeds_dir.resolve()
    if isinstance(patterns, str):
        patterns = [p.strip() for p in patterns.split(",") if p.strip()] or ["*"]
    found: set[Path] = set()
    refused: dict[str, InputError] = {}
    fix_pattern = "give a glob relative to seeds/, e.g. '*.txt' or '2025-06-*'"
    for pattern in patterns:
        if Path(pattern).is_absolute() or pattern.startswith(("/", "\\")) or ":" in pattern[:3]:
            refused[pattern] = InputError(f"seeds pattern {pattern!r}", "is absolute: only files under seeds/ are read",
                                          fix_pattern)
            continue
        if ".." in Path(pattern.replace("\\", "/")).parts:
            refused[pattern] = InputError(f"seeds pattern {pattern!r}", "contains '..': only files under seeds/ "
                                          "are read", fix_pattern)
            continue
        try:
            matches = list(seeds_dir.glob(pattern))
        except (NotImplementedError, ValueError) as exc:
            refused[pattern] = InputError(f"seeds pattern {pattern!r}", f"is not a usable glob ({exc})", fix_pattern)
            continue
        for path in matches:
            if path.name.startswith(".") or path.stem.upper() == "README":
                continue
            label = seed_label(path, seeds_dir)
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                refused[label] = InputError(label, "is a dangling symlink (its target does not exist)",
                                            "point the link at a file under seeds/, or delete it")
                continue
            if not target.is_relative_to(root):
                refused[label] = InputError(label, "is a symlink to a file outside seeds/: not read",
                                            "copy the file into seeds/ instead of linking to it")
                continue
            try:
                mode = target.stat().st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                refused[label] = InputError(label, "is not a regular file (a FIFO, device or socket): not read",
                                            "put only regular text files in seeds/")
                continue
            found.add(path)
    return sorted(found), list(refused.values())


def find_seeds(seeds_dir: str | Path, patterns: str | list[str] = "*") -> list[Path]:
    """Seed files under `seeds_dir` matching glob patterns, sorted (see `scan_seed_paths` for refusals)."""
    return scan_seed_paths(seeds_dir, patterns)[0]


def _title_and_blocks(lines: list[str], first_is_title: bool = True) -> tuple[str, list[Block]]:
    lines = [line for line in lines if line]
    if not lines:
        return "", []
    blocks: list[Block] = []
    first = lines[0]
    if first_is_title and (is_heading(first) or _looks_like_title(first)):
        title, rest = first, lines[1:]
    else:
        # A first line that is a paragraph: its first sentence names the story, and the paragraph stays body.
        sentences = split_sentences(first)
        title = sentences[0] if sentences else first
        rest = lines
    for line in rest:
        blocks.append(Block(HEADING if is_heading(line) else PARAGRAPH, line))
    return title.strip(), blocks


def _looks_like_title(line: str) -> bool:
    return len(line.split()) <= MAX_TITLE_WORDS and len(split_sentences(line)) == 1


def _parse_text(text: str) -> tuple[str, list[Block]]:
    return _title_and_blocks(normalize_space(text).split("\n"))


def _parse_markdown(text: str) -> tuple[str, list[Block]]:
    title = ""
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block(PARAGRAPH, " ".join(paragraph)))
            paragraph.clear()

    for raw in normalize_space(text).split("\n"):
        if not raw or _MD_RULE.match(raw):
            flush()
            continue
        heading = _MD_HEADING.match(raw)
        line = _MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1", heading.group(2) if heading else raw)).strip()
        if heading:
            flush()
            if not title and heading.group(1) == "#":
                title = line
            else:
                blocks.append(Block(HEADING, line))
        elif _MD_LIST.match(raw):
            flush()
            blocks.append(Block(PARAGRAPH, _MD_LIST.sub("", line)))
        else:
            paragraph.append(line.lstrip("> ").strip())
    flush()
    if title:
        return title, blocks
    return _title_and_blocks([b.text for b in blocks])


def _parse_html(text: str) -> tuple[str, list[Block]]:
    import lxml.html

    from newsbrief.sources.extract import NOT_XML_TEXT

    try:
        root = lxml.html.document_fromstring(NOT_XML_TEXT.sub("", text))
    except Exception:
        return "", []
    for bad in root.xpath("//script|//style|//noscript|//nav|//footer|//header|//aside|//form"):
        bad.drop_tree()
    h1 = root.xpath("//h1")
    title_el = root.xpath("//title")
    title = _text_of(h1[0]) if h1 else (_text_of(title_el[0]) if title_el else "")
    blocks: list[Block] = []
    for el in root.iter("h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre"):
        if el.tag in ("p", "li") and el.getparent() is not None and el.getparent().tag == "blockquote":
            continue
        content = _text_of(el)
        if not content:
            continue
        kind = HEADING if el.tag.startswith("h") else PARAGRAPH
        blocks.append(Block(kind, content))
    if not blocks:
        body = root.find("body")
        if body is not None:
            lines = normalize_space(body.text_content()).split("\n")
            return _title_and_blocks(lines) if not title else (title, _title_and_blocks(lines, False)[1])
    if not title:
        return _title_and_blocks([b.text for b in blocks])
    return title, blocks


def _text_of(el) -> str:
    return " ".join(el.text_content().split())
