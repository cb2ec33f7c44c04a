"""Reinforcement learning: PPO with a KL penalty to a frozen prior on vector environments
(:mod:`vpt.rl.ppo`), and the stable-baselines3 baseline (:mod:`vpt.rl.sb3`)."""

from vpt.rl.ppo import PPOConfig, gae, train_ppo

__all__ = ["PPOConfig", "gae", "train_ppo"]
