"""`make rollback`: swap the model with its previous version (<name>.prev.*); a running server picks it up."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from service.config import TrainingSettings, read
from service.model.card import card_path
from training.publish import copy_model, previous_path


def rollback(model_path: Path) -> None:
    """Put the previous model's files in place (the card last) and keep the current ones as previous, so a
    second rollback undoes the first. A file only one side has stays where it is: the card names its files.
    Raises FileNotFoundError when there is no previous model."""
    previous = previous_path(model_path)
    for needed in (model_path, card_path(model_path), previous, card_path(previous)):
        if not needed.exists():
            raise FileNotFoundError(f"{needed}: not found, nothing to roll back to")
    with tempfile.TemporaryDirectory(dir=model_path.parent) as folder:
        held = Path(folder) / model_path.name
        copy_model(model_path, held)
        copy_model(previous, model_path)
        copy_model(held, previous)


def main(argv: list[str] | None = None) -> int:
    """Roll back the model at --model; exit 1 when there is no previous model."""
    parser = argparse.ArgumentParser(prog="python -m training.rollback", description=__doc__)
    settings = read(TrainingSettings, None, None, prog="python -m training.rollback")
    parser.add_argument("--model", type=Path, default=settings.model_path, help=f"default {settings.model_path}")
    args = parser.parse_args(argv)
    try:
        rollback(args.model)
    except FileNotFoundError as error:
        print(f"rollback: {error}", file=sys.stderr)
        return 1
    print(f"rolled back: {args.model} is now the previous model; run `make rollback` again to undo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
