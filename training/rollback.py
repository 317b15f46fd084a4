"""`make rollback`: swap the model with its previous version (<name>.prev.joblib/.json); a server picks it up."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from service.artifact import card_path
from training.card import copy_atomically, previous_path


def rollback(model_path: Path) -> None:
    """Put the previous model and card in place (joblib first, card last) and keep the current one as previous,
    so a second rollback undoes the first. Raises FileNotFoundError when there is no previous model."""
    previous = previous_path(model_path)
    for needed in (model_path, card_path(model_path), previous, card_path(previous)):
        if not needed.exists():
            raise FileNotFoundError(f"{needed}: not found, nothing to roll back to")
    with tempfile.TemporaryDirectory(dir=model_path.parent) as folder:
        held = Path(folder)
        copy_atomically(model_path, held / "model")
        copy_atomically(card_path(model_path), held / "card")
        copy_atomically(previous, model_path)
        copy_atomically(card_path(previous), card_path(model_path))
        copy_atomically(held / "model", previous)
        copy_atomically(held / "card", card_path(previous))


def main(argv: list[str] | None = None) -> int:
    """Roll back the model at --model; exit 1 when there is no previous model."""
    parser = argparse.ArgumentParser(prog="python -m training.rollback", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/tagger.joblib"))
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
