"""The batched summary and tag stages store exactly what one article at a time would."""

from sqlalchemy import select

from newsbrief.config.settings import load_settings
from newsbrief.sources.seed_ingest import ingest_seed_files
from newsbrief.store import Article, Store, Summary, Tag
from newsbrief.tagging import load_taxonomy, tag_article
from newsbrief.tagging.stage import tag_articles
from newsbrief.text.stage import summarize_articles
from newsbrief.text.summarize import summarize

TEXTS = [
    ("Ceasefire talks resume", "Negotiators met in Cairo on Monday to agree a ceasefire. Aid trucks waited at the "
     "border crossing as the humanitarian situation worsened. Both sides said a truce was close."),
    ("Tariffs on steel rise", "The government raised tariffs on imported steel to 25 percent. Exporters warned of a "
     "trade war. Officials said the duties would protect jobs at home."),
    ("Quiet day", "Nothing happened."),
    ("", ""),
    ("Election results delayed", "Votes are still being counted after the election. The commission said turnout "
     "was high. Opposition parties called for patience while ballots are checked."),
]


def _articles(store, settings):
    ids = ingest_seed_files(store, settings, "run-1").article_ids
    with store.session() as s:
        for n, (title, text) in enumerate(TEXTS):
            article = Article(content_hash=f"h{n}", url=f"https://example.org/{n}", source_kind="feed",
                              source=f"outlet{n % 2}", origin="https://example.org/feed", title=title, text=text)
            s.add(article)
            s.flush()
            ids.append(article.id)
    return ids


def test_batches_store_the_same_summaries_and_tags_as_one_article_at_a_time(project):
    settings = load_settings()
    store = Store(settings.store_url)
    taxonomy = load_taxonomy(settings.topics_file)
    ids = _articles(store, settings)
    with store.session() as s:
        articles = {a.id: (a.title, a.text) for a in s.scalars(select(Article))}
    expected_summaries = {i: summarize(text, title=title, sentences=2) for i, (title, text) in articles.items()}
    expected_tags = {(i, h.tag, h.label, float(h.score), tuple(h.evidence))
                     for i, (title, text) in articles.items() for h in tag_article(title, text, taxonomy)}
    assert expected_tags, "the sample must give some tags for the comparison to mean anything"

    order = ids[::-1] + ids[:2]
    for _ in range(2):
        assert summarize_articles(store, order, sentences=2, batch=2) == order
        assert tag_articles(store, order, taxonomy, batch=2) == order
    with store.session() as s:
        summaries = {r.article_id: r.text for r in s.scalars(select(Summary))}
        stored_tags = [(t.article_id, t.tag, t.label, t.score, tuple(t.evidence)) for t in s.scalars(select(Tag))]
    store.dispose()
    assert summaries == expected_summaries
    assert len(stored_tags) == len(set(stored_tags)) and set(stored_tags) == expected_tags
