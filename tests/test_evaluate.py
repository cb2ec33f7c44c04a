"""Evaluation: episodes counted exactly, items and house scores collected, report written."""

from __future__ import annotations

import json

import numpy as np
import torch
from typer.testing import CliRunner

from vpt.actions import ENV_BUTTONS
from vpt.agent import Agent, save_policy
from vpt.agent.evaluate import evaluate, write_report
from vpt.agent.presets import build_policy
from vpt.cli import app
from vpt.nn.int8 import int8_unavailable_reason

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
    args = ["eval", "--model", str(tmp_path / "p.model"), "--weights", str(tmp_path / "p.weights"), "--episodes", "1",
            "--max-steps", "3", "--resolution", "64", "--world", json.dumps(SMALL), "--videos", "0"]
    r = CliRunner().invoke(app, [*args, "--temperature", "0.5", "--out", str(tmp_path / "cool")])
    assert r.exit_code == 0, r.output
    assert "(temperature 0.5)" in (tmp_path / "cool/report.md").read_text()
    bad = CliRunner().invoke(app, [*args, "--temperature", "-1", "--out", str(tmp_path / "bad")])
    assert bad.exit_code != 0 and "--temperature" in bad.output and not (tmp_path / "bad").exists()


def test_cli_eval_speed_settings_and_bad_files(tmp_path):
    save_policy(build_policy("tiny", seed=1), tmp_path / "p.model", tmp_path / "p.weights")
    args = ["eval", "--model", str(tmp_path / "p.model"), "--episodes", "1", "--max-steps", "3", "--resolution", "64",
            "--world", json.dumps(SMALL), "--videos", "0"]  # fmt: skip
    r = CliRunner().invoke(app, [*args, "--weights", str(tmp_path / "p.weights"), "--bf16", "--int8",
                                 "--out", str(tmp_path / "fast")])  # fmt: skip
    if int8_unavailable_reason(torch.device("cpu")) is None:
        assert r.exit_code == 0, r.output
        assert "(bf16, int8)" in (tmp_path / "fast/report.md").read_text()
    else:  # refused with the reason, nothing written
        assert r.exit_code == 2 and "int8" in r.output and not (tmp_path / "fast").exists()
    (tmp_path / "broken.weights").write_bytes(b"not a torch file")
    bad = CliRunner().invoke(app, [*args, "--weights", str(tmp_path / "broken.weights"), "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "broken.weights" in bad.output and not (tmp_path / "bad").exists()


class _ScriptedAgent:
    """Presses the inventory key at steps ``inventory_at`` of every episode and, from step
    ``yaw_from`` on, moves the camera (the cursor, on a screen) 10° right a step."""

    def __init__(self, inventory_at: tuple[int, ...], yaw_from: int | None = None) -> None:
        self.inventory_at, self.yaw_from = inventory_at, yaw_from

    def reset(self, n: int) -> None:
        self.t = np.zeros(n, dtype=int)

    def get_actions(self, obs, *, first, deterministic=False):
        self.t = np.where(first, 0, self.t + 1)
        n = len(self.t)
        a = {k: np.zeros(n, dtype=np.int64) for k in ENV_BUTTONS}
        a["inventory"] = np.isin(self.t, self.inventory_at).astype(np.int64)
        moving = self.t >= self.yaw_from if self.yaw_from is not None else np.zeros(n, dtype=bool)
        a["camera"] = np.stack([np.zeros(n), np.where(moving, 10.0, 0.0)], 1)
        return a


def test_evaluate_reports_how_the_policy_uses_the_inventory(tmp_path):
    report = evaluate(_ScriptedAgent(inventory_at=(2, 5)), "vpt/ObtainDiamondPickaxe-v0", episodes=3, num_envs=2, max_steps=8,
                      env_kwargs={"resolution": (32, 32), "world": SMALL})  # fmt: skip
    assert report.inventory_presses == [2, 2, 2] and report.first_inventory == [2, 2, 2]
    # the observations of steps 3, 4 and 5 show the inventory screen
    assert report.gui_fraction == [3 / 8] * 3
    assert report.first_log == [-1, -1, -1]  # no log in 8 steps: every first press came before one
    assert report.behaviour() == {"gui_fraction": 3 / 8, "inventory_presses_per_episode": 2.0,
                                  "first_inventory_step_median": 2.0, "inventory_before_first_log": 1.0,
                                  "cursor_off_screen": 0.0}  # fmt: skip
    text = write_report(report, tmp_path / "r").read_text()
    assert "a GUI open on 38% of steps" in text and "100% of episodes opened it before their first log" in text


def test_evaluate_reports_when_the_cursor_leaves_the_screen(tmp_path):
    """The inventory opened at step 1, then the cursor moved 10° (66.7 window pixels) right a step:
    the panel is 352 window pixels wide around the centre (x 464..816 at GUI scale 1), where the
    cursor starts, so the observations of steps 2-7 show the screen with the cursor at x = 640,
    707, 773 (on the panel), then 840, 907, 973 (off it)."""
    report = evaluate(_ScriptedAgent(inventory_at=(1,), yaw_from=2), "vpt/ObtainDiamondPickaxe-v0", episodes=2, num_envs=2, max_steps=8,
                      env_kwargs={"resolution": (32, 32), "world": SMALL})  # fmt: skip
    assert report.gui_fraction == [6 / 8] * 2 and report.cursor_off_screen == [0.5, 0.5]
    assert report.behaviour()["cursor_off_screen"] == 0.5
    assert "the cursor was off its panel on 50% of those steps" in write_report(report, tmp_path / "r").read_text()


def test_inventory_before_first_log_compares_per_episode():
    from vpt.agent.evaluate import EvalReport

    report = EvalReport("t", first_inventory=[2, 50, -1, 7], first_log=[10, 20, 5, -1])
    assert report.behaviour()["inventory_before_first_log"] == 0.5  # episodes 1 and 4
