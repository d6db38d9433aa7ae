"""Property tests (hypothesis) for the sentence splitter: any text splits without raising, into non-empty,
stripped sentences made of the input's own characters, in order."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from newsbrief.text.sentences import body_sentences, segment, split_sentences

_PIECES = st.sampled_from([
    "U.S. President", "Dr. Smith said.", "It rose 3.5 percent.", "Really?!", "Wait…", "\"Quoted.\"", "(Aside.)",
    "e.g. this", "Mr.", "No.", "\n", "\n\n", "\r\n", "\t", "  ", "\u00a0", "\u2009", "\u200b", "\u3000", "\x00",
    "eco-\nnomy", "Title Case Heading\n", "»Zitat.«", "中文。", "é", "e\u0301", "\ufeff", "...", "?!", ".",
])
TEXT = st.one_of(st.text(max_size=300), st.lists(st.one_of(_PIECES, st.text(max_size=30)), max_size=50).map("".join))


def _is_subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(ch in it for ch in needle)


def _visible(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFC", text) if not ch.isspace())


@settings(max_examples=400, deadline=None)
@given(text=TEXT)
@example(text="")
@example(text="...")
@example(text="U.S. officials met. Talks resume on Monday.\nNext Heading\nA line\nwrapped here.")
def test_any_text_splits_into_nonempty_sentences_of_its_own_characters(text):
    sentences = split_sentences(text)
    assert all(isinstance(s, str) and s and s == s.strip() for s in sentences)
    assert all("\n" not in s for s in sentences)
    assert _is_subsequence("".join(_visible(s) for s in sentences), _visible(text))
    if not _visible(text):
        assert sentences == []
    body = body_sentences(text)
    assert all(s and s == s.strip() for s in body)
    assert _is_subsequence("".join(_visible(s) for s in body), _visible(text))
    for block in segment(text):
        assert block.text and block.text == block.text.strip() and "\n" not in block.text
