"""``vpt agent ...``: inspect VPT policy files."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import typer
from rich.console import Console
from rich.table import Table

from vpt.agent import (
    ModelConfigError,
    ModelFileError,
    VPTPolicy,
    compare_state_dict,
    read_model_file,
    read_weights_file,
)
from vpt.cli.progress import print_error

app = typer.Typer(help="VPT policies: inspect model files.", no_args_is_help=True)
console = Console()

_KNOWN_SIZES = {(1024, 4): "1x", (2048, 8): "2x", (3072, 12): "3x"}


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@app.command()
def info(
    model: Path = typer.Argument(..., help="the .model file (read safely: no code from it runs)"),
    weights: Path = typer.Argument(..., help="the .weights file"),
    as_json: bool = typer.Option(False, "--json", help="print machine-readable JSON"),
) -> None:
    """Architecture, parameter count and a strict check of the weights against the architecture."""
    try:
        cfg = read_model_file(model)
        with torch.device("meta"):
            policy = VPTPolicy(cfg)
        state_dict = read_weights_file(weights, map_location="meta")
    except (ModelFileError, ModelConfigError) as e:
        print_error(console, e)
        raise typer.Exit(2) from e
    report = compare_state_dict(policy, state_dict)
    net = policy.net
    parts = {
        "image encoder": _count(net.img_process),
        "transformer": _count(net.recurrent_layer),
        "output trunk": _count(net.lastlayer) + _count(net.final_ln),
        "action heads": _count(policy.pi_head),
        "value head": _count(policy.value_head),
    }
    arch = {
        "size": _KNOWN_SIZES.get((cfg.hidsize, int(cfg.impala_width)), "custom"),
        "hidsize": cfg.hidsize,
        "cnn_channels": list(cfg.cnn_chans),
        "img_shape": list(cfg.img_shape),
        "layers": cfg.n_recurrence_layers,
        "heads": cfg.attention_heads,
        "attention_window": cfg.maxlen,
        "mask": cfg.attention_mask_style,
        "temperature": cfg.temperature,
    }
    file_dtypes = sorted({str(v.dtype).removeprefix("torch.") for v in state_dict.values()})
    if as_json:
        print(
            json.dumps(
                {
                    "architecture": arch,
                    "parameters": {"total": _count(policy), **parts},
                    "weights": {
                        "ok": report.ok,
                        "tensors": len(state_dict),
                        "dtypes": file_dtypes,
                        "missing": report.missing,
                        "unexpected": report.unexpected,
                        "wrong_shape": [[k, list(a), list(b)] for k, a, b in report.wrong_shape],
                    },
                },
                indent=1,
            )
        )
    else:
        t = Table(title=f"{model.name} + {weights.name}", show_header=False)
        for k, v in arch.items():
            t.add_row(k.replace("_", " "), str(v))
        t.add_row("parameters", f"{_count(policy):,}")
        for k, v in parts.items():
            t.add_row(f"  {k}", f"{v:,}")
        t.add_row("weights file", f"{len(state_dict)} tensors ({', '.join(file_dtypes)})")
        t.add_row("check", "[green]all keys and shapes match[/green]" if report.ok else "[red]MISMATCH[/red]")
        console.print(t)
        if not report.ok:
            console.print(report.describe())
    if not report.ok:
        raise typer.Exit(1)
