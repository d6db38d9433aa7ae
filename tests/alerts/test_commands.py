"""`newsbrief alerts preview` on a real store: JSONL of matching articles with the terms that matched."""

from __future__ import annotations

import json

from newsbrief.cli import main
from newsbrief.store.engine import open_store
from newsbrief.store.schema import Article


def test_preview_prints_matching_articles_with_terms(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("NEWSBRIEF_STORE_URL", url)
    store = open_store(url)
    with store.session() as s:
        s.add(Article(content_hash="a", url="http://x/1", source_kind="feed", source="BBC", origin="o",
                      title="US raises tariffs on steel", text="Farmers worry."))
        s.add(Article(content_hash="b", url="http://x/2", source_kind="feed", source="BBC", origin="o",
                      title="Wheat harvest", text="Rain."))
    assert main(["alerts", "preview", "tariff steel"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["url"], r["matched"]) for r in rows] == [("http://x/1", ["tariff", "steel"])]


def test_preview_refuses_a_bad_query_with_its_position(capsys):
    assert main(["alerts", "preview", "tariff OR"]) == 2
    assert "at position 9: expected a search term" in capsys.readouterr().err
