"""The `ftui` subcommands, one module per area, imported lazily by `ftui.cli`.

The table is plain data, so the entry point (`ftui.entry`) can tell a subcommand from a dataset
path without importing click."""

from __future__ import annotations

# name -> ("module:command", its line in `ftui --help`)
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "open": ("ftui.commands.app:open_command", "Open the workbench on a dataset (the default)."),
    "demo": ("ftui.commands.app:demo_command", "Create a demo workspace and open it."),
    "validate": (
        "ftui.commands.dataset:validate_command",
        "Check a dataset: format, tokens, cost.",
    ),
    "convert": (
        "ftui.commands.dataset:convert_command",
        "Convert between OpenAI, Alpaca, ShareGPT.",
    ),
    "import": (
        "ftui.commands.importing:import_command",
        "Import a CSV, JSON or chat log as a chat dataset.",
    ),
    "split": ("ftui.commands.dataset:split_command", "Split into train / validation / test."),
    "stats": (
        "ftui.commands.dataset:stats_command",
        "Counts and token distributions of a dataset.",
    ),
    "cost": (
        "ftui.commands.cost:cost_command",
        "Training cost of a dataset, and the day fine-tuning pays.",
    ),
    "judge": (
        "ftui.commands.judge:judge_command",
        "Is model B better than A? Judge both on an eval set.",
    ),
    "generate": (
        "ftui.commands.generate:generate_group",
        "Generate examples with a model: distill, synth, paraphrase.",
    ),
    "openai": ("ftui.commands.openai:openai_group", "List and import OpenAI fine-tuning jobs."),
    "runs": ("ftui.commands.runs:runs_group", "List, show, watch, export, remove runs."),
    "train": ("ftui.commands.train:train_group", "Launch a fine-tuning run."),
    "model": ("ftui.commands.train:model_group", "Build and inspect local models."),
    "serve": (
        "ftui.commands.serve:serve_command",
        "Serve a local model as an OpenAI-compatible API.",
    ),
    "config": (
        "ftui.commands.config:config_group",
        "The settings file and the settings in effect.",
    ),
}

COMMAND_NAMES = frozenset(LAZY_COMMANDS)
