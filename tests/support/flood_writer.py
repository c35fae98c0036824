"""A writer that floods a run's log as fast as it can: log events and metric events interleaved
in events.jsonl, and as many lines of trainer output in train.log.

    python -m tests.support.flood_writer EVENTS_PATH OUTPUT_PATH LINES METRICS

Used by the monitor's flood test and its benchmark: a separate process, as a training process is.
"""

from __future__ import annotations

import sys

from ftui.core.runs.events import EventWriter

VALID_EVERY = 50  # an evaluation every this many metric steps


def flood(events_path: str, output_path: str, lines: int, metrics: int) -> None:
    every = max(1, lines // max(1, metrics))
    step = 0
    with EventWriter(events_path) as writer, open(output_path, "a", buffering=1) as out:
        for n in range(lines):
            writer.log(f"flood line {n}: the quick brown fox jumps over the lazy dog")
            out.write(f"[trainer] flood output line {n} loss=0.{n % 1000:03d}\n")
            if n % every == 0 and step < metrics:
                step += 1
                values = {"train_loss": 2.0 / (1 + step / 500), "learning_rate": 1e-4}
                writer.metric(step, values, max_steps=metrics, epoch=step / metrics)
                if step % VALID_EVERY == 0:
                    writer.metric(step, {"valid_loss": 2.2 / (1 + step / 600)})
        while step < metrics:
            step += 1
            writer.metric(step, {"train_loss": 2.0 / (1 + step / 500)}, max_steps=metrics)


if __name__ == "__main__":
    flood(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
