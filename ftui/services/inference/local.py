"""A local model (transformers, optional peft adapter) as a ChatModel, in a worker process.

The worker is `python -m ftui.train.generate` (torch never enters this process). It starts on first
use, in its own session and with only the environment it needs, and is sent every request as soon
as it is asked, so requests made concurrently are batched by the worker; answers come back in any
order and are matched by id. If the worker dies, the requests it held are sent once more to a new
one; a request that kills that one too fails with the worker's last lines of stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ftui.services.inference.base import Completion, InferenceError, Sampling
from ftui.services.inference.spec import ModelSpec
from ftui.services.launcher import child_environment

READY_TIMEOUT_S = 600.0  # a large model from a slow disk takes minutes
CLOSE_TIMEOUT_S = 5.0
STDERR_LINES = 30  # the worker's stderr tail kept for error messages
LINE_LIMIT = 64 * 1024 * 1024  # one answer line may be long


class LocalRequestError(InferenceError):
    """The worker refused this request (a bad message, a prompt too long); another may work."""


class WorkerDied(Exception):
    """The worker process ended while a request was waiting for it."""


class _Worker:
    """One running generation process: its pipes, the requests in flight, its stderr tail."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.alive = True
        self._tasks = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    def stderr_tail(self) -> str:
        return "\n".join(self.stderr).strip()

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            # Progress bars redraw with carriage returns: keep what the line finally showed.
            line = line.rsplit("\r", 1)[-1]
            if line:
                self.stderr.append(line)

    async def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        try:
            async for raw in self.process.stdout:
                try:
                    message = json.loads(raw)
                except json.JSONDecodeError:
                    self.stderr.append(raw.decode("utf-8", "replace").rstrip())
                    continue
                if not isinstance(message, dict):
                    continue
                if not self.ready.done():
                    self.ready.set_result(message)
                    continue
                future = self.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
                if future is not None and not future.done():
                    future.set_result(message)
        finally:
            self.alive = False
            await self.process.wait()
            with contextlib.suppress(Exception):  # the stderr reader sees the end just after
                await asyncio.wait_for(self._tasks[1], 1.0)
            died = WorkerDied(self.process.returncode)
            if not self.ready.done():
                self.ready.set_exception(died)
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(died)
            self.pending.clear()

    async def send(self, request_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.alive:
            raise WorkerDied(self.process.returncode)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(payload) + "\n").encode())
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self.pending.pop(request_id, None)
            raise WorkerDied(self.process.returncode) from None
        return await future

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            with contextlib.suppress(Exception):
                self.process.stdin.close()  # end of input: the worker finishes and exits
            try:
                await asyncio.wait_for(self.process.wait(), CLOSE_TIMEOUT_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def worker_command(spec: ModelSpec, *, python: str, device: str) -> list[str]:
    """The argv of the generation worker for a `local:` spec."""
    if spec.kind != "local" or not spec.path:
        raise ValueError(f"{spec.text!r} is not a local model spec (local:PATH[+ADAPTER])")
    argv = [python, "-m", "ftui.train.generate", str(Path(spec.path).expanduser())]
    if spec.adapter:
        argv += ["--adapter", str(Path(spec.adapter).expanduser())]
    return [*argv, "--device", device]


def worker_environment(parent: Mapping[str, str]) -> dict[str, str]:
    """Only what the worker needs (no keys, no tokens), offline, and this ftui importable."""
    here = str(Path(__file__).resolve().parents[3])  # the folder that holds the ftui package
    python_path = os.pathsep.join(p for p in (here, parent.get("PYTHONPATH", "")) if p)
    return child_environment(
        parent,
        {
            "PYTHONPATH": python_path,
            "PYTHONUNBUFFERED": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        },
    )


class LocalChatModel:
    """A `local:PATH[+ADAPTER]` model; the ChatModel interface over a generation worker."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        device: str = "auto",
        python: str | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
        label: str | None = None,
    ) -> None:
        self.spec = spec
        self.label = label or spec.text
        self._argv = worker_command(spec, python=python or sys.executable, device=device)
        self._ready_timeout_s = ready_timeout_s
        self._worker: _Worker | None = None
        self._starting: asyncio.Lock | None = None
        self._ids = itertools.count(1)
        self._closed = False
        self.device: str | None = None  # where the worker generates, once it has said so
        self.starts = 0  # how many workers were started (a restart makes it 2)

    async def complete(
        self, messages: Sequence[Mapping[str, str]], sampling: Sampling
    ) -> Completion:
        payload: dict[str, Any] = {
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "temperature": sampling.temperature,
            "max_tokens": sampling.max_tokens,
            "top_p": sampling.top_p,
            "seed": sampling.seed,
        }
        for attempt in (1, 2):
            worker = await self._running_worker()
            request_id = next(self._ids)
            try:
                answer = await worker.send(request_id, {"id": request_id, **payload})
            except WorkerDied:
                if attempt == 2:
                    raise InferenceError(
                        f"{self.label}: the local generation worker died twice answering this "
                        f"request (exit status {worker.process.returncode}). Its last output:\n"
                        f"{worker.stderr_tail() or '(nothing)'}\nIf it ran out of memory, use a "
                        "smaller model, a shorter max_tokens, or --device cpu.",
                        model=self.label,
                    ) from None
                continue
            if "error" in answer:
                raise LocalRequestError(
                    f"{self.label}: the local model could not answer: {answer['error']}",
                    model=self.label,
                )
            return Completion(
                text=str(answer.get("text", "")),
                model=self.label,
                prompt_tokens=answer.get("prompt_tokens"),
                completion_tokens=answer.get("completion_tokens"),
                finish_reason=answer.get("finish_reason"),
            )
        raise AssertionError("unreachable")

    async def list_models(self) -> list[str]:
        return [self.label]

    async def start(self) -> None:
        """Start the worker now and wait until the model is loaded (else on first request)."""
        await self._running_worker()

    async def aclose(self) -> None:
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.close()

    async def _running_worker(self) -> _Worker:
        if self._closed:
            raise InferenceError(
                f"{self.label}: this model was closed; open it again to use it.", model=self.label
            )
        if self._worker is not None and self._worker.alive:
            return self._worker
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:  # concurrent first requests start one worker, not several
            if self._worker is not None and self._worker.alive:
                return self._worker
            old, self._worker = self._worker, None
            if old is not None:
                await old.close()
            self._worker = await self._start()
            return self._worker

    async def _start(self) -> _Worker:
        try:
            process = await asyncio.create_subprocess_exec(
                *self._argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=worker_environment(os.environ),
                start_new_session=True,  # a Ctrl-C in the terminal reaches ftui, which ends it
                limit=LINE_LIMIT,
            )
        except OSError as exc:
            raise InferenceError(
                f"{self.label}: cannot start the local generation worker ({exc}); check that "
                f"{self._argv[0]} is a Python with ftui's training extras installed.",
                model=self.label,
            ) from None
        self.starts += 1
        worker = _Worker(process)
        try:
            first = await asyncio.wait_for(asyncio.shield(worker.ready), self._ready_timeout_s)
        except TimeoutError:
            await _kill(worker)
            raise InferenceError(
                f"{self.label}: the model did not load within {self._ready_timeout_s:.0f} s. "
                f"The worker's last output:\n{worker.stderr_tail() or '(nothing)'}",
                model=self.label,
            ) from None
        except WorkerDied:
            await worker.close()
            raise InferenceError(
                f"{self.label}: the local generation worker exited while loading (exit status "
                f"{process.returncode}). Its last output:\n{worker.stderr_tail() or '(nothing)'}",
                model=self.label,
            ) from None
        if "error" in first or not first.get("ready"):
            await worker.close()
            raise InferenceError(
                f"{self.label}: cannot load the model: {first.get('error')}", model=self.label
            )
        self.device = first.get("device")
        return worker


async def _kill(worker: _Worker) -> None:
    with contextlib.suppress(ProcessLookupError):
        worker.process.kill()
    await worker.close()
