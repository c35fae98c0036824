"""From a spec to a model: settings, keys, and runs of a real history (a SQLite file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftui.config import Config, JudgeSettings, OpenAISettings
from ftui.core.runs.kinds import ArtifactEvent, RemoteJobEvent, StatusEvent
from ftui.services.backends.openai_client import HOW_TO_SET_KEY
from ftui.services.inference.base import InferenceError, Sampling
from ftui.services.inference.openai_compat import OpenAICompatibleModel
from ftui.services.inference.resolve import default_judge_spec, open_model, run_model_spec
from ftui.services.store import RunStore
from tests.support.fake_chat import FakeChat

KEY = "sk-test-Rq2Wn8Lx5Cv1Bz7Mk4Hp9Tf3"
FT_MODEL = "ft:gpt-4o-mini-2024-07-18:acme::Bx7q2"
QUESTION = [{"role": "user", "content": "Say hi"}]


@pytest.fixture
def config(tmp_path: Path, fake_chat: FakeChat) -> Config:
    return Config(
        home=tmp_path / "home", openai=OpenAISettings(api_key=KEY, base_url=fake_chat.base_url)
    )


@pytest.fixture
def store(config: Config):
    config.ensure_dirs()
    store = RunStore.from_config(config)
    yield store
    store.close()


def finished_openai_run(store: RunStore) -> str:
    run = store.create_run(backend="openai", base_model="gpt-4o-mini-2024-07-18", config={})
    store.append_event(run.id, RemoteJobEvent(job_id="ftjob-abc", remote_status="running"))
    store.append_event(run.id, ArtifactEvent(kind="model_id", model_id=FT_MODEL))
    store.append_event(run.id, StatusEvent(status="succeeded"))
    return run.id


def finished_local_run(store: RunStore, config: Config) -> tuple[str, Path, Path]:
    base = config.models_dir / "tiny-llama"
    base.mkdir(parents=True)
    (base / "config.json").write_text('{"model_type": "llama"}')
    run = store.create_run(backend="local", base_model="tiny-llama", config={})
    adapter = run.run_dir / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    store.append_event(run.id, StatusEvent(status="running"))
    store.append_event(run.id, ArtifactEvent(kind="adapter", path="adapter"))
    store.append_event(run.id, StatusEvent(status="succeeded"))
    return run.id, base.resolve(), adapter


async def test_openai_uses_the_openai_settings_and_key(config: Config, fake_chat: FakeChat) -> None:
    model = open_model("openai:echo", config=config)
    assert isinstance(model, OpenAICompatibleModel)
    try:
        answer = await model.complete(QUESTION, Sampling())
    finally:
        await model.aclose()
    assert answer.text == "Say hi"
    assert fake_chat.calls[-1].headers["authorization"] == f"Bearer {KEY}"
    assert model.label == "openai:echo"


def test_openai_without_a_key_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(InferenceError) as caught:
        open_model("openai:gpt-4o-mini", config=Config(home=tmp_path))
    assert "openai:gpt-4o-mini needs an OpenAI API key" in str(caught.value)
    assert HOW_TO_SET_KEY in str(caught.value)


async def test_a_compatible_server_takes_the_judge_key_else_none_never_the_openai_key(
    tmp_path: Path, fake_chat: FakeChat
) -> None:
    # The OpenAI account is the real API here: the server a spec names is someone else's.
    config = Config(home=tmp_path / "home", openai=OpenAISettings(api_key=KEY))
    spec = fake_chat.spec("echo")
    environments = [
        {"FTUI_JUDGE_API_KEY": "judge-key", "OPENAI_API_KEY": "openai-key"},
        {"OPENAI_API_KEY": "openai-key"},  # a server of a spec's URL never gets the OpenAI key
        {},
    ]
    for environ in environments:
        model = open_model(spec, config=config, environ=environ)
        try:
            await model.complete(QUESTION, Sampling())
        finally:
            await model.aclose()
    seen = [c.headers["authorization"] for c in fake_chat.calls]
    assert seen == ["Bearer judge-key", "Bearer none", "Bearer none"]


async def test_the_openai_key_goes_to_the_openai_server_the_settings_name(
    config: Config, fake_chat: FakeChat
) -> None:
    model = open_model(fake_chat.spec("echo"), config=config, environ={})  # [openai] base_url
    try:
        await model.complete(QUESTION, Sampling())
    finally:
        await model.aclose()
    assert fake_chat.calls[-1].headers["authorization"] == f"Bearer {KEY}"


def test_a_bad_spec_is_a_value_error(config: Config) -> None:
    with pytest.raises(ValueError, match="did you mean openai:gpt-4o"):
        open_model("gpt-4o", config=config)


async def test_an_openai_run_is_its_fine_tuned_model(
    config: Config, store: RunStore, fake_chat: FakeChat
) -> None:
    run_id = finished_openai_run(store)
    fake_chat.script(FT_MODEL, lambda messages: "Hi, from the tuned model.")
    model = open_model(f"run:{run_id[:12]}", config=config, store=store)  # a prefix works
    try:
        answer = await model.complete(QUESTION, Sampling())
    finally:
        await model.aclose()
    assert answer.text == "Hi, from the tuned model."
    assert fake_chat.chat_calls(FT_MODEL) == 1
    assert model.label == f"run:{run_id}"
    assert model.spec.text == f"openai:{FT_MODEL}"


def test_a_local_run_is_its_adapter_on_its_base(config: Config, store: RunStore) -> None:
    run_id, base, adapter = finished_local_run(store, config)
    spec = run_model_spec(store.get_run(run_id), config)
    assert (spec.kind, spec.path, spec.adapter) == ("local", str(base), str(adapter))
    assert spec.text == f"local:{base}+{adapter}"


def test_open_model_of_a_local_run_is_a_local_chat_model(config: Config, store: RunStore) -> None:
    local = pytest.importorskip("ftui.services.inference.local")
    run_id, base, adapter = finished_local_run(store, config)
    model = open_model(f"run:{run_id}", config=config, store=store)
    assert isinstance(model, local.LocalChatModel)
    assert (model.spec.path, model.spec.adapter) == (str(base), str(adapter))
    assert model.label == f"run:{run_id}"


def test_a_run_with_no_model_yet_says_so(config: Config, store: RunStore) -> None:
    running = store.create_run(backend="openai", base_model="gpt-4o-mini", config={})
    store.append_event(running.id, StatusEvent(status="running"))
    with pytest.raises(InferenceError) as caught:
        open_model(f"run:{running.id}", config=config, store=store)
    assert f"run {running.id} has not finished: no model to judge yet" in str(caught.value)
    assert "it is running" in str(caught.value)

    failed = store.create_run(backend="local", base_model="tiny", config={})
    store.append_event(failed.id, StatusEvent(status="failed", error="CUDA out of memory"))
    with pytest.raises(InferenceError, match=r"failed \(CUDA out of memory\): it made no model"):
        open_model(f"run:{failed.id}", config=config, store=store)


def test_unknown_ambiguous_and_storeless_runs_are_clear_errors(
    config: Config, store: RunStore
) -> None:
    with pytest.raises(InferenceError, match=r"run:nosuchrun: no run matches 'nosuchrun'"):
        open_model("run:nosuchrun", config=config, store=store)
    first = store.create_run(backend="openai", base_model="m", config={}, run_id="same-1")
    store.create_run(backend="openai", base_model="m", config={}, run_id="same-2")
    with pytest.raises(InferenceError, match="matches several runs"):
        open_model("run:same", config=config, store=store)
    with pytest.raises(InferenceError, match="no run history was given"):
        open_model(f"run:{first.id}", config=config)


def test_a_local_run_whose_files_are_gone_says_what_is_missing(
    config: Config, store: RunStore
) -> None:
    run_id, base, adapter = finished_local_run(store, config)
    (adapter / "adapter_config.json").unlink()
    adapter.rmdir()
    with pytest.raises(InferenceError, match=r"adapter .* is missing"):
        open_model(f"run:{run_id}", config=config, store=store)
    adapter.mkdir()
    (base / "config.json").unlink()
    with pytest.raises(InferenceError, match="base model cannot be found"):
        open_model(f"run:{run_id}", config=config, store=store)


def test_the_default_judge_comes_from_the_judge_settings(tmp_path: Path) -> None:
    def judge(**settings) -> str | None:
        return default_judge_spec(Config(home=tmp_path, judge=JudgeSettings(**settings)))

    assert judge() is None
    assert judge(model="gpt-4.1") == "openai:gpt-4.1"
    assert judge(model="qwen", base_url="http://127.0.0.1:8000/v1") == (
        "openai-compatible:http://127.0.0.1:8000/v1#qwen"
    )
    # A model that is a spec already says where it runs (the CLI and the pane read it alike).
    assert judge(model="local:/models/judge", base_url="http://127.0.0.1:8000/v1") == (
        "local:/models/judge"
    )
