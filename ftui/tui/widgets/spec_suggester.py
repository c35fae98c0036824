"""Completion of a model spec as it is typed (`Input(suggester=...)`; → accepts it): the names a
server lists at its `/v1/models` after `openai-compatible:URL#`, local folders after `local:`,
runs of the history after `run:`, OpenAI's priced models after `openai:`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence

from textual.suggester import Suggester

from ftui.core.pricing.inference import INFERENCE_PRICES
from ftui.services.inference.discovery import complete_spec, server_models


class SpecSuggester(Suggester):
    def __init__(self, run_ids: Callable[[], Sequence[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.run_ids = run_ids
        self._served: dict[str, list[str]] = {}  # a server's names, asked once per URL

    async def get_suggestion(self, value: str) -> str | None:
        names: list[str] = []
        if value.startswith("openai-compatible:") and "#" in value:
            url = value.removeprefix("openai-compatible:").partition("#")[0]
            if url not in self._served:
                key = os.environ.get("FTUI_JUDGE_API_KEY")
                self._served[url] = await asyncio.to_thread(server_models, url, api_key=key)
            names = self._served[url]
        completions = await asyncio.to_thread(
            complete_spec,
            value,
            run_ids=list(self.run_ids()),
            openai_models=sorted(INFERENCE_PRICES),
            server_names=names,
        )
        completions = [text for text in completions if text != value]
        return completions[0] if completions else None
