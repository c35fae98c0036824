"""A small OpenAI-compatible HTTP server for tests: files, models and fine-tuning jobs.

    with FakeOpenAI(clock=ManualClock(), running_s=3600) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
        ...
        server.clock.advance(600)          # ten minutes of the job's life, at once

It speaks what the real `openai` client sends (paths, multipart uploads, `after` + `limit`
paging, OpenAI's error body) on 127.0.0.1 and a free port, from a daemon thread. A job's life is
scripted (`fake_openai_jobs.FakeJob`) and driven by `clock`: real time scaled by `speed`, or a
`ManualClock` the test moves. `faults` makes chosen requests fail (429 with Retry-After and/or
retry-after-ms, 5xx, slow answers, dropped connections, 401, 403); `calls` records every request.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support import fake_openai_routes as routes
from tests.support.fake_openai_jobs import FakeJob, Stages, new_id

DEFAULT_KEY = "sk-test-4Jq9ZxV2mT7pLr8sWc3nHb6Ky1Ud5Ea0"
BASE_MODELS = ("gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-4.1-mini-2025-04-14")
FAULT_KINDS = frozenset({"429", "500", "502", "503", "slow", "drop", "401", "403"})
_REASONS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", None),
}


# -- clocks ---------------------------------------------------------------------------------


class ManualClock:
    """Time that moves only when told: `advance(seconds)`."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)


class ScaledClock:
    """Real time, `speed` times faster from the moment it is made."""

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._start = time.time()

    def now(self) -> float:
        return self._start + (time.time() - self._start) * self.speed


RealClock = ScaledClock


# -- the call log and the faults ------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    time: float  # real time
    headers: dict[str, str]  # names lowercased
    body: bytes


@dataclass
class Fault:
    pattern: re.Pattern[str]
    kind: str
    times: int
    method: str | None = None
    retry_after: float | None = None
    retry_after_ms: float | None = None
    seconds: float = 1.0


@dataclass
class Faults:
    """Requests to fail, by a regex searched in the path; each fault serves `times` requests."""

    items: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        path_regex: str,
        kind: str | int,
        times: int = 1,
        *,
        method: str | None = None,
        retry_after: float | None = None,
        retry_after_ms: float | None = None,
        seconds: float = 1.0,
    ) -> Fault:
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        fault = Fault(
            re.compile(path_regex), kind, times, method, retry_after, retry_after_ms, seconds
        )
        with self._lock:
            self.items.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.items:
                if fault.times <= 0 or (fault.method and fault.method != method):
                    continue
                if fault.pattern.search(path):
                    fault.times -= 1
                    return fault
        return None

    def pending(self) -> int:
        with self._lock:
            return sum(max(0, fault.times) for fault in self.items)

    def clear(self) -> None:
        with self._lock:
            self.items.clear()


# -- the server -----------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 stalls a burst of concurrent calls
    daemon_threads = True
    block_on_close = False  # a client's idle keep-alive connection must not hold up close
    allow_reuse_address = True


class HTTPError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


