"""GPU discovery through nvidia-smi (a stand-in script here, since this machine has no GPU)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ftui.services.gpu import detect_gpus, parse_smi_csv, system_memory

SMI_OUTPUT = (
    "0, NVIDIA H100 80GB HBM3, 81559, 1024, 37, 9.0\n"
    "1, Tesla V100-SXM2-16GB, 16384, 15000, 99, 7.0\n"
    "garbage line\n"
)


def test_nvidia_smi_rows_become_gpu_infos() -> None:
    gpus = parse_smi_csv(SMI_OUTPUT)
    assert [g.index for g in gpus] == [0, 1]
    h100, v100 = gpus
    assert h100.memory_total == 81559 * 1024**2
    assert h100.memory_free == (81559 - 1024) * 1024**2
    assert h100.supports_bf16 and not v100.supports_bf16
    assert v100.utilization == 99
    assert h100.describe() == "GPU 0 NVIDIA H100 80GB HBM3: 1.0/79.6 GiB, 37%"


def test_detect_gpus_runs_nvidia_smi_and_honours_cuda_visible_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smi = tmp_path / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\ncat <<'EOF'\n{SMI_OUTPUT}EOF\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [g.name for g in detect_gpus()] == ["NVIDIA H100 80GB HBM3", "Tesla V100-SXM2-16GB"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert [g.index for g in detect_gpus()] == [1]


def test_no_driver_means_no_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_gpus() == []
    memory = system_memory()
    if memory is not None:
        total, available = memory
        assert 0 < available <= total
