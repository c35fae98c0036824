"""`python -m ftui.train.generate MODEL_PATH [--adapter PATH] [--device auto|cpu|cuda]`: a local
chat model answering requests, one JSON object a line.

The process loads the model from local folders only (never the hub), in bf16 on a GPU and fp32 on
a CPU, with a peft adapter on top when one is given, then prints `{"ready": true, "model": ...}`
(or `{"error": ...}` and exits 2 when it cannot load). Each line on stdin is a request::

    {"id": 7, "messages": [...], "temperature": 0, "max_tokens": 64, "top_p": 1, "seed": null}

and each answer is a line on stdout, in whatever order they finish::

    {"id": 7, "text": "...", "prompt_tokens": 12, "completion_tokens": 9, "finish_reason": "stop"}
    {"id": 7, "error": "..."}

Requests that are waiting while a batch generates are batched together (left padding, the model's
chat template with the generation prompt). Temperature 0 is greedy; otherwise it samples, and a
request with a seed is generated on its own so that its answer does not depend on its neighbours.
End of input ends the process.

Only protocol lines go to stdout: the real stdout is kept for them and everything else printed by
any library (Python or C) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

EXIT_LOAD_FAILED = 2
MAX_BATCH = 16  # requests generated together; more wait for the next batch
BATCH_WAIT_S = 0.005  # how long the first request of a batch waits for company
ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})


class RequestError(ValueError):
    """A request that cannot be answered; its message goes back as the answer's error."""


@dataclass(frozen=True)
class Request:
    id: Any
    messages: list[dict[str, str]]
    temperature: float
    max_tokens: int
    top_p: float
    seed: int | None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def batch_key(self) -> tuple[Any, ...]:
        """Requests with the same key are generated together."""
        if self.greedy:
            return ("greedy",)
        if self.seed is not None:
            return ("seeded", id(self))  # alone: reproducible whatever else is waiting
        return ("sample", self.temperature, self.top_p)


