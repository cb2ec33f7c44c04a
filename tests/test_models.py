"""The priors kept in ``models/`` load safely and act (models/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vpt.agent import Agent

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("name", sorted(p.stem for p in MODELS.glob("*.model")))
def test_kept_prior_loads_and_acts(name):
    agent = Agent.load(MODELS / f"{name}.model", MODELS / f"{name}.weights", seed=0)
    agent.reset(1)
    action = agent.get_action({"pov": np.zeros((128, 128, 3), np.uint8)})
    assert action["camera"].shape == (1, 2) and set(action) >= {"forward", "attack", "inventory"}
