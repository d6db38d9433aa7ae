"""The `newsbrief` console script, run for real: files, stdin, JSONL with bad lines, help, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_4578fa6d09c8fd9d.txt"
BBC = ROOT / ".." / "shared" / "data" / "bbc-summary-100"
SCRIPT = Path(sys.executable).parent / "newsbrief"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    if not SCRIPT.exists():
        pytest.skip(f"console script {SCRIPT} not installed (pip install -e . in the venv)")
    return subprocess.run([str(SCRIPT), *args], input=stdin if stdin is not None else "", capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def rows(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def bbc_article(name: str = "business/001.txt") -> str:
    path = BBC / "article" / name
    if not path.is_file():
        pytest.skip(f"BBC article not found at {path.resolve()} (../shared/data/bbc-summary-100)")
    return path.read_text(encoding="utf-8")


def tagging_ready() -> None:
    if not (ROOT / "plugins" / "newsbrief" / "tagging").exists() or not (ROOT / "config" / "topics.yaml").exists():
        pytest.skip("newsbrief.tagging or config/topics.yaml not present yet")


def test_help_explains_commands_input_examples_and_exit_codes():
    result = run("--help")
    assert result.returncode == 0
    for text in ("summarize", "tag", "process", "examples:", "exit codes:", "JSONL", "stdin"):
        assert text in result.stdout
    sub = run("summarize", "--help")
    assert sub.returncode == 0
    assert "--algorithm" in sub.stdout and "--ratio" in sub.stdout and "lexrank" in sub.stdout


def test_summarize_a_text_file():
    result = run("summarize", str(SEED))
    assert result.returncode == 0, result.stderr
    [row] = rows(result.stdout)
    assert row["id"] == SEED.stem
    assert len(row["summary"]) == 3
    # the first sentence is the seed's title (its first line is a paragraph): the summary does not repeat it
    assert not any(s.startswith("U.S. President Donald Trump held a lengthy conversation") for s in row["summary"])
    assert row["summary"][0].startswith("Despite the hour-long discussion")
    assert not any("Putin Rejects Comprehensive Ceasefire" in s for s in row["summary"])


def test_summarize_stdin_takes_first_line_as_title():
    article = bbc_article()
    title = article.split("\n")[0]
    result = run("summarize", "--sentences", "5", "--algorithm", "lexrank", stdin=article)
    assert result.returncode == 0, result.stderr
    [row] = rows(result.stdout)
    assert row["id"] == "stdin"
    assert len(row["summary"]) == 5 and title not in row["summary"]
    assert run("summarize", "-", "--ratio", "0.5", stdin=article).returncode == 0


def test_jsonl_with_bad_lines_reports_them_and_processes_the_rest(tmp_path):
    article = bbc_article()
    title, body = article.split("\n", 1)
    lines = [json.dumps({"id": "good-1", "title": title, "text": body}),
             '{"id": "broken", "title": "x", "text": "unterminated',
             "",
             json.dumps({"title": "No id", "text": body}),
             json.dumps({"id": "no-text", "title": "Only a title"}),
             json.dumps(["not", "an", "object"])]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("summarize", str(path), "-n", "2")
    assert result.returncode == 1
    out = rows(result.stdout)
    assert [row["id"] for row in out] == ["good-1", "4"]
    assert all(len(row["summary"]) == 2 for row in out)
    assert f"{path}:2: not valid JSON" in result.stderr
    assert f"{path}:5:" in result.stderr and '"text"' in result.stderr
    assert f"{path}:6:" in result.stderr
    assert "fix:" in result.stderr and "3 of 5" in result.stderr


def test_jsonl_flag_reads_stdin_as_jsonl():
    text = "The council approved the budget on Monday. The vote was 7 to 2 after a long debate."
    stream = json.dumps({"id": 7, "title": "Budget passes", "text": text}) + "\n"
    result = run("summarize", "--jsonl", "-n", "1", stdin=stream)
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == [{"id": "7", "summary": ["The council approved the budget on Monday."]}]


def test_unreadable_file_and_bad_options_are_usage_errors(tmp_path):
    missing = run("summarize", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2
    assert "nope.txt" in missing.stderr and "fix:" in missing.stderr
    assert missing.stdout == ""
    assert run("summarize", "--ratio", "1.5", str(SEED)).returncode == 2
    assert run("summarize", "--algorithm", "gpt", str(SEED)).returncode == 2
    assert run("summarize", "--ratio", "0.5", "--sentences", "2", str(SEED)).returncode == 2
    assert run().returncode == 2


def test_article_without_text_is_a_bad_record(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("Only A Title\n\nA Heading Too\n", encoding="utf-8")
    result = run("summarize", str(path))
    assert result.returncode == 1
    assert "empty.txt" in result.stderr and result.stdout == ""


def test_progress_bar_goes_to_stderr_only(tmp_path):
    path = tmp_path / "two.jsonl"
    body = "The council approved the budget on Monday. The vote was 7 to 2 after a long debate."
    path.write_text("\n".join(json.dumps({"id": i, "title": "t", "text": body}) for i in range(2)), encoding="utf-8")
    result = run("summarize", "--progress", str(path))
    assert result.returncode == 0
    assert "2/2" in result.stderr
    assert len(rows(result.stdout)) == 2


def test_tag_and_process_use_the_taxonomy():
    tagging_ready()
    tagged = run("tag", str(SEED))
    assert tagged.returncode == 0, tagged.stderr
    [row] = rows(tagged.stdout)
    assert set(row) == {"id", "tags"} and row["tags"]
    for hit in row["tags"]:
        assert set(hit) == {"tag", "score", "evidence"} and isinstance(hit["score"], float)
    both = run("process", str(SEED), "-n", "2")
    assert both.returncode == 0, both.stderr
    [row] = rows(both.stdout)
    assert len(row["summary"]) == 2 and [h["tag"] for h in row["tags"]] == [h["tag"] for h in rows(tagged.stdout)[0]["tags"]]


def test_bad_taxonomy_is_a_usage_error(tmp_path):
    tagging_ready()
    bad = tmp_path / "topics.yaml"
    bad.write_text("topics: [\n", encoding="utf-8")
    result = run("tag", "--taxonomy", str(bad), str(SEED))
    assert result.returncode == 2
    assert "topics.yaml" in result.stderr and result.stdout == ""


def test_text_file_in_another_encoding_and_without_suffix(tmp_path):
    text = "Café opens in Zürich\nThe café in Zürich opened on Monday with 40 seats. It serves coffee all day.\n"
    for name in ("latin.txt", "article"):
        path = tmp_path / name
        path.write_bytes(text.encode("latin-1"))
        result = run("summarize", str(path), "-n", "1")
        assert result.returncode == 0, result.stderr
        assert rows(result.stdout)[0]["summary"] == ["The café in Zürich opened on Monday with 40 seats."]
