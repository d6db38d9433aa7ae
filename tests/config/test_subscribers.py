import pytest

from newsbrief.config.subscribers import load_subscribers, override_recipients
from newsbrief.errors import ConfigError
from tests.conftest import ROOT

TOPICS = {"ceasefire", "tariffs", "humanitarian", "sport"}


def write(tmp_path, text):
    path = tmp_path / "subscribers.yaml"
    path.write_text(text)
    return path


def test_default_file_loads():
    subs = load_subscribers(ROOT / "config" / "subscribers.yaml")
    assert subs and all("@" in s.email for s in subs)


def test_fields_and_defaults(tmp_path):
    path = write(tmp_path, "defaults:\n  max_items: 4\nsubscribers:\n"
                           "  - email: a@example.org\n    name: A\n    topics: [tariffs]\n"
                           "  - email: b@example.org\n    max_items: 2\n    sentences: 2\n")
    a, b = load_subscribers(path, known_topics=TOPICS)
    assert (a.email, a.name, a.topics, a.max_items) == ("a@example.org", "A", ("tariffs",), 4)
    assert (b.topics, b.max_items, b.sentences) == ((), 2, 2)
    assert a.wants(["tariffs", "sport"]) and not a.wants(["sport"]) and b.wants([])


@pytest.mark.parametrize("body, line, words", [
    ("subscribers:\n  - email: not-an-address\n", 2, "not a valid email"),
    ("subscribers:\n  - email: a@example.org\n    topics: [tarifs]\n", 3, "unknown topic 'tarifs'"),
    ("subscribers:\n  - email: a@example.org\n  - email: A@example.org\n", 3, "listed twice"),
    ("subscribers:\n  - email: a@example.org\n    max_items: many\n", 3, "'max_items' must be a whole number"),
    ("subscribers:\n  - email: a@example.org\n    topic: [tariffs]\n", 3, "unknown key 'topic'"),
    ("subscribers:\n  - name: No address\n", 2, "'email' is missing"),
    ("subscribers:\n  - email: a@example.org\n   topics: [x]\n", 3, "not valid YAML"),
    ("subscriber:\n  - email: a@example.org\n", 1, "unknown key 'subscriber'"),
])
def test_bad_files_point_at_the_line(tmp_path, body, line, words):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_subscribers(path, known_topics=TOPICS)
    message = str(info.value)
    assert f"{path}:{line}:" in message, message
    assert words in message


def test_recipients_override(tmp_path):
    path = write(tmp_path, "subscribers:\n  - email: a@example.org\n    topics: [tariffs]\n")
    subs = load_subscribers(path)
    out = override_recipients("A@example.org, new@example.org", subs)
    assert [s.email for s in out] == ["a@example.org", "new@example.org"]
    assert out[0].topics == ("tariffs",) and out[1].topics == ()
    assert override_recipients([], subs) == subs
    with pytest.raises(ConfigError, match="not a valid email address: 'nope'"):
        override_recipients(["nope"], subs)
