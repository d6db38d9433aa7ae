"""Hard-wrapped text reads as whole sentences; headings, lists, quotes, tables and sign-offs stay apart."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from newsbrief.text.document import is_whole_sentence
from newsbrief.text.sentences import HEADING, body_sentences, segment
from newsbrief.text.summarize import summarize
from newsbrief.text.unwrap import unwrap

ROOT = Path(__file__).resolve().parents[2]
REUTERS = ROOT / ".." / "shared" / "data" / "tagging" / "reuters21578-train" / "articles.jsonl"
SEED = ROOT / "seeds" / "000_4578fa6d09c8fd9d.txt"

PARAGRAPH = ("Showers continued throughout the week in the Bahia cocoa zone, alleviating the drought since "
             "early January and improving prospects for the coming temporao, although normal humidity levels "
             "have not been restored, Comissaria Smith said in its weekly review. The dry period means the "
             "temporao will be late this year. Arrivals for the week ended February 22 were 155,221 bags of "
             "60 kilos, making a cumulative total for the season of 5.93 mln against 5.81 at the same stage "
             "last year.")

WORDS = st.sampled_from(["the", "minister", "said", "on", "Tuesday", "that", "talks", "with", "union", "leaders",
                         "would", "resume", "next", "week", "after", "the", "breakdown", "over", "pay", "and",
                         "pensions", "in", "London", "officials", "U.S.", "Government", "Acme", "Corp", "L.K.",
                         "Evans", "(ICO)", "3.5 pct,", "1,250 dlrs", "vs", "of"])


@st.composite
def paragraphs(draw):
    sentences = []
    for _ in range(draw(st.integers(2, 5))):
        # News style spells out a number that opens a sentence; after "in." a figure is ambiguous even to a
        # reader (Punkt keeps "in. 1,250 dlrs" as one sentence, a kept line break makes it two).
        words = [draw(WORDS.filter(lambda w: not w[0].isdigit()))] + draw(st.lists(WORDS, min_size=5, max_size=24))
        sentence = " ".join(words)
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(sentences)


@settings(max_examples=200, deadline=None)
@given(text=paragraphs(), width=st.integers(40, 100))
def test_rewrapping_a_paragraph_at_any_width_gives_the_same_sentences(text, width):
    """Once one line break falls inside a sentence the text is known to be wrapped. (Were every break at a
    sentence end, the lines would be indistinguishable from one-sentence paragraphs, and are kept apart.)"""
    lines = textwrap.wrap(text, width)
    assume(any(not line.endswith(".") for line in lines[:-1]))
    assert body_sentences("\n".join(lines)) == body_sentences(text)


@pytest.mark.parametrize("width", [40, 55, 65, 72, 80, 100])
def test_a_real_wire_paragraph_wrapped_at_any_width_reads_whole(width):
    wrapped = "\n".join(textwrap.wrap(PARAGRAPH, width))
    assert body_sentences(wrapped) == body_sentences(PARAGRAPH)
    assert len(body_sentences(wrapped)) == 3


def test_indented_paragraph_starts_and_the_sign_off_stay_apart():
    text = ("Standard Oil Co and BP North America\nInc said they plan to form a venture to manage the money market\n"
            "borrowing and investment activities of both companies.\n"
            "    BP North America is a subsidiary of British Petroleum Co\nPlc, which also owns a 55 pct "
            "interest in Standard Oil.\n\n Reuter")
    assert unwrap(text).split("\n") == [
        "Standard Oil Co and BP North America Inc said they plan to form a venture to manage the money market "
        "borrowing and investment activities of both companies.",
        "BP North America is a subsidiary of British Petroleum Co Plc, which also owns a 55 pct interest in "
        "Standard Oil.", "", "Reuter"]
    assert "Reuter" not in " ".join(summarize(text))


def test_an_earnings_table_is_not_a_sentence():
    text = ("Acme Corp said its fourth quarter loss narrowed as sales of its new\nwidgets rose sharply in the "
            "United States and Europe.\n    Shr loss 22 cts vs loss 18 cts\n    Net loss 1,234,000 vs loss "
            "987,000\n    Revs 12.3 mln vs 10.1 mln\n    Nine mths\n    Shr loss 41 cts vs loss 30 cts")
    blocks = segment(text)
    assert blocks[0].text.startswith("Acme Corp said") and blocks[0].text.endswith("Europe.")
    assert all(b.kind == HEADING for b in blocks[1:])
    assert summarize(text) == [blocks[0].text]


def test_lists_quotes_headings_and_hard_breaks_keep_their_lines():
    text = ("# Weekly notes\n\nThe board met on Monday and agreed three changes to the rules that\n"
            "govern members of the club, the secretary said in a letter.\n\n"
            "- Fees rise by five percent from the first of\n  April for all members.\n"
            "- The bar closes at eleven.\n\n"
            "> On Sunday you wrote that the changes were\n> never put to a vote of the members.\n\n"
            "Signed by the secretary  \nJohn Smith, for the club committee and its\nmembers.")
    lines = unwrap(text).split("\n")
    assert "# Weekly notes" in lines
    assert ("The board met on Monday and agreed three changes to the rules that govern members of the club, "
            "the secretary said in a letter.") in lines
    assert "- Fees rise by five percent from the first of April for all members." in lines
    assert "- The bar closes at eleven." in lines
    assert "> On Sunday you wrote that the changes were never put to a vote of the members." in lines
    assert "Signed by the secretary" in lines


def test_text_that_is_not_wrapped_is_left_as_is():
    seed = SEED.read_text(encoding="utf-8")
    assert unwrap(seed) == seed
    short = "Key points\nThe minister resigned on Tuesday.\nHer deputy takes over."
    assert unwrap(short) == short


def test_an_article_without_any_whole_sentence_still_gets_a_summary():
    """A list of labels has no sentence that starts and ends like one: the reader gets those lines rather
    than nothing."""
    text = "prices rose again in the markets today, traders noted\nmore gains are expected by dealers in the city"
    assert not any(is_whole_sentence(s) for s in body_sentences(text))
    assert summarize(text) == body_sentences(text)[:3] and summarize(text)


def test_whole_sentences_are_preferred_to_pieces():
    text = ("The council approved the new budget on Monday after a long debate.\n"
            "damage, businessmen and officials said.\nIt takes effect in April.")
    assert summarize(text) == ["The council approved the new budget on Monday after a long debate.",
                               "It takes effect in April."]


def reuters_train(limit: int) -> list[dict]:
    if not REUTERS.is_file():
        pytest.skip(f"Reuters-21578 TRAIN bodies not found at {REUTERS.resolve()}")
    out = []
    with REUTERS.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["lewissplit"] == "TRAIN" and row["body"].strip():
                out.append(row)
                if len(out) == limit:
                    break
    return out


def test_real_wrapped_wire_copy_gets_summaries_of_whole_sentences():
    """Reuters-21578 TRAIN bodies (research-only, read in tests only) are wrapped at about 65 columns."""
    rows = [r for r in reuters_train(600) if len(body_sentences(" ".join(r["body"].split()))) >= 3]
    assert len(rows) > 300
    summaries = [summarize(r["body"], title=r["title"]) for r in rows]
    assert all(summaries)
    sentences = [s for summary in summaries for s in summary]
    assert sum(len(s) == 3 for s in summaries) / len(summaries) > 0.8
    assert all(is_whole_sentence(s) for s in sentences)
    assert not any(s.endswith("Reuter") for s in sentences)
    first = summaries[0][0]
    assert first.startswith("Showers continued throughout the week in the Bahia cocoa zone")
