"""``vpt play`` and :mod:`vpt.env.play`: episodes written as mp4 (+ contractor jsonl)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vpt.cli import app
from vpt.data.video import probe_video, read_video
from vpt.actions import noop_env_action
from vpt.data.recording import video_frames
from vpt.env.play import play_episodes, random_policy, with_loader_cursor
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


def _inventory_script(step: int) -> dict:
    """Open the inventory, move the cursor about, close it again."""
    a = noop_env_action()
    if step in (2, 12):
        a["inventory"] = 1
    elif 3 <= step < 12:
        a["camera"] = np.array([3.0 * (-1) ** step, 4.5], dtype=np.float32)
    return a


def test_play_jsonl_records_what_the_policy_saw(tmp_path):
    """``jsonl=True`` writes contractor recordings: the loader shows the frames the policy saw
    (its cursor drawn from the jsonl, none baked into the video, the same sprite where the
    simulator draws its own) and the lines say when a screen was open."""
    seen: list[np.ndarray] = []

    def policy(obs, info):
        seen.append(np.array(obs["pov"]))
        return _inventory_script(len(seen) - 1)

    env = SimEnv(resolution=(640, 360), world=SMALL, cursor_size=0)
    (r,) = play_episodes(env, with_loader_cursor(policy), 1, tmp_path, max_steps=16, seed=0, jsonl=True)
    loaded = video_frames(r.path, resolution=(640, 360))
    assert len(loaded) == len(seen) == 16
    diff = [np.abs(a.astype(int) - b).mean() for a, b in zip(loaded, seen)]
    assert max(diff) < 3.0, diff  # H.264 at crf 18
    lines = [json.loads(x) for x in r.path.with_suffix(".jsonl").read_text().splitlines()]
    assert [line["isGuiOpen"] for line in lines] == [3 <= i <= 12 for i in range(16)]
    raw = list(read_video(r.path))
    for i in range(3, 13):  # around the cursor: drawn by the loader where the policy saw it, absent from the video
        x, y = int(lines[i]["mouse"]["x"] / 2), int(lines[i]["mouse"]["y"] / 2)
        box = np.s_[y : y + 12, x : x + 8]
        assert np.abs(loaded[i][box].astype(int) - seen[i][box]).mean() < 4, i
        assert np.abs(raw[i][box].astype(int) - seen[i][box]).mean() > 20, i
    # the policy saw what the simulator shows with its own cursor
    own = SimEnv(resolution=(640, 360), world=SMALL, cursor_size=16)
    obs, _ = own.reset(seed=0)
    for i in range(16):
        assert np.array_equal(obs["pov"], seen[i]), i
        obs, *_ = own.step(_inventory_script(i))


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


@pytest.mark.skipif(not (FIXTURES / "policy_small.model").exists(), reason="needs the shared policy fixture")
def test_cli_play_bf16_and_a_bad_weights_file(tmp_path):
    args = ["play", "--max-steps", "3", "--resolution", "64x64", "--world-size", "16",
            "--model", str(FIXTURES / "policy_small.model")]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--weights", str(FIXTURES / "policy_small.weights"), "--bf16",
                                      "--out", str(tmp_path / "bf16")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sum(1 for _ in read_video(tmp_path / "bf16/episode_000.mp4")) == 3
    (tmp_path / "broken.weights").write_bytes(b"\x00" * 64)
    bad = CliRunner().invoke(app, [*args, "--weights", str(tmp_path / "broken.weights"), "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "broken.weights" in bad.output and not (tmp_path / "bad").exists()
