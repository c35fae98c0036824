"""How much `ftui validate` says, per code, on every file of ../shared/datasets.

    .venv/bin/python bench/bench_findings.py [--checkout DIR] [--sample 100 --seed 7] [--save F]

Runs `ftui validate --json --all-findings` (of this checkout, or of `--checkout DIR`, so an older
commit can be measured the same way) on each file, then prints findings per 1,000 examples for
each code over all files, and the files each code fires in. `--sample N` also prints N warning or
info findings drawn at random (seeded) with the reply they point at, to be judged by hand: the
noise share is the share of those that are true but not worth acting on.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/datasets")
SUFFIXES = (".json", ".jsonl")


def dataset_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def validate(checkout: Path, path: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    argv = [sys.executable, "-m", "ftui", "validate", str(path), "--json", "--all-findings"]
    done = subprocess.run(argv, capture_output=True, env=env, cwd=checkout, check=False)
    if done.returncode not in (0, 1):
        return {"error": done.stderr.decode(errors="replace").strip(), "examples": 0}
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def table(reports: dict[Path, dict[str, Any]]) -> list[str]:
    examples = sum(r.get("examples", 0) for r in reports.values())
    counts: Counter[str] = Counter()
    severity: dict[str, str] = {}
    where: dict[str, list[str]] = defaultdict(list)
    for path, report in reports.items():
        for code, entry in report.get("counts", {}).items():
            counts[code] += entry["count"]
            severity[code] = entry["severity"]
            where[code].append(f"{path.stem}:{entry['count']}")
    out = [f"{len(reports)} files, {examples:,} examples", ""]
    out.append(f"{'code':36}{'sev':>8}{'count':>9}{'per 1k':>9}  files")
    order = {"error": 0, "warning": 1, "info": 2}
    for code in sorted(counts, key=lambda c: (order.get(severity[c], 3), -counts[c], c)):
        per_k = 1000 * counts[code] / max(1, examples)
        files = ", ".join(sorted(where[code], key=lambda s: -int(s.rsplit(":", 1)[1]))[:4])
        out.append(f"{code:36}{severity[code]:>8}{counts[code]:>9,}{per_k:>9.2f}  {files}")
    by_severity: Counter[str] = Counter()
    for code, n in counts.items():
        by_severity[severity[code]] += n
    out.append("")
    out.append(
        "totals per 1k examples: "
        + " · ".join(
            f"{s} {1000 * n / max(1, examples):.1f}" for s, n in sorted(by_severity.items())
        )
    )
    for path, report in reports.items():
        if "error" in report:
            out.append(f"  {path.name}: could not validate: {report['error'][:200]}")
    return out


def reply_context(path: Path, finding: dict[str, Any]) -> str:
    """The text a finding points at: its message's content, or the example's first reply."""
    example = finding.get("example", -1)
    if example < 0:
        return ""
    sys.path.insert(0, str(ROOT))
    from ftui.core.dataset.formats import detect_format, example_messages
    from ftui.core.dataset.reader import iter_records

    fmt = detect_format(path)
    for record in iter_records(path):
        if record.index != example:
            continue
        messages = example_messages(record.value, fmt)
        index = finding.get("message_index")
        if index is None or not 0 <= index < len(messages):
            picked = [m for m in messages if m.get("role") == "assistant"][:1] or messages[:1]
        else:
            picked = [messages[index]]
        text = " | ".join(str(m.get("content"))[:160] for m in picked)
        return text.replace("\n", " ")
    return ""


def sample(reports: dict[Path, dict[str, Any]], n: int, seed: int) -> list[str]:
    pool = [
        (path, finding)
        for path, report in reports.items()
        for finding in report.get("findings", [])
        if finding["severity"] in ("warning", "info")
    ]
    picked = random.Random(seed).sample(pool, min(n, len(pool)))
    out = [f"{len(picked)} of {len(pool):,} warning/info findings (seed {seed}):"]
    for k, (path, finding) in enumerate(picked, 1):
        out.append(
            f"{k:3}. {path.name}:{finding['line']} {finding['code']}: {finding['message'][:150]}"
        )
        context = reply_context(path, finding)
        if context:
            out.append(f"       > {context[:200]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=ROOT, help="ftui checkout to measure")
    parser.add_argument("--datasets", type=Path, default=SHARED)
    parser.add_argument("--sample", type=int, default=0, help="warning/info findings to print")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save", type=Path, help="write every report as one JSON file")
    args = parser.parse_args()
    files = dataset_files(args.datasets)
    if not files:
        raise SystemExit(f"no .json/.jsonl files under {args.datasets}")
    reports = {}
    for path in files:
        print(f"validating {path.relative_to(args.datasets)}", file=sys.stderr)
        reports[path] = validate(args.checkout.resolve(), path)
    print(f"checkout: {args.checkout.resolve()}")
    print("\n".join(table(reports)))
    if args.sample:
        print()
        print("\n".join(sample(reports, args.sample, args.seed)))
    if args.save:
        args.save.write_text(json.dumps({str(p): r for p, r in reports.items()}))


if __name__ == "__main__":
    main()
