"""The training commands end to end through the CLI: idm train → idm label → bc train."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vpt.cli import app
from vpt.data.labels import read_camera_confusion
from vpt.data.synthetic import write_synthetic_recording


def test_idm_train_label_then_bc_train(tmp_path):
    for i in range(2):
        write_synthetic_recording(tmp_path / "recs" / f"r{i}", 40, seed=i, width=128, height=72)
    run = CliRunner()
    r = run.invoke(app, ["idm", "train", "--data", str(tmp_path / "recs"), "--out", str(tmp_path / "idm"), "--preset", "tiny",
                         "--steps", "2", "--batch-size", "2", "--window", "16", "--eval-every", "2", "--val-recordings", "1",
                         "--precision", "fp32", "--color-jitter", "0.2", "--shift", "3"])  # fmt: skip
    assert r.exit_code == 0, r.output
    config = json.loads((tmp_path / "idm/config.json").read_text())
    assert config["color_jitter"] == 0.2 and config["shift"] == 3
    bad = run.invoke(app, ["idm", "train", "--data", str(tmp_path / "recs"), "--out", str(tmp_path / "idm2"),
                           "--color-jitter", "1.5"])  # fmt: skip
    assert bad.exit_code == 2 and "--color-jitter 1.5: a strength in [0, 1)" in bad.output, bad.output
    bad = run.invoke(app, ["idm", "train", "--data", str(tmp_path / "recs"), "--out", str(tmp_path / "idm2"), "--shift", "-1"])
    assert bad.exit_code == 2 and "--shift -1: a number of pixels, 0 or more" in bad.output, bad.output
    # Scoring the held-out recording again gives the training run's own held-out metrics.
    r = run.invoke(app, ["idm", "eval", "--data", str(tmp_path / "recs"), "--model", str(tmp_path / "idm/idm.model"),
                         "--weights", str(tmp_path / "idm/idm.weights"), "--last", "1", "--window", "16",
                         "--out", str(tmp_path / "eval.json")])  # fmt: skip
    assert r.exit_code == 0, r.output
    scored, trained = json.loads((tmp_path / "eval.json").read_text()), json.loads((tmp_path / "idm/summary.json").read_text())
    assert scored["recordings"] == ["r1"] and all(e["button"] in r.output for e in scored["button_errors"])
    for key in ("keypress_accuracy", "camera_r2", "camera_r2_mean", "button_accuracy"):
        assert scored["metrics"][f"eval/{key}"] == trained[f"val/{key}"]
    # One held-out evaluation (the last step), so it is the best: idm.best.* are idm.* there.
    assert trained["best"] == {"step": 2, "val/target_mean": trained["val/target_mean"], "model": "idm.best.model"}
    assert (tmp_path / "idm/idm.best.weights").read_bytes() == (tmp_path / "idm/idm.weights").read_bytes()
    bad = run.invoke(app, ["idm", "eval", "--data", str(tmp_path / "recs"), "--model", str(tmp_path / "idm/idm.weights"),
                           "--weights", str(tmp_path / "idm/idm.weights")])  # fmt: skip
    assert bad.exit_code == 2 and "error:" in bad.output and "Traceback" not in bad.output
    (tmp_path / "empty").mkdir()
    bad = run.invoke(app, ["idm", "eval", "--data", str(tmp_path / "empty"), "--model", str(tmp_path / "idm/idm.model"),
                           "--weights", str(tmp_path / "idm/idm.weights")])  # fmt: skip
    assert bad.exit_code == 1 and "no recordings" in bad.output
    r = run.invoke(app, ["idm", "eval", "--data", str(tmp_path / "recs"), "--model", str(tmp_path / "idm/idm.model"),
                         "--weights", str(tmp_path / "idm/idm.weights"), "--last", "1", "--window", "16", "--mirror",
                         "--camera", "mean", "--out", str(tmp_path / "eval_mirror.json")])  # fmt: skip
    assert r.exit_code == 0, r.output
    mirrored = json.loads((tmp_path / "eval_mirror.json").read_text())
    assert mirrored["mirror"] is True and mirrored["camera"] == "mean" and mirrored["metrics"] != scored["metrics"]
    for command in ("eval", "label"):
        bad = run.invoke(app, ["idm", command, *(["--data"] if command == "eval" else []), str(tmp_path / "recs"),
                               "--model", str(tmp_path / "idm/idm.model"), "--weights", str(tmp_path / "idm/idm.weights"),
                               "--out", str(tmp_path / "x"), "--camera", "median"])  # fmt: skip
        assert bad.exit_code == 2 and "--camera must be one of mode, mean" in bad.output, bad.output
    r = run.invoke(app, ["idm", "label", str(tmp_path / "recs"), "--model", str(tmp_path / "idm/idm.model"),
                         "--weights", str(tmp_path / "idm/idm.weights"), "--out", str(tmp_path / "labels"), "--window", "16",
                         "--jsonl"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "labels").glob("*.labels.npz"))) == 2 and len(list((tmp_path / "labels").glob("*.jsonl"))) == 2
    r = run.invoke(app, ["bc", "train", "--data", str(tmp_path / "labels"), "--out", str(tmp_path / "bc"), "--preset", "tiny",
                         "--steps", "2", "--batch-size", "2", "--chunk", "8", "--warmup", "1", "--precision", "fp32",
                         "--val-data", str(tmp_path / "recs"), "--eval-every", "1"])  # fmt: skip
    assert r.exit_code == 0, r.output
    logged = [json.loads(line) for line in (tmp_path / "bc/metrics.jsonl").read_text().splitlines()]
    assert len(logged) == 2 and all("val/loss" in m and "val/gui/loss" in m for m in logged)
    # Scoring the held-out recordings again gives the training run's last held-out metrics.
    r = run.invoke(app, ["bc", "eval", "--model", str(tmp_path / "bc/policy.model"), "--data", str(tmp_path / "recs"),
                         "--chunk", "8", "--precision", "fp32", "--out", str(tmp_path / "bc_eval.json")])  # fmt: skip
    assert r.exit_code == 0, r.output
    scored = json.loads((tmp_path / "bc_eval.json").read_text())
    assert scored["episodes"] >= 2 and scored["gui/frames"] > 0
    for key in ("loss", "nll/camera", "gui/loss", "gui/p_camera_on"):
        assert abs(scored[key] - logged[-1]["val/" + key]) < 1e-4 * max(1.0, abs(scored[key])), key
    assert (tmp_path / "bc/policy.weights").exists()
    r = run.invoke(app, ["agent", "info", str(tmp_path / "bc/policy.model"), str(tmp_path / "bc/policy.weights")])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "bc/summary.json").read_text())
    assert summary["episodes"] == 2 and summary["steps"] == 2
    # The best held-out step is kept beside the last: policy.best.* scores that step's loss.
    best = min(logged, key=lambda m: m["val/loss"])
    assert summary["best"] == {"step": best["step"], "val/loss": best["val/loss"], "model": "policy.best.model"}
    r = run.invoke(app, ["bc", "eval", "--model", str(tmp_path / "bc/policy.best.model"), "--data", str(tmp_path / "recs"),
                         "--chunk", "8", "--precision", "fp32", "--out", str(tmp_path / "bc_best.json")])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert abs(json.loads((tmp_path / "bc_best.json").read_text())["loss"] - best["val/loss"]) < 1e-4 * max(1.0, best["val/loss"])


def test_bc_learns_through_the_idm_camera_noise(tmp_path):
    """vpt idm eval --confusion writes the IDM's camera confusion; vpt bc train --label-noise
    trains on label files with it, and refuses recordings and files that are not one; --soft-camera
    trains on the label files' posteriors instead."""
    for i in range(2):
        write_synthetic_recording(tmp_path / "recs" / f"r{i}", 40, seed=i, width=128, height=72)
    run = CliRunner()
    r = run.invoke(app, ["idm", "train", "--data", str(tmp_path / "recs"), "--out", str(tmp_path / "idm"), "--preset", "tiny",
                         "--steps", "1", "--batch-size", "2", "--window", "16", "--val-recordings", "1", "--precision", "fp32"])  # fmt: skip
    assert r.exit_code == 0, r.output
    idm = ["--model", str(tmp_path / "idm/idm.model"), "--weights", str(tmp_path / "idm/idm.weights"), "--window", "16"]
    r = run.invoke(app, ["idm", "eval", "--data", str(tmp_path / "recs"), *idm, "--confusion", str(tmp_path / "conf.npz")])
    assert r.exit_code == 0, r.output
    counts, meta = read_camera_confusion(tmp_path / "conf.npz")
    assert counts.sum() == 2 * 80 and meta["mirror"] is False and meta["recordings"] == 2  # 80 frames, both axes
    r = run.invoke(app, ["idm", "label", str(tmp_path / "recs"), *idm, "--out", str(tmp_path / "labels")])
    assert r.exit_code == 0, r.output
    bc = ["bc", "train", "--preset", "tiny", "--steps", "1", "--batch-size", "2", "--chunk", "8", "--precision", "fp32",
          "--label-noise", str(tmp_path / "conf.npz")]
    r = run.invoke(app, [*bc, "--data", str(tmp_path / "labels"), "--out", str(tmp_path / "bc")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "bc/config.json").read_text())["label_noise"] == str(tmp_path / "conf.npz")
    bad = run.invoke(app, [*bc, "--data", str(tmp_path / "recs"), "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "holds no .labels.npz files" in bad.output and "Traceback" not in bad.output
    bc[-1] = str(tmp_path / "idm/idm.model")
    bad = run.invoke(app, [*bc, "--data", str(tmp_path / "labels"), "--out", str(tmp_path / "bad2")])
    assert bad.exit_code == 2 and "not a camera confusion file" in bad.output, bad.output
    # --soft-camera: the IDM's posterior as the camera target, label files only, not with --label-noise
    soft = [*bc[:-2], "--soft-camera"]
    r = run.invoke(app, [*soft, "--data", str(tmp_path / "labels"), "--out", str(tmp_path / "soft")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "soft/config.json").read_text())["soft_camera"] is True
    bad = run.invoke(app, [*soft, "--data", str(tmp_path / "recs"), "--out", str(tmp_path / "bad3")])
    assert bad.exit_code == 2 and "holds no .labels.npz files" in bad.output, bad.output
    bad = run.invoke(app, [*soft, "--label-noise", str(tmp_path / "conf.npz"), "--data", str(tmp_path / "labels"),
                           "--out", str(tmp_path / "bad4")])  # fmt: skip
    assert bad.exit_code == 2 and "choose one" in bad.output, bad.output


def test_interleaved_medians_times_every_way_in_turn_after_the_warmup(monkeypatch):
    """Benchmarks' A/B timer: ways alternate within each round, warm-up rounds are not timed."""
    import vpt.cli.bench as bench

    clock = iter(range(1000))
    monkeypatch.setattr(bench.time, "perf_counter", lambda: float(next(clock)))
    calls: list[str] = []
    current = {"way": ""}
    ways = {"a": lambda: current.update(way="a"), "b": lambda: current.update(way="b")}

    def step() -> None:
        calls.append(current["way"])
        if current["way"] == "b":  # b's steps take two extra clock ticks
            next(clock), next(clock)

    medians = bench.interleaved_medians(step, ways, repeats=3, warmup=2)
    assert calls == ["a", "b"] * 5
    assert medians == {"a": 1.0, "b": 3.0}
