"""Every training backend keeps the interface: async methods, honest capabilities, its own runs
only. Parametrized over the services root's registry, so a new backend is checked here too."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftui.config import Config
from ftui.core.runs.events import RunStatus
from ftui.core.training.local_config import LocalTrainConfig
from ftui.services.backends.base import (
    Capabilities,
    LaunchError,
    NotSupported,
    TrainingBackend,
)
from ftui.services.root import BACKEND_CLASSES, Services, UnknownBackend

INTERFACE = ("preflight", "launch", "cancel", "resume", "reattach", "pause", "checkpoint_now")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    root = Services(Config(home=tmp_path / "home"))
    yield root
    root.close()


@pytest.mark.parametrize("name", sorted(BACKEND_CLASSES))
async def test_a_backend_keeps_the_interface(services: Services, name: str) -> None:
    backend = services.backend(name)
    assert isinstance(backend, TrainingBackend)
    assert backend.name == name
    assert backend.store is services.store and backend.config is services.config
    assert isinstance(backend.capabilities, Capabilities) and backend.capabilities.label
    for method in INTERFACE:
        assert inspect.iscoroutinefunction(getattr(backend, method)), method
    # Nothing to pick up in an empty history.
    assert await backend.reattach() == []


@pytest.mark.parametrize("name", sorted(BACKEND_CLASSES))
async def test_what_a_backend_cannot_do_is_refused_by_name(services: Services, name: str) -> None:
    backend = services.backend(name)
    run = services.store.create_run(backend=name, base_model="m", config={})
    for capability in ("pause", "checkpoint_now"):
        if not getattr(backend.capabilities, capability):
            with pytest.raises(NotSupported, match=re.escape(backend.capabilities.label)):
                await getattr(backend, capability)(run.id)
    assert set(backend.capabilities.names()) <= {
        "cancel", "resume", "pause", "checkpoint_now", "run_again", "local_gpu",
        "memory_estimate", "cost_estimate", "needs_api_key", "survives_exit",
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(BACKEND_CLASSES))
async def test_a_backend_acts_only_on_its_own_runs(services: Services, name: str) -> None:
    other = "openai" if name != "openai" else "local"
    foreign = services.store.create_run(backend=other, base_model="m", config={})
    services.store.update_run(foreign.id, status=RunStatus.RUNNING)
    backend = services.backend(name)
    for action in (backend.cancel, backend.resume):
        with pytest.raises(LaunchError, match=f"is a {other} run, not a {name} one"):
            await action(foreign.id)
    # Its reattach leaves the other backend's running run alone.
    await backend.reattach()
    assert services.store.get_run(foreign.id).status == RunStatus.RUNNING


def test_the_root_builds_each_backend_once_and_refuses_unknown_names(services: Services) -> None:
    assert services.backend("local") is services.backend("local") is services.local
    run = services.store.create_run(backend="local", base_model="m", config={})
    assert services.backend_for(run) is services.local
    with pytest.raises(UnknownBackend, match="No training backend called 'vertex'"):
        services.backend("vertex")


def test_the_root_closes_only_a_store_it_opened(tmp_path: Path) -> None:
    from ftui.services.store import RunStore

    store = RunStore.from_config(Config(home=tmp_path))
    Services(Config(home=tmp_path), store=store).close()
    assert store.list_runs() == []  # still usable: the caller owns it
    store.close()


async def test_a_local_launch_that_fails_its_checks_records_nothing(
    services: Services, tmp_path: Path
) -> None:
    job = LocalTrainConfig(base_model="acme/absent", dataset_path=str(tmp_path / "none.jsonl"))
    plan = await services.local.preflight(job)
    assert not plan.ok
    assert any("none.jsonl does not exist" in p for p in plan.problems)
    with pytest.raises(LaunchError, match="Cannot start this run"):
        await services.local.launch(job)
    assert services.store.list_runs() == []


def test_the_local_capabilities_say_what_it_does() -> None:
    from ftui.services.backends.local import LocalBackend

    caps = LocalBackend.capabilities
    assert caps.cancel and caps.resume and caps.run_again and caps.local_gpu
    assert not caps.pause and not caps.cost_estimate and not caps.needs_api_key


def test_nothing_in_the_ui_builds_a_store_or_a_backend_of_its_own() -> None:
    ui = Path(__file__).resolve().parents[2] / "ftui" / "tui"
    pattern = re.compile(r"\bRunStore(\.from_config)?\(|\b\w*Backend\(|services\.store\b\s*=")
    offenders = [
        f"{path.relative_to(ui)}:{number}"
        for path in ui.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []  # they come from the services root that make_app builds