def parse_request(line: str) -> Request:
    """A request line, checked; RequestError says what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RequestError(f"the request is not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise RequestError("the request must be a JSON object with id and messages")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages must be a non-empty list of {role, content} objects")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise RequestError(f"messages[{index}] must be an object with role and content")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise RequestError(
                f"messages[{index}].role is {role!r}; use one of {', '.join(sorted(ROLES))}"
            )
        if not isinstance(content, str):
            raise RequestError(f"messages[{index}].content must be a string")
    temperature = _number(data, "temperature", 0.0, low=0.0, high=2.0)
    top_p = _number(data, "top_p", 1.0, low=0.0, high=1.0)
    if top_p == 0.0:
        raise RequestError("top_p must be above 0 (and at most 1)")
    max_tokens = data.get("max_tokens", 512)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise RequestError(f"max_tokens must be a whole number of at least 1, not {max_tokens!r}")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise RequestError(f"seed must be a whole number or null, not {seed!r}")
    clean = [{"role": m["role"], "content": m["content"]} for m in messages]
    return Request(data.get("id"), clean, temperature, max_tokens, top_p, seed)


def _number(data: dict[str, Any], key: str, default: float, *, low: float, high: float) -> float:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RequestError(f"{key} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def group_batches(requests: Iterable[Request], max_batch: int = MAX_BATCH) -> list[list[Request]]:
    """The waiting requests as batches that can be generated together, in arrival order."""
    groups: dict[tuple[Any, ...], list[Request]] = {}
    for request in requests:
        groups.setdefault(request.batch_key(), []).append(request)
    batches: list[list[Request]] = []
    for group in groups.values():
        batches.extend(group[i : i + max_batch] for i in range(0, len(group), max_batch))
    return batches


@dataclass
class Generator:
    """The loaded model and tokenizer, and how to answer a batch of requests."""

    model: Any
    tokenizer: Any
    device: str
    stop_ids: set[int] = field(default_factory=set)
    max_positions: int | None = None

    def answer(self, batch: list[Request]) -> list[dict[str, Any]]:
        import torch

        rows: list[list[int]] = []
        for request in batch:
            rows.append(self._prompt_ids(request))
        longest = max(len(ids) for ids in rows)
        pad_id = self.tokenizer.pad_token_id
        input_ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), longest), dtype=torch.long)
        for row, ids in enumerate(rows):  # left padding: every prompt ends where generation starts
            input_ids[row, longest - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention[row, longest - len(ids) :] = 1
        first = batch[0]
        max_new = max(request.max_tokens for request in batch)
        if self.max_positions is not None:
            max_new = max(1, min(max_new, self.max_positions - longest))
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new,
            "pad_token_id": pad_id,
            "eos_token_id": sorted(self.stop_ids) or None,
        }
        if first.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=first.temperature, top_p=first.top_p, top_k=0)
            if first.seed is not None:
                torch.manual_seed(first.seed)
                if torch.cuda.is_available():
                    torch.cuda.manual_seed_all(first.seed)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                **kwargs,
            )
        new_tokens = output[:, longest:].tolist()
        return [
            self._answer_of(request, len(ids), tokens)
            for request, ids, tokens in zip(batch, rows, new_tokens, strict=True)
        ]

    def _prompt_ids(self, request: Request) -> list[int]:
        try:
            ids = self.tokenizer.apply_chat_template(
                request.messages, add_generation_prompt=True, tokenize=True, return_dict=False
            )
        except Exception as exc:  # jinja's errors: a template that rejects these messages
            raise RequestError(f"the model's chat template rejects these messages: {exc}") from None
        if hasattr(ids, "keys"):  # a BatchEncoding, whatever return_dict said
            ids = ids["input_ids"]
        ids = [int(i) for i in ids]
        if self.max_positions is not None and len(ids) >= self.max_positions:
            raise RequestError(
                f"the prompt is {len(ids)} tokens; this model reads at most "
                f"{self.max_positions}. Shorten the conversation."
            )
        return ids

    def _answer_of(self, request: Request, prompt_len: int, tokens: list[int]) -> dict[str, Any]:
        kept: list[int] = []
        finish = "length"
        for token in tokens[: request.max_tokens]:
            if token in self.stop_ids:
                finish = "stop"
                break
            kept.append(token)
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        return {
            "id": request.id,
            "text": text,
            "prompt_tokens": prompt_len,
            "completion_tokens": len(kept) + (1 if finish == "stop" else 0),
            "finish_reason": finish,
        }


class LoadFailed(RuntimeError):
    """The model cannot be loaded; the message says what to do."""


def _has_tokenizer(folder: Path) -> bool:
    return (folder / "tokenizer_config.json").is_file() or (folder / "tokenizer.json").is_file()


def load(model_path: Path, adapter: Path | None, device: str) -> tuple[Generator, str]:
    """The generator for a model folder (and adapter folder), and a line describing it."""
    model_path = model_path.expanduser()
    if not (model_path / "config.json").is_file():
        what = "does not exist" if not model_path.exists() else "has no config.json"
        raise LoadFailed(
            f"{model_path} {what}: give the folder of a Hugging Face model (config.json, the "
            "weights and the tokenizer files), for instance one `ftui model build` made"
        )
    if adapter is not None:
        adapter = adapter.expanduser()
        if not (adapter / "adapter_config.json").is_file():
            what = "does not exist" if not adapter.exists() else "has no adapter_config.json"
            raise LoadFailed(
                f"the adapter {adapter} {what}: give the folder a LoRA run saved "
                "(adapter_config.json and adapter_model.safetensors)"
            )

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise LoadFailed(
            "--device cuda, but no CUDA GPU is visible to this process; use --device auto or cpu"
        )
    on_gpu = has_cuda and device != "cpu"
    dtype = torch.float32
    if on_gpu:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    where = "cuda" if on_gpu else "cpu"

    tokenizer_dir = adapter if adapter is not None and _has_tokenizer(adapter) else model_path
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
        model: Any = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=dtype, local_files_only=True
        )
    except (OSError, ValueError) as exc:
        raise LoadFailed(f"cannot load the model in {model_path}: {exc}") from None
    if not getattr(tokenizer, "chat_template", None):
        raise LoadFailed(
            f"the tokenizer of {tokenizer_dir} has no chat template, so chat messages cannot be "
            "turned into a prompt; use a chat (instruct) model or add chat_template to its "
            "tokenizer_config.json"
        )
    if adapter is not None:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, adapter, is_trainable=False)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise LoadFailed(f"cannot put the adapter {adapter} on {model_path}: {exc}") from None
    model.to(where)
    model.eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token

    stop_ids: set[int] = set()
    for source in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(source, int):
            stop_ids.add(source)
        elif isinstance(source, list | tuple):
            stop_ids.update(int(i) for i in source)
    max_positions = getattr(model.config, "max_position_embeddings", None)
    generator = Generator(model, tokenizer, where, stop_ids, max_positions)
    label = str(model_path) + (f"+{adapter}" if adapter is not None else "")
    return generator, label


class Channel:
    """The protocol's stdout: one JSON object a line, written whole, flushed at once."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, payload: dict[str, Any]) -> None:
        line = json.dumps(payload, ensure_ascii=False) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


