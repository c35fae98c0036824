"""How long until a dataset's first rows are on a real terminal, against a bare Textual app.

Each sample starts a command in a fresh tmux pane of a fixed size and polls `tmux capture-pane`
until the text it waits for is on screen: the first example row for `ftui PATH`, "hello" for a
bare Textual app started the same way. Both pay the same interpreter start, terminal set-up and
polling, so their ratio is what the dataset's first rows cost over a first frame. Runs are
interleaved and the medians compared:

    python bench/bench_first_rows.py [PATH] [--runs 9] [--size 120x36] [--against CHECKOUT]

`--against` adds a series, the same `ftui PATH` from another checkout (say, the commit before a
change, from `git worktree add`), interleaved with the others; it may be given more than once.

Target: the first rows within 1.5x the bare app's first frame (aim 1.2x). Needs tmux.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Beside the checkout by default; a git worktree elsewhere points at them with the variable.
SHARED_DATASETS = Path(
    os.environ.get("FTUI_SHARED_DATASETS") or ROOT.parent / "shared" / "datasets"
)
DEFAULT_DATASET = SHARED_DATASETS / "openai-chat" / "sgd_dialogues.jsonl"
POLL_S = 0.005
TIMEOUT_S = 60.0

HELLO = """
from textual.app import App
from textual.widgets import Static

class Hello(App):
    def compose(self):
        yield Static("hello")

Hello().run()
"""

# The bare app's only text; the example list's first row: "1", its turns, then role letters.
HELLO_SEEN = re.compile(r"\bhello\b")
FIRST_ROW_SEEN = re.compile(r"│\s*[●\s]?\*?\s*1\s+\d+\s+[SUATD?]( [SUATD?])*\s")


HELLO_SERIES = "bare Textual app"

# A server of our own: other tmux sessions on this machine neither see nor disturb ours.
SOCKET = f"bench-first-rows-{os.getpid()}"


def tmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=False
    )


def time_until_seen(command: str, seen: re.Pattern[str], size: tuple[int, int], env: str) -> float:
    """Seconds from starting `command` in a new tmux pane until `seen` is on its screen."""
    session = "bench"
    width, height = size
    started = time.perf_counter()
    for _attempt in range(5):  # a server busy with the last kill-session may refuse one start
        result = tmux(
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            str(width),
            "-y",
            str(height),
            # Not in a checkout: `python -m ftui` puts the working directory first on sys.path,
            # ahead of PYTHONPATH, and would import that checkout's ftui whatever the series.
            "-c",
            tempfile.gettempdir(),
            f"{env} {command}",
        )
        if result.returncode == 0:
            break
        time.sleep(0.2)
        started = time.perf_counter()
    else:
        raise SystemExit(f"tmux could not start {command!r}: {result.stderr.strip()}")
    try:
        while True:
            screen = tmux("capture-pane", "-p", "-t", session).stdout
            if seen.search(screen):
                return time.perf_counter() - started
            if time.perf_counter() - started > TIMEOUT_S:
                raise SystemExit(
                    f"nothing matched {seen.pattern!r} in {TIMEOUT_S:.0f} s:\n{screen}"
                )
            time.sleep(POLL_S)
    finally:
        tmux("kill-session", "-t", session)


def cached(tmp: str, name: str) -> str:
    """`env` as an installed app runs: bytecode written once and reused (the first round warms
    it), in a folder of its own per series. Without it a PYTHONDONTWRITEBYTECODE in the
    environment, or a source newer than its .pyc, recompiles every module on every start."""
    folder = Path(tmp) / ("pycache-" + re.sub(r"\W", "_", name))
    return f"env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX={shlex.quote(str(folder))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--size", default="120x36", help="terminal size, WIDTHxHEIGHT")
    parser.add_argument(
        "--against",
        type=Path,
        action="append",
        default=[],
        help="another checkout of ftui to time too (may be given more than once)",
    )
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed (apt-get install tmux)")
    if not args.path.is_file():
        raise SystemExit(f"{args.path}: no such dataset; pass one as PATH")
    size = tuple(int(n) for n in args.size.lower().split("x"))
    assert len(size) == 2, "--size is WIDTHxHEIGHT"
    python = shlex.quote(sys.executable)
    trees = {"this checkout": ROOT}
    for other in args.against:
        trees[f"{other}"] = other.resolve()

    # One idle session keeps the server up between samples (it exits with its last session).
    tmux("new-session", "-d", "-s", "keep", "-x", "20", "-y", "5", "sleep 3600")
    series = [HELLO_SERIES, *trees]
    samples: dict[str, list[float]] = {name: [] for name in series}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "hello.py"
            script.write_text(HELLO)

            def sample(name: str, n: int) -> float:
                if name == HELLO_SERIES:
                    command = f"{python} {shlex.quote(str(script))}"
                    return time_until_seen(command, HELLO_SEEN, size, cached(tmp, "hello"))
                # A fresh home each time: no remembered workspace, no journal to restore.
                home = shlex.quote(str(Path(tmp) / f"home-{n}-{len(samples[name])}"))
                env = f"{cached(tmp, name)} PYTHONPATH={shlex.quote(str(trees[name]))}"
                env += f" FTUI_HOME={home}"
                # As a user types it (the home comes from FTUI_HOME).
                command = f"{python} -m ftui {shlex.quote(str(args.path))}"
                return time_until_seen(command, FIRST_ROW_SEEN, size, env)

            for n in range(args.runs + 1):  # the first round only warms the file cache
                # Each round in another order: no series always runs right after the same one.
                shift = n % len(series)
                for name in series[shift:] + series[:shift]:
                    seconds = sample(name, n)
                    if n:
                        samples[name].append(seconds)
    finally:
        tmux("kill-server")

    hello = samples[HELLO_SERIES]
    hello_median = statistics.median(hello)
    print(f"dataset: {args.path} · terminal {size[0]}x{size[1]} · {args.runs} runs, interleaved")
    print(f"bare Textual app, first frame:    median {hello_median * 1000:6.0f} ms")
    for name in trees:
        median = statistics.median(samples[name])
        # The ratio within each round too: a load that comes and goes moves both of a round.
        paired = statistics.median(r / h for r, h in zip(samples[name], hello, strict=True))
        print(
            f"ftui PATH ({name}), first example row: median {median * 1000:6.0f} ms · "
            f"{median / hello_median:.2f}x the bare app, {paired:.2f}x round by round "
            "(target ≤ 1.5x, aim 1.2x)"
        )
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
