"""Real 1987 wire copy (Reuters-21578 TRAIN, research-only: read here, never shipped), one test per class of
wrapped line that used to break a sentence: what a reader sees is the summary, so that is what is asserted."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from newsbrief.text.document import is_whole_sentence
from newsbrief.text.sentences import body_sentences, segment, split_line
from newsbrief.text.summarize import summarize
from newsbrief.text.unwrap import ends_in_abbreviation, unwrap

REUTERS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tagging" / "reuters21578-train" / "articles.jsonl"


@lru_cache(maxsize=1)
def _train() -> dict[int, dict]:
    if not REUTERS.is_file():
        return {}
    rows = {}
    with REUTERS.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["lewissplit"] == "TRAIN":
                rows[row["newid"]] = row
    return rows


def article(newid: int) -> dict:
    rows = _train()
    if not rows:
        pytest.skip(f"Reuters-21578 TRAIN bodies not found at {REUTERS.resolve()}")
    return rows[newid]


@pytest.mark.parametrize(("newid", "lede"), [
    # "the U.S.\nDistrict Court": a first line ending in an abbreviation, the next line capitalised
    (156, "Du Pont Co said the U.S. District Court for Delaware ruled that Phillips Petroleum Co had infringed on its "
          "patent covering certain melt-processable ethylene copolymer resins and polyethylene pipe systems."),
    # "for U.S.\nsoft and hard wheat": an abbreviation, then a line going on in lower case
    (14721, "Jordan has boosted its bids for U.S. soft and hard wheat under Export Bonus, private export sources said."),
    # "Robert\nL. Carter": a line starting with an initial is not a lettered list item
    (10252, "Flight Dynamics Inc said Robert L. Carter has stepped down as chairman but will continue as a director."),
    # "for\nundisclosed terms.  Completion": a typewriter double space is not a table column
    (8293, "IC Industries Inc said its Abex Corp subsidiary agreed to sell its sintered friction materials business in "
           "Italy to Troy, Michigan-based MLX Corp, for undisclosed terms."),
    # "(AWB)\n1986/87": a closing bracket is not the end of a sentence
    (4057, "The Australian Wheat Board's (AWB) 1986/87 export program is well advanced with over 10 mln tonnes already "
           "sold, AWB general manager Ron Paice said."),
    # '"Flacon\nMS-DOS".': a short line in capitals inside mixed-case copy, ending a sentence, is not a heading
    (6924, 'Microsoft Corp said a Federal District judge has honored its request for a preliminary injunction '
           'prohibiting four companies from copying, importing, disseminating or distributing the software package, '
           '"Flacon MS-DOS".'),
])
def test_the_lede_of_wrapped_wire_copy_is_one_whole_sentence(newid, lede):
    row = article(newid)
    summary = summarize(row["body"], title=row["title"])
    assert summary[0] == lede
    assert all(is_whole_sentence(s) for s in summary)


def test_a_date_wrapped_before_its_day_is_not_a_numbered_list():
    """'fixed on March\\n12. The selling concession...': '12.' at a line start is the day, not item 12."""
    sentences = body_sentences(article(1977)["body"])
    assert "Final terms on the non-callable bond will be fixed on March 12." in sentences
    assert "The selling concession is 1-1/2 pct while management and underwriting combined pays 3/4 pct." in sentences


def test_a_boundary_inside_a_bracketed_company_name_is_undone():
    """Punkt ends a sentence after '<N.Z.' before 'Forest': inside an open bracket it cannot end."""
    sentences = body_sentences(article(11239)["body"])
    assert ("<Fletcher Challenge Ltd> (FCL) Managing Director Hugh Fletcher said he was disappointed that <Rada Corp "
            "Ltd> had decided to sell its shares in <N.Z. Forest Products Ltd> (NZFP) to Australia's <Amcor Ltd>.") \
        in sentences
    assert is_whole_sentence(sentences[0])
    assert split_line("Sales rose (see Table 1. Figures are in dlrs) last year. Costs fell.") == [
        "Sales rose (see Table 1. Figures are in dlrs) last year.", "Costs fell."]


def test_a_figures_line_that_stops_on_and_is_prose_not_a_table_row():
    """Wire copy's own text (newid 3207-style cotton ginnings): a line of figures ending in "and" goes on."""
    text = ("Final 1986 crop U.S. cotton ginnings\ntotaled 9,438,425 running bales, vs 12,987,834 bales at the end\n"
            "of the 1985 season and 12,544,866 bales at end-1984 season, the\nU.S. Census Bureau said.\n"
            "    The bureau said upland cotton ginnings from the final 1986\ncrop totaled 9,237,296 bales, vs "
            "12,837,088 bales in 1985 and\n12,418,749 bales in 1984.\n REUTER")
    assert body_sentences(text)[1] == ("The bureau said upland cotton ginnings from the final 1986 crop totaled "
                                      "9,237,296 bales, vs 12,837,088 bales in 1985 and 12,418,749 bales in 1984.")
    earnings = "Shr loss 22 cts vs loss 18 cts\nNet loss 1,234,000 vs loss 987,000\nRevs 12.3 mln vs 10.1 mln"
    assert [b.text for b in segment(earnings)] == earnings.split("\n")


