"""trl's training chat templates, found and matched without importing trl.

trl ships, in its `chat_templates/` folder, the published chat templates of about thirty model
families (`NAME.jinja`) beside a training variant of each (`NAME_training.jinja`) that marks the
assistant turns with `{% generation %}` and keeps the end-of-turn token inside them. When
assistant-only loss is on and a tokenizer's template has no markers, trl's `SFTTrainer` swaps in the
training variant of the template that is byte-for-byte the tokenizer's
(`trl.chat_template_utils.get_training_chat_template`). This module applies the same rule to the
same files, so the plan can say before launch which file trl will use: the folder is located with
`importlib.util.find_spec`, which finds a package without running it (importing trl takes seconds).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TRAINING_SUFFIX = "_training.jinja"


@dataclass(frozen=True)
class TrlTemplate:
    """One of trl's training templates and the published template it stands in for."""

    name: str  # the family's file stem, e.g. "qwen2_5"
    path: Path  # the training variant, NAME_training.jinja
    source: str

    @property
    def label(self) -> str:
        return f"trl's {self.path.name}"


def trl_templates_dir() -> Path | None:
    """The installed trl's `chat_templates` folder, or None when trl is not installed."""
    try:
        spec = importlib.util.find_spec("trl")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "chat_templates"
    return folder if folder.is_dir() else None


@lru_cache(maxsize=4)
def _by_original(folder: Path) -> dict[str, TrlTemplate]:
    """Published template text -> its training variant, for every pair in the folder."""
    pairs: dict[str, TrlTemplate] = {}
    for training in sorted(folder.glob(f"*{TRAINING_SUFFIX}")):
        name = training.name.removesuffix(TRAINING_SUFFIX)
        original = folder / f"{name}.jinja"
        try:
            pairs[original.read_text(encoding="utf-8")] = TrlTemplate(
                name, training, training.read_text(encoding="utf-8")
            )
        except OSError:  # a published template without its pair, or an unreadable file
            continue
    return pairs


def trl_training_template(own_template: str, folder: Path | None = None) -> TrlTemplate | None:
    """trl's training variant of this exact template, or None when trl has none for it."""
    folder = folder if folder is not None else trl_templates_dir()
    if folder is None:
        return None
    return _by_original(folder).get(own_template)


def trl_families(folder: Path | None = None) -> list[str]:
    """The families trl has a training template for (file stems), for messages."""
    folder = folder if folder is not None else trl_templates_dir()
    if folder is None:
        return []
    return sorted(t.name for t in _by_original(folder).values())
