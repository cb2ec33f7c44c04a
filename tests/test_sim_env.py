"""The embedded simulator's Gymnasium interface: MineRL 1.0's spaces, checks, determinism,
errors, info, vector envs."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import vpt.env  # noqa: F401  (registers the ids)
from vpt.actions import ENV_KEYS, InvalidActionError
from vpt.env.sim.env import SimEnv

SMALL = {"size": (24, 24), "height": 24, "tree_density": 0.05}


def test_registered_with_minerl_spaces():
    env = gymnasium.make("vpt/HumanSurvival-v0", resolution=(64, 48), world=SMALL)
    assert list(env.action_space.spaces) == list(ENV_KEYS)
    assert env.action_space["camera"].shape == (2,) and env.action_space["camera"].low[0] == -180
    assert env.observation_space["pov"].shape == (48, 64, 3)
    obs, info = env.reset(seed=3)
    assert obs["pov"].dtype == np.uint8 and obs["pov"].shape == (48, 64, 3)
    assert env.render().shape == (48, 64, 3)
    env.close()


def test_default_resolution_is_minerl_640x360():
    env = SimEnv(world=SMALL)
    obs, _ = env.reset(seed=0)
    assert obs["pov"].shape == (360, 640, 3)


def test_passes_gymnasium_env_checker():
    check_env(gymnasium.make("vpt/HumanSurvival-v0", resolution=(32, 32), world=SMALL).unwrapped,
              skip_render_check=False)


def rollout(seed: int, n: int = 40) -> list[np.ndarray]:
    env = SimEnv(resolution=(32, 32), world=SMALL)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    frames = [obs["pov"]]
    for _ in range(n):
        a = env.action_space.sample()
        a["camera"] = (a["camera"] / 20).astype(np.float32)  # keep the view moving, not clamped
        obs, *_ = env.step(a)
        frames.append(obs["pov"])
    return frames


def test_same_seed_and_actions_give_identical_frames():
    a, b = rollout(7), rollout(7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = rollout(8)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_frames_are_copies():
    env = SimEnv(resolution=(32, 32), world=SMALL)
    obs0, _ = env.reset(seed=0)
    keep = obs0["pov"].copy()
    env.step({"camera": np.array([0.0, 30.0], np.float32)})
    assert np.array_equal(obs0["pov"], keep)


def test_camera_motion_changes_the_view_everywhere():
    """Procedural textures: a small turn moves texture detail across the frame (optical flow)."""
    env = SimEnv(resolution=(64, 64), world=SMALL)
    env.reset(seed=1)
    a, *_ = env.step({"camera": np.array([30.0, 0.0], np.float32)})  # look at the ground
    b, *_ = env.step({"camera": np.array([0.0, 2.0], np.float32)})
    diff = np.abs(a["pov"].astype(int) - b["pov"].astype(int)).sum(-1)
    assert (diff[:40] > 0).mean() > 0.3


def test_attack_swings_the_first_person_hand_for_six_ticks():
    """An attack press at the sky changes nothing but the hand, which swings up-left and is back
    at rest after Minecraft's 6-tick swing."""
    still, swung = SimEnv(resolution=(64, 64), world=SMALL), SimEnv(resolution=(64, 64), world=SMALL)
    up = {"camera": np.array([-90.0, 0.0], np.float32)}  # look straight up: nothing in reach
    frames = []
    for env in (still, swung):
        env.reset(seed=3)
        frames.append([env.step(up)[0]["pov"]])
    frames[0] += [still.step({})[0]["pov"] for _ in range(7)]
    frames[1] += [swung.step({"attack": 1})[0]["pov"]] + [swung.step({})[0]["pov"] for _ in range(6)]
    rest, moved = frames[0][1], frames[1][1]
    diff = np.abs(rest.astype(int) - moved.astype(int)).sum(-1) > 0
    rows, cols = np.nonzero(diff)
    assert diff.any() and rows.min() >= 20 and cols.min() >= 16  # only the lower right changed
    assert not np.array_equal(frames[1][5], frames[0][5])  # still swinging at tick 5
    assert np.array_equal(frames[1][7], frames[0][7])  # back at rest


def test_missing_keys_mean_not_pressed():
    env = SimEnv(resolution=(16, 16), world=SMALL)
    env.reset(seed=0)
    _, _, _, _, i1 = env.step({})
    _, _, _, _, i2 = env.step({"forward": 0, "camera": [0.0, 0.0]})
    assert i1["yaw"] == i2["yaw"] == 0.0


@pytest.mark.parametrize("action, match", [
    ({"forwards": 1}, "unknown action key"),
    ({"camera": np.zeros(3)}, "camera"),
    ({"attack": np.array([1, 0])}, "attack"),
    ({"jump": 2}, "jump"),
    ({"camera": [np.nan, 0.0]}, "finite"),
])
def test_bad_actions_raise_clear_errors(action, match):
    env = SimEnv(resolution=(16, 16), world=SMALL)
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=match):
        env.step(action)