def test_copy_written_in_capitals_is_prose_not_a_run_of_headings():
    text = ("THE BANK OF KOREA SAID IT FIXED THE\nMIDRATE OF THE WON AT 844.30 TO THE DOLLAR, ITS HIGHEST LEVEL\n"
            "SINCE FEBRUARY 26, 1985, WHEN IT WAS 843.90.\n    THE WON WAS SET AT 845.50 YESTERDAY.\n REUTER")
    assert summarize(text)[0] == ("THE BANK OF KOREA SAID IT FIXED THE MIDRATE OF THE WON AT 844.30 TO THE DOLLAR, ITS "
                                  "HIGHEST LEVEL SINCE FEBRUARY 26, 1985, WHEN IT WAS 843.90.")
    mixed = "MARKET REPORT\nThe won rose against the dollar today, dealers in Seoul said, and\nbanks bought."
    assert unwrap(mixed).split("\n")[0] == "MARKET REPORT"


def test_abbreviations_at_a_line_end():
    assert all(ends_in_abbreviation(t) for t in ["the U.S.", "said L.K.", "Robert L.", "Acme Corp.", "Sen."])
    assert not any(ends_in_abbreviation(t) for t in ["the talks ended.", "in the U.S", "at 3.5.", "Plc said"])


def test_a_heading_in_title_case_stays_a_heading_in_wrapped_text():
    text = ("Talks Resume In Geneva After Long Pause\nThe ministry said on Tuesday that the talks with the union "
            "would\nresume next week after the breakdown over pay and pensions in\nLondon, officials said.")
    blocks = segment(text)
    assert blocks[0].kind == "heading" and blocks[0].text == "Talks Resume In Geneva After Long Pause"
    assert summarize(text) == ["The ministry said on Tuesday that the talks with the union would resume next week "
                               "after the breakdown over pay and pensions in London, officials said."]


def test_an_article_with_no_whole_sentence_is_summarized_from_what_it_has():
    """A USDA livestock report is written all in lower case: no sentence of it starts like one, so the rule
    'whole sentences only' cannot be met and the reader gets its own sentences as written, not nothing."""
    row = article(14018)
    summary = summarize(row["body"], title=row["title"])
    assert summary == ["slaughter cattle rose 0.50 dlr in active trade, the usda said.",
                       "stees - choice 2-4 1100-1400 lbs 66.00-67.00.",
                       "heifers - load choice 3 near 1225 lbs 66.50. choice 2-4 950-1125 lbs 64.00-66.00."]
    assert not any(is_whole_sentence(s) for s in summary)
