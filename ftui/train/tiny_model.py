"""A tiny Llama-style model built from scratch on the spot: real local training with no download.

`build_tiny_model(out_dir, texts)` trains a byte-level BPE tokenizer on the given texts with
`tokenizers`, wraps it in `PreTrainedTokenizerFast` with ftui's ChatML training template (generation
markers, end-of-turn token inside them), and saves a `LlamaForCausalLM` (hidden 64, 2 layers,
4 heads) beside it. The folder loads like any Hugging Face model, so the demo, the tests and the
benchmark all train a real model through the real code path, on a CPU, in seconds.

By default the model is first pretrained for a few seconds on the same texts (plain next-token
prediction, every weight): a base model that knows the words, whose loss then visibly falls as
LoRA fine-tuning teaches it the chat format. A randomly initialised one barely moves under LoRA,
which trains neither its embeddings nor its output layer.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ftui.core.training.chat_templates import TRAINING_TEMPLATES

PAD_TOKEN = "<|endoftext|>"
TURN_START = "<|im_start|>"
TURN_END = "<|im_end|>"

# Used when no texts are given: enough variety for a BPE vocabulary of a few hundred merges.
DEMO_TEXTS = (
    "Fine-tuning adapts a pretrained language model to a task with a small set of examples.",
    "LoRA trains two small matrices beside each frozen weight instead of the whole model.",
    "QLoRA keeps the frozen weights in 4-bit NF4 and trains the adapters in higher precision.",
    "A chat dataset is a list of conversations; each has system, user and assistant messages.",
    "The loss is the average negative log-likelihood of the next token; lower is better.",
    "Validation loss that rises while training loss falls means the model is overfitting.",
    "What is the capital of France? The capital of France is Paris.",
    "How many legs does a spider have? A spider has eight legs.",
    "Translate 'good morning' into Spanish. Buenos días.",
    "Summarise: the meeting moved to Thursday at ten. Meeting: Thursday, 10:00.",
    "Write a haiku about the sea. Grey waves fold and break / salt wind carries gull voices / "
    "the tide keeps its time.",
    "Explain recursion in one sentence. A function that solves a problem by calling itself on "
    "a smaller piece of the same problem.",
    "Is 17 a prime number? Yes, 17 is prime: its only divisors are 1 and 17.",
    "Give me a synonym for happy. Cheerful.",
    "The quick brown fox jumps over the lazy dog. 0123456789 !?.,;:'\"()[]{}<>-_+=*/\\|@#$%^&~`",
)


def _chat_texts(path: Path) -> Iterator[str]:
    """Every string value of the messages in a dataset file (any format ftui reads)."""
    from ftui.core.dataset.reader import iter_records

    for record in iter_records(path):
        value = getattr(record, "value", record)
        yield from _strings(value)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def texts_from_dataset(path: str | os.PathLike[str], limit: int = 20_000) -> list[str]:
    """Up to `limit` strings from a dataset, to train the tiny tokenizer on the user's own words."""
    texts: list[str] = []
    for text in _chat_texts(Path(path)):
        texts.append(text)
        if len(texts) >= limit:
            break
    return texts


# Llama-style shapes a chat model can be built with from scratch. "tiny" trains in seconds on a
# CPU; "0.5b" has the dimensions of Qwen2.5-0.5B (494M parameters, 151,936-entry embedding) for
# measuring memory and speed on a GPU with no download.
SHAPES: dict[str, dict[str, Any]] = {
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "tie_word_embeddings": False,
    },
    "0.5b": {
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "tie_word_embeddings": True,
        "vocab_size": 151_936,  # as large as the real model's, though the tokenizer uses less
    },
}


def build_tiny_model(
    out_dir: str | os.PathLike[str],
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int = 512,
    seed: int = 0,
    overwrite: bool = False,
    shape: str = "tiny",
    pretrain_steps: int = 200,
    report: Callable[[str], None] | None = None,
) -> Path:
    """Build and save a chat model (tiny by default) in `out_dir`; return its path.

    `pretrain_steps` of full next-token training on `texts` come first (0: random weights);
    `report` receives a line about it. The folder is written beside its destination and renamed
    into place, so an interrupted build never leaves a half-written model where the model picker
    would find it.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir).expanduser().resolve()
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists and is not empty; choose another folder.")
    corpus = [t for t in (texts if texts is not None else DEMO_TEXTS) if t]
    tokenizer = build_chat_tokenizer(corpus or list(DEMO_TEXTS), vocab_size)

    pad_id = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    eos_id = tokenizer.convert_tokens_to_ids(TURN_END)
    assert isinstance(pad_id, int) and isinstance(eos_id, int)
    torch.manual_seed(seed)
    dims = {"vocab_size": len(tokenizer), **SHAPES[shape]}
    config = LlamaConfig(
        **dims,
        max_position_embeddings=2048,
        bos_token_id=pad_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    model = LlamaForCausalLM(config)
    if pretrain_steps > 0:
        first, last = pretrain(model, tokenizer, corpus or list(DEMO_TEXTS), pretrain_steps, seed)
        if report is not None:
            report(
                f"Pretrained {pretrain_steps} steps on the texts: loss {first:.2f} -> {last:.2f}."
            )
    model.generation_config.pad_token_id = config.pad_token_id
    model.generation_config.eos_token_id = config.eos_token_id

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


PRETRAIN_WINDOW = 128
PRETRAIN_BATCH = 8
PRETRAIN_MAX_TOKENS = 500_000


def pretrain(
    model: Any, tokenizer: Any, corpus: list[str], steps: int, seed: int
) -> tuple[float, float]:
    """Next-token training of every weight on random windows of the texts; returns the loss of
    the first step and the mean of the last ten."""
    import torch

    ids: list[int] = []
    for text in corpus:
        ids.extend(tokenizer(text)["input_ids"])
        ids.append(tokenizer.eos_token_id)
        if len(ids) >= PRETRAIN_MAX_TOKENS:
            break
    while len(ids) <= PRETRAIN_WINDOW:  # a handful of short texts: repeat them
        ids = ids + ids
    data = torch.tensor(ids)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    losses: list[float] = []
    for _ in range(steps):
        starts = torch.randint(
            0, len(ids) - PRETRAIN_WINDOW, (PRETRAIN_BATCH,), generator=generator
        )
        batch = torch.stack([data[s : s + PRETRAIN_WINDOW] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.detach().item())
    model.eval()
    return losses[0], sum(losses[-10:]) / len(losses[-10:])


def build_chat_tokenizer(corpus: list[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer trained on `corpus`, with ftui's ChatML training template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=[PAD_TOKEN, TURN_START, TURN_END],
            # Every byte is in the vocabulary, so any text encodes, whatever the corpus had.
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=PAD_TOKEN,
        eos_token=TURN_END,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[TURN_START],
    )
    tokenizer.chat_template = TRAINING_TEMPLATES["chatml"].source
    return tokenizer
