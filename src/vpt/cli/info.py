"""``vpt info``: what this machine offers the toolkit, and the fastest *measured* settings for it.

The speed options (``--bf16``, ``--int8``, ``--compile``, ``--winograd``) help or hurt by several
times depending on the CPU's instruction sets: bf16 is ~2x faster on CPUs with AMX or AVX-512
BF16 and 6-10x *slower* on AVX2-only ones. This command reads the machine once and says which
combination the README's performance table measured fastest on a machine of this kind, with the
measurement it rests on, so nobody has to work that out from the table.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from dataclasses import asdict, dataclass

import typer
from rich.console import Console
from rich.table import Table

console = Console()


@dataclass(frozen=True)
class Machine:
    """The capabilities that decide the speed options (see :func:`probe_machine`)."""

    cpu: str
    cores: int
    avx2: bool
    native_bf16: bool  # AMX or AVX-512 BF16: bf16 maths at full speed on the CPU
    vnni: bool  # AVX-512 VNNI, AVX-VNNI or AMX-INT8: int8 convs at 8-bit weights, ~4x float32
    int8: bool  # int8 convs can run at all (oneDNN on x86-64 with AVX2)
    gpus: tuple[str, ...]
    cxx: str | None  # the C++ compiler torch.compile's CPU code needs (None: --compile fails)
    libx264: bool  # PyAV can write H.264 (recordings, evaluation videos)
    thp: str | None  # the kernel's transparent-huge-page mode (always, madvise, never)
    malloc_hugepages: bool  # this process runs with glibc's huge-page tunable (vpt.launch)


@dataclass(frozen=True)
class Advice:
    """A recommendation: the flags to pass and the measurement behind them."""

    task: str
    flags: str
    basis: str


def probe_machine() -> Machine:
    """Read this machine's CPU flags, GPUs, C++ compiler and video encoder."""
    import av
    import torch

    from vpt.launch import hugepages_active, thp_mode
    from vpt.nn.int8 import cpu_flags, has_vnni, int8_unavailable_reason
    from vpt.train import native_bf16

    flags = cpu_flags()
    cpu = platform.processor() or platform.machine()
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    gpus = tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if torch.cuda.is_available() else ()
    from torch._inductor import config as inductor_config  # where torch.compile looks for its compiler

    cxx = inductor_config.cpp.cxx[-1] or os.environ.get("CXX") or "g++"
    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 1,
        avx2="avx2" in flags,
        native_bf16=native_bf16(torch.device("cpu")),
        vnni=has_vnni(),
        int8=int8_unavailable_reason(torch.device("cpu")) is None,
        gpus=gpus,
        cxx=shutil.which(cxx),
        libx264="libx264" in av.codecs_available,
        thp=thp_mode(),
        malloc_hugepages=hugepages_active(),
    )


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def advise(m: Machine) -> list[Advice]:
    """The fastest settings measured on a machine of ``m``'s kind (README, Performance), per task.

    Only measured combinations are recommended; where a machine of this kind was never measured
    the advice says so and names the benchmark to run.
    """
    out: list[Advice] = []
    compile_ok = m.cxx is not None
    no_cxx = " (no C++ compiler found, so no --compile: install g++ for the faster setting)"
    if m.gpus:
        out.append(Advice("IDM labelling (vpt idm label)", "--bf16",
                          "GPU: bf16 encoder; GPU labelling speed not yet measured (vpt bench idm --device cuda)"))  # fmt: skip
    elif m.native_bf16 and m.vnni and m.int8:
        out.append(Advice("IDM labelling (vpt idm label)", "--int8 --bf16 --compile" if compile_ok else "--bf16",
                          "3.09x the reference style on OpenAI's 4x IDM (AVX-512 BF16 + VNNI, session 29); --bf16 alone 1.87x"
                          + ("" if compile_ok else no_cxx)))  # fmt: skip
    elif m.native_bf16:
        out.append(Advice("IDM labelling (vpt idm label)", "--bf16 --compile" if compile_ok else "--bf16",
                          "bf16 encoder 1.87x, compiled 1.99x the reference style (AVX-512 BF16, session 29)"
                          + ("" if compile_ok else no_cxx)))  # fmt: skip
    elif m.int8:
        out.append(Advice("IDM labelling (vpt idm label)", "--winograd",
                          "Winograd convs 2.08x the reference style on OpenAI's 4x IDM (3.0 frames/s; float32 to 1e-5), "
                          "--int8 --compile 1.82x (AVX2-only AMD Zen 3, huge pages, session 37); never --bf16 here "
                          "(6-10x slower)"))  # fmt: skip
    else:
        out.append(Advice("IDM labelling (vpt idm label)", "(defaults)",
                          "no measurement on a CPU like this one: compare with vpt bench idm --preset 4x --winograd"))  # fmt: skip
    if m.gpus:
        acting = Advice("Acting (vpt eval / play, Agent)", "--bf16", "GPU: bf16 image encoder; not yet measured")
    elif m.native_bf16 and m.vnni and m.int8:
        acting = Advice("Acting (vpt eval / play, Agent)", "--bf16 --int8 --compile" if compile_ok else "--bf16",
                        "1x policy 1.30x, 2x 1.57x the reference style at batch 1 (AVX-512 VNNI, session 31)"
                        + ("" if compile_ok else no_cxx))  # fmt: skip
    elif m.native_bf16:
        acting = Advice("Acting (vpt eval / play, Agent)", "--bf16", "1x policy 1.61x the reference style (AMX, session 8)")
    else:
        acting = Advice("Acting (vpt eval / play, Agent)", "(defaults: Winograd convs on CPU)",
                        "within noise of direct convs on AVX2 (session 34); --int8 --compile no faster there (1x "
                        "policy 1.14x vs fp32's 1.10x the reference style, session 36); never --bf16 here")  # fmt: skip
    out.append(acting)
    train = "bf16" if (m.gpus or m.native_bf16) else "fp32"
    out.append(Advice("Training (vpt idm train, vpt bc train)", "--precision auto",
                      f"resolves to {train} here" + ("" if train == "bf16" else
                      ": no native bf16, so fp32 (the tiny IDM trains ~2-3x slower than on an AVX-512 BF16 CPU)")))  # fmt: skip
    return out


