"""What GPUs this machine has and how busy they are: NVML when importable, else nvidia-smi.

Both are optional: on a machine without NVIDIA GPUs (or without the driver tools) every function
returns an empty list, and the launch form says the run will use the CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MIB = 1024**2
SMI_TIMEOUT_S = 5.0
_SMI_FIELDS = "index,name,memory.total,memory.used,utilization.gpu,compute_cap"


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_total: int  # bytes
    memory_used: int  # bytes
    utilization: float | None  # percent
    compute_capability: float | None = None  # 8.0 and up have bf16

    @property
    def memory_free(self) -> int:
        return max(0, self.memory_total - self.memory_used)

    @property
    def supports_bf16(self) -> bool:
        return self.compute_capability is None or self.compute_capability >= 8.0

    def describe(self) -> str:
        used = f"{self.memory_used / MIB / 1024:.1f}/{self.memory_total / MIB / 1024:.1f} GiB"
        busy = f", {self.utilization:.0f}%" if self.utilization is not None else ""
        return f"GPU {self.index} {self.name}: {used}{busy}"


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def parse_smi_csv(output: str) -> list[GpuInfo]:
    """Rows of `nvidia-smi --query-gpu=index,name,memory.total,memory.used,utilization.gpu,
    compute_cap --format=csv,noheader,nounits`; rows it cannot read are skipped."""
    gpus = []
    for line in output.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 5:
            continue
        index, total, used = _number(parts[0]), _number(parts[2]), _number(parts[3])
        if index is None or total is None or used is None:
            continue
        gpus.append(
            GpuInfo(
                index=int(index),
                name=parts[1],
                memory_total=int(total * MIB),
                memory_used=int(used * MIB),
                utilization=_number(parts[4]),
                compute_capability=_number(parts[5]) if len(parts) > 5 else None,
            )
        )
    return gpus


def _visible(gpus: list[GpuInfo]) -> list[GpuInfo]:
    """Only the GPUs CUDA_VISIBLE_DEVICES leaves to this process (by index)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return gpus
    wanted = {int(v) for v in visible.split(",") if v.strip().isdigit()}
    return [g for g in gpus if g.index in wanted]


def _from_nvml() -> list[GpuInfo] | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            gpus.append(
                GpuInfo(
                    index=index,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    memory_total=int(memory.total),
                    memory_used=int(memory.used),
                    utilization=float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu),
                    compute_capability=major + minor / 10,
                )
            )
        return gpus
    except Exception:
        return None
    finally:
        pynvml.nvmlShutdown()


def _from_smi() -> list[GpuInfo]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        result = subprocess.run(
            [smi, f"--query-gpu={_SMI_FIELDS}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=SMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return parse_smi_csv(result.stdout) if result.returncode == 0 else []


def detect_gpus() -> list[GpuInfo]:
    """The GPUs visible to a training process started from here, with their current use."""
    gpus = _from_nvml()
    if gpus is None:
        gpus = _from_smi()
    return _visible(gpus)


def system_memory() -> tuple[int, int] | None:
    """(total, available) RAM in bytes, for CPU runs; None where /proc/meminfo is missing."""
    try:
        text = Path("/proc/meminfo").read_text(encoding="ascii")
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * 1024
    if "MemTotal" not in values:
        return None
    return values["MemTotal"], values.get("MemAvailable", values["MemTotal"])
