"""The alert query language: what users type, what it finds, and that nothing but QueryError escapes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsbrief.alerts.query import And, Document, Not, Or, QueryError, Term, matches, parse

ARTICLE = Document.of(
    "US raises tariffs on Chinese steel",
    "The trade war widened on Tuesday as Washington imposed new duties. Soybean farmers worry.",
    source="BBC News", language="en-GB", tags=["tariffs"],
)


@pytest.mark.parametrize("query", [
    "tariff", "tariffs steel", '"trade war"', "tariff OR sanctions", "sanctions OR duty",
    "tariff -wheat", "(duty OR levy) steel", "intitle:steel", 'intitle:"chinese steel"',
    'source:"BBC News"', "source:bbc", "tag:tariffs", "lang:en", "lang:en-gb", "tariff AND steel",
    "-(wheat OR rice) tariff", "impose",
])
def test_matching_queries_find_the_article(query):
    assert matches(parse(query), ARTICLE) is not None, query


@pytest.mark.parametrize("query", [
    "tariff rice", '"war trade"', "tariff -soybean", "intitle:duties", "source:reuters", "tag:sanctions",
    "lang:fr", "-(soybean OR rice)", "sanctions OR rice", "lang:e",
])
def test_other_queries_do_not(query):
    assert matches(parse(query), ARTICLE) is None, query


def test_stems_like_the_tagger_and_reports_the_terms_that_matched():
    assert matches(parse("tariff OR sanction steel"), ARTICLE) == ["tariff", "steel"]
    assert matches(parse('"trade wars"'), ARTICLE) == ['"trade wars"']


def test_or_binds_tighter_than_the_implicit_and():
    assert parse("a b OR c") == parse("a (b OR c)")
    assert parse("a b OR c").root == And((Term("a"), Or((Term("b"), Term("c")))))
    assert parse("-a").root == Not(Term("a"))


@pytest.mark.parametrize(("query", "position", "expected"), [
    ("", 0, "a search term"),
    ('"trade war', 10, "closing quote"),
    ("(tariff OR duty", 15, "closing parenthesis"),
    ("tariff OR", 9, "a search term"),
    ("tariff )", 7, "a search term or the end"),
    ("source: bbc", 7, "a value after 'source:'"),
    ("AND steel", 0, "before AND"),
    ('""', 1, "words inside the quotes"),
    ("steel &&", 6, "letters or digits"),
])
def test_a_bad_query_names_position_and_expectation(query, position, expected):
    with pytest.raises(QueryError) as err:
        parse(query)
    assert err.value.position == position
    assert expected in err.value.expected
    assert f"position {position}" in str(err.value)


_alphabet = st.sampled_from(list('ab tariff"()-:OR AND intitle source tag lang \t é1.') + ["OR", "AND", "tag:", "-("])
_queries = st.lists(_alphabet, max_size=30).map("".join)


@settings(max_examples=800, deadline=None)
@given(st.one_of(_queries, st.text(max_size=60)))
def test_nothing_but_query_error_and_printing_round_trips(text):
    try:
        query = parse(text)
    except QueryError:
        return
    again = parse(str(query))
    assert again == query
    assert str(again) == str(query)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_article_stems_are_the_taggers(text):
    from newsbrief.tagging.taxonomy import phrase_stems, text_stems

    assert text_stems(text) == phrase_stems(text)


_WORDS = ["tariff", "tariffs", "steel", "war", "trade", "soybean", "wheat"]
_atoms = st.one_of(
    st.sampled_from(_WORDS),
    st.lists(st.sampled_from(_WORDS), min_size=2, max_size=3).map(lambda w: '"' + " ".join(w) + '"'),
    st.sampled_from(_WORDS).map("intitle:{}".format),
    st.sampled_from(["tag:tariffs", "tag:farming", "source:bbc", 'source:"bbc news"', "lang:en", "lang:en-gb"]),
)
_query_texts = st.recursive(_atoms, lambda inner: st.one_of(
    st.tuples(inner, inner).map(" ".join),
    st.tuples(inner, inner).map(" OR ".join),
    inner.map("-({})".format),
    inner.map("({})".format),
), max_leaves=6)
_docs = st.tuples(
    st.lists(st.sampled_from(_WORDS), max_size=5).map(" ".join),
    st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join),
    st.sampled_from(["BBC News", "BBC", "Reuters", ""]),
    st.sampled_from(["en", "en-GB", "fr", None]),
    st.lists(st.sampled_from(["tariffs", "farming"]), max_size=2, unique=True),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_query_texts, min_size=1, max_size=4), st.lists(_docs, max_size=12))
def test_the_index_finds_exactly_what_trying_every_pair_finds(queries, docs):
    from newsbrief.alerts.matching import AlertIndex, Candidate
    from newsbrief.alerts.spec import Alert

    alerts = [Alert(id=f"q{i}", email="x@example.org", query=parse(q)) for i, q in enumerate(queries)]
    cands = [Candidate(10 + n, Document.of(t, x, source=s, language=lang, tags=tags))
             for n, (t, x, s, lang, tags) in enumerate(docs)]
    brute = {i: [c.article_id for c in cands if matches(a.full_query, c.doc) is not None]
             for i, a in enumerate(alerts)}
    assert AlertIndex(alerts).match_ids(cands) == {i: ids for i, ids in brute.items() if ids}
