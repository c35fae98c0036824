"""STAND-IN (not committed): a minimal fake OpenAI server until openai-core's lands."""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}"


class ManualClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start
        self.lock = threading.Lock()

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds


class RealClock:
    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self.t0 = time.time()

    def now(self) -> float:
        return self.t0 + (time.time() - self.t0) * self.speed


@dataclass
class Call:
    method: str
    path: str
    time: float
    headers: dict[str, str]
    body: bytes


@dataclass
class Fault:
    pattern: re.Pattern[str]
    kind: str
    times: int
    options: dict[str, Any]


class Faults:
    def __init__(self) -> None:
        self.items: list[Fault] = []
        self.lock = threading.Lock()

    def add(self, path_regex: str, kind: str, times: int = 1, **options: Any) -> None:
        with self.lock:
            self.items.append(Fault(re.compile(path_regex), kind, times, options))

    def take(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.items:
                if fault.times > 0 and fault.pattern.search(path):
                    fault.times -= 1
                    return fault
        return None


@dataclass
class Job:
    id: str
    request: dict[str, Any]
    created_at: float
    fail: dict[str, str] | None = None
    status: str = "validating_files"
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    paused_total: float = 0.0
    paused_at: float | None = None
    cancelled_at: float | None = None
    steps_done: int = 0
    stage_seen: set[str] = field(default_factory=set)
    result_file: str | None = None


class FakeOpenAI:
    def __init__(
        self,
        *,
        api_key: str = "sk-fake-test-key-7f3a9c1e5b2d",
        clock: Any = None,
        speed: float = 1.0,
        validating_s: float = 60,
        queued_s: float = 120,
        running_s: float = 600,
        total_steps: int = 30,
        epochs: int = 3,
    ) -> None:
        self.api_key = api_key
        self.clock = clock or RealClock(speed)
        self.faults = Faults()
        self.calls: list[Call] = []
        self.jobs: dict[str, Job] = {}
        self.files: dict[str, bytes] = {}
        self.stages = (validating_s, queued_s, running_s)
        self.total_steps = total_steps
        self.epochs = epochs
        self._fail_next: dict[str, str] | None = None
        self.lock = threading.RLock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        ThreadingHTTPServer.request_queue_size = 256
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next_job(self, code: str, message: str) -> None:
        self._fail_next = {"code": code, "message": message, "param": None}

    # -- the job's life --------------------------------------------------------------
    def _event(
        self,
        job: Job,
        at: float,
        message: str,
        type_: str = "message",
        data: dict[str, Any] | None = None,
        level: str = "info",
    ) -> None:
        job.events.append(
            {
                "object": "fine_tuning.job.event",
                "id": _id("ftevent"),
                "created_at": int(at),
                "level": level,
                "message": message,
                "type": type_,
                "data": data or {},
            }
        )

    def _advance(self, job: Job) -> None:
        if job.status in ("succeeded", "failed", "cancelled"):
            return
        now = self.clock.now()
        if job.paused_at is not None:
            now = job.paused_at
        elapsed = now - job.created_at - job.paused_total
        v, q, r = self.stages
        if "validating" not in job.stage_seen:
            job.stage_seen.add("validating")
            self._event(job, job.created_at, "Validating training file")
        if elapsed >= v and "queued" not in job.stage_seen:
            job.stage_seen.add("queued")
            if job.fail:
                job.status = "failed"
                self._event(job, job.created_at + v, job.fail["message"], level="error")
                return
            job.status = "queued"
            self._event(job, job.created_at + v, "Files validated, moving job to queued state")
        if elapsed >= v + q and "running" not in job.stage_seen:
            job.stage_seen.add("running")
            job.status = "running"
            self._event(job, job.created_at + v + q, "Fine-tuning job started")
        if job.status == "running" or (job.paused_at is not None and "running" in job.stage_seen):
            run_elapsed = min(r, elapsed - v - q)
            target = int(self.total_steps * run_elapsed / r)
            per_epoch = self.total_steps // self.epochs
            while job.steps_done < target:
                job.steps_done += 1
                s = job.steps_done
                at = job.created_at + job.paused_total + v + q + r * s / self.total_steps
                data = {
                    "step": s,
                    "total_steps": self.total_steps,
                    "train_loss": 2.0 / s,
                    "train_mean_token_accuracy": 0.5 + s / (3 * self.total_steps),
                }
                if s % 5 == 0:
                    data["valid_loss"] = 2.2 / s
                self._event(job, at, f"Step {s}/{self.total_steps}", "metrics", data)
                if s % per_epoch == 0:
                    job.checkpoints.append(
                        {
                            "object": "fine_tuning.job.checkpoint",
                            "id": _id("ftckpt"),
                            "created_at": int(at),
                            "fine_tuning_job_id": job.id,
                            "step_number": s,
                            "metrics": {"train_loss": 2.0 / s},
                            "fine_tuned_model_checkpoint": (
                                f"ft:{job.request['model']}:org::{job.id}:ckpt-step-{s}"
                            ),
                        }
                    )
                    job.checkpoints = job.checkpoints[-3:]
            if elapsed >= v + q + r and job.paused_at is None:
                job.status = "succeeded"
                csv = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
                csv += "".join(f"{s},{2.0 / s},0.5,,\n" for s in range(1, self.total_steps + 1))
                fid = _id("file")
                self.files[fid] = base64.b64encode(csv.encode())
                job.result_file = fid
                self._event(
                    job,
                    job.created_at + job.paused_total + v + q + r,
                    "The job has successfully completed",
                )

    def _job_json(self, job: Job) -> dict[str, Any]:
        v, q, r = self.stages
        suffix = job.request.get("suffix") or ""
        return {
            "object": "fine_tuning.job",
            "id": job.id,
            "created_at": int(job.created_at),
            "model": job.request["model"],
            "status": job.status,
            "training_file": job.request.get("training_file"),
            "validation_file": job.request.get("validation_file"),
            "fine_tuned_model": f"ft:{job.request['model']}:org:{suffix}:{job.id}"
            if job.status == "succeeded"
            else None,
            "finished_at": None,
            "organization_id": "org",
            "result_files": [job.result_file] if job.result_file else [],
            "trained_tokens": 1234 if job.status == "succeeded" else None,
            "estimated_finish": int(job.created_at + job.paused_total + v + q + r)
            if job.status == "running"
            else None,
            "error": dict(job.fail) if job.status == "failed" and job.fail else None,
            "hyperparameters": {"n_epochs": 3},
            "method": job.request.get("method"),
            "metadata": job.request.get("metadata"),
            "seed": job.request.get("seed") or 0,
            "user_provided_suffix": suffix or None,
        }

    # -- HTTP ------------------------------------------------------------------------
    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header(
            "Content-Type",
            "application/json" if not isinstance(body, bytes) else "application/octet-stream",
        )
        h.send_header("Content-Length", str(len(data)))
        for k, val in (headers or {}).items():
            h.send_header(k, val)
        h.end_headers()
        h.wfile.write(data)

    def _error(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        self._send(
            h,
            status,
            {"error": {"message": message, "type": "error", "param": None, "code": code}},
            headers,
        )

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = h.path.split("?")[0]
        query = (
            dict(p.split("=", 1) for p in h.path.split("?", 1)[1].split("&"))
            if "?" in h.path
            else {}
        )
        with self.lock:
            self.calls.append(Call(method, path, time.time(), dict(h.headers), body))
        fault = self.faults.take(path)
        if fault is not None:
            k = fault.kind
            if k == "drop":
                h.close_connection = True
                h.connection.shutdown(2)
                return
            if k == "slow":
                time.sleep(fault.options.get("seconds", 1.0))
            elif k == "429":
                hd = {}
                if "retry_after" in fault.options:
                    hd["Retry-After"] = str(fault.options["retry_after"])
                if "retry_after_ms" in fault.options:
                    hd["retry-after-ms"] = str(fault.options["retry_after_ms"])
                return self._error(h, 429, "Rate limit reached", hd)
            else:
                return self._error(h, int(k), f"fault {k}")
        if h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(
                h,
                401,
                "Incorrect API key provided: " + (h.headers.get("Authorization") or "")[7:],
                code="invalid_api_key",
            )
        with self.lock:
            self._route(h, method, path, body, query)

    def _route(self, h: Any, method: str, path: str, body: bytes, query: dict[str, str]) -> None:
        m = re.fullmatch
        if method == "GET" and path == "/v1/models":
            return self._send(
                h,
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "id": "gpt-4o-mini-2024-07-18",
                            "object": "model",
                            "created": 0,
                            "owned_by": "openai",
                        }
                    ],
                },
            )
        if method == "POST" and path == "/v1/files":
            fid = _id("file")
            self.files[fid] = body
            return self._send(
                h,
                200,
                {
                    "object": "file",
                    "id": fid,
                    "bytes": len(body),
                    "created_at": int(self.clock.now()),
                    "filename": "x.jsonl",
                    "purpose": "fine-tune",
                    "status": "processed",
                },
            )
        if r := m(r"/v1/files/([^/]+)", path):
            if r[1] not in self.files:
                return self._error(h, 404, "No such file")
            return self._send(
                h,
                200,
                {
                    "object": "file",
                    "id": r[1],
                    "bytes": 1,
                    "created_at": 0,
                    "filename": "x",
                    "purpose": "fine-tune",
                    "status": "processed",
                },
            )
        if r := m(r"/v1/files/([^/]+)/content", path):
            return self._send(h, 200, self.files[r[1]])
        if method == "POST" and path == "/v1/fine_tuning/jobs":
            req = json.loads(body)
            job = Job(_id("ftjob"), req, self.clock.now(), fail=self._fail_next)
            self._fail_next = None
            self.jobs[job.id] = job
            self._advance(job)
            return self._send(h, 200, self._job_json(job))
        if method == "GET" and path == "/v1/fine_tuning/jobs":
            jobs = sorted(self.jobs.values(), key=lambda j: j.created_at, reverse=True)
            for j in jobs:
                self._advance(j)
            limit = int(query.get("limit", 20))
            return self._send(
                h,
                200,
                {
                    "object": "list",
                    "data": [self._job_json(j) for j in jobs[:limit]],
                    "has_more": len(jobs) > limit,
                },
            )
        r = m(r"/v1/fine_tuning/jobs/([^/]+)(?:/(\w+))?", path)
        if not r or r[1] not in self.jobs:
            return self._error(h, 404, "not found")
        job = self.jobs[r[1]]
        self._advance(job)
        action = r[2]
        if action is None:
            return self._send(h, 200, self._job_json(job))
        if action == "events":
            events = list(reversed(job.events))
            if "after" in query:
                idx = next(i for i, e in enumerate(events) if e["id"] == query["after"])
                events = events[idx + 1 :]
            limit = int(query.get("limit", 20))
            return self._send(
                h, 200, {"object": "list", "data": events[:limit], "has_more": len(events) > limit}
            )
        if action == "checkpoints":
            return self._send(
                h,
                200,
                {"object": "list", "data": list(reversed(job.checkpoints)), "has_more": False},
            )
        now = self.clock.now()
        if action == "pause":
            job.paused_at = now
            job.status = "paused"
        elif action == "resume" and job.paused_at is not None:
            job.paused_total += now - job.paused_at
            job.paused_at = None
            job.status = "running" if "running" in job.stage_seen else "queued"
        elif action == "cancel":
            job.status = "cancelled"
        return self._send(h, 200, self._job_json(job))
