"""Summaries a reader would trust: right length, article order, no headings, furniture or repeats."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsbrief.text.sentences import body_sentences
from newsbrief.text.summarize import ALGORITHMS, DEFAULT_ALGORITHM, summarize

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_4578fa6d09c8fd9d.txt"
BBC = ROOT / ".." / "shared" / "data" / "bbc-summary-100"
SEED_HEADINGS = ["Conflict Continues Amid Negotiations", "Putin Rejects Comprehensive Ceasefire",
                 "Focus on Humanitarian Concerns", "Continued Tensions with the U.S. and China",
                 "Ukraine’s Response and Prospects for Peace", "The Role of European Diplomacy"]
US_SENTENCE = ("Simultaneously, trade tensions between the U.S. and China remain high, with Trump’s administration "
               "intensifying its pressure on China regarding tariffs and trade agreements.")


@pytest.fixture(scope="module")
def seed() -> str:
    return SEED.read_text(encoding="utf-8")


def bbc_articles(limit: int | None = None) -> list[tuple[str, str, list[str]]]:
    """(title, body, reference sentences) of the BBC sample; skips the test if the shared data is absent."""
    if not (BBC / "article").is_dir():
        pytest.skip(f"BBC summary data not found at {BBC.resolve()} (../shared/data/bbc-summary-100)")
    out = []
    for path in sorted((BBC / "article").glob("*/*.txt"))[:limit]:
        lines = path.read_text(encoding="utf-8").split("\n")
        reference = (BBC / "summary" / path.parent.name / path.name).read_text(encoding="utf-8").split("\n")
        out.append((lines[0].strip(), "\n".join(lines[1:]), [s for s in reference if s.strip()]))
    return out


def positions(summary: list[str], text: str) -> list[int]:
    candidates = body_sentences(text)
    return [candidates.index(s) for s in summary]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_gives_exact_length_in_document_order_without_headings(seed, algorithm):
    for count in (1, 3, 5):
        summary = summarize(seed, sentences=count, algorithm=algorithm)
        assert len(summary) == count
        order = positions(summary, seed)
        assert order == sorted(order) and len(set(order)) == count
        for heading in SEED_HEADINGS:
            assert all(heading not in sentence for sentence in summary), (algorithm, heading)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_us_abbreviation_never_splits_a_sentence(seed, algorithm):
    whole = summarize(seed, ratio=1.0, algorithm=algorithm)
    assert US_SENTENCE in whole
    assert not any(s.endswith(("U.", "U.S")) or s.startswith(("S.", "and China remain")) for s in whole)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_input_gives_same_summary(seed, algorithm):
    assert summarize(seed, algorithm=algorithm) == summarize(seed, algorithm=algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_bbc_articles_give_the_reference_length(algorithm):
    for title, body, reference in bbc_articles(limit=10):
        summary = summarize(body, title=title, sentences=len(reference), algorithm=algorithm)
        assert len(summary) == len(reference)
        assert title not in summary


def test_ratio_sets_the_share_of_sentences_and_overrides_count(seed):
    available = len(body_sentences(seed))
    assert len(summarize(seed, ratio=0.5, sentences=1)) == math.ceil(0.5 * available)
    assert len(summarize(seed, ratio=0.01)) == 1
    for bad in (0, -0.2, 1.5):
        with pytest.raises(ValueError, match="ratio"):
            summarize(seed, ratio=bad)


def test_asking_for_more_sentences_than_exist_gives_all_of_them():
    text = "The council approved the budget on Monday.\nThe vote was 7 to 2 after a long debate."
    for algorithm in ALGORITHMS:
        assert summarize(text, sentences=10, algorithm=algorithm) == [
            "The council approved the budget on Monday.", "The vote was 7 to 2 after a long debate."]


def test_empty_text_gives_empty_summary():
    for algorithm in ALGORITHMS:
        assert summarize("", algorithm=algorithm) == []
        assert summarize(" \n\n \t", title="A title", algorithm=algorithm) == []
    assert summarize("Only A Heading Here") == []


def test_unknown_algorithm_names_the_choices(seed):
    with pytest.raises(ValueError) as caught:
        summarize(seed, algorithm="textrnak")
    assert "textrnak" in str(caught.value)
    assert all(name in str(caught.value) for name in ALGORITHMS)


def test_default_is_newsbrief_and_keeps_the_lede_of_a_short_digest(seed):
    assert DEFAULT_ALGORITHM == "newsbrief"
    first = body_sentences(seed)[0]
    assert summarize(seed)[0] == first


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_repeated_paragraph_is_never_summarized_twice(seed, algorithm):
    paragraphs = seed.split("\n")
    doubled = "\n".join(paragraphs[:3] + paragraphs[:1] + paragraphs[3:] + [paragraphs[2]])
    summary = summarize(doubled, ratio=1.0, algorithm=algorithm)
    assert len(summary) == len(set(summary)) == len(body_sentences(seed))
    short = summarize(doubled, sentences=4, algorithm=algorithm)
    assert len(short) == len(set(short)) == 4


def test_title_repeated_as_first_line_is_not_a_sentence():
    title, body, reference = bbc_articles(limit=1)[0]
    with_title = f"{title}\n{body}"
    for algorithm in ALGORITHMS:
        whole = summarize(with_title, title=title, ratio=1.0, algorithm=algorithm)
        assert title not in whole
        assert whole == summarize(body, title=title, ratio=1.0, algorithm=algorithm)


FURNITURE = [
    "By Jane Smith, BBC News",
    "Image caption: Shoppers outside a store on Oxford Street in London on Saturday",
    "Read more: How the deal was done",
    "Protesters gathered outside the building. (Photo by John Doe/Getty Images)",
    "Sign up for our morning newsletter and get the day's business news first",
    "Advertisement",
    "Updated 12:03 GMT, 3 May 2005",
    "Follow Jane on Twitter @janesmith",
    "Copyright 2005 BBC. All rights reserved.",
    "Follow on Apple or Spotify.",
    "Listen on the Reuters app.",
    "Scroll down for video.",
    "Last updated at 4:53 PM on 12th November 2011 .",
    "Watch the diplomats exchange angry words » .",
    "The opinions expressed in this commentary are solely those of Jane Smith.",
    "CNN's John Doe and Jane Roe in London contributed to this report.",
    "Share your story with us.",
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_bylines_captions_and_read_more_never_reach_a_summary(algorithm):
    title, body, reference = bbc_articles(limit=3)[2]
    lines = [line for line in body.split("\n") if line.strip()]
    dressed = "\n".join([FURNITURE[0], FURNITURE[6], lines[0], FURNITURE[1], *lines[1:4], FURNITURE[2],
                         FURNITURE[5], *lines[4:], FURNITURE[3], FURNITURE[4], FURNITURE[7], FURNITURE[8],
                         *FURNITURE[9:]])
    for summary in (summarize(dressed, title=title, ratio=1.0, algorithm=algorithm),
                    summarize(dressed, title=title, sentences=len(reference), algorithm=algorithm)):
        for line in FURNITURE:
            assert all(line not in s and s not in line for s in summary), (algorithm, line)
    assert summarize(dressed, title=title, ratio=1.0, algorithm=algorithm) == summarize(
        body, title=title, ratio=1.0, algorithm=algorithm)


def test_real_sentences_that_look_like_furniture_are_kept():
    text = ("By Friday, the company had lost $2bn in market value.\n"
            "More than 300 people attended the meeting in Leeds.\n"
            "Published figures show 2004 was a record year for exports.\n"
            "The firm told Reuters it would appeal.\n"
            "Follow-on orders from Apple rose 5% in the quarter.\n"
            "Posted at the border, the soldiers waited for orders.\n"
            "The opinions expressed by voters in the survey were mixed.\n"
            "Human Rights Watch said the donors contributed to the report's funding.")
    assert len(summarize(text, ratio=1.0)) == 8


def test_default_beats_lead_and_textrank_on_the_bbc_sample():
    """A quality floor, not a tuning target: the full table lives in bench/summaries.py."""
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    articles = bbc_articles()
    totals = {}
    for algorithm in ("lead", "textrank", DEFAULT_ALGORITHM):
        scores = [scorer.score("\n".join(ref), "\n".join(summarize(body, title=title, sentences=len(ref),
                                                                   algorithm=algorithm)))
                  for title, body, ref in articles]
        totals[algorithm] = [sum(s[k].fmeasure for s in scores) / len(scores) for k in ("rouge1", "rouge2")]
    assert totals[DEFAULT_ALGORITHM][0] > totals["lead"][0] + 0.1
    assert totals[DEFAULT_ALGORITHM][0] >= totals["textrank"][0]
    assert totals[DEFAULT_ALGORITHM][1] >= totals["textrank"][1]


def test_a_fragment_is_never_the_lede_of_a_digest():
    text = ("Well, sort of.\n"
            "The city council approved the new transport budget on Monday after a six-hour debate.\n"
            "The budget adds 40 buses and extends the tram line to the airport by 2027.\n"
            "Opposition members said the council had ignored cyclists and the cost of the tram.")
    summary = summarize(text, title="Council approves transport budget", sentences=2)
    assert "Well, sort of." not in summary
    assert summary[0].startswith("The city council approved")


WIRE_HEADERS = [
    "By . Daily Mail Reporter . PUBLISHED: . 14:11 EST, 25 October 2013 . | . UPDATED: . 15:36 EST, 25 October 2013 . ",
    "By . Sam Webb . and Rachel Reilly . PUBLISHED: . 08:20 EST, 2 May 2013 . ",
    "By . Sam Webb for MailOnline . ",
    "By . Associated Press . and Daily Mail Reporter . ",
]


@pytest.mark.parametrize("header", WIRE_HEADERS)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_wire_header_glued_to_the_lede_is_dropped(algorithm, header):
    """Syndicated copy often arrives with its byline and timestamps run into the first paragraph."""
    title, body, reference = bbc_articles(limit=1)[0]
    lines = [line for line in body.split("\n") if line.strip()]
    dressed = "\n".join([header + lines[0], *lines[1:]])
    summary = summarize(dressed, title=title, ratio=1.0, algorithm=algorithm)
    assert summary == summarize(body, title=title, ratio=1.0, algorithm=algorithm)
    assert summarize(dressed, title=title, sentences=3, algorithm="lead")[0] == lines[0]


def test_a_digest_keeps_the_sentence_that_sets_up_the_story_over_a_late_recap():
    """A closing sentence that repeats every key term is central but says nothing new; the sentence
    that introduces what the article goes on to discuss belongs in a 3-sentence digest."""
    recap = ("Critics of the council and the budget said the electric buses, the tram line and the airport "
             "stops had been agreed without the residents, the businesses or the cyclists.")
    text = "\n".join([
        "The city council approved a new transport budget on Monday after a six-hour debate.",
        "The plan adds 40 electric buses and extends the tram line to the airport by 2027.",
        "Council leader Maria Lopez said the vote was the most important of her term.",
        "The electric buses will replace diesel vehicles on the busiest routes.",
        "Each electric bus costs about 500,000 euros, the council said.",
        "The tram extension to the airport will add six stops.",
        "Work on the tram line is due to start next spring.",
        "Airport passengers now rely on a shuttle that runs every half hour.",
        "Opposition members said the plan ignored cyclists.",
        "They proposed a separate fund for bike lanes, which was rejected.",
        "Local businesses near the new tram stops welcomed the decision.",
        "A shop owner said footfall would rise once the tram reaches the airport.",
        "The budget is funded partly by a regional grant.",
        "Residents can comment on the routes until the end of March.",
        recap,
    ])
    summary = summarize(text, title="Council approves transport budget", sentences=3)
    assert recap not in summary
    assert "The plan adds 40 electric buses and extends the tram line to the airport by 2027." in summary


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_summary_does_not_depend_on_the_process_hash_seed(algorithm):
    """Python salts str hashes per process: a summarizer iterating a set would differ from run to run."""
    articles = [(title, body) for title, body, _ in bbc_articles(limit=40)]
    script = ("import json, sys\nfrom newsbrief.text.summarize import summarize\n"
              "arts = json.load(sys.stdin)\n"
              f"print(json.dumps([summarize(b, title=t, sentences=3, algorithm={algorithm!r}) for t, b in arts]))")
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", script], input=json.dumps(articles), env=env,
                             capture_output=True, text=True, check=True)
        outputs.add(run.stdout)
    assert len(outputs) == 1


@pytest.mark.parametrize("dateline", ["LONDON, England (CNN) -- ", "(CNN)", "WASHINGTON, Aug 21 (Reuters) - ",
                                      "NEW YORK (AP) — "])
def test_a_wire_dateline_is_cut_from_the_lede_and_the_lede_kept(dateline):
    title, body, reference = bbc_articles(limit=1)[0]
    lines = [line for line in body.split("\n") if line.strip()]
    summary = summarize("\n".join([dateline + lines[0], *lines[1:]]), title=title, sentences=3)
    assert summary[0] == body_sentences(lines[0])[0]
    assert not any("(CNN)" in s or "(Reuters)" in s or "(AP)" in s for s in summary)


def test_a_sentence_that_only_mentions_an_agency_is_left_whole():
    text = "The (CNN) report said the figures were wrong.\nOfficials disputed the account on Monday."
    assert summarize(text, sentences=1) == ["The (CNN) report said the figures were wrong."]


@pytest.mark.parametrize("last", ["The pictures were released via Reuters.", "(Photo credit: AP)"])
def test_an_article_on_one_line_is_summarized_even_if_it_ends_like_a_caption(last):
    """CNN/DailyMail data and many feeds deliver the whole body as one paragraph."""
    title, body, reference = bbc_articles(limit=1)[0]
    lines = [line for line in body.split("\n") if line.strip()]
    summary = summarize(" ".join([*lines, last]), title=title, sentences=3)
    assert len(summary) == 3
    assert summary[0] == body_sentences(lines[0])[0]
