"""The two scorers of the linear tables: both equal Pipeline.predict_proba on arbitrary Unicode (a vocabulary fitted
on random Unicode, so any token difference changes a score), the compiled one is safe under threads, and the
choice between them (TAGGER_SCORER) is honoured and logged."""

from __future__ import annotations

import json
import logging
import random
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.config import Settings, SettingsError
from service.domain.errors import ModelError
from service.model.bundle import compile_pipeline
from service.model.scorer import COMPILED, FastScorer
from tests.harness import start_process, start_server, stop_process
from training.estimator import build_pipeline

REALWORLD = Path(__file__).parents[2] / "shared" / "data" / "realworld"
# Code points that trip tokenisers: accents and combining marks, ß, İ and the Kelvin sign (lower-casing changes
# length or leaves non-ASCII for ASCII), titlecase ǅ, ½ ² Ⅷ and Arabic-Indic digits (word characters), other
# scripts, lone surrogates, emoji, controls, and non-word symbols of news copy.
WORDISH = "abcXYZ019_éÉüßİı\u212aǅﬁ\u0301\u0308½²Ⅷ٣٤۵αβΓЖжщ议会مجلس\u05d0\u0e01\u3042\U0001d400"  # noqa: RUF001
SEPARATORS = "  .,'-\t\n\ud800\udfff\U0001f680\x00\x1f\u200b\u00a0\u2019\u201c\u2014\u00a3\u20ac"
ALPHABET = WORDISH + SEPARATORS
LEXICON = sorted({"".join(random.Random(i).choices(WORDISH, k=random.Random(-i).randint(1, 5))) for i in range(400)})


def random_texts(seed: int, count: int, words: int) -> list[str]:
    """Texts of up to `words` lexicon words, some upper-cased, between runs of separators."""
    generator = random.Random(seed)
    texts = []
    for _ in range(count):
        pieces = []
        for _ in range(generator.randint(0, words)):
            word = generator.choice(LEXICON)
            pieces.append(word.upper() if generator.random() < 0.2 else word)
            pieces.append("".join(generator.choices(SEPARATORS, k=generator.randint(1, 2))))
        texts.append("".join(pieces))
    return texts


@pytest.fixture(scope="module")
def unicode_fit():
    """A pipeline (word 1-3 grams, min_df=1) fitted on random Unicode, and its tables."""
    texts = random_texts(7, 1500, 30)
    generator = np.random.default_rng(7)
    y = generator.integers(0, 2, size=(len(texts), 3))
    pipeline = build_pipeline(ngram_max=3, min_df=1).fit(texts, y)
    return pipeline, compile_pipeline(pipeline, random_texts(8, 300, 30))


@pytest.fixture(scope="module")
def unicode_scorer(unicode_fit, implementation):
    return unicode_fit[0], FastScorer(unicode_fit[1], implementation)


PIECES = st.one_of(st.sampled_from(LEXICON), st.sampled_from(LEXICON).map(str.upper), st.text(ALPHABET, max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(PIECES, max_size=40).map("".join), min_size=1, max_size=4))
def test_both_scorers_equal_sklearn_on_random_unicode_with_a_random_unicode_vocabulary(unicode_scorer, texts):
    pipeline, scorer = unicode_scorer
    assert np.abs(scorer.predict_proba(texts) - pipeline.predict_proba(texts)).max() < 1e-9


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=4))
def test_both_scorers_equal_sklearn_on_any_text(unicode_scorer, texts):
    pipeline, scorer = unicode_scorer
    assert np.abs(scorer.predict_proba(texts) - pipeline.predict_proba(texts)).max() < 1e-9


def test_vocabulary_hits_are_many_so_the_property_tests_can_fail(unicode_fit):
    pipeline, _ = unicode_fit
    counts = pipeline.named_steps["tfidf"].transform(random_texts(9, 200, 30))
    assert counts.getnnz(axis=1).mean() > 8  # terms found per text


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/data/realworld is not on this machine")
def test_both_scorers_equal_sklearn_on_the_real_world_files(shipped_corpus_pipeline):
    pipeline, _, scorer = shipped_corpus_pipeline
    for path in sorted(REALWORLD.glob("*.jsonl")):
        texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert np.abs(scorer.predict_proba(texts) - pipeline.predict_proba(texts)).max() < 1e-9, path.name


