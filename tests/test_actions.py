"""vpt.actions against the reference tables and conversion fixtures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpt import actions as A

FIXTURES = Path(os.environ.get("VPT_FIXTURES", Path(__file__).resolve().parents[2] / "shared/reference/fixtures"))


def test_button_names_and_groups_match_reference():
    groups = json.loads((FIXTURES / "button_combinations.json").read_text())["groups"]
    assert [(k, tuple(v)) for k, v in groups.items()] == list(A.BUTTON_GROUPS)
    assert len(A.BUTTONS) == 20 and A.BUTTONS[0] == "attack" and A.BUTTONS[10] == "inventory"
    assert len(A.ENV_KEYS) == 24 and list(A.ENV_KEYS) == sorted(A.ENV_KEYS)
    assert A.INVENTORY_INDEX == 8640 and A.N_BUTTON_INDICES == 8641
    assert A.NULL_CAMERA_INDEX == 60 and A.N_CAMERA_INDICES == 121


def test_tables_equal_reference():
    t = np.load(FIXTURES / "action_tables.npz")
    np.testing.assert_array_equal(A.BUTTON_INDEX_TO_FACTORED, t["button_index_to_factored"])
    np.testing.assert_array_equal(A.BUTTON_INDEX_CAMERA_META_OFF, t["button_index_camera_meta_off"])
    np.testing.assert_array_equal(A.CAMERA_INDEX_TO_BINS, t["camera_index_to_bins"])
    np.testing.assert_allclose(A.bins_to_camera(np.arange(11)), t["bin_to_degrees"], rtol=0, atol=1e-12)


def test_camera_quantization_fixture_including_ties():
    q = np.load(FIXTURES / "camera_quantization.npz")
    np.testing.assert_array_equal(A.camera_to_bins(q["degrees"]), q["bins"])
    # Documented integer cases (vpt.md 2.2) and round-half-to-even ties.
    assert A.camera_to_bins([1, 2, 3, 4, 5, 7, 8, 100]).tolist() == [6, 7, 8, 8, 9, 9, 10, 10]
    tie = 11 ** (3 / 10) - 1  # encodes to exactly 6.5*... -> half-even
    assert A.camera_to_bins(tie) in (6, 7)


def test_worked_examples():
    # forward = 288, forward + camera = 289, hotbar.4 + forward = 3744
    f = np.zeros((3, 20), np.uint8)
    f[:, A.BUTTONS.index("forward")] = 1
    f[2, A.BUTTONS.index("hotbar.4")] = 1
    bins = np.array([[5, 5], [5, 6], [5, 5]])
    b, c = A.factored_to_joint(f, bins)
    assert b.tolist() == [288, 289, 3744] and c.tolist() == [60, 61, 60]


def test_inventory_asymmetry():
    f = np.zeros((1, 20), np.uint8)
    f[0, A.BUTTONS.index("inventory")] = 1
    f[0, A.BUTTONS.index("attack")] = 1
    b, c = A.factored_to_joint(f, [[0, 10]])
    assert (b[0], c[0]) == (8640, 60)
    # Other direction: the camera sample is kept (reference quirk).
    fac, bins = A.joint_to_factored([8640], [10])
    assert fac[0].tolist() == [int(k == "inventory") for k in A.BUTTONS]
    assert bins.tolist() == [[0, 10]]
    # A camera-off buttons index replaces the bins by 5, 5.
    _, bins = A.joint_to_factored([288], [10])
    assert bins.tolist() == [[5, 5]]


def test_group_resolution_rules():
    def joint(*names, cam=(5, 5)):
        f = np.zeros((1, 20), np.uint8)
        for n in names:
            f[0, A.BUTTONS.index(n)] = 1
        return int(A.factored_to_joint(f, [cam])[0][0])

    assert joint("forward", "back") == 0
    assert joint("left", "right") == 0
    assert joint("sprint", "sneak") == joint("sneak")
    assert joint("hotbar.2", "hotbar.5") == joint("hotbar.5")


def test_roundtrip_every_joint_index_vectorised():
    # With a non-null camera every joint index survives env and back; the camera survives
    # unless the buttons index has the camera meta option off (then it is null, 60).
    b = np.arange(A.N_BUTTON_INDICES)
    c = np.full_like(b, 17)
    env = A.policy_to_env({"buttons": b, "camera": c})
    back = A.env_to_policy(env)
    np.testing.assert_array_equal(back["buttons"], b)
    expected_c = np.where(A.BUTTON_INDEX_CAMERA_META_OFF[b], 60, c)
    expected_c = np.where(b == 8640, 60, expected_c)  # inventory forces the camera to 60
    np.testing.assert_array_equal(back["camera"], expected_c)


def test_env_to_policy_single_and_batched_and_missing_keys():
    single = {"forward": 1, "camera": np.array([0.0, 3.0])}
    assert {k: v.tolist() for k, v in A.env_to_policy(single).items()} == {"buttons": [289], "camera": [63]}
    batched = {"forward": np.array([1, 0]), "attack": np.array([0, 1]), "camera": np.zeros((2, 2))}
    out = A.env_to_policy(batched)
    assert out["buttons"].shape == (2,) and out["camera"].tolist() == [60, 60]
    with pytest.raises(A.InvalidActionError, match="unknown action key"):
        A.env_to_policy({"forwrd": 1})


def test_policy_to_env_layout_matches_agent_fixture():
    loop = json.loads((FIXTURES / "agent_loop.json").read_text())
    for step in loop["steps"]:
        env = A.policy_to_env({"buttons": [step["buttons_index"]], "camera": [step["camera_index"]]})
        assert list(env) == list(step["env_action"])
        for k, v in step["env_action"].items():
            np.testing.assert_allclose(env[k], v, atol=1e-6)


def test_validate_env_action():
    full = A.validate_env_action({"jump": 1, "camera": [1.5, -2]})
    assert list(full) == list(A.ENV_KEYS) and full["jump"] == 1 and full["attack"] == 0
    assert full["camera"].dtype == np.float32
    assert A.env_action_space().contains(full)
    with pytest.raises(A.InvalidActionError, match="camera"):
        A.validate_env_action({"camera": [1, 2, 3]})
    with pytest.raises(A.InvalidActionError, match="'jump'"):
        A.validate_env_action({"jump": 2})
    with pytest.raises(A.InvalidActionError, match="unknown"):
        A.validate_env_action({"crouch": 1})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-360, 360, allow_nan=False), min_size=1, max_size=50))
def test_camera_bins_monotonic_and_inverse(values):
    v = np.sort(np.asarray(values))
    bins = A.camera_to_bins(v)
    assert np.all(np.diff(bins) >= 0) and bins.min() >= 0 and bins.max() <= 10
    np.testing.assert_array_equal(A.camera_to_bins(A.bins_to_camera(bins)), bins)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-30, 30, allow_nan=False), min_size=2, max_size=40).filter(lambda v: len(v) % 2 == 0))
def test_camera_two_hot_weights_average_to_the_clipped_degrees(values):
    """Two-hot targets: weights on at most two adjacent bins, summing to 1, whose mean bin
    centre is the clipped value; a bin centre (0° among them) gets its own bin alone."""
    deg = np.asarray(values).reshape(-1, 2)
    w = A.camera_two_hot(deg)
    assert w.shape == deg.shape + (A.N_CAMERA_BINS,) and w.dtype == np.float32 and (w >= 0).all()
    np.testing.assert_allclose(w.sum(-1), 1, atol=1e-6)
    centres = A.bins_to_camera(np.arange(A.N_CAMERA_BINS))
    np.testing.assert_allclose(w @ centres, np.clip(deg, -10, 10), atol=1e-5)
    nonzero = [np.flatnonzero(row) for row in w.reshape(-1, A.N_CAMERA_BINS)]
    assert all(len(i) <= 2 and (len(i) < 2 or i[1] == i[0] + 1) for i in nonzero)
    on_centres = A.camera_two_hot(np.stack([centres, centres[::-1]], axis=-1))
    np.testing.assert_array_equal(on_centres.argmax(-1), np.stack([np.arange(11), np.arange(11)[::-1]], axis=-1))
    np.testing.assert_allclose(on_centres.max(-1), 1, atol=1e-6)
