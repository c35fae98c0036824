"""Starting training processes that outlive ftui, finding them again, and stopping them.

A run's process is started in a new session (`start_new_session=True`): no controlling terminal,
stdin from /dev/null, stdout and stderr appended to `runs/<id>/train.log`. Closing ftui, a SIGHUP or
a dropped SSH connection therefore leaves it running. `process.json` in the run directory records
its pid, the kernel's start time of that pid (so a recycled pid is never mistaken for the run) and
the host, so a later ftui can tell whether the run is still alive.

The process gets only the environment it needs (`child_environment`: paths, locale, CUDA, Hugging
Face and thread settings, never an API key, token or secret), and a thread of ours waits for it,
so one that ends while ftui is open never lingers as a zombie.

Cancel sends SIGTERM to the whole process group (every rank of a multi-GPU run): the trainer saves
a checkpoint at the end of the current step and exits `cancelled`. After a grace period, SIGKILL.
"Checkpoint now" sends SIGUSR1 to the training processes of the group only (a multi-GPU run's
`accelerate` launcher has no handler for it, and would die of it): each saves a checkpoint at the
end of the current step and trains on.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from ftui.services.runs import atomic_write_json

PROCESS_FILE = "process.json"
LOG_FILE = "train.log"
DEFAULT_GRACE_S = 120.0

# The environment a training process inherits: what Python, the locale, CUDA, Hugging Face and the
# math libraries read. Anything else (cloud credentials, the OpenAI key) stays with ftui.
ENV_ALLOWED = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*", "TZ", "TERM",
    "TMPDIR", "TEMP", "TMP", "PYTHONPATH", "PYTHONHASHSEED", "VIRTUAL_ENV", "CONDA_PREFIX",
    "LD_LIBRARY_PATH", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME",
    "CUDA_*", "NVIDIA_*", "NCCL_*", "HF_*", "HUGGINGFACE_*", "TRANSFORMERS_*", "TOKENIZERS_*",
    "TORCH_*", "PYTORCH_*", "ACCELERATE_*", "BITSANDBYTES_*", "TRITON_*",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_*", "FTUI_*",
)  # fmt: skip
# Never passed on, even where an allowed pattern matches (HF_TOKEN, FTUI_OPENAI_API_KEY).
ENV_DENIED = ("OPENAI_*", "*API_KEY*", "*_TOKEN", "*SECRET*", "*PASSWORD*")


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    start_time: str | None  # the kernel's start time of `pid` (None: unknown on this platform)
    host: str
    argv: list[str]
    launched_at: float = field(default_factory=time.time)

    @property
    def local(self) -> bool:
        return self.host == socket.gethostname()


def process_start_time(pid: int) -> str | None:
    """A value that changes when `pid` is reused: /proc starttime, else psutil's create_time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # Field 22 (starttime), counted after the parenthesised command name, which may hold spaces.
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        pass
    try:
        import psutil

        return f"{psutil.Process(pid).create_time():.2f}"
    except Exception:
        return None


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _reap(pid: int) -> None:
    """Collect an exited child of ours so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pid_alive(record: ProcessRecord) -> bool:
    """True while the recorded process (same pid, same start time) is running on this host."""
    _reap(record.pid)
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else: the start time decides
    if _is_zombie(record.pid):
        return False
    if record.start_time is None:
        return True
    return process_start_time(record.pid) == record.start_time


def training_command(
    run_dir: Path, *, resume: bool = False, processes: int = 1, python: str | None = None
) -> list[str]:
    """The command line of a run's training process; one process per GPU through accelerate."""
    python = python or sys.executable
    tail = ["-m", "ftui.train", str(run_dir)] + (["--resume"] if resume else [])
    if processes <= 1:
        return [python, *tail]
    return [
        python,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        str(processes),
        "--num_machines",
        "1",
        "--dynamo_backend",
        "no",
        *tail,
    ]


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in patterns)


