"""Scripted players: they act only through valid action dicts, with whole-pixel mouse moves, and
reach their goals in small worlds (a house with door and roof; the tech tree's world stages)."""

from __future__ import annotations

import numpy as np
import pytest

from vpt.actions import validate_env_action
from vpt.data.jsonl import CAMERA_DEGREES_PER_PIXEL as K
from vpt.env.scripted import PLAYERS, HouseBuilder, TechTreePlayer
from vpt.env.sim import SimEnv
from vpt.env.sim.player import COLL_H, IN_WATER, ON_GROUND, VY, X, Z


def _play(env: SimEnv, player, seed: int, max_steps: int) -> tuple[list[dict], dict]:
    obs, info = env.reset(seed=seed)
    player.reset(info)
    sent = []
    for _ in range(max_steps):
        a = player.act(info)
        if a is None:
            break
        sent.append(a)
        obs, _, term, _, info = env.step(a)
        assert not term, "the scripted player died"
    return sent, info


def _check_actions(sent: list[dict]) -> None:
    px = []
    for a in sent:
        validate_env_action(a)  # raises on anything outside MineRL's interface
        p = np.asarray(a["camera"], np.float64) / K
        np.testing.assert_allclose(p, np.round(p), atol=1e-3)  # whole mouse pixels
        px.append(np.round(p))
    px = np.array(px)
    moving = px[np.abs(px).sum(axis=1) > 0]
    assert len(moving) > 20 and len(np.unique(moving[:, 1])) > 5, "mouse motion should be smooth and varied"
    assert (np.abs(px).sum(axis=1) == 0).sum() > 5, "there should be still moments (pauses)"
    assert not sent[0].get("attack", 0), "no attack on the first tick (the loader would call it stuck)"


def _screen_visits(env: SimEnv, player, seed: int, max_steps: int, on_open=None) -> tuple[list[dict], dict]:
    """Play an episode and list its screen visits: ``screen``, ``opened`` / ``closed`` (tick and
    inventory at each end; ``closed`` None while open). ``on_open(k)`` runs at the k-th opening."""
    obs, info = env.reset(seed=seed)
    player.reset(info)
    visits: list[dict] = []
    for _ in range(max_steps):
        a = player.act(info)
        if a is None:
            break
        was = info.get("gui")
        obs, _, _, _, info = env.step(a)
        if info.get("gui") and not was:
            visits.append({"screen": info["gui"], "opened": (info["tick"], dict(info["inventory"])), "closed": None})
            if on_open is not None:
                on_open(len(visits) - 1)
        if was and not info.get("gui"):
            visits[-1]["closed"] = (info["tick"], dict(info["inventory"]))
    return visits, info


def test_house_builder_builds_a_closed_house():
    env = SimEnv(resolution=(32, 18), world={"size": (40, 40), "height": 32, "terrain_amplitude": 0.0,
                                             "tree_density": 0.03, "caves": 0.0,
                                             "start_inventory": HouseBuilder.START_INVENTORY})
    player = HouseBuilder(env, np.random.default_rng(1), skill=0.8)
    sent, info = _play(env, player, seed=3, max_steps=4000)
    _check_actions(sent)
    assert set(player.stats.milestones) >= {"site", "walls", "door", "roof", "house"}, player.stats
    door = env.rules.block_id("oak_door")
    assert (env.world.blocks == door).sum() == 1
    assert info["inventory"]["oak_door"] == 0


def test_tech_tree_world_stages_with_tools_given():
    """Mining stages (crafted items given), then the diamond pickaxe crafted at a table."""
    tools = {"oak_planks": 8, "stick": 4, "crafting_table": 1, "wooden_pickaxe": 1, "stone_pickaxe": 1,
             "furnace": 1, "iron_ingot": 3, "iron_pickaxe": 1}
    env = SimEnv(resolution=(32, 18), world={"size": (48, 48), "height": 40, "tree_density": 0.04,
                                             "iron": 3.0, "diamond": 6.0, "coal": 2.0, "start_inventory": tools})
    player = TechTreePlayer(env, np.random.default_rng(0), skill=0.8)
    sent, info = _play(env, player, seed=2, max_steps=8000)
    _check_actions(sent)
    m = player.stats.milestones
    assert {"oak_log", "cobblestone", "coal", "iron_ore", "diamond"} <= set(m), player.stats
    assert "diamond_pickaxe" in m and info["inventory"]["diamond_pickaxe"] == 1  # crafted through the screens


def test_tech_tree_crafts_through_the_screens_from_nothing():
    env = SimEnv(resolution=(32, 18), world={"size": (48, 48), "height": 40, "tree_density": 0.04,
                                             "iron": 3.0, "diamond": 6.0, "coal": 2.0})
    # 6 logs: planks for a second crafting table by the stone (with only the 3 logs of a small
    # trunk the player cannot make one there, and stops at the stone pickaxe)
    player = TechTreePlayer(env, np.random.default_rng(5), skill=0.8, logs=6)
    sent, info = _play(env, player, seed=4, max_steps=6000)
    m = player.stats.milestones
    assert {"oak_planks", "stick", "crafting_table", "wooden_pickaxe", "cobblestone", "stone_pickaxe",
            "furnace"} <= set(m), player.stats
    assert any(a.get("inventory") for a in sent) and info["obtained"]["stone_pickaxe"] == 1
    assert list(m) == [k for k in TechTreePlayer.MILESTONES if k in m]  # in tech-tree order


