"""The whole pipeline at its smallest scale: every stage runs, a rerun resumes instantly."""

from __future__ import annotations

import json
import time

from vpt.pipeline import STAGES, run_pipeline


def test_micro_pipeline_runs_end_to_end_and_resumes(tmp_path):
    out = tmp_path / "pipe"
    options = {"player_options": {"peek_prob": 0.0}}
    results = run_pipeline("micro", out, log=lambda m: None, overrides=options)
    assert [p.stem for p in sorted((out / "stages").glob("*.json"))] == sorted(name for name, _ in STAGES)
    report = (out / "report.md").read_text()
    assert "IDM (held-out)" in report and "| foundation | vpt/ObtainDiamondPickaxe-v0 |" in report
    for png in ("idm.png", "bc_loss.png", "items.png"):
        assert (out / "plots" / png).stat().st_size > 5000
    assert results["filter"]["filtered"] and results["label"]["web_videos"] == 2
    ev = results["eval"]["house_ft@vpt/BuildHouse-v0"]
    assert ev["episodes"] == 2 and 0 <= ev["mean_house_score"] <= 1
    # Every stage is cached: a rerun does no work and returns the same results.
    t = time.perf_counter()
    again = run_pipeline("micro", out, log=lambda m: None, overrides=options)
    assert time.perf_counter() - t < 5 and json.dumps(again, default=str) == json.dumps(results, default=str)

    for data in ("contractor", "web"):  # the tech-tree player got the scale's options
        assert json.loads((out / data / "manifest.json").read_text())["config"]["player_options"] == {"peek_prob": 0.0}
    assert json.loads((out / "house" / "manifest.json").read_text())["config"]["player_options"] == {}

    # A given IDM (e.g. OpenAI's) replaces training; it is scored on the same held-out recordings.
    from vpt.pipeline import SCALES, Context, stage_idm

    ctx = Context(out, SCALES["micro"], 0, {"idm": out / "idm" / "idm.model"}, {"contractor": results["contractor"]}, print)
    given = stage_idm(ctx)
    assert given["given"] and given["weights"].endswith("idm.weights")
    for k in ("val/keypress_accuracy", "val/camera_r2"):
        assert given[k] == results["idm"][k]


def test_pipeline_refuses_unknown_player_options_before_any_stage(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="first_log_tabel"):
        run_pipeline("micro", tmp_path / "pipe", log=lambda m: None, overrides={"player_options": {"first_log_tabel": True}})
    assert not (tmp_path / "pipe" / "contractor").exists()
