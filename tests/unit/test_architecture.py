"""The layering rules hold: core never loads the UI, heavy ML libraries stay off light paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "trl", "peft", "bitsandbytes", "openai")


def _loaded_modules(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "module",
    [
        "ftui.core.findings",
        "ftui.core.runs.events",
        "ftui.core.validation.validate",
        "ftui.core.dataset.reader",
    ],
)
def test_core_modules_load_no_ui_and_no_ml(module: str) -> None:
    loaded = _loaded_modules(f"import {module}")
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)
    assert not any(m.split(".")[0] in HEAVY for m in loaded)


def test_cli_entry_point_is_light() -> None:
    loaded = _loaded_modules("import ftui.cli")
    assert "textual" not in loaded
    assert not any(m.split(".")[0] in HEAVY for m in loaded)


def test_the_store_loads_neither_pandas_nor_numpy_and_leaves_them_importable(
    tmp_path: Path,
) -> None:
    # sqlite_utils imports both when they are installed (a second on every `ftui runs`).
    pytest.importorskip("pandas")
    statement = (
        "from pathlib import Path; from ftui.services.store import RunStore; "
        f"store = RunStore(Path({str(tmp_path / 'h.db')!r}), Path({str(tmp_path / 'runs')!r})); "
        "store.list_runs(); assert 'pandas' not in sys.modules; "
        "import numpy, pandas; print(pandas.__name__)"
    )
    loaded = _loaded_modules(statement)
    assert {"ftui.services.store.connection", "sqlite_utils", "pandas"} <= loaded


def test_import_contracts_hold() -> None:
    pytest.importorskip("importlinter")
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(no_cache=True))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
