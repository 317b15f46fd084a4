"""Training: data checks with file:line reasons, the card, atomic writes, custom labels, rollback, evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from service.model.card import FileEntry, ModelCard, card_path, sha256_bytes, tables_path
from service.model.loader import load_model
from tests.corpus import rows
from tests.harness import write_corpus
from training import __main__ as training_main
from training import evaluate, realworld
from training.augment import PLACES, swap_entities
from training.data import DataError, Example, read_examples
from training.misses import error_kinds
from training.publish import previous_path, write_model
from training.quality import masked_metrics
from training.rollback import rollback

CARD_KEYS = {
    "version",
    "created",
    "data",
    "python",
    "sklearn_version",
    "labels",
    "settings",
    "thresholds",
    "metrics",
    "artifact",
    "tables",
}


def train(tmp_path: Path, data: list[tuple[str, tuple[str, ...]]] | None = None, name: str = "m") -> Path:
    model = tmp_path / name / "tagger.joblib"
    model.parent.mkdir(exist_ok=True)
    assert (
        training_main.main(
            [
                "--data",
                str(write_corpus(model.parent / "data.jsonl", data)),
                "--model",
                str(model),
                "--jobs",
                "1",
                "--no-word-vectors",
            ]
        )
        == 0
    )
    return model


def test_train_writes_model_and_card_with_every_key(bundle_path):
    card = json.loads(card_path(bundle_path).read_text())
    assert set(card) >= CARD_KEYS
    assert card["artifact"] == {"file": "tagger.joblib", "sha256": sha256_bytes(bundle_path.read_bytes())}
    tables = tables_path(bundle_path)
    assert card["tables"] == {"file": "tagger.tables.npz", "sha256": sha256_bytes(tables.read_bytes())}
    assert set(card["thresholds"]) == set(card["labels"]) == {"defence", "economic", "political"}
    assert card["metrics"]["test"] is None
    assert {"per_label", "micro_f1", "macro_f1", "hamming_loss", "calibration"} <= set(card["metrics"]["cv"])
    assert card["settings"]["chosen"] and len(card["settings"]["scores"]) == 48
    assert card["data"]["positives"]["defence"] >= 10
    assert bundle_path.with_suffix(".pr.png").read_bytes().startswith(b"\x89PNG")


def test_training_twice_gives_the_same_version(tmp_path, bundle_path):
    again = train(tmp_path)
    assert (
        json.loads(card_path(again).read_text())["version"] == json.loads(card_path(bundle_path).read_text())["version"]
    )


def test_bad_line_is_refused_with_its_number_and_nothing_is_written(tmp_path, capsys, bundle_path):
    model = tmp_path / "existing.joblib"
    model.write_bytes(bundle_path.read_bytes())
    before = model.read_bytes()
    bad = tmp_path / "bad.jsonl"
    lines = [json.dumps({"text": t, "labels": list(ls)}) for t, ls in rows()]
    lines[2] = '{"text": "broken", "labels": ['
    bad.write_text("\n".join(lines))
    assert training_main.main(["--data", str(bad), "--model", str(model)]) == 1
    assert f"{bad}:3: invalid JSON" in capsys.readouterr().err
    assert model.read_bytes() == before and not card_path(model).exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"labels": []}\n', ":1: `text` is missing or empty"),
        ('\n\n{"text": "  ", "labels": []}\n', ":3: `text` is missing or empty"),
        ('{"text": "a", "labels": "defence"}\n', ":1: `labels` must be a list"),
        ('{"text": "a", "labels": [1]}\n', ":1: `labels` must be a list"),
        ('["a"]\n', ":1: expected a JSON object"),
        ('{"text": "a", "labels": []}\n\n{"text": "a", "labels": ["x"]}\n', ":3: duplicate text, first seen at"),
    ],
)
def test_format_checks_name_the_line(tmp_path, content, reason):
    path = tmp_path / "data.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=reason.replace("[", r"\[")):
        read_examples([path])


def test_csv_is_read_with_the_header_as_line_one(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('text,labels\n"Troops, tanks",defence|political\nMarkets rose,economic\n,\n')
    with pytest.raises(DataError, match=r"data.csv:4: `text` is missing"):
        read_examples([path])
    path.write_text('text,labels\n"Troops, tanks",defence|political\nMarkets rose,\n')
    examples = read_examples([path])
    assert [sorted(e.labels) for e in examples] == [["defence", "political"], []]


def test_same_text_in_two_files_names_both_lines(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text('{"text": "same", "labels": []}\n')
    second.write_text('{"text": "other", "labels": []}\n{"text": "same", "labels": []}\n')
    with pytest.raises(DataError, match=rf"{second}:2: duplicate text, first seen at {first}:1"):
        read_examples([first, second])


def test_label_with_too_few_positives_refuses_the_run(tmp_path, capsys):
    data = [*rows(), ("A lone sports paragraph about a cup final.", ("sport",))]
    path = write_corpus(tmp_path / "data.jsonl", data)
    assert training_main.main(["--data", str(path), "--model", str(tmp_path / "m.joblib")]) == 1
    assert "sport (1)" in capsys.readouterr().err
    assert not (tmp_path / "m.joblib").exists()


def test_labels_come_from_the_data(tmp_path):
    renamed = {"defence": "sport", "economic": "culture"}
    data = [(t, tuple(renamed[x] for x in ls if x in renamed)) for t, ls in rows()]
    card = json.loads(card_path(train(tmp_path, data)).read_text())
    assert card["labels"] == ["culture", "sport"]


def test_interrupted_write_leaves_the_previous_model_untouched(tmp_path, bundle_path, monkeypatch):
    model = tmp_path / "tagger.joblib"
    model.write_bytes(bundle_path.read_bytes())
    card_path(model).write_text(card_path(bundle_path).read_text())
    before = (model.read_bytes(), card_path(model).read_bytes())

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("training.publish.keep_previous", interrupted)
    with pytest.raises(KeyboardInterrupt):
        card = ModelCard("x", ("a",), {"a": 0.5}, FileEntry(model.name, ""))
        write_model(model, {"pipeline": None, "labels": ["a"], "thresholds": {"a": 0.5}}, card)
    assert (model.read_bytes(), card_path(model).read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tagger.joblib", "tagger.json"]


def test_rollback_swaps_with_the_previous_model(tmp_path):
    model = train(tmp_path)
    first = json.loads(card_path(model).read_text())["version"]
    data = [*rows(), ("An extra paragraph about the navy's new frigates.", ("defence",))]
    write_corpus(model.parent / "data.jsonl", data)
    assert (
        training_main.main(
            ["--data", str(model.parent / "data.jsonl"), "--model", str(model), "--jobs", "1", "--no-word-vectors"]
        )
        == 0
    )
    second = json.loads(card_path(model).read_text())["version"]
    assert second != first and previous_path(model).exists()
    rollback(model)
    card = json.loads(card_path(model).read_text())
    assert card["version"] == first and load_model(model).version == first
    assert sha256_bytes(model.read_bytes()) == card["artifact"]["sha256"]
    assert sha256_bytes(tables_path(model).read_bytes()) == card["tables"]["sha256"]
    rollback(model)
    assert json.loads(card_path(model).read_text())["version"] == second


def test_evaluate_prints_one_json_object_for_partial_labels(tmp_path, bundle_path, capsys):
    path = tmp_path / "partial.jsonl"
    items = [
        {"text": t, "labels": list(ls)[:1], "orig_label": f"desk{i % 2} (x/{i})"} for i, (t, ls) in enumerate(rows())
    ]
    path.write_text("\n".join(json.dumps(i) for i in items))
    assert evaluate.main(["--data", str(path), "--model", str(bundle_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "partial" and "defence" in report["recall"]
    assert {"all", "desk0", "desk1"} == set(report["false_positive_rate"])


def test_evaluate_full_labels_reports_f1(tmp_path, bundle_path, capsys):
    path = write_corpus(tmp_path / "full.jsonl")
    assert evaluate.main(["--data", str(path), "--model", str(bundle_path)]) == 0
    out = capsys.readouterr().out
    assert "micro F1" in out and "defence" in out


def test_evaluate_baseline_fits_the_shipped_corpus_and_scores_a_file(tmp_path, capsys):
    path = write_corpus(tmp_path / "full.jsonl")
    assert evaluate.main(["--data", str(path), "--baseline", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"].startswith("baseline") and report["per_label"]["economic"]["support"] == sum(
        "economic" in ls for _, ls in rows()
    )


def test_entity_swap_exchanges_each_country_with_its_adjective_and_capital_and_keeps_labels():
    texts = ["Russian troops massed near Kyiv as Moscow denied it.", "Growth in Brazil slowed.", "No place here."]
    copies, y = swap_entities(texts, np.array([[1, 0], [0, 1], [0, 0]]))
    assert len(copies) == 2 and y.tolist() == [[1, 0], [0, 1]]
    first = copies[0]
    assert not {"Russian", "Kyiv", "Moscow"} & set(first.replace(".", "").split())
    russia_now = next(p for p in PLACES if first.startswith(p[1] + " troops"))
    assert russia_now[0] != "Russia" and f"as {russia_now[2]} denied" in first  # adjective and capital agree
    ukraine_now = next(p for p in PLACES if f"near {p[2]} as" in first)
    assert ukraine_now not in (russia_now, ("Ukraine", "Ukrainian", "Kyiv"))
    assert "Brazil" not in copies[1] and copies[1].startswith("Growth in ")


def test_optional_labels_count_neither_way():
    y = np.array([[1, 0], [0, 0], [0, 1]])
    predicted = np.array([[1, 1], [0, 1], [0, 0]])
    keep = np.array([[True, False], [True, True], [True, True]])  # row 0's second label is optional
    report = masked_metrics(y, predicted, keep, ["a", "b"])
    assert report["per_label"]["a"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert report["per_label"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["micro_f1"] == round(2 * 1 / (2 + 2), 4)


def test_eval_realworld_tables_every_file_and_says_so_when_the_folder_is_absent(tmp_path, bundle_path, capsys):
    folder = tmp_path / "realworld"
    folder.mkdir()
    full = [
        {"text": t, "labels": list(ls), "optional": [], "article": f"a{i // 5}", "para": i % 5}
        for i, (t, ls) in enumerate(rows())
    ]
    (folder / "articles.jsonl").write_text("\n".join(json.dumps(item) for item in [*full, full[0]]))
    partial = [{"text": t, "labels": list(ls)[:1], "orig_label": "desk"} for t, ls in rows()]
    (folder / "leads.jsonl").write_text("\n".join(json.dumps(item) for item in partial))
    assert realworld.main(["--folder", str(folder), "--model", str(bundle_path), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert [f["data"] for f in files] == [
        "articles.jsonl",
        "articles.jsonl by article, context_weight 0.5",
        "leads.jsonl",
    ]
    assert files[0]["rows"] == len(full) + 1 and 0 <= files[0]["none_labelled_rate"] <= 1
    assert all(kind.startswith(("missed", "false")) for kind in files[0]["errors"])
    assert files[2]["kind"] == "partial"
    assert realworld.main(["--folder", str(tmp_path / "absent"), "--model", str(bundle_path)]) == 0
    assert "is not here" in capsys.readouterr().out


def test_error_kinds_sort_misses_by_the_story_and_false_labels_by_what_the_story_is_about():
    story = [("Troops crossed the river at dawn", ["defence"]), ("Residents fled", ["defence"]), ("Prices rose", [])]
    other: list[tuple[str, list[str]]] = [("The club won the cup", []), ("Fans sang", [])]
    examples = [
        Example(text, frozenset(labels), f"f:{i}", {"article": article, "optional": []})
        for article, items in (("war", story), ("sport", other))
        for i, (text, labels) in enumerate(items)
    ]
    # defence, economic: the first paragraph is caught, the second (a quote) missed, prices and the cup mislabelled
    predicted = np.array([[1, 0], [0, 0], [0, 1], [0, 1], [0, 0]])
    assert error_kinds(["defence", "economic"], predicted, examples) == {
        "false economic": 2,
        "false: another topic": 1,
        "false: in a story about none of the three": 1,
        "missed defence": 1,
        "missed: the story's main topic": 1,
        "missed: the story's main topic, 12 words or fewer": 1,
    }
