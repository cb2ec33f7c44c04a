"""Player physics, mining, placing and hotbar of the embedded simulator, driven only through
MineRL action dicts and checked against Minecraft 1.16's numbers (SIM.md)."""

from __future__ import annotations

import numpy as np
import pytest

from vpt.env.sim.env import SimEnv

FLAT = {"size": (24, 24), "height": 24, "sea_level": 8, "terrain_amplitude": 0.0, "tree_density": 0.0,
        "caves": 0.0}


def make(start: dict[str, int] | None = None, **options) -> tuple[SimEnv, dict]:
    env = SimEnv(resolution=(16, 16), world={**FLAT, "start_inventory": start or {}, **options})
    _, info = env.reset(seed=0)
    return env, info


def step_n(env: SimEnv, n: int, **action) -> dict:
    info = {}
    for _ in range(n):
        _, _, _, _, info = env.step(action)
    return info


def turn_to(env: SimEnv, yaw: float, pitch: float) -> dict:
    """Turn with camera deltas only, to absolute angles."""
    info = step_n(env, 1)
    return step_n(env, 1, camera=np.array([pitch - info["pitch"], yaw - info["yaw"]], np.float32))


def test_flat_spawn_on_ground():
    env, info = make()
    info = step_n(env, 5)
    assert info["on_ground"]
    assert info["position"][1] == pytest.approx(11.0)  # grass top at sea + 2 = 10, feet on 11


@pytest.mark.parametrize("keys, speed", [({"forward": 1}, 4.317), ({"forward": 1, "sprint": 1}, 5.612),
                                         ({"forward": 1, "sneak": 1}, 1.295)])
def test_horizontal_speeds_match_minecraft(keys, speed):
    env, _ = make()
    turn_to(env, -90.0, 0.0)  # face east (+x), along the long axis from the centre
    step_n(env, 1, camera=np.array([0, 0], np.float32), back=1)
    # back to the west wall region first so the run has room: walk back 2 s
    step_n(env, 40, back=1)
    step_n(env, 10)
    step_n(env, 10, **keys)  # reach steady state
    x0 = step_n(env, 1, **keys)["position"][0]
    x1 = step_n(env, 10, **keys)["position"][0]
    measured = (x1 - x0) / 10 * 20
    assert measured == pytest.approx(speed, rel=0.05)


def test_jump_height_matches_minecraft():
    env, info = make()
    y0 = step_n(env, 3)["position"][1]
    ys = [step_n(env, 1, jump=1)["position"][1]]
    ys += [step_n(env, 1)["position"][1] for _ in range(15)]
    assert max(ys) - y0 == pytest.approx(1.2522, rel=0.05)
    assert ys[-1] == pytest.approx(y0)  # landed again


def test_walls_stop_the_player():
    env, _ = make()
    turn_to(env, -90.0, 0.0)
    info = step_n(env, 100, forward=1)  # the east border (barrier at x = 23) is ~12 blocks away
    assert info["position"][0] == pytest.approx(23 - 0.3, abs=1e-6)
    x = info["position"][0]
    assert step_n(env, 10, forward=1)["position"][0] == pytest.approx(x)


def test_pitch_is_clamped_and_yaw_wraps():
    env, _ = make()
    info = step_n(env, 3, camera=np.array([50.0, 100.0], np.float32))
    assert info["pitch"] == 90.0
    assert -180.0 <= info["yaw"] < 180.0 and info["yaw"] == pytest.approx(300.0 - 360.0)
    info = step_n(env, 4, camera=np.array([-60.0, 0.0], np.float32))
    assert info["pitch"] == -90.0


def place_in_front(env: SimEnv, slot: int) -> dict:
    """Look at the ground 2 blocks ahead and place the item of hotbar slot ``slot``."""
    turn_to(env, 0.0, 45.0)
    step_n(env, 1, **{f"hotbar.{slot}": 1})
    info = step_n(env, 1, use=1)
    step_n(env, 1)
    return turn_to(env, 0.0, 30.0)


