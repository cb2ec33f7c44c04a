"""What the ``vpt`` commands share: the progress bar every long command shows (rich: a title, a
bar, N/M, a status text and the time left), one-line errors, JSON options, common option help, and
loading an ``Agent`` with its errors reported."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

if TYPE_CHECKING:
    from vpt.agent import Agent


@contextmanager
def progress_bar(title: str, total: int, console: Console | None = None) -> Iterator[Callable[..., None]]:
    """Yield ``update(completed=None, advance=None, info="")`` for a bar of ``total`` units."""
    with Progress(TextColumn(f"[b]{title}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                  TimeRemainingColumn(), console=console) as bar:  # fmt: skip
        task = bar.add_task(title, total=total, info="")

        def update(completed: int | None = None, advance: int | None = None, info: str = "") -> None:
            bar.update(task, completed=completed, advance=advance, info=info)

        yield update


#: ``--precision`` help shared by the training commands.
PRECISION_HELP = "auto (bf16 where native: GPUs, AMX CPUs; else fp32), fp32, bf16, fp16 (GPU)"
#: Acting-speed option help shared by ``vpt eval`` and ``vpt play`` (``Agent``'s settings).
ACT_BF16_HELP = "bfloat16 image encoder (GPUs, CPUs with native bf16; slow on AVX2-only CPUs)"
ACT_INT8_HELP = ("int8 image-encoder convs (x86 CPUs with AVX2; 7-bit weights without VNNI; vpt.nn.int8): with "
                 "--bf16 --compile the fastest CPU acting where bf16 is native; log-probabilities differ from "
                 "float32's by a few 1e-2")
ACT_COMPILE_HELP = "torch.compile the image encoder (a minute or more before the first step)"


def load_agent(console: Console, model: Path, weights: Path, **settings: Any) -> Agent:
    """``Agent.load(model, weights, **settings)``; a bad model file, or ``int8`` where it cannot
    run, is a one-line exit-2 error."""
    from vpt.agent import Agent
    from vpt.agent.files import ModelFileError
    from vpt.agent.policy import ModelConfigError

    try:
        agent = Agent.load(model, weights, **settings)
    except (ModelFileError, ModelConfigError, RuntimeError) as e:
        print_error(console, e)
        raise typer.Exit(2) from e
    if settings.get("bf16"):
        warn_emulated_bf16(console, agent.device)
    return agent


def warn_emulated_bf16(console: Console, device: Any) -> None:
    """Warn that ``--bf16`` was asked for on a CPU that emulates bf16 (no AMX or AVX-512 BF16),
    where it runs several times slower than float32 (it still runs: the choice is the user's)."""
    from vpt.train import native_bf16

    if device.type == "cpu" and not native_bf16(device):
        console.print("[yellow]warning:[/yellow] --bf16 on a CPU without native bf16 (no AMX or AVX-512 BF16): "
                      "emulated, several times slower than float32; `vpt info` lists the fastest settings here",
                      soft_wrap=True)  # fmt: skip


def print_error(console: Console, error: object, label: str = "error") -> None:
    """Print ``label: error`` on one line: not wrapped at the terminal width (paths stay copyable
    and greppable) and not read as rich markup (a ``[...]`` in a path is printed as is)."""
    console.print(f"[red]{label}:[/red] {escape(str(error))}", soft_wrap=True)


def json_option(text: str, flag: str) -> Any:
    """The value of a JSON command-line option; a usage error naming ``flag`` if it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise typer.BadParameter(f"{flag} is not JSON: {e}") from None