def info(as_json: bool = typer.Option(False, "--json", help="print machine-readable JSON")) -> None:
    """This machine's CPU, GPUs, compiler and codecs, and the fastest measured settings for it."""
    m = probe_machine()
    advice = advise(m)
    if as_json:
        print(json.dumps({"machine": asdict(m), "advice": [asdict(a) for a in advice]}, indent=2))
        return
    import torch

    yes = {True: "[green]yes[/green]", False: "[red]no[/red]"}
    console.print(f"vpt on Python {sys.version.split()[0]}, torch {torch.__version__}")
    console.print(f"CPU: {m.cpu}, {m.cores} cores; AVX2 {yes[m.avx2]}, native bf16 {yes[m.native_bf16]}, "
                  f"VNNI {yes[m.vnni]}, int8 convs {yes[m.int8]}" + (" (7-bit weights)" if m.int8 and not m.vnni else ""))  # fmt: skip
    console.print(f"GPUs: {', '.join(m.gpus) or 'none'}; C++ compiler for --compile: {m.cxx or '[red]none[/red]'}; "
                  f"H.264 (libx264) {yes[m.libx264]}")  # fmt: skip
    huge = m.malloc_hugepages or m.thp == "always"  # "always": the kernel gives them without the tunable
    console.print(f"Huge pages for large tensors (vpt.launch): {yes[huge]} (kernel mode: {m.thp or 'unknown'}"
                  + (", malloc tunable" if m.malloc_hugepages else "") + ")")  # fmt: skip
    table = Table("task", "fastest measured flags", "basis")
    for a in advice:
        table.add_row(a.task, a.flags, a.basis)
    console.print(table)
