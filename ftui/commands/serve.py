"""`ftui serve local:PATH[+ADAPTER]`: a local model as an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from typing import TYPE_CHECKING, Literal

import click

if TYPE_CHECKING:
    from ftui.services.inference.spec import ModelSpec


class ServeError(click.ClickException):
    """Bad input (a spec, a folder, an engine that cannot run here): exit status 2."""

    exit_code = 2


@click.command("serve")
@click.argument("spec")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port to listen on (0: any free one; the line printed says which).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on. Anything but loopback exposes the model.",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "builtin", "vllm"]),
    default="auto",
    show_default=True,
    help="auto: vLLM when it is installed and a GPU is present.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where the built-in server generates.",
)
@click.option("--name", help="The model name to serve (default: the adapter's or model's folder).")
def serve_command(
    spec: str,
    port: int,
    host: str,
    engine: Literal["auto", "builtin", "vllm"],
    device: str,
    name: str | None,
) -> None:
    """Serve SPEC (local:PATH[+ADAPTER]) at /v1/chat/completions and /v1/models."""  # fmt: skip
    from ftui.services.gpu import detect_gpus
    from ftui.services.inference.serve import adapter_rank, plan_server
    from ftui.services.inference.spec import parse_spec

    try:
        parsed = parse_spec(spec)
        plan = plan_server(
            parsed,
            host=host,
            port=port,
            python=sys.executable,
            vllm_installed=importlib.util.find_spec("vllm") is not None,
            gpu_count=len(detect_gpus()) if engine != "builtin" else 0,
            engine=engine,
            name=name,
            lora_rank=adapter_rank(parsed.adapter),
        )
    except ValueError as exc:
        raise ServeError(str(exc)) from None
    if plan.argv is not None:
        click.echo(f"Serving {plan.name} with {plan.reason}: {' '.join(plan.argv)}", err=True)
        os.execvp(plan.argv[0], plan.argv)
    serve_builtin(parsed, plan.name, host=host, port=port, device=device, reason=plan.reason)


def serve_builtin(
    spec: ModelSpec, name: str, *, host: str, port: int, device: str, reason: str
) -> None:
    from ftui.services.inference.base import InferenceError
    from ftui.services.inference.local import LocalChatModel
    from ftui.services.inference.serve import LocalModelServer

    model = LocalChatModel(spec, device=device, label=name)
    try:
        server = LocalModelServer(model, name=name, host=host, port=port)
    except OSError as exc:
        raise ServeError(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
        ) from None
    click.echo(f"Loading {spec.text} ...", err=True)
    try:  # load now, so a bad folder fails here and the first request is not slow
        server.run_on_model(model.start)
    except InferenceError as exc:
        server.close()
        raise ServeError(str(exc)) from None
    # The line scripts wait for; flushed at once even when stdout is a pipe.
    click.echo(f"Serving {name} at {server.url} with {reason}, on {model.device}. Ctrl-C to stop.")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("Stopping.", err=True)
        server.close()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends the server as Ctrl-C does: the worker is closed
