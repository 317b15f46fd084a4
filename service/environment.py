"""Reading a frozen settings class from TAGGER_* environment variables and then command-line flags: each value parsed
by its field's type, and an empty or malformed one an error that names the variable or flag and what it expects."""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

PREFIX = "TAGGER_"
_EXPECTS = {int: "an integer", float: "a number", Path: "a file path", str: "a string"}
_S = TypeVar("_S")


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable or flag."""


def read(cls: type[_S], argv: Sequence[str] | None, environ: Mapping[str, str] | None, prog: str) -> _S:
    """An instance of the settings class `cls` from TAGGER_* variables in `environ`, then `argv` flags (None: no
    flag parsing). Raises SettingsError naming the variable or flag whose value cannot be used."""
    environ = os.environ if environ is None else environ
    types_ = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    parser = argparse.ArgumentParser(prog=prog, description=cls.__doc__)
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        env_name = PREFIX + field.name.upper()
        if env_name in environ:
            values[field.name] = parse(types_[field.name], environ[env_name], env_name)
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            metavar=field.name.upper(),
            help=f"{field.metadata['doc']} (env {env_name})",
        )
    if argv is not None:
        flags = parser.parse_args(argv)
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            raw = getattr(flags, field.name)
            if raw is not None:
                values[field.name] = parse(types_[field.name], raw, "--" + field.name.replace("_", "-"))
    return cls(**values)


def parse(kind: Any, raw: str, name: str) -> Any:
    """`raw` as the type `kind` (int, float, str, Path, or one of them | None); `name` is for the message."""
    if isinstance(kind, types.UnionType):
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if typing.get_origin(kind) is typing.Literal:
        return raw  # checked against its choices by the settings class
    if raw.strip() == "":
        raise SettingsError(f"{name} is empty; it expects {_EXPECTS[kind]} (unset it to use the default)")
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {_EXPECTS[kind]}, got {raw!r}") from None
