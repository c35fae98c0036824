"""`ftui serve`: a local model as an OpenAI-compatible server (/v1/chat/completions, /v1/models).

Two engines. With vLLM installed and a GPU present, vLLM's own OpenAI server is exec'd (an adapter
is served with `--enable-lora --lora-modules`); otherwise a small stdlib `ThreadingHTTPServer`
answers, backed by a `LocalChatModel` (requests in flight at once are batched by its worker). The
choice is `plan_server`, a pure function.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from ftui.services.inference.base import ChatModel, InferenceError, Sampling
from ftui.services.inference.local import LocalRequestError
from ftui.services.inference.spec import ModelSpec

Engine = Literal["builtin", "vllm"]
DEFAULT_MAX_TOKENS = 512
MAX_BODY_BYTES = 32 * 1024 * 1024
VLLM_DEFAULT_MAX_LORA_RANK = 16


def served_name(spec: ModelSpec) -> str:
    """The model name clients ask for: the adapter's folder name, else the model's."""
    chosen = spec.adapter or spec.path or spec.text
    return Path(chosen.rstrip("/")).name or chosen


@dataclass(frozen=True)
class ServerPlan:
    engine: Engine
    name: str  # the model name served
    argv: list[str] | None  # the command to exec for vLLM; None for the built-in server
    reason: str  # one line saying why this engine


def plan_server(
    spec: ModelSpec,
    *,
    host: str,
    port: int,
    python: str,
    vllm_installed: bool,
    gpu_count: int,
    engine: Literal["auto", "builtin", "vllm"] = "auto",
    name: str | None = None,
    lora_rank: int | None = None,
) -> ServerPlan:
    """Which server to run for a `local:` spec, and vLLM's command line when it is vLLM."""
    if spec.kind != "local" or not spec.path:
        raise ValueError(
            f"ftui serve takes a local model, local:PATH[+ADAPTER]; {spec.text!r} is not one"
        )
    served = name or served_name(spec)
    if engine == "vllm" and not (vllm_installed and gpu_count > 0):
        missing = "vLLM is not installed" if not vllm_installed else "no GPU is visible"
        raise ValueError(f"--engine vllm, but {missing}; use --engine auto or builtin")
    if engine == "builtin" or (engine == "auto" and not (vllm_installed and gpu_count > 0)):
        why = (
            "asked for"
            if engine == "builtin"
            else ("vLLM is not installed" if not vllm_installed else "no GPU is visible")
        )
        return ServerPlan("builtin", served, None, f"ftui's built-in server ({why})")
    argv = [
        python, "-m", "vllm.entrypoints.openai.api_server", "--model", spec.path,
        "--host", host, "--port", str(port),
    ]  # fmt: skip
    if spec.adapter:
        base_name = Path(spec.path.rstrip("/")).name or spec.path
        argv += ["--served-model-name", base_name, "--enable-lora"]
        argv += ["--lora-modules", f"{served}={spec.adapter}"]
        if lora_rank is not None and lora_rank > VLLM_DEFAULT_MAX_LORA_RANK:
            argv += ["--max-lora-rank", str(lora_rank)]
    else:
        argv += ["--served-model-name", served]
    return ServerPlan("vllm", served, argv, f"vLLM on {gpu_count} GPU(s)")


def adapter_rank(adapter: str | None) -> int | None:
    """The LoRA rank in an adapter's adapter_config.json (None when unknown)."""
    if not adapter:
        return None
    try:
        rank = json.loads((Path(adapter) / "adapter_config.json").read_text()).get("r")
    except (OSError, ValueError, AttributeError):
        return None
    return rank if isinstance(rank, int) else None


class BadRequest(ValueError):
    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status


def _number(body: Mapping[str, Any], key: str, default: float) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{key} must be a number, not {value!r}", key)
    return float(value)


