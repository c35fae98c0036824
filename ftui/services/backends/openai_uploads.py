"""Uploading a dataset to OpenAI once: the same bytes (by sha256) are reused from the history.

A remembered upload is checked with `files.retrieve` before it is reused: a file deleted on the
account since (by hand, or by OpenAI's retention) is forgotten and sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ftui.services.backends.openai_client import DEFAULT_POLICY, Refused, RetryPolicy, call
from ftui.services.hashing import sha256_file

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from ftui.services.store import RunStore

PURPOSE: Literal["fine-tune"] = "fine-tune"


@dataclass(frozen=True)
class UploadedFile:
    file_id: str
    sha256: str
    reused: bool  # True: these bytes were already on the account


async def upload_once(
    client: AsyncOpenAI,
    store: RunStore,
    path: Path,
    *,
    account: str,
    secret: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> UploadedFile:
    """The file id of `path`'s bytes on the account: a remembered one if it is still there,
    else a new upload (recorded)."""
    digest = await asyncio.to_thread(sha256_file, path)
    known = await asyncio.to_thread(store.find_upload, digest, account, PURPOSE)
    if known is not None:
        try:
            await call(
                lambda: client.files.retrieve(known.file_id),
                what=f"check the uploaded file {known.file_id}",
                policy=policy,
                secret=secret,
                sleep=sleep,
            )
            return UploadedFile(known.file_id, digest, reused=True)
        except Refused as problem:
            if problem.status != 404:
                raise
            await asyncio.to_thread(store.forget_upload, digest, account, PURPOSE)
    content = await asyncio.to_thread(path.read_bytes)
    created = await call(
        lambda: client.files.create(file=(path.name, content), purpose=PURPOSE),
        what=f"upload {path.name}",
        policy=policy,
        secret=secret,
        sleep=sleep,
    )
    await asyncio.to_thread(
        lambda: store.record_upload(
            sha256=digest,
            account=account,
            purpose=PURPOSE,
            file_id=created.id,
            filename=path.name,
            size=len(content),
        )
    )
    return UploadedFile(created.id, digest, reused=False)
