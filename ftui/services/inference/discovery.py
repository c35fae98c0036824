"""What a model field can offer as the user types a spec: the model names a server serves (its
`/v1/models`), local model folders, runs of the history, OpenAI's priced models.

Each answer is a list of full spec texts that start with what was typed; nothing here raises for a
server that is down or a folder that is not there (the field simply offers nothing).
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterable
from pathlib import Path

MODELS_TIMEOUT_S = 2.0
MAX_FOLDERS = 200


def server_models(base_url: str, *, api_key: str | None = None) -> list[str]:
    """The model names an OpenAI-compatible server lists at `base_url`/models ([] on failure)."""
    request = urllib.request.Request(
        base_url.rstrip("/") + "/models",
        headers={"Authorization": f"Bearer {api_key or 'none'}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=MODELS_TIMEOUT_S) as answer:
            data = json.loads(answer.read().decode("utf-8", errors="replace"))
    except (OSError, ValueError):
        return []
    models = data.get("data") if isinstance(data, dict) else None
    if not isinstance(models, list):
        return []
    return sorted({str(item["id"]) for item in models if isinstance(item, dict) and "id" in item})


def is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def folders_like(typed: str, *, base: Path | None = None) -> list[str]:
    """Folders whose path starts with `typed` (relative to `base`, the working directory by
    default): model folders first, then others to descend into."""
    root = base or Path.cwd()
    expanded = os.path.expanduser(typed)
    head, _, prefix = expanded.rpartition("/")
    parent = Path(head or ("/" if expanded.startswith("/") else "."))
    where = parent if parent.is_absolute() else root / parent
    try:
        entries = sorted(entry for entry in where.iterdir() if entry.is_dir())
    except OSError:
        return []
    shown = head + "/" if head or expanded.startswith("/") else ""
    matches = [entry for entry in entries if entry.name.startswith(prefix)][:MAX_FOLDERS]
    models = [shown + entry.name for entry in matches if is_model_folder(entry)]
    others = [shown + entry.name + "/" for entry in matches if not is_model_folder(entry)]
    return models + others


def complete_spec(
    typed: str,
    *,
    run_ids: Iterable[str] = (),
    openai_models: Iterable[str] = (),
    server_names: Iterable[str] = (),
    base: Path | None = None,
) -> list[str]:
    """Full spec texts that complete `typed`; the server's names apply to an
    `openai-compatible:URL#` prefix (the caller fetched them for that URL)."""
    kinds = ("openai:", "openai-compatible:", "local:", "run:")
    if ":" not in typed:
        return [kind for kind in kinds if kind.startswith(typed)]
    kind, _, rest = typed.partition(":")
    if kind == "run":
        return [f"run:{run_id}" for run_id in run_ids if run_id.startswith(rest)]
    if kind == "openai":
        return [f"openai:{name}" for name in openai_models if name.startswith(rest)]
    if kind == "openai-compatible" and "#" in rest:
        url, _, name = rest.partition("#")
        return [
            f"openai-compatible:{url}#{model}" for model in server_names if model.startswith(name)
        ]
    if kind == "local":
        model, plus, adapter = rest.partition("+")
        if plus:
            return [f"local:{model}+{path}" for path in folders_like(adapter, base=base)]
        return [f"local:{path}" for path in folders_like(model, base=base)]
    return []
