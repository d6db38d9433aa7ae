import os

import pytest

from newsbrief.errors import InputError
from newsbrief.sources.seeds import find_seeds, read_seed, read_seeds
from newsbrief.text.sentences import HEADING, PARAGRAPH
from tests.conftest import SEED


def test_seed_article_title_body_and_headings():
    doc = read_seed(SEED)
    assert doc.title.startswith("U.S. President Donald Trump held a lengthy conversation")
    assert doc.title.endswith("Ukraine.")
    headings = [b.text for b in doc.blocks if b.kind == HEADING]
    assert "Putin Rejects Comprehensive Ceasefire" in headings
    assert "Continued Tensions with the U.S. and China" in headings
    assert len(headings) == 6
    assert sum(b.kind == PARAGRAPH for b in doc.blocks) == 7
    # the opening paragraph stays in the body: its first sentence names the story, it is not lost
    assert doc.blocks[0].text.startswith(doc.title)


def test_content_hash_ignores_whitespace_but_not_words(tmp_path):
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("Title here\nSome text about tariffs.\n")
    b.write_text("Title here\r\n\r\nSome   text about tariffs.  \n")
    assert read_seed(a).content_hash == read_seed(b).content_hash
    b.write_text("Title here\nSome text about sanctions.\n")
    assert read_seed(a).content_hash != read_seed(b).content_hash


def test_markdown_and_html_seeds(tmp_path):
    (tmp_path / "m.md").write_text("# Talks resume in Geneva\n\nDelegates **met** on Monday. [More](http://x)\n\n"
                                   "## Next steps\n\n- A second round is planned.\n")
    (tmp_path / "h.html").write_text("<html><head><title>Site | Talks</title></head><body><nav>Home News</nav>"
                                     "<h1>Talks &amp; truce</h1><p>Delegates met on Monday.</p><h2>Next steps</h2>"
                                     "<p>A second round is planned.</p><footer>(c) site</footer></body></html>")
    md = read_seed(tmp_path / "m.md")
    assert md.title == "Talks resume in Geneva"
    assert [b.kind for b in md.blocks] == [PARAGRAPH, HEADING, PARAGRAPH]
    assert md.blocks[0].text == "Delegates met on Monday. More"
    html = read_seed(tmp_path / "h.html")
    assert html.title == "Talks & truce"
    assert "Home News" not in html.body and "(c) site" not in html.body
    assert [b.text for b in html.blocks if b.kind == HEADING] == ["Next steps"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "cp1252", "latin-1"])
def test_encodings_are_detected(tmp_path, encoding):
    text = "Zölle und Café: l’économie\nLes négociations reprennent à Genève. Très bien, dit-il à l’AFP.\n"
    path = tmp_path / "enc.txt"
    path.write_bytes(text.encode(encoding, errors="replace" if encoding == "latin-1" else "strict"))
    doc = read_seed(path)
    assert "négociations reprennent à Genève" in doc.body


def test_bad_files_are_named_and_skipped(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("  \n\n ")
    (tmp_path / "image.txt").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "big.txt").write_text("Title\n" + "word " * 5000)
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "only-title.txt").write_text("Just a title\n")
    (tmp_path / "good.txt").write_text("A real story\nIt has one sentence of text.\n")
    scan = read_seeds(find_seeds(tmp_path), max_bytes=10_000)
    assert [d.path.name for d in scan.documents] == ["good.txt"]
    reasons = {os.path.basename(p.source): str(p) for p in scan.problems}
    assert set(reasons) == {"empty.txt", "blank.txt", "image.txt", "big.txt", "report.pdf", "only-title.txt"}
    assert "empty" in reasons["empty.txt"] and "fix:" in reasons["empty.txt"]
    assert "binary" in reasons["image.txt"]
    assert "too large" in reasons["big.txt"] and "NEWSBRIEF_MAX_SEED_BYTES" in reasons["big.txt"]
    assert "unsupported file type '.pdf'" in reasons["report.pdf"]
    for message in reasons.values():
        assert str(tmp_path) in message


def test_unreadable_file(tmp_path):
    (tmp_path / "folder.txt").mkdir()
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    for name in ("folder.txt", "dangling.txt"):
        with pytest.raises(InputError, match="cannot be read") as info:
            read_seed(tmp_path / name)
        assert name in str(info.value)


def test_find_seeds_globs_and_ignores_hidden_and_readme(tmp_path):
    for name in ("a.txt", "b.md", ".hidden.txt", "README.md", "c.html"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in find_seeds(tmp_path)] == ["a.txt", "b.md", "c.html"]
    assert [p.name for p in find_seeds(tmp_path, "*.txt, *.html")] == ["a.txt", "c.html"]
