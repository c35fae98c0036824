"""A test server that answers chat completions as OpenAI does, and misbehaves on purpose.

    with FakeChat(latency_s=0.2) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="none", max_retries=0)
        server.script("polite", lambda messages: "Certainly! " + last_user(messages))
        server.faults.add("model=judge-a", 429, times=2, retry_after=1)

It speaks `POST /v1/chat/completions` and `GET /v1/models` on 127.0.0.1 and a free port, from
a daemon thread, on the HTTP base of `fake_openai` (its server class, faults and replies). Each
model's answer is a function of the messages (`SCRIPTS` has the usual ones: an echo, judges that
always say [[A]], [[B]] or [[C]], one that never gives a verdict, one that prefers the longer
answer, `writer` that answers ftui's generation prompts); a model no one scripted answers
"MODEL: <the last user turn>", so two names give two different answers. Every call waits
`latency_s` first (outside any lock: concurrent calls overlap).

Faults are `fake_openai.Faults` (429 with Retry-After / retry-after-ms, 500s, dropped
connections, slow answers, 401, 403) matched against "PATH model=MODEL", so
`faults.add("model=judge", 500)` hits the judge only. The server counts calls per model
(`calls_by_model`), the most calls it served at once (`max_concurrent`) and keeps every chat
request's JSON body (`requests`). Like llama.cpp it refuses `n` other than 1 (HTTP 500).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.support.fake_openai import (
    Call,
    Faults,
    ServerThread,
    _HTTPServer,
    _read_body,
    _send,
    _send_error,
    serve_fault,
)
from tests.support.fake_openai_jobs import new_id

Messages = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Reply:
    """A scripted answer with more than its text: no usage, another finish reason."""

    text: str
    usage: bool = True
    finish_reason: str = "stop"


Script = Callable[[Messages], "str | Reply"]


def last_user(messages: Messages) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


_ANSWER = re.compile(
    r"\[The Start of Assistant ([AB])'s Answer\]\s*(.*?)\s*\[The End of Assistant \1's Answer\]",
    re.DOTALL,
)


def answers_in(messages: Messages) -> dict[str, str]:
    """The two answers of an MT-Bench style pairwise prompt: {"A": ..., "B": ...}."""
    text = "\n".join(str(m.get("content") or "") for m in messages)
    return {m[1]: m[2] for m in _ANSWER.finditer(text)}


def judge_longer(messages: Messages) -> str:
    """Prefers the longer answer (a judge with a length bias); no verdict without two answers."""
    found = answers_in(messages)
    if set(found) != {"A", "B"}:
        return "I cannot find two answers to compare."
    a, b = len(found["A"]), len(found["B"])
    verdict = "A" if a > b else "B" if b > a else "C"
    return f"The {'first' if verdict == 'A' else 'second'} answer is more thorough. [[{verdict}]]"


_ASKED_FOR = re.compile(r"\b(?:Write|in) (\d+) different", re.IGNORECASE)
_SCENARIO = re.compile(r"Scenario: (.*)")
_MESSAGE = re.compile(r"Message:\n(.*?)\n\n", re.DOTALL)


def made_up_words(seed: str, count: int) -> str:
    """`count` made-up words from a hash: texts no two seeds share (dedupe leaves them alone)."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return " ".join("q" + digest[i * 6 : i * 6 + 5] for i in range(count))


def writer(messages: Messages) -> str:
    """A generating model: asked for N questions about a scenario or K rewrites of a message
    (ftui's default prompts), it gives a numbered list; asked anything else, it answers it."""
    asked = last_user(messages)
    count = _ASKED_FOR.search(asked)
    scenario, message = _SCENARIO.search(asked), _MESSAGE.search(asked)
    if count and (scenario or message):
        seed = (scenario or message).group(1)  # type: ignore[union-attr]
        items = [
            f"{i}. Which {made_up_words(f'{seed}/{i}', 4)}?" for i in range(1, int(count[1]) + 1)
        ]
        return "Here they are:\n" + "\n".join(items)
    return f"Answer to {asked}"


SCRIPTS: dict[str, Script] = {
    "writer": writer,
    "echo": last_user,
    "judge-a": lambda messages: "Assistant A follows the instructions better. [[A]]",
    "judge-b": lambda messages: "Assistant B is more helpful. [[B]]",
    "judge-tie": lambda messages: "Both are equally good. [[C]]",
    "judge-none": lambda messages: "Both answers have their merits; it is hard to say.",
    "judge-longer": judge_longer,
    "no-usage": lambda messages: Reply(last_user(messages), usage=False),
}


