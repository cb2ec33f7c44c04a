"""PPO with a KL penalty to the prior: GAE, KL, exact memory replay, an end-to-end run."""

from __future__ import annotations

import json

import gymnasium
import numpy as np
import pytest
import torch

import vpt.env  # noqa: F401
from vpt.agent import load_policy, save_policy
from vpt.agent.presets import build_policy
from vpt.rl.ppo import PPOConfig, action_logprob, collect_rollout, gae, kl_to_prior, make_vector_env, replay, train_ppo

SMALL_WORLD = {"size": [24, 24], "height": 24, "tree_density": 0.08, "caves": 0.0}


class LogReward(gymnasium.Wrapper):
    """+1 per log obtained (a stand-in reward for tests)."""

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._logs = info["obtained"].get("log", 0)
        return obs, info

    def step(self, action):
        obs, r, term, trunc, info = self.env.step(action)
        logs = info["obtained"].get("log", 0)
        r, self._logs = float(logs - self._logs), logs
        return obs, r, term, trunc, info


def _make_log_task(**kw):
    return LogReward(gymnasium.make("vpt/HumanSurvival-v0", **kw))


if "test/LogReward-v0" not in gymnasium.registry:
    gymnasium.register("test/LogReward-v0", entry_point=_make_log_task, max_episode_steps=7)


def test_gae_matches_hand_computation():
    r = torch.tensor([[1.0, 0.0, 2.0]])
    v = torch.tensor([[0.5, 0.2, 0.1]])
    d = torch.tensor([[False, True, False]])
    nv = torch.tensor([0.3])
    g, lam = 0.9, 0.8
    # t=2: delta = 2 + 0.9*0.3 - 0.1 = 2.17 ; A2 = 2.17
    # t=1 (done): delta = 0 - 0.2 = -0.2 ; A1 = -0.2
    # t=0: delta = 1 + 0.9*0.2 - 0.5 = 0.68 ; A0 = 0.68 + 0.9*0.8*(-0.2) = 0.536
    adv, ret = gae(r, v, d, nv, g, lam)
    np.testing.assert_allclose(adv.numpy(), [[0.536, -0.2, 2.17]], atol=1e-6)
    np.testing.assert_allclose(ret.numpy(), (adv + v).numpy(), atol=1e-6)


def test_kl_is_zero_when_policy_equals_prior():
    policy = build_policy("tiny", seed=0)
    frames = torch.randint(0, 256, (2, 3, 128, 128, 3), dtype=torch.uint8)
    first = torch.zeros(2, 3, dtype=torch.bool)
    with torch.no_grad():
        out, _ = policy(frames, first, policy.initial_state(2))
        kl = kl_to_prior(out, out.buttons_logprob.clone(), out.camera_logprob.clone())
        other = build_policy("tiny", seed=1)
        out2, _ = other(frames, first, other.initial_state(2))
        kl2 = kl_to_prior(out, out2.buttons_logprob, out2.camera_logprob)
    assert torch.allclose(kl, torch.zeros_like(kl), atol=1e-6)
    assert (kl2 > 1e-3).all()


def test_memory_replay_reproduces_rollout_logprobs():
    cfg = PPOConfig(out="unused", task="test/LogReward-v0", num_envs=2, async_envs=False,
                    env_kwargs={"resolution": [128, 128], "world": SMALL_WORLD})  # fmt: skip
    envs = make_vector_env(cfg)
    policy = build_policy("tiny", seed=0).eval()
    obs, _ = envs.reset(seed=0)
    gen = torch.Generator().manual_seed(0)
    state = policy.initial_state(2)
    first = np.ones(2, bool)
    # Two rollouts, so the second starts with memory; episodes (7 steps) end inside them.
    _, obs, first, state = collect_rollout(policy, envs, obs["pov"], first, state, 5, gen)
    ro, *_ = collect_rollout(policy, envs, obs, first, state, 12, gen)
    envs.close()
    assert ro.first[:, 1:].any(), "an episode must start inside the rollout"
    with torch.no_grad():
        logps = [action_logprob(out, ro.buttons[:, sl], ro.camera[:, sl]) for sl, out in replay(policy, ro.frames, ro.first, ro.start_state, chunk=5)]
    np.testing.assert_allclose(torch.cat(logps, 1).numpy(), ro.logprob.numpy(), atol=1e-4)


