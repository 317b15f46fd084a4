"""The word-vector prior: a table written and read back, a pipeline fitted with it that stays exact to its linear
tables, and a word that no training text contains getting a weight from its vector."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from service.model.bundle import compile_pipeline
from service.model.card import card_path
from tests.corpus import rows
from tests.harness import write_corpus
from training import __main__ as training_main
from training.data import label_matrix, read_examples
from training.estimator import fit_pipeline
from training.search import PRIOR_CANDIDATES, PRIOR_WEIGHTS, SearchResult, prior_candidates
from training.word_vectors.table import read_table, write_table

PARAMS = {"ngram_max": 2, "min_df": 1, "sublinear_tf": True, "c": 8.0, "class_weight": "balanced"}
# Words that the tiny corpus never uses, with vectors beside the words it does use for each topic.
UNSEEN = {"battalion": "troops", "inflationary": "inflation", "parliamentarian": "election"}


def tiny_table(path: Path) -> Path:
    """Each word of the tiny corpus gets the share of its paragraphs that carry each label (plus a little noise),
    as real word vectors place words near their topics; each unseen word gets a near copy of its neighbour's."""
    labels = ("defence", "economic", "political")
    seen: dict[str, list[np.ndarray]] = {}
    for text, tags in rows():
        for word in set(re.findall(r"[a-z]{2,}", text.lower())):
            seen.setdefault(word, []).append(np.array([label in tags for label in labels], dtype=float))
    words = sorted(seen)
    noise = np.random.default_rng(0).normal(scale=0.05, size=(len(words), 5))
    vectors = np.hstack([np.array([np.mean(seen[w], axis=0) for w in words]), noise])
    copies = np.array([vectors[words.index(like)] * 0.95 for like in UNSEEN.values()])
    write_table(path, [*words, *UNSEEN], np.vstack([vectors, copies]), "test vectors")
    return path


def test_table_round_trips_within_int8_precision(tmp_path):
    vectors = np.random.default_rng(1).normal(size=(3, 4))
    write_table(tmp_path / "t.npz", ["alpha", "beta", "gamma"], vectors, "three words")
    table = read_table(tmp_path / "t.npz")
    assert table.words == ("alpha", "beta", "gamma") and table.source == "three words"
    assert np.abs(table.vectors - vectors).max() <= np.abs(vectors).max(axis=0).max() / 127
    assert np.array_equal(table.matrix(["beta", "no such", "alpha"])[1], np.zeros(4))
    assert not list(tmp_path.glob("*.tmp*"))


def test_not_a_table_is_refused_by_name(tmp_path):
    np.savez(tmp_path / "other.npz", something=np.zeros(2))
    with pytest.raises(ValueError, match=r"other\.npz: not a word-vector table"):
        read_table(tmp_path / "other.npz")


def test_prior_gives_unseen_words_weight_and_stays_exact_to_its_tables(tmp_path):
    examples = read_examples([write_corpus(tmp_path / "corpus.jsonl")])
    texts, y = [e.text for e in examples], label_matrix(examples, ["defence", "economic", "political"])
    table = read_table(tiny_table(tmp_path / "table.npz"))
    plain = fit_pipeline(texts, y, PARAMS)
    prior = fit_pipeline(texts, y, PARAMS, table, weight=1.0)
    probe = [f"the {word} said" for word in UNSEEN]
    assert np.allclose(plain.predict_proba(probe), plain.predict_proba(["the said"] * 3))  # no weight without it
    lifted = prior.predict_proba(probe) - prior.predict_proba(["the said"] * 3)
    assert [int(np.argmax(row)) for row in lifted] == [0, 1, 2]  # each unseen word leans to its neighbour's topic
    compile_pipeline(prior, [*texts, *probe])  # raises unless the fast scorer reproduces it within tolerance


def test_prior_candidates_are_the_best_settings_of_the_best_vectorizers():
    scores = [
        {"ngram_max": 1, "min_df": 1, "sublinear_tf": True, "c": 8.0, "score": 0.90},
        {"ngram_max": 2, "min_df": 2, "sublinear_tf": True, "c": 8.0, "score": 0.93},
        {"ngram_max": 2, "min_df": 2, "sublinear_tf": True, "c": 32.0, "score": 0.95},
        {"ngram_max": 1, "min_df": 1, "sublinear_tf": True, "c": 32.0, "score": 0.94},
        {"ngram_max": 2, "min_df": 1, "sublinear_tf": False, "c": 32.0, "score": 0.80},
    ]
    chosen = SearchResult(scores[2], scores, np.zeros((1, 1)))
    assert prior_candidates(chosen, 2) == [
        {"ngram_max": 2, "min_df": 2, "sublinear_tf": True, "c": 32.0},
        {"ngram_max": 1, "min_df": 1, "sublinear_tf": True, "c": 32.0},
    ]


def test_training_records_the_prior_it_weighed_in_the_card(tmp_path):
    model = tmp_path / "m" / "tagger.joblib"
    model.parent.mkdir()
    data = write_corpus(tmp_path / "data.jsonl")
    table = tiny_table(tmp_path / "table.npz")
    argv = ["--data", str(data), "--model", str(model), "--jobs", "1", "--word-vectors", str(table)]
    assert training_main.main(argv) == 0
    settings = json.loads(card_path(model).read_text())["settings"]
    entry = settings["word_vectors"]
    assert entry["source"] == "test vectors" and len(entry["sha256"]) == 64
    assert [s["weight"] for s in entry["scores"]] == [0.0] + PRIOR_WEIGHTS * PRIOR_CANDIDATES
    best = max(entry["scores"], key=lambda s: s["score"])
    assert (entry["weight"], settings["chosen"]) == (best["weight"], best["settings"])