class _ChatHTTPServer(_HTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout, a cancelled task) leaves a broken pipe: not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeChat:
    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        api_key: str | None = None,  # None: any key (or none) is accepted
        scripts: Mapping[str, Script] | None = None,
        known_only: bool = False,  # True: a model no one scripted is a 404, as on a real server
    ) -> None:
        self.latency_s = latency_s
        self.api_key = api_key
        self.scripts: dict[str, Script] = dict(SCRIPTS if scripts is None else scripts)
        self.known_only = known_only
        self.faults = Faults()
        self.calls: list[Call] = []
        self.requests: list[dict[str, Any]] = []  # chat requests' JSON bodies, in arrival order
        self.calls_by_model: Counter[str] = Counter()
        self.concurrent = 0
        self.max_concurrent = 0
        self.lock = threading.Lock()
        # A short poll: each test's teardown waits for it.
        httpd = _ChatHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server = ServerThread(httpd, "fake-chat", poll_s=0.05)
        self.port = self._server.port
        self.base_url = self._server.base_url

    # -- lifetime -----------------------------------------------------------------------------

    def start(self) -> FakeChat:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeChat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests script and read -----------------------------------------------------------

    def script(self, model: str, answer: Script) -> None:
        with self.lock:
            self.scripts[model] = answer

    def spec(self, model: str) -> str:
        """The ftui model spec of `model` on this server."""
        return f"openai-compatible:{self.base_url}#{model}"

    def chat_calls(self, model: str | None = None) -> int:
        """Chat requests received (faulted ones included), for one model or all."""
        with self.lock:
            return self.calls_by_model[model] if model else sum(self.calls_by_model.values())

    def requests_for(self, model: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r.get("model") == model]

    def reset_counters(self) -> None:
        with self.lock:
            self.calls.clear()
            self.requests.clear()
            self.calls_by_model.clear()
            self.max_concurrent = self.concurrent

    # -- one request --------------------------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        body = _read_body(h)
        path = urlsplit(h.path).path
        headers = {name.lower(): value for name, value in h.headers.items()}
        request: dict[str, Any] = {}
        if method == "POST":
            try:
                parsed = json.loads(body or b"{}")
                request = parsed if isinstance(parsed, dict) else {}
            except ValueError:
                return _send_error(h, 400, "The request body is not valid JSON.")
        model = str(request.get("model") or "")
        with self.lock:
            self.calls.append(Call(method, path, {}, time.time(), headers, body))
            if path == "/v1/chat/completions":
                self.requests.append(request)
                self.calls_by_model[model] += 1
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            self._answer(h, method, path, model, request)
        finally:
            with self.lock:
                self.concurrent -= 1

    def _answer(
        self, h: BaseHTTPRequestHandler, method: str, path: str, model: str, request: dict[str, Any]
    ) -> None:
        fault = self.faults.take(method, f"{path} model={model}")
        if fault is not None and serve_fault(h, fault):
            return
        if self.api_key is not None and h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _send_error(h, 401, "Incorrect API key provided.")
        if path == "/v1/models" and method == "GET":
            with self.lock:
                names = sorted(self.scripts)
            data = [{"id": n, "object": "model", "created": 0, "owned_by": "ftui"} for n in names]
            return _send(h, 200, {"object": "list", "data": data})
        if path != "/v1/chat/completions" or method != "POST":
            return _send_error(h, 404, f"Unknown path {method} {path}.")
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        status, payload = self._completion(model, request)
        if status != 200:
            return _send_error(h, status, payload["message"], param=payload.get("param"))
        _send(h, 200, payload)

    def _completion(self, model: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        messages = request.get("messages")
        if not model:
            return 400, {"message": "you must provide a model parameter", "param": "model"}
        if not isinstance(messages, list) or not messages:
            return 400, {"message": "messages must be a non-empty array", "param": "messages"}
        if request.get("n", 1) != 1:
            return 500, {"message": "only n = 1 is supported", "param": "n"}
        with self.lock:
            script = self.scripts.get(model)
        if script is None:
            if self.known_only:
                return 404, {"message": f"The model '{model}' does not exist", "param": "model"}
            reply: str | Reply = f"{model}: {last_user(messages)}"
        else:
            reply = script(messages)
        if isinstance(reply, str):
            reply = Reply(reply)
        words = reply.text.split()
        limit = request.get("max_tokens")
        text, finish = reply.text, reply.finish_reason
        if isinstance(limit, int) and len(words) > limit:  # a word per token, roughly
            text, finish = " ".join(words[:limit]), "length"
        payload: dict[str, Any] = {
            "id": new_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                }
            ],
        }
        if reply.usage:
            prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
            completion = len(text.split())
            payload["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        return 200, payload


def _handler(server: FakeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # see fake_openai: no 40 ms wait per answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            server.handle(self, "GET")

        def do_POST(self) -> None:
            server.handle(self, "POST")

    return Handler
