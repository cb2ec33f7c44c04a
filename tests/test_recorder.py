"""vpt.env.recorder: contractor recordings from any MineRL-interface env, round trip through the loader."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from vpt import actions
from vpt.cli import app
from vpt.data import load_recording
from vpt.data.jsonl import CAMERA_DEGREES_PER_PIXEL as K
from vpt.env.recorder import ContractorRecorder, camera_pixels
from vpt.env.sim import SimEnv

SMALL = {"size": (24, 24), "height": 24, "tree_density": 0.05}


def _random_actions(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n):
        a = {k: int(rng.random() < p) for k, p in
             (("forward", 0.3), ("jump", 0.1), ("attack", 0.2), ("use", 0.05), ("left", 0.1), ("sneak", 0.05),
              ("hotbar.3", 0.03), ("inventory", 0.04), ("sprint", 0.05))}
        if t == 0:
            a["attack"] = 0  # the loader treats attack held on the first line as stuck
        px = rng.integers(-25, 26, 2) * (rng.random() < 0.7)
        a["camera"] = np.array([px[1] * K, px[0] * K], np.float32)
        out.append(a)
    return out


def _batched(acts: list[dict]) -> dict:
    keys = set().union(*acts) - {"camera"}
    d = {k: np.array([a.get(k, 0) for a in acts]) for k in keys}
    d["camera"] = np.stack([a["camera"] for a in acts])
    return d


def test_round_trip_policy_actions_and_fields(tmp_path):
    env = ContractorRecorder(SimEnv(resolution=(128, 72), world=SMALL), tmp_path, resolution=(128, 72),
                             name_fn=lambda i: f"rt-{i}")
    sent = _random_actions(120, 0)
    obs, info = env.reset(seed=5)
    infos = [info]
    for a in sent:
        obs, _, term, trunc, info = env.step(a)
        infos.append(info)
        assert not term
    assert not (tmp_path / "rt-0.mp4").exists()  # written at episode end only
    env.close()
    mp4, jsonl = env.last_paths
    assert mp4.exists() and jsonl.exists()
    lines = [json.loads(s) for s in jsonl.read_text().splitlines()]
    assert len(lines) == len(sent)
    gui = [bool(i["gui_open"]) for i in infos[:-1]]
    assert any(gui), "the random actions should open the inventory screen at least once"
    for line, before, after in zip(lines, infos[:-1], infos[1:]):
        assert line["isGuiOpen"] == bool(before["gui_open"])
        assert line["hotbar"] == after["selected"]
        assert line["tick"] == before["tick"] and line["yaw"] == before["yaw"]
        if line["isGuiOpen"]:
            assert (line["mouse"]["x"], line["mouse"]["y"]) == tuple(float(c) for c in before["cursor"])
        assert float(line["mouse"]["dx"]).is_integer() and float(line["mouse"]["dy"]).is_integer()
    rec = load_recording(mp4, skip_null=False)
    want = actions.env_to_policy(_batched(sent))
    np.testing.assert_array_equal(rec.policy_actions["buttons"], want["buttons"])
    np.testing.assert_array_equal(rec.policy_actions["camera"], want["camera"])
    cams = np.stack([a["camera"] for a in rec.env_actions])
    np.testing.assert_array_equal(cams.astype(np.float32), np.stack([a["camera"] for a in sent]))
    np.testing.assert_array_equal(rec.gui_open, np.array(gui))
    res = CliRunner().invoke(app, ["data", "inspect", str(mp4), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["frames"] == summary["lines"] == len(sent) and summary["bad_lines"] == 0


def test_episode_end_writes_and_next_episode_gets_new_name(tmp_path):
    env = ContractorRecorder(SimEnv(resolution=(64, 36), world=SMALL), tmp_path, resolution=(64, 36))
    for ep in range(2):
        env.reset(seed=ep)
        for _ in range(5):
            env.step({"forward": 1})
    env.reset(seed=9)  # a reset ends the running episode
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == ["episode-000000.mp4", "episode-000001.mp4"]
    assert not list(tmp_path.glob(".*tmp*"))
    env.close()
    assert len(list(tmp_path.glob("*.mp4"))) == 2  # the third episode had no steps


def test_fractional_camera_round_trips_exactly():
    for deg in (-1e-3, 7.123, 179.91):  # not whole pixels: the float that converts back exactly
        d32 = float(np.float32(deg))
        assert camera_pixels(deg) * K == d32
    for px in (2, -7, 12, 1199):  # whole pixels stay whole
        deg = np.float32(px * K)
        assert camera_pixels(deg) == float(px) and float(np.float32(px * K)) == float(deg)


def test_bad_arguments_raise(tmp_path):
    with pytest.raises(ValueError, match="even"):
        ContractorRecorder(SimEnv(resolution=(64, 36), world=SMALL), tmp_path, resolution=(65, 36))
    env = ContractorRecorder(SimEnv(resolution=(64, 36), world=SMALL), tmp_path, resolution=(64, 36))
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})


class _Bare(SimEnv):
    """An env whose info has none of the simulator's extras (like MineRL's)."""

    def reset(self, **kw):
        obs, _ = super().reset(**kw)
        return obs, {}

    def step(self, action):
        obs, r, term, trunc, _ = super().step(action)
        return obs, r, term, trunc, {}


def test_env_without_info_extras_follows_hotbar_keys(tmp_path):
    env = ContractorRecorder(_Bare(resolution=(64, 36), world=SMALL), tmp_path, resolution=(64, 36))
    env.reset(seed=1)
    for a in ({"forward": 1}, {"hotbar.4": 1}, {"forward": 1}, {"hotbar.2": 1, "camera": [0.0, 3 * K]}):
        env.step(a)
    env.close()
    lines = [json.loads(s) for s in env.last_paths[1].read_text().splitlines()]
    assert [line["hotbar"] for line in lines] == [0, 3, 3, 1]
    assert "yaw" not in lines[0] and lines[0]["isGuiOpen"] is False
    rec = load_recording(env.last_paths[0], skip_null=False)
    assert rec.env_actions[1]["hotbar.4"] == 1 and rec.env_actions[3]["hotbar.2"] == 1


def test_scripted_crafting_recording_round_trips(tmp_path):
    from vpt.env.scripted import TechTreePlayer

    env = ContractorRecorder(SimEnv(resolution=(64, 36), world={**SMALL, "start_inventory": {"oak_log": 6}}),
                             tmp_path, resolution=(64, 36))
    obs, info = env.reset(seed=2)
    player = TechTreePlayer(env, np.random.default_rng(0), skill=1.0)
    player.reset(info)
    sent = []
    for _ in range(250):
        a = player.act(info)
        if a is None:
            break
        sent.append(a)
        obs, _, _, _, info = env.step(a)
    env.close()
    assert "oak_planks" in player.stats.milestones  # crafted through the inventory screen
    lines = [json.loads(s) for s in env.last_paths[1].read_text().splitlines()]
    gui = [line for line in lines if line["isGuiOpen"]]
    assert len(gui) > 10 and len({(line["mouse"]["x"], line["mouse"]["y"]) for line in gui}) > 5
    rec = load_recording(env.last_paths[0], skip_null=False)
    want = actions.env_to_policy(_batched(sent))
    np.testing.assert_array_equal(rec.policy_actions["buttons"], want["buttons"])
    np.testing.assert_array_equal(rec.policy_actions["camera"], want["camera"])