def test_tech_tree_crafts_when_it_has_logs_in_one_inventory_visit():
    """What starts crafting is logs in the inventory (a given number, or by default whole trunks:
    the count follows the trees); planks, sticks and the table are made in one visit; a glance
    into the empty inventory is closed."""
    world = {"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10}
    for seed, logs in ((7, 3), (8, 5), (9, None)):
        env = SimEnv(resolution=(32, 18), world=world)
        player = TechTreePlayer(env, np.random.default_rng(seed), skill=0.8, logs=logs, peek_prob=1.0)
        log = env.rules.block_id("oak_log")
        env.reset(seed=seed)  # _screen_visits resets to the same world
        trees = {tuple(c) for c in np.argwhere(env.world.blocks == log)}
        snapshots = {}  # logs still standing at each screen opening
        visits, info = _screen_visits(env, player, seed, 700,
                                      on_open=lambda k: snapshots.setdefault(k, {tuple(c) for c in np.argwhere(env.world.blocks == log)}))
        screens = [v["screen"] for v in visits]
        logs_at_open = [v["opened"][1]["oak_log"] for v in visits]
        logs_left = snapshots[1]
        m = player.stats.milestones
        assert {"oak_log", "oak_planks", "stick", "crafting_table", "wooden_pickaxe"} <= set(m), player.stats
        assert screens[:2] == ["inventory", "inventory"] and logs_at_open[0] == 0  # the peek, then crafting
        if logs:
            assert logs_at_open[1] == logs
        else:  # whole trunks: no log is left in a column the player chopped
            assert logs_at_open[1] >= 3
            columns = {(x, z) for x, _, z in trees - logs_left}
            assert columns and not any((x, z) in columns for x, _, z in logs_left)
        assert screens[2] == "crafting_table"  # no second inventory visit for sticks or the table


def test_tech_tree_first_log_table():
    """``first_log_table``: the inventory opens with exactly one log held (no glance before it),
    and that log becomes planks and a crafting table in that visit; then the player chops on and
    makes sticks and a wooden pickaxe."""
    world = {"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10}
    env = SimEnv(resolution=(32, 18), world=world)
    player = TechTreePlayer(env, np.random.default_rng(4), skill=0.8, first_log_table=True, peek_prob=0.0)
    visits, info = _screen_visits(env, player, 4, 900)
    opened = [(v["screen"], v["opened"][1]) for v in visits]
    closed = [v["closed"][1] for v in visits if v["closed"]]
    m = player.stats.milestones
    assert list(m)[:5] == ["oak_log", "oak_planks", "crafting_table", "stick", "wooden_pickaxe"], player.stats
    assert opened[0][0] == "inventory" and opened[0][1]["oak_log"] == 1 and opened[0][1]["oak_planks"] == 0
    assert closed[0]["crafting_table"] == 1 and closed[0]["oak_log"] == 0 and closed[0]["oak_planks"] == 0
    assert opened[1][0] == "inventory" and opened[1][1]["oak_log"] >= TechTreePlayer.LOGS_AFTER_FIRST_VISIT
    assert info["obtained"]["wooden_pickaxe"] == 1


def test_tech_tree_first_crafts_sticks():
    """``first_crafts=["oak_planks", "stick"]``: the first log becomes planks and then sticks in
    one visit (the reward's first three items); the table and pickaxe follow from later logs.
    Combinations one log cannot make are refused."""
    world = {"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10}
    env = SimEnv(resolution=(32, 18), world=world)
    player = TechTreePlayer(env, np.random.default_rng(4), skill=0.8, first_crafts=["oak_planks", "stick"], peek_prob=0.0)
    visits, info = _screen_visits(env, player, 4, 900)
    m = player.stats.milestones
    assert list(m)[:5] == ["oak_log", "oak_planks", "stick", "crafting_table", "wooden_pickaxe"], player.stats
    first = visits[0]
    assert first["screen"] == "inventory" and first["opened"][1]["oak_log"] == 1
    assert first["closed"][1]["stick"] > 0 and first["closed"][1]["oak_log"] == 0
    assert info["obtained"]["wooden_pickaxe"] == 1
    for bad in (["oak_planks", "stick", "crafting_table"], ["stick"], ["oak_planks", "wooden_pickaxe"]):
        with pytest.raises(ValueError, match="first_crafts"):
            TechTreePlayer(env, np.random.default_rng(0), first_crafts=bad)
        with pytest.raises(ValueError, match="first_crafts"):  # before any episode is played
            TechTreePlayer.check_options({"first_crafts": bad})


def test_tech_tree_peeks_while_walking_to_a_tree():
    """``peek_rate``: glances into the inventory slipped in while walking with no log held (at
    most MAX_PEEKS), each closed within a few dozen ticks; the episode goes on to its table."""
    world = {"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10}
    env = SimEnv(resolution=(32, 18), world=world)
    player = TechTreePlayer(env, np.random.default_rng(4), skill=0.8, first_log_table=True, peek_prob=0.0, peek_rate=0.2)
    visits, info = _screen_visits(env, player, 4, 700)
    empty = [v["closed"][0] - v["opened"][0] if v["closed"] else 10**6 for v in visits
             if v["screen"] == "inventory" and v["opened"][1]["oak_log"] == 0]
    assert 1 <= len(empty) <= TechTreePlayer.MAX_PEEKS and all(t < 40 for t in empty), visits
    assert info["obtained"]["crafting_table"] == 1, player.stats


def test_player_options_are_checked():
    TechTreePlayer.check_options({"first_log_table": True, "peek_prob": 0.0, "logs": 3})
    with pytest.raises(ValueError, match="first_log_tabel"):
        TechTreePlayer.check_options({"first_log_tabel": True})
    with pytest.raises(ValueError, match="logs"):
        HouseBuilder.check_options({"logs": 3})


def test_tech_tree_crafts_at_gui_scale_2():
    """With the screens twice as large the player clicks the doubled slots (and nothing else)."""
    world = {"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10, "gui_scale": 2}
    env = SimEnv(resolution=(32, 18), world=world)
    player = TechTreePlayer(env, np.random.default_rng(3), skill=0.8)
    sent, info = _play(env, player, seed=3, max_steps=700)
    _check_actions(sent)
    assert info["obtained"]["wooden_pickaxe"] == 1, player.stats
    assert env.screens.dropped.sum() == 0  # no click missed the screen


def test_cursor_strays_and_comes_back():
    """Some cursor moves overshoot or drift off the panel first (so a cloned policy sees the way
    back); crafting still succeeds."""
    from vpt.env.sim.gui import inside_screen

    env = SimEnv(resolution=(32, 18), world={"size": [48, 48], "height": 40, "tree_density": 0.05, "break_speed": 10})
    player = TechTreePlayer(env, np.random.default_rng(11), skill=0.8, logs=3)
    player.crafter.STRAY_PROB = 1.0
    obs, info = env.reset(seed=11)
    player.reset(info)
    off_panel = 0
    for _ in range(900):
        a = player.act(info)
        if a is None or "crafting_table" in player.stats.milestones:
            break
        obs, _, _, _, info = env.step(a)
        off_panel += bool(info["gui_open"]) and not inside_screen(*info["cursor"])
    assert "crafting_table" in player.stats.milestones, player.stats
    assert off_panel > 10


def test_tech_tree_without_crafting_stops_after_logs():
    env = SimEnv(resolution=(32, 18), world={"size": (40, 40), "height": 32, "tree_density": 0.05})
    player = TechTreePlayer(env, np.random.default_rng(3), crafter=None)
    _play(env, player, seed=1, max_steps=3000)
    assert "oak_log" in player.stats.milestones
    assert "needs crafting screens" in player.stats.failures[0]


def test_tech_tree_moves_like_people_and_sprint_is_visible():
    """Strafing, backing off and sprinting appear in ordinary episodes (not only when stuck), and
    the sprint key is down on every tick the player sprints: the game latches sprinting, so a key
    let go mid-run would leave running frames an IDM could not label."""
    keys = {k: 0 for k in ("back", "left", "right", "sprint")}
    longest_push = 0
    for seed in (100, 101, 102):
        env = SimEnv(resolution=(32, 18), world={"size": [48, 48], "height": 40, "tree_density": 0.05,
                                                 "caves": 0.5, "break_speed": 10})
        player = TechTreePlayer(env, np.random.default_rng(seed), skill=0.8)
        obs, info = env.reset(seed=seed)
        player.reset(info)
        push = 0
        for _ in range(600):
            a = player.act(info)
            s0 = env.player.state.copy()
            falling = s0[ON_GROUND] == 0 and s0[IN_WATER] == 0 and s0[VY] <= 0
            assert not (a.get("jump") and falling), "space held in the air, where it does nothing"
            obs, _, term, _, info = env.step(a)
            assert not env.player.sprinting or a.get("sprint"), "sprinting with the sprint key up"
            for k in keys:
                keys[k] += int(a.get(k, 0))
            still = np.hypot(*(env.player.state[[X, Z]] - s0[[X, Z]])) < 0.02
            push = push + 1 if a.get("forward") and still and s0[COLL_H] > 0 else 0
            longest_push = max(longest_push, push)
    assert all(n > 0 for n in keys.values()), keys
    assert longest_push <= 15, "a person stops pushing against a wall within a reaction time"


def test_players_registry_and_bad_env():
    assert set(PLAYERS) == {"tech-tree", "house"}
    with pytest.raises(TypeError, match="SimEnv"):
        HouseBuilder(object(), np.random.default_rng(0))
