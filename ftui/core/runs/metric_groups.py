"""Which metrics share a chart: those on one scale, measured together, side by side."""

from __future__ import annotations

from collections.abc import Callable, Iterable

# Fixed members, drawn first and in this order, when a group has them.
LEADING = {
    "loss": ("train_loss", "valid_loss"),
    "token accuracy": ("train_mean_token_accuracy", "valid_mean_token_accuracy"),
}
# Percentages and gigabytes apart: on one axis RAM's few GB would be a flat line under 187 % CPU.
SYSTEM_USE = ("gpu_utilization", "cpu_percent")
SYSTEM_MEMORY = ("gpu_memory_gb", "ram_gb")
SYSTEM_METRICS = SYSTEM_USE + SYSTEM_MEMORY

# (title, test) in chart order; a name joins the first group whose test it passes.
GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("loss", lambda name: "loss" in name),
    ("token accuracy", lambda name: "token_accuracy" in name),
    ("accuracy", lambda name: "accuracy" in name),
    ("learning rate", lambda name: name in ("learning_rate", "lr")),
    ("grad norm", lambda name: name == "grad_norm"),
    ("throughput", lambda name: name == "tokens_per_second" or name.endswith("_per_second")),
    ("system use %", lambda name: name in SYSTEM_USE),
    ("memory GB", lambda name: name in SYSTEM_MEMORY),
)


def metric_groups(names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Metric names as chart groups, `(title, members)`: loss (train and valid loss together, then
    any other loss), token accuracy, other accuracy, learning rate, grad norm, throughput, system
    use, memory; then each other metric alone, in the order given. Empty groups are left out."""
    ordered = list(dict.fromkeys(names))
    groups: list[tuple[str, list[str]]] = []
    taken: set[str] = set()
    for title, test in GROUPS:
        members = [name for name in ordered if name not in taken and test(name)]
        if not members:
            continue
        leading = [name for name in LEADING.get(title, ()) if name in members]
        members = leading + [name for name in members if name not in leading]
        groups.append((title, members))
        taken.update(members)
    groups.extend((name, [name]) for name in ordered if name not in taken)
    return groups