def test_accepts_the_agents_batched_single_actions():
    """vpt's Agent emits (1,)-shaped buttons and a (1, 2) camera."""
    env = SimEnv(resolution=(16, 16), world=SMALL)
    env.reset(seed=0)
    _, _, _, _, info = env.step({"forward": np.array([1]), "camera": np.array([[0.0, 15.0]])})
    assert info["yaw"] == 15.0


def test_bad_options_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown world options"):
        SimEnv(world={"sizes": (8, 8)})
    with pytest.raises(KeyError, match="unknown item"):
        SimEnv(world={"start_inventory": {"golden_apple": 1}})
    with pytest.raises(ValueError, match="frameskip"):
        SimEnv(frameskip=2)
    with pytest.raises(RuntimeError, match="reset"):
        SimEnv(world=SMALL).step({})


def test_info_fields():
    env = SimEnv(resolution=(16, 16), world={**SMALL, "start_inventory": {"stick": 3}})
    _, info = env.reset(seed=0)
    assert info["inventory"]["stick"] == 3 and info["inventory"]["diamond"] == 0
    assert info["items_obtained"] == [] and info["obtained"]["stick"] == 0  # the start is not obtained
    for key in ("position", "yaw", "pitch", "health", "food", "gui", "gui_open", "cursor", "tick", "selected",
                "equipped"):
        assert key in info
    _, _, _, _, info = env.step({})
    assert info["tick"] == 1 and info["new_items"] == [] and info["health"] == 20 and info["food"] == 20


def test_fov_and_resolution_are_honoured():
    wide = SimEnv(resolution=(48, 32), world=SMALL, fov_range=(100.0, 100.0))
    narrow = SimEnv(resolution=(48, 32), world=SMALL)
    a, _ = wide.reset(seed=2)
    b, _ = narrow.reset(seed=2)
    assert a["pov"].shape == (32, 48, 3) and not np.array_equal(a["pov"], b["pov"])


def test_small_square_frames_are_recordings_as_the_loader_sees_them():
    """A policy trained on 640x360 recordings plays at 128x128: the frames it gets must show the
    same picture. Recordings are made without a cursor and the loader draws it (as for OpenAI's
    contractor data); the live env draws the same sprite itself, like MineRL. Before this was
    so, square frames had a 70-degree-wide view and a square hand (mean pixel difference 23),
    screens showed another cursor, and the HUD and screens were averaged down (cv2.INTER_AREA)
    where the resize samples them (INTER_LINEAR): slots and grid lines looked washed out."""
    from vpt.data import draw_cursor, resize_to_agent

    world = {"size": (48, 48), "height": 40, "tree_density": 0.05, "caves": 0.5}
    steps = ({"attack": 1}, {}, {"inventory": 1}, {"camera": np.array([-20.0, -30.0])})
    frames = {}
    for res, cursor in (((640, 360), 0), ((640, 360), 16), ((128, 128), 16)):
        env = SimEnv(resolution=res, world=world, cursor_size=cursor)
        env.reset(seed=3)
        got = []
        for a in steps:
            obs, _, _, _, info = env.step({"camera": np.zeros(2), **a})
            got.append((obs["pov"].copy(), info))
        frames[res, cursor] = got
    recorded = []
    for pov, info in frames[(640, 360), 0]:
        if info["gui_open"]:
            draw_cursor(pov, *info["cursor"])  # what the loader does with a recording
        recorded.append(pov)
    live = [pov for pov, _ in frames[(640, 360), 16]]
    assert np.array_equal(recorded[3], live[3])  # at 640x360: the very same cursor, to the pixel
    for k in (1, 3):  # a world frame, a screen with the cursor on the panel
        small = frames[(128, 128), 16][k][0].astype(np.int16)
        diff = np.abs(resize_to_agent(recorded[k]).astype(np.int16) - small)
        assert diff.mean() < 2.5, (k, diff.mean())
        # The HUD and the screens are drawn as the resize shows them, not averaged: with
        # cv2.INTER_AREA they differed by 16 (of 255) on the panel and 6 on the hotbar.
        hotbar, panel = diff[120:128, 46:82].mean(), diff[36:92, 48:80].mean()
        assert hotbar < 1.5, (k, hotbar)
        if k == 3:
            assert panel < 0.5, panel
    with pytest.raises(ValueError, match="cursor_size"):
        SimEnv(cursor_size=-1)


@pytest.mark.parametrize("vector_cls", [gymnasium.vector.SyncVectorEnv, gymnasium.vector.AsyncVectorEnv])
def test_vector_envs(vector_cls):
    fns = [lambda: gymnasium.make("vpt/HumanSurvival-v0", resolution=(16, 16), world=SMALL) for _ in range(2)]
    envs = vector_cls(fns)
    try:
        obs, infos = envs.reset(seed=[0, 1])
        assert obs["pov"].shape == (2, 16, 16, 3)
        envs.action_space.seed(0)
        for _ in range(3):
            obs, rew, term, trunc, infos = envs.step(envs.action_space.sample())
        assert obs["pov"].shape == (2, 16, 16, 3) and rew.shape == (2,)
        assert list(infos["tick"]) == [3, 3]
    finally:
        envs.close()
