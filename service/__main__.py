"""`python -m service`: read settings, configure logging, serve until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import sys

from service.api.lifecycle import serve
from service.api.server import BindError
from service.config import Settings, SettingsError
from service.domain.errors import ModelError
from service.observability.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    """Serve; exit 0 after a clean stop, 1 when the model cannot be served or the address bound, 2 on a bad
    setting."""
    try:
        settings = Settings.from_env(sys.argv[1:] if argv is None else argv)
    except SettingsError as error:
        print(f"python -m service: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    try:
        asyncio.run(serve(settings))
    except (ModelError, BindError, OSError) as error:
        logging.getLogger("service").error("cannot serve: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
