"""``vpt play`` and :mod:`vpt.env.play`: episodes written as mp4 (+ contractor jsonl)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vpt.cli import app
from vpt.data.video import probe_video, read_video
from vpt.env.play import play_episodes, random_policy
from vpt.env.sim.env import SimEnv

SMALL = {"size": (16, 16), "height": 24}
FIXTURES = Path(os.environ.get("VPT_FIXTURES", Path(__file__).resolve().parents[2] / "shared/reference/fixtures"))


def test_play_episodes_writes_mp4_and_jsonl(tmp_path):
    env = SimEnv(resolution=(32, 32), world=SMALL)
    results = play_episodes(env, random_policy(env.action_space, seed=0), 2, tmp_path, max_steps=12, seed=0,
                            jsonl=True)
    assert [r.steps for r in results] == [12, 12]
    for r in results:
        info = probe_video(r.path)
        assert (info.width, info.height) == (32, 32) and round(info.fps) == 20
        assert sum(1 for _ in read_video(r.path)) == 12
        lines = r.path.with_suffix(".jsonl").read_text().splitlines()
        assert len(lines) == 12
        line = json.loads(lines[0])
        assert {"mouse", "keyboard", "hotbar", "isGuiOpen", "yaw", "pitch", "xpos"} <= set(line)


def test_cli_play_random_agent(tmp_path):
    result = CliRunner().invoke(app, ["play", "--out", str(tmp_path), "--episodes", "1", "--max-steps", "5",
                                      "--resolution", "32x32", "--world-size", "16"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "episode_000.mp4").exists()
    bad = CliRunner().invoke(app, ["play", "--out", str(tmp_path), "--resolution", "33x32"])
    assert bad.exit_code != 0 and "even" in bad.output


@pytest.mark.skipif(not (FIXTURES / "policy_small.model").exists(), reason="needs the shared policy fixture")
def test_cli_play_with_a_vpt_policy(tmp_path):
    result = CliRunner().invoke(app, [
        "play", "--out", str(tmp_path), "--max-steps", "3", "--resolution", "64x64", "--world-size", "16",
        "--model", str(FIXTURES / "policy_small.model"), "--weights", str(FIXTURES / "policy_small.weights")])
    assert result.exit_code == 0, result.output
    assert sum(1 for _ in read_video(tmp_path / "episode_000.mp4")) == 3
