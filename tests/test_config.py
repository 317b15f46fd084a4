"""Settings: parsed by type from TAGGER_* variables and flags, with errors that name the variable and the type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.config import ClientSettings, Settings, SettingsError, TrainingSettings, read, settings_table


def test_values_are_parsed_by_the_field_type_and_flags_override_variables():
    environ = {"TAGGER_WORKERS": "3", "TAGGER_GRACE_SECONDS": "2.5", "TAGGER_TLS_CERT": "c.pem", "TAGGER_TLS_KEY": "k"}
    settings = Settings.from_env(["--workers", "4"], environ)
    assert settings.workers == 4 and settings.grace_seconds == 2.5
    assert settings.tls_cert == Path("c.pem") and settings.tls_key == Path("k")
    assert settings.limits.max_paragraphs == 1000 and settings.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TAGGER_WORKERS", "two", "TAGGER_WORKERS must be an integer, got 'two'"),
        ("TAGGER_GRACE_SECONDS", "soon", "TAGGER_GRACE_SECONDS must be a number, got 'soon'"),
        ("TAGGER_MODEL_PATH", "", "TAGGER_MODEL_PATH is empty; it expects a file path"),
        ("TAGGER_TLS_CERT", " ", "TAGGER_TLS_CERT is empty; it expects a file path"),
        ("TAGGER_MAX_EXPLAIN_TERMS", "51", "TAGGER_MAX_EXPLAIN_TERMS must be in [0, 50], got 51"),
        ("TAGGER_WORKERS", "0", "TAGGER_WORKERS must be at least 1, got 0"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_expects(name, value, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env([], {name: value})


def test_a_bad_flag_names_the_flag():
    with pytest.raises(SettingsError, match=re.escape("--max-paragraphs must be an integer, got 'x'")):
        Settings.from_env(["--max-paragraphs", "x"], {})


def test_client_and_training_read_the_same_variables():
    environ = {"TAGGER_ADDRESS": "dns:///tagger:50051", "TAGGER_MODEL_PATH": "m/t.joblib", "TAGGER_MODEL_KEY": "k"}
    assert read(ClientSettings, None, environ, prog="tagger").address == "dns:///tagger:50051"
    training = read(TrainingSettings, None, environ, prog="python -m training")
    assert training.model_path == Path("m/t.joblib") and training.model_key == "k"
    assert "k" not in repr(training)  # the key never reaches a log line


def test_the_readme_settings_table_is_the_one_generated_from_the_definitions():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme, "regenerate it with `python -m service.config`"