class ServerThread:
    """A test server's HTTP server, on the loopback port it was bound to, served from a daemon
    thread (`poll_s`: how soon `stop` is noticed)."""

    def __init__(self, httpd: ThreadingHTTPServer, name: str, *, poll_s: float = 0.5) -> None:
        self.httpd = httpd
        self.name = name
        self.poll_s = poll_s
        self.port = int(httpd.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.httpd.serve_forever, args=(self.poll_s,), name=self.name, daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()


class FakeOpenAI:
    def __init__(
        self,
        *,
        api_key: str = DEFAULT_KEY,
        clock: Any = None,
        speed: float = 1.0,
        validating_s: float = 60.0,
        queued_s: float = 120.0,
        running_s: float = 600.0,
        total_steps: int = 30,
        epochs: int = 3,
        base64_results: bool = True,
        organization: str = "org-test",
        models: tuple[str, ...] = BASE_MODELS,
    ) -> None:
        self.api_key = api_key
        self.clock = clock if clock is not None else ScaledClock(speed)
        self.stages = Stages(
            validating_s, queued_s, running_s, total_steps, epochs, base64_results, organization
        )
        self.base_models = models
        self.faults = Faults()
        self.calls: list[Call] = []
        self.jobs: dict[str, FakeJob] = {}
        self.files: dict[str, dict[str, Any]] = {}  # id -> file object, plus its "content"
        self.lock = threading.RLock()
        self._fail_next: dict[str, Any] | None = None
        self._server = ServerThread(_HTTPServer(("127.0.0.1", 0), _handler(self)), "fake-openai")
        self.port = self._server.port
        self.base_url = self._server.base_url

    # -- lifetime -----------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests script --------------------------------------------------------------------

    def fail_next_job(self, code: str, message: str, param: str | None = None) -> None:
        """The next job created fails when its files are validated, with this error."""
        self._fail_next = {"code": code, "message": message, "param": param}

    def fail_job(self, job_id: str, code: str, message: str) -> None:
        """Fail a job now, wherever it is in its life."""
        with self.lock:
            self.jobs[job_id].fail_now(self.clock.now(), code, message)

    def count(self, method: str | None = None, path_regex: str = "") -> int:
        """How many requests matched (the method, and a regex searched in the path)."""
        pattern = re.compile(path_regex)
        with self.lock:
            calls = list(self.calls)
        return sum(
            1 for c in calls if (method is None or c.method == method) and pattern.search(c.path)
        )

    def add_file(self, filename: str, content: bytes, purpose: str = "fine-tune") -> str:
        file_id = new_id("file")
        with self.lock:
            self.files[file_id] = {
                "object": "file",
                "id": file_id,
                "bytes": len(content),
                "created_at": int(self.clock.now()),
                "filename": filename,
                "purpose": purpose,
                "status": "processed",
                "content": content,
            }
        return file_id

    # -- one request --------------------------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        body = _read_body(h)
        parts = urlsplit(h.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {name.lower(): value for name, value in h.headers.items()}
        call = Call(method, path, query, time.time(), headers, body)
        with self.lock:
            self.calls.append(call)
        fault = self.faults.take(method, path)
        if fault is not None and self._fault(h, fault):
            return
        if h.headers.get("Authorization") != f"Bearer {self.api_key}":
            # OpenAI quotes a masked key; this quotes none, so no output ever holds a key.
            return _send_error(h, 401, "Incorrect API key provided.")
        try:
            with self.lock:
                status, payload, content_type = self.route(method, path, query, body, h)
        except HTTPError as exc:
            return _send_error(h, exc.status, exc.message, param=exc.param)
        _send(h, status, payload, content_type=content_type)

    def _fault(self, h: BaseHTTPRequestHandler, fault: Fault) -> bool:
        return serve_fault(h, fault)

    def route(
        self, method: str, path: str, query: dict[str, str], body: bytes, h: Any
    ) -> tuple[int, Any, str]:
        return routes.route(self, method, path, query, body, h.headers)

    # -- jobs ---------------------------------------------------------------------------------

    def create_job(self, request: dict[str, Any]) -> FakeJob:
        job = FakeJob(
            id=new_id("ftjob"),
            request=request,
            created_at=self.clock.now(),
            stages=self.stages,
            fail=self._fail_next,
        )
        self._fail_next = None
        self.jobs[job.id] = job
        job.advance(self.clock.now(), self.add_file)
        return job

    def advanced(self, job_id: str) -> FakeJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise HTTPError(
                404, f"Could not find fine-tuning job {job_id}.", param="fine_tuning_job_id"
            )
        job.advance(self.clock.now(), self.add_file)
        return job


def serve_fault(h: BaseHTTPRequestHandler, fault: Fault) -> bool:
    """Serve a fault; False when the request then goes on (a slow one)."""
    if fault.kind == "drop":
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)
        return True
    if fault.kind == "slow":
        time.sleep(fault.seconds)
        return False
    status = int(fault.kind)
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = f"{fault.retry_after_ms:g}"
    messages = {
        429: "Rate limit reached for requests. Please try again later.",
        401: "Incorrect API key provided.",
        403: "Your organization is not allowed to use this endpoint.",
    }
    _send_error(h, status, messages.get(status, "The server had an error."), headers=headers)
    return True


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client expects
        # Headers and body go out in two writes: with Nagle's algorithm each answer would wait
        # out the client's delayed ACK (about 40 ms).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            server.handle(self, "GET")

        def do_POST(self) -> None:
            server.handle(self, "POST")

        def do_DELETE(self) -> None:
            server.handle(self, "DELETE")

    return Handler


def _read_body(h: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                h.rfile.readline()
                return b"".join(chunks)
            chunks.append(h.rfile.read(size))
            h.rfile.readline()
    length = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(length) if length else b""


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """A multipart/form-data body: field name -> (filename, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def _send(
    h: BaseHTTPRequestHandler,
    status: int,
    payload: Any,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(data)))
    h.send_header("x-request-id", new_id("req"))
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(data)


def _send_error(
    h: BaseHTTPRequestHandler,
    status: int,
    message: str,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    kind, code = _REASONS.get(status, ("invalid_request_error", None))
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    _send(h, status, body, headers=headers)
