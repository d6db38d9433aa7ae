"""Seed confinement: only regular files under seeds/ are read; every refusal names the pattern or file
as `seeds/<name>`, never an absolute server path (that is what the digest footer shows)."""

import os

import pytest
from sqlalchemy import select

from newsbrief.config.settings import load_settings
from newsbrief.sources.seed_ingest import ingest_seed_files
from newsbrief.store import Article, Problem, Store

ARTICLE = "Secret plans\n\nThe board met on Tuesday and agreed a secret plan for the port. It was not public.\n"


@pytest.fixture
def env(project):
    settings = load_settings()
    store = Store(settings.store_url)
    outside = project / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text(ARTICLE)
    yield settings, store, project
    store.dispose()


def problems(store):
    with store.session() as s:
        return {p.source: p.reason for p in s.execute(select(Problem)).scalars()}


def titles(store):
    with store.session() as s:
        return set(s.execute(select(Article.title)).scalars())


def test_symlink_outside_dangling_link_and_fifo_are_refused_by_name(env):
    settings, store, root = env
    seeds = root / "seeds"
    (seeds / "linked.txt").symlink_to(root / "private" / "secret.txt")
    (seeds / "gone.txt").symlink_to(root / "private" / "missing.txt")
    os.mkfifo(seeds / "pipe.txt")
    (seeds / "inside.txt").symlink_to(next(p for p in seeds.iterdir() if p.name.startswith("000_")))
    result = ingest_seed_files(store, settings, "run-1")
    assert "Secret plans" not in titles(store)
    found = problems(store)
    assert "outside seeds/" in found["seeds/linked.txt"]
    assert "dangling symlink" in found["seeds/gone.txt"]
    assert "not a regular file" in found["seeds/pipe.txt"]
    assert result.article_ids, "the real seed (and a link to it inside seeds/) is still read"
    assert not any(str(root) in source or str(root) in reason for source, reason in found.items())


@pytest.mark.parametrize("pattern", ["../private/*.txt", "*/../../private/secret.txt", "{root}/private/*.txt"])
def test_patterns_escaping_seeds_are_refused(env, pattern):
    settings, store, root = env
    pattern = pattern.format(root=root)
    result = ingest_seed_files(store, settings, "run-1", patterns=pattern)
    assert result.article_ids == [] and "Secret plans" not in titles(store)
    ((source, reason),) = problems(store).items()
    assert pattern in source and ("'..'" in reason or "absolute" in reason)


def test_bad_seed_is_listed_under_seeds_not_by_absolute_path(env):
    settings, store, root = env
    (root / "seeds" / "empty.txt").write_text("")
    ingest_seed_files(store, settings, "run-1")
    assert "seeds/empty.txt" in problems(store)
