"""Scoring a batch without holding the event loop: chunks, with the deadline checked between them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from service.model import Model
from service.tagging import Options, Tags, tag_texts

# Paragraphs scored between two yields to the event loop: small enough that health checks and other calls
# are not held up by a 1,000-paragraph batch, large enough that batching pays.
_CHUNK = 64


class DeadlineExceeded(Exception):
    """The call's deadline passed before its batch was scored; the rest of the batch is not worked on."""


async def tag_batch(model: Model, texts: Sequence[str], options: Options, deadline: float | None) -> list[Tags]:
    """Tag `texts` with `model`, yielding to the loop between chunks; `deadline` is in loop.time() terms."""
    loop = asyncio.get_running_loop()
    tags: list[Tags] = []
    for start in range(0, len(texts), _CHUNK):
        if deadline is not None and loop.time() > deadline:
            raise DeadlineExceeded(f"deadline exceeded after {start} of {len(texts)} paragraphs")
        tags.extend(tag_texts(model, texts[start : start + _CHUNK], options))
        if start + _CHUNK < len(texts):
            await asyncio.sleep(0)
    return tags
