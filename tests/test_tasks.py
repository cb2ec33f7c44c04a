"""Tasks: the item-sequence reward, the house score, registration and time limits."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import vpt.env  # noqa: F401
from vpt.env.tasks import ITEM_SEQUENCE, ItemSequenceReward, house_score

SMALL = {"size": [24, 24], "height": 24, "caves": 0.0}


class Scripted(gymnasium.Env):
    """Reports a scripted sequence of cumulative ``obtained`` counts."""

    observation_space = gymnasium.spaces.Box(0, 255, (2, 2, 3), np.uint8)
    action_space = gymnasium.spaces.Discrete(1)

    def __init__(self, seq):
        self.seq, self.t = seq, 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros((2, 2, 3), np.uint8), {"obtained": {}}

    def step(self, action):
        self.t += 1
        return np.zeros((2, 2, 3), np.uint8), 0.0, False, False, {"obtained": dict(self.seq[self.t - 1])}


def test_item_sequence_reward_pays_each_unit_once_up_to_its_cap():
    seq = [{"oak_log": 3}, {"oak_log": 10}, {"oak_log": 10, "oak_planks": 40}, {"oak_log": 10, "oak_planks": 40, "diamond_pickaxe": 1}]
    env = ItemSequenceReward(Scripted(seq), max_steps=4)
    env.reset()
    rewards, infos = [], []
    for _ in seq:
        _, r, _, trunc, info = env.step(0)
        rewards.append(r), infos.append(info)
    np.testing.assert_allclose(rewards, [3 / 8, 5 / 8, 20 / 20, 8.0])  # logs capped at 8, planks at 20
    assert infos[-1]["task_obtained"] == ["log", "planks", "diamond_pickaxe"]
    assert infos[-1]["task_items"]["log"] == 8 and trunc
    # The whole tree is worth what the paper's schedule says.
    assert sum(it.units * it.reward for it in ITEM_SEQUENCE) == pytest.approx(1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 2 + 2 + 4 + 4 + 4 + 8 + 8)


def test_registered_tasks_run_on_the_simulator():
    env = gymnasium.make("vpt/ObtainDiamondPickaxe-v0", resolution=(64, 64), world=SMALL, max_steps=3)
    _, info = env.reset(seed=1)
    assert info["task_items"]["log"] == 0
    for _ in range(3):
        _, r, term, trunc, info = env.step({"forward": 1})
        assert r == 0.0
    assert trunc and not term
    env.close()


def _grid(w=12, h=10):
    blocks = np.zeros((w, h, w), np.uint8)
    blocks[:, :2, :] = 1  # ground: solid id 1
    return blocks


SOLID = np.array([False, True, True, False], bool)  # 0 air, 1 dirt/planks, 2 planks, 3 door (not solid)
DOOR = {3}


def _house(roof=True, door=True, walls=3):
    b = _grid()
    before = b.copy()
    for y in range(2, 2 + walls):
        b[2:9, y, 2] = b[2:9, y, 8] = b[2, y, 2:9] = b[8, y, 2:9] = 2
    if door:
        b[5, 2, 2], b[5, 3, 2] = 3, 3
    if roof:
        b[2:9, 2 + walls, 2:9] = 2
    return b, before


def test_house_scores_higher_than_pillars_and_open_boxes():
    house = house_score(*_house(), SOLID, DOOR)
    assert house.enclosed_cells == 25 and house.door == 1 and house.roof == 1 and house.score == pytest.approx(1.0)
    open_box = house_score(*_house(roof=False, door=False), SOLID, DOOR)
    no_door = house_score(*_house(door=False), SOLID, DOOR)
    b = _grid()
    before = b.copy()
    b[5, 2:8, 5] = 2
    pillar = house_score(b, before, SOLID, DOOR)
    b2 = _grid()
    b2[1:10, 2, 5] = 2
    wall_line = house_score(b2, _grid(), SOLID, DOOR)
    assert pillar.score == 0 and wall_line.score == 0
    assert 0 < open_box.score < no_door.score < house.score
    assert house_score(_grid(), _grid(), SOLID, DOOR).score == 0


def test_build_house_reports_the_score_at_the_end():
    env = gymnasium.make("vpt/BuildHouse-v0", resolution=(64, 64), world=SMALL, max_steps=2)
    _, info = env.reset(seed=0)
    assert info["inventory"]["oak_planks"] >= 64 and info["inventory"]["oak_door"] >= 1
    sim = env.unwrapped
    planks, door = sim.rules.block_id("oak_planks"), sim.rules.block_id("oak_door")
    x, y, z = (int(v) for v in sim.player.position)
    x, z = x + 3, z + 3
    g = next(yy for yy in range(sim.world.shape[1] - 1, 0, -1) if sim.rules.solid[sim.world.blocks[x, yy - 1, z]] and sim.world.blocks[x, yy, z] == 0)
    for dy in range(3):
        for i in range(5):
            for (bx, bz) in ((x + i, z), (x + i, z + 4), (x, z + i), (x + 4, z + i)):
                sim.world.set_block(bx, g + dy, bz, planks)
    for i in range(5):
        for k in range(5):
            sim.world.set_block(x + i, g + 3, z + k, planks)
    sim.world.set_block(x + 2, g, z, door)
    sim.world.set_block(x + 2, g + 1, z, door)
    env.step({})
    _, _, _, trunc, info = env.step({})
    assert trunc and info["house_enclosed_cells"] >= 1 and info["house_roof"] == 1 and info["house_door"] == 1
    assert info["house_score"] > 0.5
    env.close()


def test_terrain_pits_are_not_houses():
    b = _grid()
    b[4:8, 1, 4:8] = 0  # a pit dug... in the original terrain
    before = b.copy()
    b[9, 2, 9] = 2  # one block placed elsewhere
    assert house_score(b, before, SOLID, DOOR).score == 0
