"""service.model and service.artifact: the fast scorer equals scikit-learn, and untrusted artifacts are refused."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.errors import ModelError
from service.model.bundle import SklearnScorer, compile_pipeline, load_bundle
from service.model.card import card_path, read_card, sha256_bytes, signature, tables_path
from service.model.loader import load_model
from service.model.scorer import FastScorer
from service.model.tables import CHECK_TEXTS, LinearTables
from tests.corpus import rows
from tests.harness import WritesAFile, copy_model
from training.estimator import build_pipeline
from training.publish import write_model

ODD_TEXTS = (
    "",
    "   \t\n ",
    "\x00\x01\x02 army\u0000tanks",
    "\u202eparliament\u202c vote \u200f\u200e",
    "Ünïcödé ÉCONOMY Straße İstanbul ǅ ﬁnance",
    "e\u0301 a\u0308 combining marks on the defence budget",
    "🚀🔥 markets 💥 rally " * 20,
    "x" * 5000,
    "the the the the the army army",
    "مجلس النواب 議会 парламент",
)


def test_fast_scorer_equals_sklearn_on_the_shipped_corpus_one_by_one_and_in_batches(shipped_corpus_pipeline):
    pipeline, texts, fast = shipped_corpus_pipeline
    expected = pipeline.predict_proba(texts)
    batched = np.vstack([fast.predict_proba(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    single = np.vstack([fast.predict_proba([t]) for t in texts[:300]])
    assert np.abs(batched - expected).max() < 1e-9
    assert np.abs(single - expected[:300]).max() < 1e-9


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_fast_scorer_equals_sklearn_on_odd_text_with_the_shipped_corpus_vocabulary(shipped_corpus_pipeline, text):
    pipeline, _, fast = shipped_corpus_pipeline
    assert np.abs(fast.predict_proba([text]) - pipeline.predict_proba([text])).max() < 1e-9


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), min_size=1, max_size=5))
def test_fast_scorer_equals_sklearn_on_arbitrary_unicode_with_shipped_vocabulary(shipped_corpus_pipeline, texts):
    pipeline, _, fast = shipped_corpus_pipeline
    assert np.abs(fast.predict_proba(texts) - pipeline.predict_proba(texts)).max() < 1e-9


NEWS_ALPHABET = st.sampled_from(
    [*"aZ09_ .,;:'\"-()!?$%&\t\n", *"\u2019\u201c\u2014\u00a3\u20ac\u00a0", "é", "İ", "\u212a", "½", "ǅ"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=NEWS_ALPHABET, max_size=200), min_size=1, max_size=3))
def test_fast_tokens_equal_sklearn_on_news_like_text_with_the_shipped_corpus_vocabulary(shipped_corpus_pipeline, texts):
    pipeline, _, fast = shipped_corpus_pipeline
    analyzer = pipeline.named_steps["tfidf"].build_analyzer()
    assert [fast.tokenizer.grams(t) for t in texts] == [analyzer(t) for t in texts]
    assert np.abs(fast.predict_proba(texts) - pipeline.predict_proba(texts)).max() < 1e-9


def test_evidence_is_the_same_from_both_scorers_on_shipped_corpus_texts(shipped_corpus_pipeline):
    pipeline, texts, fast = shipped_corpus_pipeline
    slow = SklearnScorer(pipeline)
    for text in texts[:50]:
        ours, theirs = fast.evidence(text, 5), slow.evidence(text, 5)
        assert [[t for t, _ in label] for label in ours] == [[t for t, _ in label] for label in theirs]
        assert np.allclose([w for label in ours for _, w in label], [w for label in theirs for _, w in label])


def test_unusual_pipeline_falls_back_to_sklearn_and_says_so(tmp_path, bundle_path, caplog):
    card = read_card(bundle_path)
    texts, labels = [t for t, _ in rows()], list(card.labels)
    y = np.array([[label in row_labels for label in labels] for _, row_labels in rows()], dtype=int)
    pipeline = build_pipeline(min_df=1)
    pipeline.set_params(tfidf__strip_accents="unicode").fit(texts, y)
    bundle = {"pipeline": pipeline, "labels": labels, "thresholds": card.thresholds}
    write_model(tmp_path / "accents.joblib", bundle, card)
    with caplog.at_level(logging.WARNING):
        model = load_model(tmp_path / "accents.joblib")
    assert not model.fast and "strip_accents" in caplog.text
    assert np.allclose(model.predict_proba(["Défense budget"]), pipeline.predict_proba(["Défense budget"]))


def rewrite_card(model_path: Path, **changes: object) -> None:
    card = json.loads(card_path(model_path).read_text())
    card.update(changes)
    card_path(model_path).write_text(json.dumps(card))


@pytest.mark.parametrize("changed", [lambda path: path, tables_path], ids=["joblib", "tables"])
def test_load_model_refuses_a_changed_byte_in_either_file(bundle_path, tmp_path, changed):
    model_path = copy_model(bundle_path, tmp_path)
    data = bytearray(changed(model_path).read_bytes())
    data[len(data) // 2] ^= 0xFF
    changed(model_path).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        load_model(model_path)


def test_tables_serve_under_another_sklearn_version_but_a_pickle_does_not(bundle_path, tmp_path):
    model_path = copy_model(bundle_path, tmp_path)
    rewrite_card(model_path, sklearn_version="0.24.2")
    assert load_model(model_path).fast
    card = json.loads(card_path(model_path).read_text())
    del card["tables"]
    card_path(model_path).write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"scikit-learn 0\.24\.2"):
        load_model(model_path)


def test_a_model_without_tables_is_compiled_at_load(bundle_path, tmp_path):
    model_path = copy_model(bundle_path, tmp_path)
    card = json.loads(card_path(model_path).read_text())
    del card["tables"]
    card_path(model_path).write_text(json.dumps(card))
    model = load_model(model_path)
    _, bundle = load_bundle(bundle_path)
    assert model.fast
    assert np.abs(model.predict_proba(CHECK_TEXTS) - bundle["pipeline"].predict_proba(list(CHECK_TEXTS))).max() < 1e-9


def test_a_model_with_tables_is_served_without_importing_scikit_learn(bundle_path):
    script = (
        "import sys; from pathlib import Path; from service.model.loader import load_model; "
        f"model = load_model(Path({str(bundle_path)!r})); "
        "print(model.fast, sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'joblib'}))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "[]"]


def test_tables_that_do_not_reproduce_their_check_scores_are_not_served(bundle_path, tmp_path, caplog):
    model_path = copy_model(bundle_path, tmp_path)
    tables = LinearTables.from_bytes(tables_path(model_path).read_bytes())
    wrong = dataclasses.replace(tables, intercept=tables.intercept + 0.5).to_bytes()
    tables_path(model_path).write_bytes(wrong)
    rewrite_card(model_path, tables={"file": tables_path(model_path).name, "sha256": sha256_bytes(wrong)})
    with caplog.at_level(logging.WARNING):
        model = load_model(model_path)
    assert "do not reproduce their check scores" in caplog.text
    _, bundle = load_bundle(bundle_path)
    assert np.abs(model.predict_proba(CHECK_TEXTS) - bundle["pipeline"].predict_proba(list(CHECK_TEXTS))).max() < 1e-9


def test_a_tables_file_that_is_not_one_is_a_clear_error(bundle_path, tmp_path):
    model_path = copy_model(bundle_path, tmp_path)
    garbage = b"PK\x03\x04 not really a zip"
    tables_path(model_path).write_bytes(garbage)
    rewrite_card(model_path, tables={"file": tables_path(model_path).name, "sha256": sha256_bytes(garbage)})
    with pytest.raises(ModelError, match="not a linear tables file"):
        load_model(model_path)


def test_tables_survive_their_file_format(shipped_corpus_pipeline):
    pipeline, texts, _ = shipped_corpus_pipeline
    tables = compile_pipeline(pipeline)
    again = LinearTables.from_bytes(tables.to_bytes())
    assert again.terms == tables.terms and again.tokens == tables.tokens
    assert np.array_equal(again.coef, tables.coef) and np.array_equal(again.check_scores, tables.check_scores)
    for implementation in ("python", "auto"):
        ours, theirs = FastScorer(again, implementation), FastScorer(tables, implementation)
        assert np.array_equal(ours.predict_proba(texts[:200]), theirs.predict_proba(texts[:200]))


def test_load_model_checks_the_signature_when_a_key_is_set(bundle_path, tmp_path):
    model_path = copy_model(bundle_path, tmp_path)
    with pytest.raises(ModelError, match="not signed"):
        load_model(model_path, key="secret")
    card = json.loads(card_path(model_path).read_text())
    card["signature"] = signature(card, "other key")
    card_path(model_path).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="signature does not match"):
        load_model(model_path, key="secret")
    card["signature"] = signature(card, "secret")
    card_path(model_path).write_text(json.dumps(card))
    assert load_model(model_path, key="secret").version == card["version"]


def test_malicious_pickle_with_a_forged_card_never_runs(bundle_path, tmp_path):
    model_path = copy_model(bundle_path, tmp_path)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(WritesAFile(marker))
    model_path.write_bytes(payload)
    card = json.loads(card_path(model_path).read_text())
    card["artifact"]["sha256"] = sha256_bytes(payload)
    card["signature"] = signature(card, "forger's guess")
    card_path(model_path).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="signature"):
        load_model(model_path, key="the real key")
    assert not marker.exists()


def test_missing_card_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="model card not found"):
        load_model(tmp_path / "absent.joblib")


def test_a_card_in_the_previous_format_still_loads_and_reads_back_unchanged(bundle_path, tmp_path):
    """Cards written before the typed card: a plain JSON object in the old key order, signed over its canonical
    JSON, possibly with fields this code does not know."""
    model_path = copy_model(bundle_path, tmp_path)
    typed = json.loads(card_path(model_path).read_text())
    order = ["version", "created", "data", "test_data", "python", "sklearn_version", "labels", "settings"]
    old = {name: typed[name] for name in [*order, "thresholds", "metrics", "artifact", "tables"]}
    old["notes"] = "written by an older trainer"
    old["signature"] = hmac.new(
        b"secret",
        json.dumps(old, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
        hashlib.sha256,
    ).hexdigest()
    card_path(model_path).write_text(json.dumps(old, indent=2, ensure_ascii=False) + "\n")
    model = load_model(model_path, key="secret")
    assert model.version == old["version"] and model.fast
    assert model.card.to_json() == old and model.card.extra == {"notes": "written by an older trainer"}
