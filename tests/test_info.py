"""``vpt info``: the machine's capabilities and the fastest measured settings for its kind."""

import json
from dataclasses import replace

import pytest
import torch
from typer.testing import CliRunner

from vpt.cli import app
from vpt.cli.info import Machine, advise, probe_machine
from vpt.nn.int8 import int8_unavailable_reason
from vpt.train import native_bf16

ZEN3 = Machine(cpu="AMD EPYC", cores=2, avx2=True, native_bf16=False, vnni=False, int8=True, gpus=(), cxx="/usr/bin/g++",
               libx264=True, thp="madvise", malloc_hugepages=True)  # fmt: skip
SAPPHIRE = replace(ZEN3, cpu="Intel Xeon", native_bf16=True, vnni=True)


def _flags(m: Machine) -> dict[str, str]:
    return {a.task.split(" (")[0]: a.flags for a in advise(m)}


@pytest.mark.parametrize(
    ("machine", "label", "act", "train"),
    [
        (ZEN3, "--winograd", "(defaults: Winograd convs on CPU)", "--precision auto"),
        (replace(ZEN3, cxx=None), "--winograd", "(defaults: Winograd convs on CPU)", "--precision auto"),
        (SAPPHIRE, "--int8 --bf16 --compile", "--bf16 --int8 --compile", "--precision auto"),
        (replace(SAPPHIRE, cxx=None), "--bf16", "--bf16", "--precision auto"),
        (replace(SAPPHIRE, vnni=False), "--bf16 --compile", "--bf16", "--precision auto"),
        (replace(ZEN3, avx2=False, int8=False), "(defaults)", "(defaults: Winograd convs on CPU)", "--precision auto"),
        (replace(ZEN3, gpus=("NVIDIA H100",)), "--bf16", "--bf16", "--precision auto"),
    ],
)
def test_advice_follows_the_machine(machine, label, act, train):
    assert _flags(machine) == {"IDM labelling": label, "Acting": act, "Training": train}


def test_advice_never_suggests_bf16_where_it_is_emulated_and_says_what_it_rests_on():
    for m in (ZEN3, replace(ZEN3, cxx=None)):
        assert all("--bf16" not in a.flags for a in advise(m))
    basis = {a.task.split(" (")[0]: a.basis for a in advise(ZEN3)}
    assert "2.08x" in basis["IDM labelling"] and "session 37" in basis["IDM labelling"]
    assert "fp32" in basis["Training"]
    assert "C++ compiler" in {a.task.split(" (")[0]: a.basis for a in advise(replace(SAPPHIRE, cxx=None))}["IDM labelling"]
    assert "not yet measured" in advise(replace(ZEN3, gpus=("GPU",)))[0].basis


def test_vpt_info_reports_this_machine():
    m = probe_machine()
    cpu = torch.device("cpu")
    assert m.native_bf16 == native_bf16(cpu) and m.int8 == (int8_unavailable_reason(cpu) is None)
    assert m.gpus == () or torch.cuda.is_available()
    r = CliRunner().invoke(app, ["info", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["machine"]["cores"] >= 1 and out["machine"]["int8"] == m.int8
    assert [a["task"] for a in out["advice"]] == [a.task for a in advise(m)]
    r = CliRunner().invoke(app, ["info"])
    assert r.exit_code == 0 and "fastest measured flags" in r.output and "CPU:" in r.output, r.output


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_that_emulates_it_is_warned_about(tmp_path, monkeypatch, native):
    """``--bf16`` still runs where bf16 is emulated, with a warning that points at ``vpt info``."""
    import vpt.train
    from test_int8 import _tiny_idm
    from vpt.data.synthetic import write_synthetic_recording
    from vpt.idm.files import save_idm

    monkeypatch.setattr(vpt.train, "native_bf16", lambda device: native)
    write_synthetic_recording(tmp_path / "videos" / "v", 16, seed=3, width=128, height=72)
    save_idm(_tiny_idm(), tmp_path / "idm.model", tmp_path / "idm.weights")
    r = CliRunner().invoke(app, ["idm", "label", str(tmp_path / "videos"), "--model", str(tmp_path / "idm.model"),
                                 "--weights", str(tmp_path / "idm.weights"), "--window", "8", "--bf16",
                                 "--out", str(tmp_path / "labels")])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert ("without native bf16" in r.output and "vpt info" in r.output) != native, r.output
    assert len(list((tmp_path / "labels").rglob("*.labels.npz"))) == 1
