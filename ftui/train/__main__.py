"""`python -m ftui.train RUN_DIR [--resume]`: the training process of one local run.

Started detached by ftui's launcher (its output goes to the run's train.log); also runnable by hand,
or once per GPU under `accelerate launch -m ftui.train RUN_DIR`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

# Offline for good: a training process never reaches for the hub, whatever the machine allows.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftui.train", description=__doc__)
    parser.add_argument("run_dir", type=Path, help="the run's directory (holds config.json)")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    args = parser.parse_args(argv)

    from ftui.train.stop import CheckpointRequest, StopRequest

    stop = StopRequest()
    checkpoint = CheckpointRequest()

    def request_stop(signum: int, frame: object) -> None:
        stop.handle_signal(signal.Signals(signum).name)

    def request_checkpoint(signum: int, frame: object) -> None:
        checkpoint.set()

    # SIGTERM (cancel) and SIGINT stop at the next step with a checkpoint (at once while loading);
    # SIGUSR1 saves a checkpoint at the next step's end and trains on ("checkpoint now"); SIGHUP
    # (a closed terminal or dropped SSH, should one reach us) is ignored: the run outlives its
    # terminal. All are installed before torch loads, so no signal finds the default action.
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGUSR1, request_checkpoint)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    from ftui.core.runs.events import RunStatus
    from ftui.train.trainer import run_training

    status = run_training(
        args.run_dir, resume=args.resume, stop=stop, checkpoint_request=checkpoint
    )
    return 0 if status in (RunStatus.SUCCEEDED, RunStatus.CANCELLED) else 1


if __name__ == "__main__":
    sys.exit(main())
