"""Shared training infrastructure: run folders, atomic checkpoints, RNG, schedules."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from vpt.train import (RunDir, autocast, lr_schedule, native_bf16, resolve_precision, rng_state, seed_everything,
                       set_rng_state)


def test_checkpoint_roundtrip_with_rng_and_optimizer(tmp_path):
    seed_everything(1)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    run = RunDir(tmp_path / "run", tensorboard=False)
    run.save_checkpoint({"step": 7, "model": model.state_dict(), "optimizer": opt.state_dict(), "rng": rng_state()})
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    state = run.load_checkpoint()
    assert state["step"] == 7
    set_rng_state(state["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    opt2 = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=1e-3)
    opt2.load_state_dict(state["optimizer"])
    assert not list(run.path.glob(".*tmp"))


def test_metrics_log_and_truncate_on_resume(tmp_path):
    run = RunDir(tmp_path, tensorboard=True)
    for step in range(5):
        run.log(step, {"loss": 1.0 / (step + 1)})
    run.truncate_metrics(2)
    assert [m["step"] for m in run.metrics()] == [0, 1, 2]
    run.close()
    assert any((tmp_path / "tb").iterdir())


def test_best_and_improves_follow_the_kept_metrics(tmp_path):
    run = RunDir(tmp_path, tensorboard=False)
    assert run.best("val/loss") is None and run.improves("val/loss", 5.0)
    for step, loss in enumerate([3.0, 0.0, float("nan"), 2.0, 4.0, 1.0]):
        run.log(step, {"loss": 9.0} if step == 1 else {"val/loss": loss, "acc": -loss})
    assert run.best("val/loss") == (5, 1.0)  # NaN skipped; step 1 logged no val/loss
    assert run.best("acc", higher_is_better=True) == (5, -1.0)
    assert not run.improves("val/loss", 1.0) and run.improves("val/loss", 0.5) and not run.improves("val/loss", float("nan"))
    run.truncate_metrics(4)  # resumed from step 4: steps 5+ are redone, so they no longer count
    assert run.best("val/loss") == (3, 2.0)
    assert run.improves("val/loss", 1.5) and not run.improves("acc", -2.5, higher_is_better=True)


def test_lr_schedules():
    f = lr_schedule("cosine", warmup=10, total=110, final_fraction=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.55) and f(110) == pytest.approx(0.1)
    assert lr_schedule("linear", total=10)(5) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        lr_schedule("exp")


def test_autocast_modes():
    cpu = torch.device("cpu")
    with autocast(cpu, "bf16"):
        assert torch.nn.Linear(4, 4)(torch.randn(2, 4)).dtype == torch.bfloat16
    with autocast(cpu, "fp32"):
        assert torch.nn.Linear(4, 4)(torch.randn(2, 4)).dtype == torch.float32
    with pytest.raises(ValueError, match="GPU"):
        autocast(cpu, "fp16")
    with pytest.raises(ValueError, match="auto, fp32"):
        autocast(cpu, "fp8")
    # auto: bf16 exactly where the CPU has native bf16 (AMX / AVX-512 BF16), else fp32
    expected = torch.bfloat16 if native_bf16(cpu) else torch.float32
    with autocast(cpu, "auto"):
        assert torch.nn.Linear(4, 4)(torch.randn(2, 4)).dtype == expected
    assert resolve_precision("auto", cpu) == ("bf16" if native_bf16(cpu) else "fp32")
    assert resolve_precision("fp32", cpu) == "fp32"
