"""Evaluation: episodes counted exactly, items and house scores collected, report written."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vpt.agent import Agent, save_policy
from vpt.agent.evaluate import evaluate, write_report
from vpt.agent.presets import build_policy
from vpt.cli import app

SMALL = {"size": [24, 24], "height": 24, "caves": 0.0}


def test_evaluate_counts_episodes_and_writes_a_report(tmp_path):
    agent = Agent(build_policy("tiny", seed=0), seed=0)
    report = evaluate(agent, "vpt/BuildHouse-v0", episodes=3, num_envs=2, max_steps=6,
                      env_kwargs={"resolution": (64, 64), "world": SMALL}, video_dir=tmp_path / "v", videos=1)  # fmt: skip
    assert len(report.returns) == 3 and report.lengths == [6, 6, 6]
    assert len(report.house_scores) == 3 and all(0 <= s <= 1 for s in report.house_scores)
    assert len(report.videos) == 1 and (tmp_path / "v/episode000.mp4").stat().st_size > 0
    md = write_report(report, tmp_path / "r")
    assert "mean house score" in md.read_text() and (tmp_path / "r/items.png").exists()


def test_cli_eval_on_the_item_sequence_task(tmp_path):
    save_policy(build_policy("tiny", seed=1), tmp_path / "p.model", tmp_path / "p.weights")
    r = CliRunner().invoke(app, ["eval", "--model", str(tmp_path / "p.model"), "--weights", str(tmp_path / "p.weights"),
                                 "--episodes", "2", "--max-steps", "5", "--resolution", "64", "--world", json.dumps(SMALL),
                                 "--videos", "0", "--out", str(tmp_path / "eval")])  # fmt: skip
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "eval/report.json").read_text())
    assert rep["episodes"] == 2 and "log" in rep["item_success"] and "diamond_pickaxe" in rep["item_success"]