def test_hotbar_selection():
    env, info = make({"oak_log": 1, "wooden_pickaxe": 1, "stick": 5})
    assert info["selected"] == 0 and info["equipped"] == "oak_log"
    info = step_n(env, 1, **{"hotbar.3": 1})
    assert info["selected"] == 2 and info["equipped"] == "stick"
    info = step_n(env, 1)  # selection stays when released
    assert info["selected"] == 2
    info = step_n(env, 1, **{"hotbar.9": 1})
    assert info["selected"] == 8 and info["equipped"] == "air"


def test_placing_a_block():
    env, info = make({"oak_planks": 3})
    turn_to(env, 0.0, 30.0)
    before = env.world.blocks.copy()
    info = step_n(env, 1, use=1)
    assert info["inventory"]["oak_planks"] == 2
    changed = np.argwhere(env.world.blocks != before)
    assert len(changed) == 1
    x, y, z = changed[0]
    assert env.rules.block_names[env.world.blocks[x, y, z]] == "oak_planks"
    assert y == 11  # on top of the grass
    # holding use places again only after Minecraft's 4-tick delay
    counts = [step_n(env, 1, use=1)["inventory"]["oak_planks"] for _ in range(4)]
    assert counts == [2, 2, 2, 1]


def test_never_places_inside_the_player():
    env, _ = make({"oak_planks": 3})
    turn_to(env, 0.0, 90.0)  # straight down: the face above the grass is where the player stands
    info = step_n(env, 3, use=1)
    assert info["inventory"]["oak_planks"] == 3


def test_breaking_a_log_by_hand_takes_60_ticks():
    env, _ = make({"oak_log": 1})
    place_in_front(env, 1)
    assert env.player.target is not None
    target = env.player.target
    log = env.rules.block_id("oak_log")
    assert env.world.blocks[target] == log
    info = step_n(env, 59, attack=1)
    assert env.world.blocks[target] == log and info["inventory"]["oak_log"] == 0
    info = step_n(env, 1, attack=1)
    assert env.world.blocks[target] == 0
    assert info["inventory"]["oak_log"] == 1


def test_break_speed_option_scales_mining_time():
    env, _ = make({"oak_log": 1}, break_speed=10.0)
    place_in_front(env, 1)
    target = env.player.target
    step_n(env, 5, attack=1)
    assert env.world.blocks[target] == env.rules.block_id("oak_log")
    assert step_n(env, 1, attack=1)["inventory"]["oak_log"] == 1 and env.world.blocks[target] == 0
    with pytest.raises(ValueError, match="break_speed"):
        make(break_speed=0.0)


def test_releasing_attack_resets_progress():
    env, _ = make({"oak_log": 1})
    place_in_front(env, 1)
    target = env.player.target
    step_n(env, 50, attack=1)
    step_n(env, 1)  # release
    step_n(env, 50, attack=1)
    assert env.world.blocks[target] == env.rules.block_id("oak_log")


def test_stone_needs_a_pickaxe_to_drop_cobblestone():
    env, _ = make({"stone": 2, "wooden_pickaxe": 1})
    place_in_front(env, 1)
    target = env.player.target
    step_n(env, 1, **{"hotbar.3": 1})  # empty hand
    info = step_n(env, 149, attack=1)
    assert env.world.blocks[target] == env.rules.block_id("stone")
    info = step_n(env, 1, attack=1)  # by hand: 150 ticks and no drop
    assert env.world.blocks[target] == 0
    assert info["inventory"]["cobblestone"] == 0 and info["inventory"]["stone"] == 1
    step_n(env, 1)
    place_in_front(env, 1)
    target = env.player.target
    step_n(env, 1, **{"hotbar.2": 1})  # wooden pickaxe: 23 ticks
    info = step_n(env, 22, attack=1)
    assert env.world.blocks[target] == env.rules.block_id("stone")
    info = step_n(env, 1, attack=1)
    assert env.world.blocks[target] == 0
    assert info["inventory"]["cobblestone"] == 1
    assert "cobblestone" in info["new_items"] and info["items_obtained"] == ["cobblestone"]


