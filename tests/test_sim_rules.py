"""The simulator's rules file and world generation."""

from __future__ import annotations

import numpy as np
import pytest

from vpt.env.sim.rules import RulesError, load_rules, parse_rules
from vpt.env.sim.world import WorldOptions, generate_world

DIAMOND_TREE = ["oak_log", "oak_planks", "stick", "crafting_table", "wooden_pickaxe", "cobblestone",
                "stone_pickaxe", "furnace", "coal", "iron_ore", "iron_ingot", "iron_pickaxe", "diamond",
                "diamond_pickaxe"]


def test_rules_declare_the_diamond_pickaxe_tree_and_house_items():
    r = load_rules()
    for name in DIAMOND_TREE + ["dirt", "sand", "glass", "oak_door", "oak_fence", "oak_slab", "torch"]:
        r.item_id(name)
    crafted = {r.item_names[rec.output] for rec in r.recipes}
    assert {"oak_planks", "stick", "crafting_table", "wooden_pickaxe", "stone_pickaxe", "furnace",
            "iron_pickaxe", "diamond_pickaxe", "torch"} <= crafted
    assert r.smelting[r.item_id("iron_ore")].output == r.item_id("iron_ingot")
    assert r.fuel[r.item_id("coal")] == 1600


def test_minecraft_numbers():
    r = load_rules()
    h = {n: r.hardness[r.block_id(n)] for n in ("oak_log", "stone", "dirt", "diamond_ore", "bedrock")}
    assert h == {"oak_log": 2.0, "stone": 1.5, "dirt": 0.5, "diamond_ore": 3.0, "bedrock": -1}
    assert r.block_tier[r.block_id("iron_ore")] == r.tiers["stone"]
    assert r.block_tier[r.block_id("diamond_ore")] == r.tiers["iron"]
    assert r.item_speed[r.item_id("wooden_pickaxe")] == 2 and r.item_speed[r.item_id("diamond_pickaxe")] == 8
    assert r.stack[r.item_id("wooden_pickaxe")] == 1 and r.stack[r.item_id("dirt")] == 64


def test_recipe_shapes():
    r = load_rules()
    pick = next(rec for rec in r.recipes if r.item_names[rec.output] == "wooden_pickaxe")
    assert pick.grid == 3 and len(pick.pattern) == 3 and pick.pattern[1][0] is None
    table = next(rec for rec in r.recipes if r.item_names[rec.output] == "crafting_table")
    assert table.grid == 2
    planks = next(rec for rec in r.recipes if r.item_names[rec.output] == "oak_planks")
    assert planks.count == 4 and planks.ingredients == (frozenset({r.item_id("oak_log")}),)


@pytest.mark.parametrize("patch, match", [
    ({"blocks": {"stone": {"hardness": 1}}}, "first block must be 'air'"),
    ({"recipes": [{"output": "unobtainium", "shapeless": ["stick"]}]}, "unknown item"),
    ({"recipes": [{"output": "stick", "pattern": ["X"], "key": {}}]}, "pattern symbol"),
])
def test_bad_rules_raise(patch, match):
    import yaml
    from importlib import resources

    data = yaml.safe_load(resources.files("vpt.env.sim").joinpath("rules.yaml").read_text())
    data.update(patch)
    with pytest.raises(RulesError, match=match):
        parse_rules(data)


def test_world_generation_is_seeded_and_has_the_content():
    r = load_rules()
    opts = WorldOptions(size=(64, 64), height=48)
    a, b, c = generate_world(opts, r, 5), generate_world(opts, r, 5), generate_world(opts, r, 6)
    assert np.array_equal(a.blocks, b.blocks) and not np.array_equal(a.blocks, c.blocks)
    counts = np.bincount(a.blocks.ravel(), minlength=r.num_blocks)
    for name in ("grass_block", "dirt", "stone", "bedrock", "oak_log", "oak_leaves", "coal_ore", "iron_ore"):
        assert counts[r.block_id(name)] > 0, name
    assert (a.blocks[:, 0, :][1:-1, 1:-1] == r.block_id("bedrock")).all()
    assert (a.blocks[0] == r.block_id("barrier")).all() and (a.blocks[:, :, -1] == r.block_id("barrier")).all()
    x, y, z = (int(v) for v in a.spawn)
    assert r.solid[a.blocks[x, y - 1, z]] and not r.solid[a.blocks[x, y, z]] and not r.solid[a.blocks[x, y + 1, z]]


def test_ore_options_scale_ore():
    r = load_rules()
    base = generate_world(WorldOptions(size=(64, 64), height=48), r, 1).blocks
    rich = generate_world(WorldOptions(size=(64, 64), height=48, diamond=20.0), r, 1).blocks
    d = r.block_id("diamond_ore")
    assert (rich == d).sum() > 5 * max(1, (base == d).sum())
