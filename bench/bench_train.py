"""Training throughput and peak memory: ftui's local training against the way guides do it.

The baseline is the recipe most fine-tuning guides give: render each chat with a hand-written
prompt ("### User: ... ### Assistant: ..."), tokenize with padding="max_length" to 512, copy the ids
into labels, wrap the model with the same LoRA and train with a plain transformers `Trainer` (fp16
on a GPU, fp32 on a CPU). ftui's arm is the product itself: a run directory with a config.json,
trained by `python -m ftui.train RUN_DIR` with ftui's defaults (the speed plan of
ftui/core/training/speedups.py: assistant-only loss; on a GPU padding-free packing and trl's fused
LM head, on a CPU length-grouped batches and the model's own loss; gradient checkpointing only
when the estimate needs it), also with the other packing choice and, on a GPU with bitsandbytes,
as 4-bit QLoRA with a paged optimizer. Each ftui run's memory estimate is printed beside its
measured peak.

Both arms train the same freshly built model on the same examples for one epoch with the same
batch size and LoRA settings, each arm in its own process (so peak memory is its own), arms
interleaved over the repeats. Throughput counts the tokens a model reads that are not padding.

    python bench/bench_train.py                                   # tiny model on the CPU
    python bench/bench_train.py --model-size 0.5b --device cuda    # Qwen2.5-0.5B shape on a GPU

Data: the first --examples dialogues of ../shared/datasets/openai-chat/sgd_dialogues.jsonl when
present (else generated chats).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(
    os.environ.get("FTUI_SHARED_DATASETS") or ROOT.parents[1] / "shared" / "datasets"
)
SHARED_DATA = SHARED_DATASETS / "openai-chat" / "sgd_dialogues.jsonl"
FINISHED = re.compile(r"Training finished in ([\d.]+) s \(([\d,]+) tokens")
PEAK = re.compile(r"Peak memory: (\d+) MiB \(\w+\)(?:; estimated ([\d.]+) (GiB|MiB))?")
SPEEDUPS = re.compile(r"Speed-ups: ([^;]+);")


# -- inputs -----------------------------------------------------------------------------------


def write_examples(path: Path, count: int) -> str:
    """The benchmark's dataset; returns where it came from."""
    rows: list[dict[str, Any]] = []
    if SHARED_DATA.is_file():
        with SHARED_DATA.open(encoding="utf-8") as handle:
            for line in handle:
                rows.append(json.loads(line))
                if len(rows) >= count:
                    break
        source = f"{SHARED_DATA.name} (first {len(rows)})"
    else:
        rng = random.Random(0)
        for _ in range(count):
            turns = []
            for _ in range(rng.randint(1, 6)):
                a, b = rng.randint(1, 999), rng.randint(1, 999)
                turns.append({"role": "user", "content": f"Please add {a} and {b} for me."})
                turns.append({"role": "assistant", "content": f"{a} plus {b} makes {a + b}."})
            rows.append({"messages": turns})
        source = f"{len(rows)} generated chats"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return source


def build_model(work: Path, data: Path, size: str) -> Path:
    sys.path.insert(0, str(ROOT))
    from ftui.train.tiny_model import build_tiny_model

    texts = []
    for line in data.read_text(encoding="utf-8").splitlines()[:2000]:
        texts.extend(m["content"] for m in json.loads(line)["messages"] if m.get("content"))
    # A 4,096-token vocabulary gives these dialogues the lengths a real tokenizer would (about
    # 310 tokens on average; `ftui model tiny`'s 512 makes them half again as long).
    # Random weights: throughput does not depend on them.
    return build_tiny_model(
        work / f"model-{size}", texts, vocab_size=4096, shape=size, pretrain_steps=0
    )


# -- the baseline, in a child process ----------------------------------------------------------


def hand_written_prompt(messages: list[dict[str, Any]], eos: str) -> str:
    """The prompt format the guides write by hand instead of using the model's chat template."""
    parts = []
    for message in messages:
        role = {"assistant": "Assistant", "system": "System"}.get(message["role"], "User")
        end = eos if message["role"] == "assistant" else ""
        parts.append(f"### {role}:\n{message['content']}{end}\n\n")
    return "".join(parts)


