"""The endpoints of the test server: each takes the request and returns (status, body, type)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tests.support.fake_openai_jobs import TERMINAL

if TYPE_CHECKING:
    from tests.support.fake_openai import FakeOpenAI

JSON = "application/json"
SUFFIX_MAX = 64
METHODS = frozenset({"supervised", "dpo", "reinforcement"})


def _error(status: int, message: str, param: str | None = None) -> Exception:
    from tests.support.fake_openai import HTTPError

    return HTTPError(status, message, param=param)


def page(
    items_newest_first: Sequence[Mapping[str, Any]],
    query: Mapping[str, str],
    default_limit: int,
    max_limit: int = 100,
) -> dict[str, Any]:
    """A cursor page as OpenAI gives it: `after` is the id of the last item already seen."""
    items = list(items_newest_first)
    after = query.get("after")
    if after:
        ids = [str(item.get("id")) for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    try:
        limit = int(query.get("limit") or default_limit)
    except ValueError:
        raise _error(400, f"Invalid limit {query.get('limit')!r}.", "limit") from None
    if not 1 <= limit <= max_limit:
        raise _error(400, f"limit must be between 1 and {max_limit}.", "limit")
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit}


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise _error(400, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise _error(400, "The request body must be a JSON object.")
    return data


def _public(file: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in file.items() if k != "content"}


def route(
    server: FakeOpenAI,
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes,
    headers: Mapping[str, str],
) -> tuple[int, Any, str]:
    if path == "/v1/models" and method == "GET":
        return 200, {"object": "list", "data": _models(server)}, JSON
    if m := re.fullmatch(r"/v1/models/([^/]+)", path):
        found = [model for model in _models(server) if model["id"] == m[1]]
        if not found:
            raise _error(404, f"The model '{m[1]}' does not exist", "model")
        return 200, found[0], JSON
    if path == "/v1/files":
        if method == "POST":
            return 200, _upload(server, body, headers.get("Content-Type") or ""), JSON
        files = sorted(server.files.values(), key=lambda f: str(f["id"]), reverse=True)
        return 200, page([_public(f) for f in files], query, 10000, 10000), JSON
    if m := re.fullmatch(r"/v1/files/([^/]+)(/content)?", path):
        file = server.files.get(m[1])
        if file is None:
            raise _error(404, f"No such File object: {m[1]}", "id")
        if m[2]:
            return 200, file["content"], "application/octet-stream"
        return 200, _public(file), JSON
    if path == "/v1/fine_tuning/jobs":
        if method == "POST":
            return 200, _create_job(server, _json_body(body)).to_json(), JSON
        return 200, _list_jobs(server, query), JSON
    m = re.fullmatch(r"/v1/fine_tuning/jobs/([^/]+)(?:/(\w+))?", path)
    if m is None:
        raise _error(404, f"Invalid URL ({method} {path})")
    job = server.advanced(m[1])
    action = m[2]
    if action is None and method == "GET":
        return 200, job.to_json(), JSON
    if action == "events" and method == "GET":
        return 200, page(job.events[::-1], query, 20), JSON
    if action == "checkpoints" and method == "GET":
        return 200, page(job.checkpoints[::-1], query, 10), JSON
    if action in ("cancel", "pause", "resume") and method == "POST":
        problem = getattr(job, action)(server.clock.now())
        if problem:
            raise _error(400, problem)
        return 200, job.to_json(), JSON
    raise _error(404, f"Invalid URL ({method} {path})")


def _models(server: FakeOpenAI) -> list[dict[str, Any]]:
    models = [
        {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
        for name in server.base_models
    ]
    for job in server.jobs.values():
        if job.status == "succeeded":
            created = int(job.finished_at or job.created_at)
            models.append(
                {
                    "id": job.model_name,
                    "object": "model",
                    "created": created,
                    "owned_by": job.stages.organization,
                }
            )
    return models


def _upload(server: FakeOpenAI, body: bytes, content_type: str) -> dict[str, Any]:
    from tests.support.fake_openai import parse_multipart

    if not content_type.startswith("multipart/form-data"):
        raise _error(400, "Uploads are multipart/form-data.")
    fields = parse_multipart(body, content_type)
    purpose = fields.get("purpose", (None, b""))[1].decode()
    if "file" not in fields:
        raise _error(400, "No file was sent.", "file")
    if not purpose:
        raise _error(400, "A purpose is required.", "purpose")
    filename, content = fields["file"]
    file_id = server.add_file(filename or "upload", content, purpose)
    return _public(server.files[file_id])


def _create_job(server: FakeOpenAI, request: dict[str, Any]) -> Any:
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise _error(400, "Missing required parameter: 'model'.", "model")
    known = {m["id"] for m in _models(server)}
    if model not in known:
        raise _error(
            400, f"Model {model} is not available for fine-tuning or does not exist.", "model"
        )
    for name in ("training_file", "validation_file"):
        file_id = request.get(name)
        if file_id is None and name == "validation_file":
            continue
        if not isinstance(file_id, str) or file_id not in server.files:
            raise _error(400, f"invalid {name}: {file_id}", name)
    suffix = request.get("suffix")
    if suffix is not None and (not isinstance(suffix, str) or len(suffix) > SUFFIX_MAX):
        raise _error(400, f"suffix must be a string of at most {SUFFIX_MAX} characters.", "suffix")
    method = request.get("method")
    if method is not None and (not isinstance(method, dict) or method.get("type") not in METHODS):
        raise _error(400, "method.type must be supervised, dpo or reinforcement.", "method")
    metadata = request.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16):
        raise _error(400, "metadata takes at most 16 pairs.", "metadata")
    return server.create_job(request)


def _list_jobs(server: FakeOpenAI, query: dict[str, str]) -> dict[str, Any]:
    jobs = sorted(server.jobs.values(), key=lambda j: (j.created_at, j.id), reverse=True)
    wanted = {k[len("metadata[") : -1]: v for k, v in query.items() if k.startswith("metadata[")}
    shown = []
    for job in jobs:
        if job.status not in TERMINAL:
            job.advance(server.clock.now(), server.add_file)
        metadata = job.request.get("metadata") or {}
        if all(metadata.get(k) == v for k, v in wanted.items()):
            shown.append(job.to_json())
    return page(shown, query, 20)