def child_environment(
    parent: Mapping[str, str], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The allowed part of `parent`, then `extra` (which is filtered too: a secret never goes)."""
    env = {k: v for k, v in parent.items() if _matches(k, ENV_ALLOWED)}
    env.update(extra or {})
    return {k: v for k, v in env.items() if not _matches(k, ENV_DENIED)}


def reap_when_done(process: subprocess.Popen[bytes]) -> None:
    """Wait for a detached child in a daemon thread, so it is reaped as soon as it exits (a
    process that outlives ftui is adopted by init instead)."""
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()


def launch(
    run_dir: Path,
    *,
    resume: bool = False,
    processes: int = 1,
    extra_env: Mapping[str, str] | None = None,
    argv: list[str] | None = None,
    stdin_data: bytes | None = None,
    process_file: str = PROCESS_FILE,
    log_file: str = LOG_FILE,
) -> ProcessRecord:
    """Start the run's training process detached; records and returns its ProcessRecord.

    Its environment is `child_environment(os.environ, extra_env)`. `stdin_data` is written to
    its stdin through a pipe, then the pipe is closed: the way to hand a secret to a process
    without it touching the disk, its environment or its command line (the OpenAI follower
    gets its key so). Another kind of process keeps its own `process_file` and `log_file`."""
    run_dir = Path(run_dir)
    argv = argv or training_command(run_dir, resume=resume, processes=processes)
    child_env = child_environment(os.environ, extra_env)
    child_env["PYTHONUNBUFFERED"] = "1"  # train.log shows each line as it is written
    log_path = run_dir / log_file
    with log_path.open("ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            argv,
            cwd=run_dir,
            env=child_env,
            stdin=subprocess.DEVNULL if stdin_data is None else subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    if stdin_data is not None:
        assert process.stdin is not None
        try:
            process.stdin.write(stdin_data)
        except BrokenPipeError:
            pass  # it died at once; its log says why
        finally:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
    record = ProcessRecord(
        pid=process.pid,
        start_time=process_start_time(process.pid),
        host=socket.gethostname(),
        argv=argv,
    )
    reap_when_done(process)
    atomic_write_json(run_dir / process_file, asdict(record))
    return record


def read_process(run_dir: Path, process_file: str = PROCESS_FILE) -> ProcessRecord | None:
    try:
        data = orjson.loads((Path(run_dir) / process_file).read_bytes())
        return ProcessRecord(**data)
    except (OSError, orjson.JSONDecodeError, TypeError):
        return None


def is_running(run_dir: Path, process_file: str = PROCESS_FILE) -> bool:
    """True while the run's process is alive. A process on another host counts as running: it
    cannot be checked from here, and calling it dead would mark a healthy run failed."""
    record = read_process(run_dir, process_file)
    if record is None:
        return False
    return pid_alive(record) if record.local else True


def _signal_group(record: ProcessRecord, sig: signal.Signals) -> bool:
    if not pid_alive(record):
        return False
    try:
        os.killpg(record.pid, sig)  # the process leads its own session, so its group id is its pid
    except ProcessLookupError:
        return False
    except PermissionError:
        os.kill(record.pid, sig)
    return True


def request_stop(run_dir: Path, process_file: str = PROCESS_FILE) -> ProcessRecord | None:
    """Send SIGTERM to the run's processes; returns the record if something was signalled."""
    record = read_process(run_dir, process_file)
    if record is None or not record.local:
        return None
    return record if _signal_group(record, signal.SIGTERM) else None


TRAINING_MODULE = "ftui.train"


def _group_members(pgid: int) -> list[int] | None:
    """The pids in process group `pgid`, from /proc (None where there is no /proc)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if len(fields) > 2 and fields[2] == str(pgid):
            members.append(int(entry.name))
    return members


def runs_training(argv: list[str]) -> bool:
    """Whether a command line is the training process itself: Python's first `-m` names
    ftui.train (an `accelerate` launcher's names accelerate, and ftui.train only later)."""
    for index, arg in enumerate(argv[:-1]):
        if arg == "-m":
            return argv[index + 1] == TRAINING_MODULE
    return False


def _command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def request_checkpoint(run_dir: Path, process_file: str = PROCESS_FILE) -> list[int]:
    """Send SIGUSR1 to the run's training processes; returns the pids signalled (none: the run's
    process is not running here)."""
    record = read_process(run_dir, process_file)
    if record is None or not record.local or not pid_alive(record):
        return []
    members = _group_members(record.pid)
    if members is None:  # no /proc: only a single training process can be told apart
        members = [record.pid] if runs_training(record.argv) else []
    else:
        members = [pid for pid in members if runs_training(_command_line(pid))]
    signalled = []
    for pid in sorted(members):
        try:
            os.kill(pid, signal.SIGUSR1)
        except (ProcessLookupError, PermissionError):
            continue
        signalled.append(pid)
    return signalled


async def stop(run_dir: Path, grace_s: float = DEFAULT_GRACE_S, poll_s: float = 0.2) -> str:
    """SIGTERM, wait up to `grace_s` for a graceful exit, then SIGKILL.

    Returns "not-running", "stopped" (exited on its own after SIGTERM) or "killed".
    """
    record = request_stop(run_dir)
    if record is None:
        return "not-running"
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not pid_alive(record):
            return "stopped"
        await asyncio.sleep(poll_s)
    _signal_group(record, signal.SIGKILL)
    for _ in range(50):
        if not pid_alive(record):
            break
        await asyncio.sleep(0.1)
    return "killed"


def stop_blocking(run_dir: Path, grace_s: float = DEFAULT_GRACE_S) -> str:
    return asyncio.run(stop(run_dir, grace_s))


def last_log_lines(run_dir: Path, count: int = 20, max_bytes: int = 64 * 1024) -> list[str]:
    """The last lines of train.log (what a process that died without a word last said)."""
    path = Path(run_dir) / LOG_FILE
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").replace("\r", "\n").splitlines()
    return list(deque((line for line in lines if line.strip()), maxlen=count))