def test_train_from_prior_end_to_end_and_resume(tmp_path):
    prior = build_policy("tiny", seed=0)
    save_policy(prior, tmp_path / "prior.model", tmp_path / "prior.weights")
    cfg = PPOConfig(out=str(tmp_path / "run"), task="test/LogReward-v0", num_envs=2, async_envs=False,
                    env_kwargs={"resolution": [128, 128], "world": SMALL_WORLD}, init_model=str(tmp_path / "prior.model"),
                    rollout_steps=8, iterations=2, epochs=1, minibatch_envs=1, chunk=4, value_warmup=1,
                    checkpoint_every=1, lr=1e-4)  # fmt: skip
    summary = train_ppo(cfg)
    assert summary["env_steps"] == 32 and summary["episodes"] >= 2
    metrics = [json.loads(l) for l in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert "loss/policy" not in metrics[0] and "kl_prior" in metrics[1]  # warm-up, then PPO + KL
    after = load_policy(tmp_path / "run/policy.model", tmp_path / "run/policy.weights")
    changed = [k for k, v in after.state_dict().items() if not torch.equal(v, prior.state_dict()[k])]
    assert any(k.startswith("pi_head") for k in changed)
    cfg.iterations = 3
    assert train_ppo(cfg)["env_steps"] == 48  # resumed from iteration 2


def test_sb3_wrapper_passes_check_env_and_trains(tmp_path):
    from stable_baselines3.common.env_checker import check_env

    from vpt.rl.plots import plot_runs
    from vpt.rl.sb3 import DiscreteMineRL, train_sb3

    env = DiscreteMineRL(gymnasium.make("vpt/HumanSurvival-v0", resolution=[64, 64], world=SMALL_WORLD))
    check_env(env)
    a = env.action_space.sample()
    a[0], a[8], a[9] = 1, 5, 10
    act = env.to_env_action(a)
    assert act["forward"] == 1 and act["camera"][0] == 0 and act["camera"][1] == pytest.approx(10)
    env.close()
    summary = train_sb3("test/LogReward-v0", tmp_path / "sb3", total_steps=64, num_envs=1, env_kwargs={"world": SMALL_WORLD},
                        ppo_kwargs={"n_steps": 32, "batch_size": 32, "n_epochs": 1})  # fmt: skip
    assert summary["env_steps"] >= 64 and summary["episodes"] >= 8  # 7-step episodes
    assert json.loads((tmp_path / "sb3" / "summary.json").read_text()) == summary
    assert (tmp_path / "sb3" / "model.zip").stat().st_size > 0 and not list((tmp_path / "sb3").glob(".*tmp*"))
    png = plot_runs({"sb3": tmp_path / "sb3"}, tmp_path / "curves.png", items=["log"])
    assert png.stat().st_size > 5000


def test_compare_table_judges_runs_at_equal_env_steps(tmp_path):
    from vpt.rl.plots import compare_table

    def write(name, eps):
        (tmp_path / name).mkdir()
        (tmp_path / name / "episodes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in eps))

    write("prior", [{"env_steps": 100, "return": 1.0, "items": ["oak_log"]}, {"env_steps": 200, "return": 3.0, "items": ["log", "oak_planks"]},
                    {"env_steps": 900, "return": 9.0, "items": ["log", "planks", "stick"]}])  # fmt: skip
    write("scratch", [{"env_steps": 150, "return": 0.0, "items": ["dirt"]}, {"env_steps": 300, "return": 0.5, "items": ["oak_log"]}])
    t = compare_table({"prior": tmp_path / "prior", "scratch": tmp_path / "scratch"}, items=("log", "planks", "stick"))
    assert "within 300 environment steps" in t  # the fewest steps any run reached
    assert "| prior | 2 | 2.000 | 3.000 | 100% | 50% | 0% |" in t  # the episode ending at 900 is left out
    assert "| scratch | 2 | 0.250 | 0.500 | 50% | 0% | 0% |" in t


def test_rolling_mean_of_the_curves_is_trailing():
    from vpt.rl.plots import _rolling

    assert _rolling(np.array([1.0, 0.0, 1.0, 1.0]), 2).tolist() == [1.0, 0.5, 0.5, 1.0]
    assert _rolling(np.array([3.0, 1.0]), 20).tolist() == [3.0, 2.0]  # a window longer than the run
    assert _rolling(np.array([]), 8).size == 0