def run_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    """The guide recipe: pad to max_length, labels = ids, plain Trainer."""
    import resource

    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        default_data_collator,
    )

    on_gpu = spec["device"] == "cuda"
    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    rows = [json.loads(line) for line in Path(spec["data"]).read_text().splitlines()]
    texts = [hand_written_prompt(r["messages"], tokenizer.eos_token) for r in rows]
    encoded = tokenizer(texts, padding="max_length", truncation=True, max_length=spec["max_length"])
    labels = [
        [t if m else -100 for t, m in zip(ids, mask, strict=True)]
        for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"], strict=True)
    ]
    dataset = Dataset.from_dict({**encoded, "labels": labels})
    model = AutoModelForCausalLM.from_pretrained(
        spec["model"], dtype=torch.float16 if on_gpu else torch.float32
    )
    if on_gpu:
        model = model.to("cuda")
    model = get_peft_model(
        model,
        LoraConfig(
            r=spec["lora_r"],
            lora_alpha=spec["lora_alpha"],
            lora_dropout=0.05,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    args = TrainingArguments(
        output_dir=spec["output_dir"],
        per_device_train_batch_size=spec["batch_size"],
        gradient_accumulation_steps=1,
        num_train_epochs=1,
        learning_rate=2e-4,
        logging_steps=1,  # as ftui logs, so both pay the same
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        fp16=on_gpu,
        use_cpu=not on_gpu,
    )
    trainer = Trainer(
        model=model, args=args, train_dataset=dataset, data_collator=default_data_collator
    )
    result = trainer.train()
    tokens = sum(sum(mask) for mask in encoded["attention_mask"])
    if on_gpu:
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return {
        "runtime": result.metrics["train_runtime"],
        "tokens": tokens,
        "peak": peak,
        "estimate": None,
        "loss": result.metrics["train_loss"],
        "first_loss": losses[0],
        "last_loss": statistics.fmean(losses[-5:]),
    }


# -- ftui's arm: the product's own training process -------------------------------------------


def run_ftui(
    work: Path, name: str, spec: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=work))
    config = {
        "base_model": spec["model"],
        "dataset_path": spec["data"],
        "epochs": 1,
        "batch_size": spec["batch_size"],
        "grad_accum": 1,
        "max_length": spec["max_length"],
        "learning_rate": 2e-4,
        "lora_r": spec["lora_r"],
        "lora_alpha": spec["lora_alpha"],
        "save_steps": 1_000_000,  # throughput, not checkpoints
        "device": spec["device"],
        **settings,
    }
    (run_dir / "config.json").write_text(json.dumps(config))
    with (run_dir / "train.log").open("wb") as log:
        code = subprocess.call(
            [sys.executable, "-m", "ftui.train", str(run_dir)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    messages = [e.get("message", "") for e in events if e["type"] == "log"]
    finished = next((m for m in map(FINISHED.search, messages) if m), None)
    peak = next((m for m in map(PEAK.search, messages) if m), None)
    speedups = next((m for m in map(SPEEDUPS.search, messages) if m), None)
    if code != 0 or finished is None or peak is None:
        tail = (run_dir / "train.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"ftui arm {name} failed (exit {code}):\n{tail}")
    losses = [e["values"]["train_loss"] for e in events if "train_loss" in e.get("values", {})]
    estimate = None
    if peak.group(2):
        estimate = float(peak.group(2)) * (1024**3 if peak.group(3) == "GiB" else 1024**2)
    return {
        "runtime": float(finished.group(1)),
        "tokens": int(finished.group(2).replace(",", "")),
        "peak": int(peak.group(1)) * 1024**2,
        "estimate": estimate,
        "loss": statistics.fmean(losses),
        "first_loss": losses[0],
        "last_loss": statistics.fmean(losses[-5:]),
        "speedups": speedups.group(1) if speedups else "",
    }


def child_baseline(work: Path, spec: dict[str, Any]) -> dict[str, Any]:
    out = work / f"baseline-{time.monotonic_ns()}.json"
    subprocess.run(
        [sys.executable, __file__, "--child-baseline", json.dumps(spec), "--child-out", str(out)],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return json.loads(out.read_text())


# -- the report -------------------------------------------------------------------------------


def mib(value: float) -> str:
    return f"{value / 1024**2:,.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-size", choices=["tiny", "0.5b"], default="tiny")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--child-baseline", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child_baseline:
        result = run_baseline(json.loads(args.child_baseline))
        Path(args.child_out).write_text(json.dumps(result))
        return

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="ftui-bench-train-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("FTUI_HOME", str(work / "home"))  # children inherit it
        data = work / "train.jsonl"
        source = write_examples(data, args.examples)
        started = time.perf_counter()
        model = build_model(work, data, args.model_size)
        built = time.perf_counter() - started
        print(f"model: {args.model_size} built in {built:.1f} s; data: {source}")
        spec = {
            "model": str(model),
            "data": str(data),
            "device": args.device,
            "max_length": args.max_length,
            "batch_size": args.batch_size,
            "lora_r": 16,
            "lora_alpha": 32,
            "output_dir": str(work / "baseline-out"),
        }
        arms: dict[str, Any] = {
            "baseline (pad to max_length, Trainer)": lambda: child_baseline(work, spec),
            "ftui (defaults)": lambda: run_ftui(work, "ftui", spec, {}),
        }
        # The other side of the default packing choice (on a GPU, off on a CPU).
        if args.device == "cuda":
            arms["ftui (no packing)"] = lambda: run_ftui(work, "nopack", spec, {"packing": False})
        else:
            arms["ftui (packing)"] = lambda: run_ftui(work, "pack", spec, {"packing": True})
        if args.device == "cuda":
            if importlib.util.find_spec("bitsandbytes") is not None:
                arms["ftui (QLoRA 4-bit)"] = lambda: run_ftui(
                    work, "qlora", spec, {"quantization": "4bit"}
                )
            else:
                print("bitsandbytes is not installed: no QLoRA arm (16-bit arms only)")
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in arms}
        for repeat in range(args.repeats):
            for name, run in arms.items():  # interleaved: drift hits every arm alike
                results[name].append(run())
                last = results[name][-1]
                estimate = f" (estimated {mib(last['estimate'])})" if last.get("estimate") else ""
                print(
                    f"  [{repeat + 1}/{args.repeats}] {name}: "
                    f"{last['tokens'] / last['runtime']:,.0f} tokens/s, peak {mib(last['peak'])}"
                    f"{estimate}, loss {last['first_loss']:.3f} -> {last['last_loss']:.3f}"
                    + (f"; {last['speedups']}" if last.get("speedups") else "")
                )

    baseline_runs = results[next(iter(arms))]

    def tps(result: dict[str, Any]) -> float:
        return float(result["tokens"]) / float(result["runtime"])

    load = os.getloadavg()
    medians = {
        name: {
            "tps": statistics.median(tps(r) for r in runs),
            "estimate": statistics.median(r["estimate"] for r in runs)
            if runs[0].get("estimate")
            else None,
            "peak": statistics.median(r["peak"] for r in runs),
            "runtime": statistics.median(r["runtime"] for r in runs),
            # Each round's ratio to the baseline run beside it: robust to load that drifts
            # between rounds on a shared machine.
            "ratio": statistics.median(
                tps(r) / tps(b) for r, b in zip(runs, baseline_runs, strict=True)
            ),
            "peak_ratio": statistics.median(
                r["peak"] / b["peak"] for r, b in zip(runs, baseline_runs, strict=True)
            ),
        }
        for name, runs in results.items()
    }
    memory = "peak GPU memory" if args.device == "cuda" else "peak RSS"
    print(
        f"\n{args.model_size} model on {args.device}, {args.examples} examples, max length "
        f"{args.max_length}, batch {args.batch_size}, 1 epoch; medians of {args.repeats}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
    )
    print("(vs base: the median of each round's ratio to the baseline run in the same round)")
    print(
        f"{'arm':<40} {'tokens/s':>10} {'vs base':>8} {memory:>16} {'vs base':>8} "
        f"{'estimate':>10} {'est/peak':>8} {'train s':>8}"
    )
    for name, m in medians.items():
        estimate = m["estimate"]
        print(
            f"{name:<40} {m['tps']:>10,.0f} {m['ratio']:>7.2f}x "
            f"{mib(m['peak']):>16} {m['peak_ratio']:>7.2f}x "
            + (f"{mib(estimate):>10} {estimate / m['peak']:>7.2f}x " if estimate else " " * 20)
            + f"{m['runtime']:>8.1f}"
        )


if __name__ == "__main__":
    main()