def test_tables_with_another_token_pattern_fall_back_to_python_and_say_so_or_refuse_compiled(caplog):
    texts = ["a bb ccc dddd", "bb ccc", "dddd eeeee a"]
    pipeline = build_pipeline(min_df=1).set_params(tfidf__token_pattern=r"(?u)\b\w+\b").fit(texts, np.eye(3)[:, :2])
    tables = compile_pipeline(pipeline)
    with caplog.at_level(logging.WARNING):
        scorer = FastScorer(tables, "auto")
    assert not scorer.compiled
    assert np.abs(scorer.predict_proba(texts) - pipeline.predict_proba(texts)).max() < 1e-9
    if COMPILED:
        assert "supports only the default token pattern" in caplog.text
        with pytest.raises(ModelError, match="TAGGER_SCORER=compiled"):
            FastScorer(tables, "compiled")


def test_the_scorer_setting_is_checked():
    with pytest.raises(SettingsError, match="TAGGER_SCORER must be one of auto, compiled, python"):
        Settings.from_env([], {"TAGGER_SCORER": "fast"})
    if COMPILED:
        assert Settings.from_env([], {"TAGGER_SCORER": "compiled"}).scorer == "compiled"
    else:
        with pytest.raises(SettingsError, match="TAGGER_SCORER=compiled, but the compiled scorer was not built"):
            Settings.from_env([], {"TAGGER_SCORER": "compiled"})


@pytest.mark.parametrize("scorer", ["python", "auto"])
def test_the_start_line_names_the_scorer_that_serves(bundle_path, scorer):
    process, _ = start_process(
        bundle_path, "compiled" if scorer == "auto" and COMPILED else "python", TAGGER_SCORER=scorer
    )
    stop_process(process)


def test_servers_with_either_scorer_answer_the_same(bundle_path, implementation):
    ours, python = start_server(bundle_path, scorer=implementation), start_server(bundle_path, scorer="python")
    try:
        texts = random_texts(3, 50, 60)
        assert ours.models.current.implementation == implementation
        assert np.allclose(
            ours.models.current.predict_proba(texts), python.models.current.predict_proba(texts), atol=1e-12
        )
    finally:
        ours.stop()
        python.stop()


@pytest.mark.skipif(not COMPILED, reason="the compiled scorer is not built")
def test_the_compiled_scorer_gives_the_same_scores_from_many_threads_while_its_input_changes(unicode_fit):
    pipeline, tables = unicode_fit
    scorer = FastScorer(tables, "compiled")
    texts = random_texts(11, 400, 30)  # about 30,000 code points: scored with the GIL released
    expected = scorer.scores(texts)
    shared = list(texts)
    results: list[bool] = []
    stop = threading.Event()

    def score() -> None:
        for _ in range(20):
            results.append(scorer.scores(texts) == expected)
            assert len(scorer.scores(shared)) == len(texts)  # items swapped meanwhile: any str is fine

    def swap() -> None:
        generator = random.Random(1)
        while not stop.is_set():
            shared[generator.randrange(len(shared))] = "".join(generator.choices(ALPHABET, k=80))

    swapper = threading.Thread(target=swap)
    swapper.start()
    workers = [threading.Thread(target=score) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    swapper.join()
    assert results == [True] * 80
    assert np.abs(np.array(expected) - pipeline.predict_proba(texts)).max() < 1e-9


@pytest.mark.skipif(not COMPILED, reason="the compiled scorer is not built")
def test_the_compiled_scorer_refuses_what_is_not_text(unicode_fit):
    scorer = FastScorer(unicode_fit[1], "compiled")
    with pytest.raises(TypeError, match="texts must be str, not bytes"):
        scorer.scores(["fine", b"bytes"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="sequence of str"):
        scorer.scores(42)  # type: ignore[arg-type]
