"""Agent: the reference agent loop (fixture), action layout, vector environments, sampling."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from vpt.actions import BUTTONS
from vpt.agent import Agent, load_policy, save_policy
from vpt.nn import CategoricalActionHead

FIXTURES = Path(os.environ.get("VPT_FIXTURES", Path(__file__).resolve().parents[2] / "shared/reference/fixtures"))
MODEL, WEIGHTS = FIXTURES / "policy_small.model", FIXTURES / "policy_small.weights"


def synthetic_pov(i: int) -> np.ndarray:
    """The fixtures README's synthetic 360x640 observation number ``i``."""
    y, x = np.mgrid[0:360, 0:640]
    return np.stack(
        [(x + 2 * y + 9 * i) % 256, (3 * x + y + 5 * i) % 256, ((x // 16) * 29 + (y // 16) * 53 + 31 * i) % 256], -1
    ).astype(np.uint8)


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(MODEL, WEIGHTS, seed=0)


def test_agent_loop_matches_fixture(agent):
    loop = json.loads((FIXTURES / "agent_loop.json").read_text())
    agent_input = np.load(FIXTURES / "agent_loop_inputs.npz")["agent_input"]
    assert loop["deterministic"] and loop["first_flag"] is False
    agent.reset()
    for step in loop["steps"]:
        pov = synthetic_pov(step["pov_index"])
        np.testing.assert_array_equal(agent.preprocess(pov)[0], agent_input[step["step"]])
        out = agent.act({"pov": pov}, deterministic=True)
        assert int(out.buttons[0]) == step["buttons_index"]
        assert int(out.camera[0]) == step["camera_index"]
        assert out.log_prob[0] == pytest.approx(step["log_prob"], abs=2e-4)
        assert out.vpred[0] == pytest.approx(step["vpred"], abs=5e-4)
        got = {k: v.tolist() for k, v in out.env_action.items()}
        assert list(got) == list(step["env_action"])
        assert got == step["env_action"]


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                    reason="torch.compile (inductor) needs a C++ compiler")
def test_compiled_agent_follows_the_fixture_loop():
    """``compile=True`` (the CNN through torch.compile, frozen weights) acts as the eager agent:
    the fixture's actions, log-probabilities within fused-kernel rounding."""
    loop = json.loads((FIXTURES / "agent_loop.json").read_text())
    agent = Agent.load(MODEL, WEIGHTS, seed=0, compile=True)
    for step in loop["steps"]:
        out = agent.act({"pov": synthetic_pov(step["pov_index"])}, deterministic=True)
        assert (int(out.buttons[0]), int(out.camera[0])) == (step["buttons_index"], step["camera_index"])
        assert out.log_prob[0] == pytest.approx(step["log_prob"], abs=1e-3)


def test_get_action_layout(agent):
    agent.reset()
    action = agent.get_action({"pov": synthetic_pov(0), "inventory": {}})
    assert list(action) == [*BUTTONS, "camera"]
    assert all(action[k].shape == (1,) and action[k].dtype == np.int64 for k in BUTTONS)
    assert action["camera"].shape == (1, 2) and action["camera"].dtype == np.float64


def test_reset_forgets_memory(agent):
    agent.reset()
    first = agent.act({"pov": synthetic_pov(0)}, deterministic=True)
    agent.act({"pov": synthetic_pov(1)}, deterministic=True)
    agent.reset()
    again = agent.act({"pov": synthetic_pov(0)}, deterministic=True)
    assert first.log_prob[0] == again.log_prob[0] and first.vpred[0] == again.vpred[0]


def test_vector_envs_rows_independent_and_first_resets(agent):
    """Batch of 3: row outputs equal single-env runs; first=True drops that row's memory."""
    single = Agent.load(MODEL, WEIGHTS)
    povs = [synthetic_pov(i) for i in range(4)]
    agent.reset(3)
    batched = [agent.act({"pov": np.stack([povs[t]] * 3)}, deterministic=True) for t in range(3)]
    single.reset()
    singles = [single.act({"pov": povs[t]}, deterministic=True) for t in range(3)]
    for b, s in zip(batched, singles):
        np.testing.assert_allclose(b.log_prob, np.full(3, s.log_prob[0]), atol=1e-4)
        np.testing.assert_array_equal(b.buttons, np.full(3, s.buttons[0]))
    out = agent.act({"pov": np.stack([povs[3]] * 3)}, first=[False, True, False], deterministic=True)
    single.reset()
    fresh = single.act({"pov": povs[3]}, deterministic=True)
    assert out.vpred[1] == pytest.approx(fresh.vpred[0], abs=1e-5)
    assert abs(out.vpred[0] - fresh.vpred[0]) > 1e-4 and out.vpred[0] == pytest.approx(out.vpred[2], abs=1e-5)
    env_action = agent.get_actions({"pov": np.stack(povs[:3])})
    assert env_action["camera"].shape == (3, 2) and env_action["attack"].shape == (3,)


def test_input_errors(agent):
    agent.reset(2)
    with pytest.raises(ValueError, match="call reset"):
        agent.act({"pov": synthetic_pov(0)})
    with pytest.raises(ValueError, match="get_action serves one environment"):
        agent.get_action({"pov": synthetic_pov(0)})
    agent.reset()
    with pytest.raises(ValueError, match="uint8"):
        agent.act({"pov": synthetic_pov(0).astype(np.float32)})
    with pytest.raises(KeyError, match="pov"):
        agent.act({})


def test_sampling_is_seeded_and_follows_the_distribution():
    a, b = Agent.load(MODEL, WEIGHTS, seed=7), Agent.load(MODEL, WEIGHTS, seed=7)
    pov = synthetic_pov(2)
    sa = [a.act({"pov": pov}).buttons[0] for _ in range(3)]
    sb = [b.act({"pov": pov}).buttons[0] for _ in range(3)]
    assert sa == sb
    # Gumbel-max draws follow the softmax: compare frequencies on a 4-way distribution.
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    logp = probs.log().expand(40000, 4).contiguous()
    gen = torch.Generator().manual_seed(0)
    draws = CategoricalActionHead.sample(logp, False, gen)
    freq = torch.bincount(draws, minlength=4).float() / 40000
    torch.testing.assert_close(freq, probs, atol=0.01, rtol=0)


def test_agent_from_policy_object_and_bf16():
    policy = load_policy(MODEL, WEIGHTS)
    fp32 = Agent(policy, seed=0)
    out32 = fp32.act({"pov": synthetic_pov(0)}, deterministic=True)
    bf16 = Agent(load_policy(MODEL, WEIGHTS), bf16=True, seed=0)
    out16 = bf16.act({"pov": synthetic_pov(0)}, deterministic=True)
    assert abs(out16.vpred[0] - out32.vpred[0]) < 0.1


def test_temperature_rescales_the_action_distribution(tmp_path):
    """Agent(temperature=T) divides the logits by T instead of the file's temperature T0: the
    log-probabilities are the log-softmax of the file's ones times T0 / T; the saved model
    records the new value."""
    pov = synthetic_pov(1)
    base = Agent.load(MODEL, WEIGHTS, seed=0)
    cool = Agent.load(MODEL, WEIGHTS, seed=0, temperature=0.5)
    assert cool.policy.cfg.temperature == 0.5
    with torch.inference_mode():
        x, f = torch.from_numpy(base.preprocess(pov))[:, None], torch.zeros(1, 1, dtype=torch.bool)
        lp1 = base.policy(x, f, base.policy.initial_state(1))[0]
        lp2 = cool.policy(x, f, cool.policy.initial_state(1))[0]
    for a, b in ((lp1.buttons_logprob, lp2.buttons_logprob), (lp1.camera_logprob, lp2.camera_logprob)):
        torch.testing.assert_close(b, torch.log_softmax(a * base.policy.cfg.temperature / 0.5, -1), atol=1e-4, rtol=1e-4)
        assert (b.exp() * b).sum() > (a.exp() * a).sum()  # less entropy
    save_policy(cool.policy, tmp_path / "c.model", tmp_path / "c.weights")
    assert load_policy(tmp_path / "c.model", tmp_path / "c.weights").cfg.temperature == 0.5
    with pytest.raises(ValueError, match="temperature"):
        Agent.load(MODEL, WEIGHTS, temperature=0.0)