def test_drop_and_swap_hands_act_on_press():
    env, info = make({"stick": 5})
    info = step_n(env, 3, drop=1)  # held for 3 ticks = one press
    assert info["inventory"]["stick"] == 4
    step_n(env, 1)
    info = step_n(env, 1, drop=1, sprint=1)  # Ctrl+Q: the whole stack
    assert info["inventory"]["stick"] == 0
    env, info = make({"stick": 5})
    info = step_n(env, 1, swapHands=1)
    assert info["equipped"] == "air" and info["inventory"]["stick"] == 5


def test_inventory_key_opens_a_screen_that_moves_the_cursor():
    env, info = make()
    info = step_n(env, 1, inventory=1)
    assert info["gui"] == "inventory" and info["gui_open"]
    assert tuple(info["cursor"]) == (640.0, 360.0)
    pos = info["position"].copy()
    info = step_n(env, 1, inventory=1, forward=1, camera=np.array([1.5, -3.0], np.float32))
    assert info["pitch"] == 0.0 and info["yaw"] == 0.0  # the view does not turn
    assert tuple(info["cursor"]) == pytest.approx((620.0, 370.0))  # 0.15 degrees per pixel
    info = step_n(env, 5, forward=1, camera=np.array([0.0, -1000.0], np.float32))
    assert info["position"] == pytest.approx(pos)  # movement keys do nothing
    assert info["cursor"][0] == 0.0  # the cursor stays in the window
    info = step_n(env, 1)
    info = step_n(env, 1, ESC=1)
    assert info["gui"] == "" and not info["gui_open"]


def test_falling_hurts():
    env, _ = make({"dirt": 64})
    turn_to(env, 0.0, 90.0)
    # pillar up 6 blocks: jump and place below
    for _ in range(6):
        step_n(env, 1, jump=1)
        for _ in range(12):
            step_n(env, 1, use=1)
        step_n(env, 4)
    y = step_n(env, 1)["position"][1]
    assert y >= 16.5
    turn_to(env, 0.0, 0.0)
    info = step_n(env, 30, forward=1)  # walk off the pillar
    assert info["position"][1] == pytest.approx(11.0)
    assert info["health"] < 20.0


def test_a_deadly_fall_terminates_the_episode():
    env = SimEnv(resolution=(16, 16), world={**FLAT, "height": 48, "start_inventory": {"dirt": 64}})
    env.reset(seed=0)
    turn_to(env, 0.0, 90.0)
    for _ in range(26):  # pillar up 26 blocks: jump and place below
        step_n(env, 1, jump=1)
        for _ in range(12):
            step_n(env, 1, use=1)
        step_n(env, 4)
    turn_to(env, 0.0, 0.0)
    terminated = False
    for _ in range(80):
        _, _, terminated, truncated, info = env.step({"forward": 1})
        if terminated:
            break
    assert terminated and info["health"] == 0


def test_hud_shows_the_selected_slot_and_break_cracks():
    env = SimEnv(resolution=(64, 64), world={**FLAT, "start_inventory": {"oak_log": 1}})
    env.reset(seed=0)
    turn_to(env, 0.0, 45.0)
    step_n(env, 1, use=1)  # a log in front
    step_n(env, 2)
    a, *_ = env.step({})
    b, *_ = env.step({"hotbar.5": 1})
    hud_rows, hud_cols = np.abs(a["pov"].astype(int) - b["pov"].astype(int)).sum(-1).nonzero()
    assert (hud_rows >= 56).any()  # the hotbar (bottom) changed ...
    assert ((hud_rows >= 56) | ((hud_rows >= 36) & (hud_cols >= 30))).all()  # ... and the hand: the log left it
    before, *_ = env.step({"attack": 1})
    step_n(env, 40, attack=1)
    cracked, *_ = env.step({"attack": 1})
    diff = np.abs(before["pov"].astype(int) - cracked["pov"].astype(int)).sum(-1)
    assert (diff[:56] > 0).sum() > 20  # the cracks on the targeted block