def keep_stdout_for_protocol() -> Channel:
    """Move fd 1 to stderr (for libraries' prints, C ones included) and keep its old target."""
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Channel(protocol)


_END = object()


def read_lines(stream: IO[str], inbox: queue.Queue[object]) -> None:
    for line in stream:
        if line.strip():
            inbox.put(line)
    inbox.put(_END)


def take_waiting(inbox: queue.Queue[object], first: object, limit: int) -> tuple[list[str], bool]:
    """`first` and the lines waiting behind it (at most `limit`); True when input has ended."""
    lines: list[str] = []
    item: object = first
    deadline = time.monotonic() + BATCH_WAIT_S
    while True:
        if item is _END:
            return lines, True
        assert isinstance(item, str)
        lines.append(item)
        if len(lines) >= limit:
            return lines, False
        try:
            item = inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return lines, False


def serve(generator: Generator, inbox: queue.Queue[object], channel: Channel) -> None:
    ended = False
    while not ended:
        lines, ended = take_waiting(inbox, inbox.get(), MAX_BATCH * 4)
        requests: list[Request] = []
        for line in lines:
            try:
                requests.append(parse_request(line))
            except RequestError as exc:
                channel.send({"id": _id_of(line), "error": str(exc)})
        for batch in group_batches(requests):
            answer_batch(generator, batch, channel)


def answer_batch(generator: Generator, batch: list[Request], channel: Channel) -> None:
    try:
        answers = generator.answer(batch)
    except Exception as exc:
        if len(batch) > 1:  # one bad prompt (or too big a batch) must not fail the others
            for request in batch:
                answer_batch(generator, [request], channel)
            return
        channel.send({"id": batch[0].id, "error": _describe(exc)})
        return
    for answer in answers:
        channel.send(answer)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RequestError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"generation failed: {type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _id_of(line: str) -> Any:
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    return data.get("id") if isinstance(data, dict) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftui.train.generate", description=__doc__)
    parser.add_argument("model_path", type=Path, help="a local Hugging Face model folder")
    parser.add_argument("--adapter", type=Path, help="a peft (LoRA) adapter folder to apply")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    args = parser.parse_args(argv)

    channel = keep_stdout_for_protocol()
    try:
        generator, label = load(args.model_path, args.adapter, args.device)
    except LoadFailed as exc:
        channel.send({"error": str(exc)})
        return EXIT_LOAD_FAILED
    channel.send({"ready": True, "model": label, "device": generator.device})

    inbox: queue.Queue[object] = queue.Queue()
    reader = threading.Thread(target=read_lines, args=(sys.stdin, inbox), daemon=True)
    reader.start()
    serve(generator, inbox, channel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