def sampling_of(body: Mapping[str, Any]) -> Sampling:
    """The request's sampling settings, with OpenAI's defaults for those not sent."""
    n = body.get("n", 1)
    if n not in (1, None):
        raise BadRequest(f"n={n!r}: this server returns one choice per request; send n=1", "n")
    if body.get("stream"):
        raise BadRequest("streaming is not supported by ftui's server; send stream=false", "stream")
    max_tokens = body.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = body.get("max_tokens")
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise BadRequest(f"max_tokens must be a whole number of at least 1, not {max_tokens!r}")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRequest(f"seed must be a whole number, not {seed!r}", "seed")
    try:
        return Sampling(
            temperature=_number(body, "temperature", 1.0),
            max_tokens=max_tokens,
            top_p=_number(body, "top_p", 1.0),
            seed=seed,
        )
    except ValueError as exc:  # out of range: the interface says what
        raise BadRequest(str(exc)) from None


def messages_of(body: Mapping[str, Any]) -> list[dict[str, str]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list of {role, content}", "messages")
    clean: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # content parts: keep the text ones
            parts = [p.get("text", "") for p in content if isinstance(p, dict)]
            content = "".join(p for p in parts if isinstance(p, str))
        if not isinstance(message, dict) or not isinstance(content, str):
            raise BadRequest(f"messages[{index}] needs a role and a text content", "messages")
        clean.append({"role": str(message.get("role")), "content": content})
    return clean


class LocalModelServer:
    """The built-in OpenAI-compatible server, on a thread, over one chat model.

    The model's coroutines run on an event loop of their own thread; each HTTP request thread
    waits for its answer there, so concurrent requests reach the model concurrently."""

    def __init__(self, model: ChatModel, *, name: str, host: str = "127.0.0.1", port: int = 0):
        self.model = model
        self.name = name
        self.created = int(time.time())
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._loop_thread.start()
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self), bind_and_activate=False)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 256  # the default backlog of 5 stalls bursts of calls
        self.httpd.server_bind()
        self.httpd.server_activate()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def run_on_model(self, make: Callable[[], Any]) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(make(), self._loop)
        return future.result()

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.run_on_model(self.model.aclose)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join(5)

    def models_body(self) -> dict[str, Any]:
        entry = {"id": self.name, "object": "model", "created": self.created, "owned_by": "ftui"}
        return {"object": "list", "data": [entry]}

    def completion_body(self, body: Mapping[str, Any]) -> dict[str, Any]:
        asked = body.get("model")
        if asked not in (None, "", self.name):
            raise BadRequest(
                f"The model {asked!r} does not exist here; this server serves {self.name!r}.",
                "model",
                status=404,
            )
        messages = messages_of(body)
        sampling = sampling_of(body)
        completion = self.run_on_model(lambda: self.model.complete(messages, sampling))
        usage = None
        if completion.prompt_tokens is not None and completion.completion_tokens is not None:
            usage = {
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
                "total_tokens": completion.prompt_tokens + completion.completion_tokens,
            }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.text},
                    "finish_reason": completion.finish_reason or "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }


def _error(message: str, kind: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def _handler_for(server: LocalModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the access log would drown the terminal under a judge's hundreds of calls

        def _send(self, status: int, payload: Mapping[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path in ("/v1/models", "/models"):
                self._send(200, server.models_body())
            elif path in ("/health", "/v1/health"):
                self._send(200, {"status": "ok", "model": server.name})
            else:
                self._send(404, _error(f"No route GET {path}", "invalid_request_error"))

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, _error(f"No route POST {path}", "invalid_request_error"))
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    raise BadRequest(f"the request body is over {MAX_BODY_BYTES} bytes", None, 413)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise BadRequest("the request body must be a JSON object")
                self._send(200, server.completion_body(body))
            except BadRequest as exc:
                kind = "not_found_error" if exc.status == 404 else "invalid_request_error"
                self._send(exc.status, _error(str(exc), kind, exc.param))
            except (ValueError, UnicodeDecodeError) as exc:
                self._send(
                    400, _error(f"the request body is not JSON: {exc}", "invalid_request_error")
                )
            except LocalRequestError as exc:  # this request's fault: retrying cannot help
                self._send(400, _error(str(exc), "invalid_request_error"))
            except InferenceError as exc:
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _error(str(exc), "server_error"))

    return Handler
