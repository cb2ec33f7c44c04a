"""GUI screens of the embedded simulator: layout, click semantics, crafting and smelting, all
driven through MineRL action dicts (cursor moves by ``camera``, clicks by ``attack``/``use``),
and the whole diamond-pickaxe chain through the screens with the task's reward."""

from __future__ import annotations

import time

import gymnasium
import numpy as np
import pytest

import vpt.env  # noqa: F401  (registers the ids)
from vpt.env.sim.env import CAMERA_DEG_PER_PIXEL, SimEnv
from vpt.env.sim.gui import LAYOUTS, SCREEN_ORIGIN, match_recipe, screen_origin, slot_at, slot_center
from vpt.env.sim.rules import load_rules

FLAT = {"size": (24, 24), "height": 24, "sea_level": 8, "terrain_amplitude": 0.0, "tree_density": 0.0,
        "caves": 0.0}


class Driver:
    """Plays an env through action dicts only: one step moves the cursor onto a slot centre,
    one presses the button, one releases it."""

    def __init__(self, env: gymnasium.Env, info: dict) -> None:
        self.env, self.info = env, info
        self.sim: SimEnv = env.unwrapped
        self.rewards: list[float] = []

    def step(self, **action) -> dict:
        _, reward, terminated, truncated, self.info = self.env.step(action)
        assert not terminated and not truncated
        self.rewards.append(float(reward))
        return self.info

    def move_to(self, x: float, y: float, **keys) -> dict:
        """One step moving the cursor to window (x, y), with ``keys`` held."""
        cx, cy = self.info["cursor"]
        d = np.array([(y - cy) * CAMERA_DEG_PER_PIXEL, (x - cx) * CAMERA_DEG_PER_PIXEL], np.float32)
        return self.step(camera=d, **keys)

    def click(self, kind: str, index: int = 0, button: str = "attack", sneak: bool = False) -> dict:
        """Click slot (kind, index) of the open screen; returns the info after the release."""
        self.move_to(*slot_center(self.info["gui"], kind, index, gui_scale=self.sim.screens.gui_scale))
        keys = {"sneak": 1} if sneak else {}
        self.step(**{button: 1}, **keys)
        return self.step(**keys)

    def press(self, key: str, n: int = 1) -> dict:
        self.step(**{key: 1})
        for _ in range(n - 1):
            self.step(**{key: 1})
        return self.step()

    def turn_to(self, yaw: float, pitch: float) -> dict:
        return self.step(camera=np.array([pitch - self.info["pitch"], yaw - self.info["yaw"]], np.float32))

    def wait(self, n: int) -> dict:
        for _ in range(n):
            self.step()
        return self.info

    @property
    def held(self) -> tuple[str | None, int]:
        item, count, _ = self.sim.screens.held
        return (self.sim.rules.item_names[item] if item >= 0 else None), count

    def slot(self, index: int) -> tuple[str | None, int]:
        inv = self.sim.player.inventory
        item = int(inv.item[index])
        return (self.sim.rules.item_names[item] if item >= 0 else None), int(inv.count[index])

    def grid(self) -> list[str | None]:
        s = self.sim.screens
        return [self.sim.rules.item_names[i] if i >= 0 else None for i in s.grid_item]


def make(start: dict[str, int], resolution=(64, 36), gui_scale: int = 1) -> Driver:
    env = SimEnv(resolution=resolution, world={**FLAT, "start_inventory": start, "gui_scale": gui_scale})
    _, info = env.reset(seed=0)
    return Driver(env, info)


def inventory_screen(start: dict[str, int]) -> Driver:
    d = make(start)
    d.press("inventory")
    assert d.info["gui"] == "inventory"
    return d


# -- layout -------------------------------------------------------------------------------------

def test_layout_follows_minecraft_at_gui_scale_1_doubled():
    assert SCREEN_ORIGIN == (232, 97)  # 176×166 centred on 640×360
    # SIM.md's numbers: (slot top-left inside the screen + 8) * 2 in window pixels
    assert slot_center("inventory", "result") == ((232 + 154 + 8) * 2, (97 + 28 + 8) * 2)
    assert slot_center("inventory", "grid", 0) == ((232 + 98 + 8) * 2, (97 + 18 + 8) * 2)
    assert slot_center("inventory", "inventory", 9) == ((232 + 8 + 8) * 2, (97 + 84 + 8) * 2)
    assert slot_center("inventory", "inventory", 35) == ((232 + 8 + 8 * 18 + 8) * 2, (97 + 120 + 8) * 2)
    assert slot_center("inventory", "inventory", 0) == ((232 + 8 + 8) * 2, (97 + 142 + 8) * 2)
    assert slot_center("crafting_table", "grid", 8) == ((232 + 30 + 36 + 8) * 2, (97 + 17 + 36 + 8) * 2)
    assert slot_center("crafting_table", "result") == ((232 + 124 + 8) * 2, (97 + 35 + 8) * 2)
    assert slot_center("furnace", "input") == ((232 + 56 + 8) * 2, (97 + 17 + 8) * 2)
    assert slot_center("furnace", "fuel") == ((232 + 56 + 8) * 2, (97 + 53 + 8) * 2)
    assert slot_center("furnace", "output") == ((232 + 116 + 8) * 2, (97 + 35 + 8) * 2)
    for screen, slots in LAYOUTS.items():
        for i, s in enumerate(slots):
            x, y = slot_center(screen, s.kind, s.index)
            assert slot_at(screen, x, y) == i
            assert slot_at(screen, x + 17, y - 18) == i and slot_at(screen, x - 19, y) != i  # 18×18 GUI px
    assert slot_at("inventory", 10, 10) == -1
    with pytest.raises(KeyError, match="no slot"):
        slot_center("furnace", "grid", 0)


def test_gui_scale_2_doubles_the_screens_and_the_hotbar():
    assert screen_origin(2) == (72, 7)  # 176×166 centred on 320×180
    assert slot_center("inventory", "result", gui_scale=2) == ((72 + 154 + 8) * 4, (7 + 28 + 8) * 4)
    for screen, slots in LAYOUTS.items():
        for i, s in enumerate(slots):
            assert slot_at(screen, *slot_center(screen, s.kind, s.index, gui_scale=2), gui_scale=2) == i
    small, big = make({"oak_log": 4}, (640, 360)), make({"oak_log": 4}, (640, 360), gui_scale=2)
    world_small, world_big = small.sim.render().copy(), big.sim.render().copy()
    # the hotbar is 364×44 at the bottom centre (182×22 at scale 1): its left end and the log
    # icon in its first slot (32×32 from (144, 322)) lie where the small HUD draws nothing
    assert not np.array_equal(world_big[322:354, 144:176], world_small[322:354, 144:176])
    np.testing.assert_array_equal(world_big[:150], world_small[:150])  # the world view is the same (above the crosshair)
    big.press("inventory")
    panel = big.sim.render()[14:14 + 332, 144:144 + 352]
    assert (panel == 198).all(axis=2).mean() > 0.3  # the grey panel, 352×332
    big.click("inventory", 0)  # clicks hit the doubled slots
    big.click("grid", 0)
    big.click("result")
    assert big.held == ("oak_planks", 4) and big.sim.screens.grid_count[0] == 3  # one of the 4 logs used
    with pytest.raises(ValueError, match="gui_scale"):
        SimEnv(world={"gui_scale": 3})


def test_cursor_stays_inside_the_window():
    d = inventory_screen({})
    assert tuple(d.info["cursor"]) == (640.0, 360.0)
    info = d.step(camera=np.array([170.0, 170.0], np.float32))
    assert tuple(info["cursor"]) == (1279.0, 719.0)
    info = d.step(camera=np.array([-170.0, -170.0], np.float32))
    info = d.step(camera=np.array([-170.0, -170.0], np.float32))
    assert tuple(info["cursor"]) == (0.0, 0.0)
    assert info["yaw"] == 0.0 and info["pitch"] == 0.0


# -- click semantics ----------------------------------------------------------------------------

def test_left_click_takes_puts_merges_and_swaps():
    d = inventory_screen({"stick": 10, "coal": 70})  # hotbar: 10 sticks, 64 coal, 6 coal
    d.click("inventory", 0)
    assert d.held == ("stick", 10) and d.slot(0) == (None, 0)  # take the stack
    d.click("inventory", 9)
    assert d.held == (None, 0) and d.slot(9) == ("stick", 10)  # put it down
    d.click("inventory", 9)
    d.click("inventory", 2)
    assert d.held == ("coal", 6) and d.slot(2) == ("stick", 10)  # swap with a different item
    d.click("inventory", 1)
    assert d.held == ("coal", 6) and d.slot(1) == ("coal", 64)  # a full stack takes nothing
    d.click("inventory", 0)
    d.click("inventory", 1, "use")  # half of the 64 onto the cursor
    d.click("inventory", 0)
    assert d.held == (None, 0) and d.slot(0) == ("coal", 38)  # merged
    d.click("inventory", 1)
    d.click("inventory", 0)
    assert d.slot(0) == ("coal", 64) and d.held == ("coal", 6)  # merged up to the stack size
    info = d.click("inventory", 1)
    assert info["inventory"]["coal"] == 70 and info["inventory"]["stick"] == 10 and info["obtained"]["coal"] == 0


def test_right_click_splits_and_places_one():
    d = inventory_screen({"stick": 7})
    d.click("inventory", 0, "use")
    assert d.held == ("stick", 4) and d.slot(0) == ("stick", 3)  # half, rounded up
    d.click("inventory", 9, "use")
    assert d.held == ("stick", 3) and d.slot(9) == ("stick", 1)  # one into an empty slot
    d.click("inventory", 9, "use")
    assert d.held == ("stick", 2) and d.slot(9) == ("stick", 2)  # one onto the same item
    d.click("grid", 0, "use")
    assert d.grid()[0] == "stick" and d.held == ("stick", 1)
    d.click("inventory", 0)
    assert d.held == (None, 0) and d.slot(0) == ("stick", 4)


def test_dragging_a_stack_over_slots_spreads_it():
    d = inventory_screen({"stick": 10, "coal": 1})
    d.click("inventory", 0)
    d.move_to(*slot_center("inventory", "inventory", 9))
    d.step(attack=1)
    assert d.held == ("stick", 10) and d.slot(9) == (None, 0)  # nothing happens until the release
    for slot in (10, 11, 1):  # slot 1 holds coal: not part of the drag
        d.move_to(*slot_center("inventory", "inventory", slot), attack=1)
    d.step()
    assert [d.slot(i) for i in (9, 10, 11, 1)] == [("stick", 3), ("stick", 3), ("stick", 3), ("coal", 1)]
    assert d.held == ("stick", 1)
    d.click("inventory", 0)
    d.click("inventory", 9)
    d.click("inventory", 10)
    d.click("inventory", 10)  # 3 + 3 = 6 on the cursor
    assert d.held == ("stick", 6)
    d.move_to(*slot_center("inventory", "grid", 0))
    d.step(use=1)
    for cell in (1, 2, 3):
        d.move_to(*slot_center("inventory", "grid", cell), use=1)
    d.step()
    assert d.grid()[:4] == ["stick"] * 4 and d.held == ("stick", 2)  # right drag: one into each


def test_double_click_collects_the_item_onto_the_cursor():
    d = inventory_screen({"stick": 64 + 10, "coal": 1})  # hotbar: 64 sticks, 10 sticks, coal
    d.click("inventory", 1)
    d.click("inventory", 1)  # a double click on the now empty slot
    assert d.held == ("stick", 64) and d.slot(0) == ("stick", 10) and d.slot(1) == (None, 0)
    d.wait(5)
    d.click("inventory", 9)
    d.click("inventory", 0)  # take the 10 left in slot 0
    d.wait(5)
    d.click("inventory", 0)  # slower: an ordinary put
    assert d.held == (None, 0) and d.slot(0) == ("stick", 10) and d.slot(9) == ("stick", 64)


def test_quick_move_with_sneak():
    d = inventory_screen({"stick": 5, "coal": 3})
    d.click("inventory", 0, sneak=True)  # hotbar -> main inventory
    assert d.slot(0) == (None, 0) and d.slot(9) == ("stick", 5)
    d.click("inventory", 9, sneak=True)  # main -> hotbar (first empty hotbar slot)
    assert d.slot(9) == (None, 0) and d.slot(0) == ("stick", 5)
    d.click("inventory", 1)
    d.click("grid", 3)
    d.click("grid", 3, sneak=True)  # grid -> inventory, main first
    assert d.grid()[3] is None and d.slot(9) == ("coal", 3)
    d.click("inventory", 9, sneak=True)
    assert d.slot(9) == (None, 0) and d.slot(1) == ("coal", 3)


def test_quick_move_on_the_crafting_table_fills_the_grid_first():
    d = open_block("crafting_table", {"stick": 5, "oak_log": 3})
    d.click("inventory", 1, sneak=True)
    assert d.grid()[0] == "stick" and d.slot(1) == (None, 0)
    d.click("grid", 0, sneak=True)  # grid -> inventory, main first
    assert d.grid()[0] is None and d.slot(9) == ("stick", 5)
    d.click("inventory", 2, sneak=True)
    assert d.grid()[0] == "oak_log" and d.sim.screens.result == (d.sim.rules.item_id("oak_planks"), 4)
    info = d.click("result", sneak=True)
    assert info["obtained"]["oak_planks"] == 12 and d.slot(8) == ("oak_planks", 12)


def test_craft_once_and_craft_all_on_the_result_slot():
    d = inventory_screen({"oak_log": 3, "stick": 1})
    d.click("inventory", 0)
    d.click("grid", 1)  # 3 logs anywhere in the 2×2 grid
    info = d.click("result")
    assert d.held == ("oak_planks", 4) and d.sim.screens.grid_count[1] == 2
    assert info["obtained"]["oak_planks"] == 4 and info["inventory"]["oak_planks"] == 0  # on the cursor
    info = d.click("result")
    assert d.held == ("oak_planks", 8) and info["obtained"]["oak_planks"] == 8
    d.click("inventory", 9)
    d.click("inventory", 1)  # pick up the stick: the result cannot go onto a different item
    d.click("result")
    assert d.held == ("stick", 1) and d.sim.screens.grid_count[1] == 1
    d.click("inventory", 1)
    info = d.click("result", sneak=True)  # craft all, merged into the planks in the inventory
    assert d.slot(9) == ("oak_planks", 12) and d.grid()[1] is None and d.sim.screens.result == (-1, 0)
    assert info["obtained"]["oak_planks"] == 12 and info["inventory"]["oak_planks"] == 12


def test_craft_all_repeats_while_the_grid_allows():
    d = inventory_screen({"oak_planks": 6})
    d.click("inventory", 0)
    d.click("grid", 1, "use")
    d.click("grid", 1, "use")
    d.click("grid", 3, "use")  # sticks: planks stacked in the right column (2 + 1)
    d.click("grid", 3, "use")
    d.click("grid", 3, "use")
    d.click("inventory", 0)
    info = d.click("result", sneak=True)  # twice; new stacks fill the hotbar from its right end
    assert info["obtained"]["stick"] == 8 and d.slot(8) == ("stick", 8)
    assert d.grid()[1] is None and d.grid()[3] == "oak_planks" and d.sim.screens.result == (-1, 0)


def test_hotbar_keys_swap_and_the_drop_key_throws_from_the_hovered_slot():
    d = inventory_screen({"stick": 5, "coal": 3, "oak_log": 1})
    d.move_to(*slot_center("inventory", "inventory", 9))
    d.press("hotbar.1")  # hotbar 0 -> the hovered empty slot
    assert d.slot(9) == ("stick", 5) and d.slot(0) == (None, 0)
    d.move_to(*slot_center("inventory", "inventory", 1))
    d.press("hotbar.1")  # the hovered coal -> the empty hotbar 0
    assert d.slot(0) == ("coal", 3) and d.slot(1) == (None, 0)
    d.move_to(*slot_center("inventory", "inventory", 9))
    info = d.press("hotbar.1")  # swap
    assert d.slot(0) == ("stick", 5) and d.slot(9) == ("coal", 3) and info["selected"] == 0
    d.press("drop")
    assert d.slot(9) == ("coal", 2)
    d.step(drop=1, sprint=1)
    info = d.step()
    assert d.slot(9) == (None, 0) and info["inventory"]["coal"] == 0
    assert d.sim.screens.dropped[d.sim.rules.item_id("coal")] == 3
    d.click("inventory", 2)
    d.click("grid", 0)
    d.move_to(*slot_center("inventory", "result"))
    info = d.press("hotbar.3")  # over the result: craft once into the empty hotbar slot
    assert d.slot(2) == ("oak_planks", 4) and info["obtained"]["oak_planks"] == 4 and d.grid()[0] is None


def test_closing_returns_the_grid_and_the_cursor_stack():
    d = inventory_screen({"stick": 5, "coal": 2})
    d.click("inventory", 0)
    d.click("grid", 0, "use")
    d.click("grid", 2, "use")
    d.click("inventory", 1)  # holding 2 coal, 3 sticks in the slot where the coal was
    info = d.press("ESC")
    assert info["gui"] == "" and d.sim.screens.held == [-1, 0, 0] and all(g is None for g in d.grid())
    assert info["inventory"]["stick"] == 5 and info["inventory"]["coal"] == 2
    assert info["obtained"]["stick"] == 0  # moving items around obtains nothing


def test_closing_with_a_full_inventory_drops_and_counts():
    d = inventory_screen({"wooden_pickaxe": 1, "dirt": 64 * 35})
    d.click("inventory", 0)
    d.click("grid", 0)
    d.click("inventory", 1, "use")
    d.click("inventory", 0)  # the pickaxe's slot is taken by dirt now
    d.click("inventory", 2, "use")
    info = d.press("inventory")
    assert info["gui"] == "" and info["inventory"]["dirt"] == 64 * 35 and info["inventory"]["wooden_pickaxe"] == 0
    assert d.sim.screens.dropped[d.sim.rules.item_id("wooden_pickaxe")] == 1


def test_click_outside_the_screen_drops_the_cursor_stack():
    d = inventory_screen({"stick": 5})
    d.click("inventory", 0)
    d.move_to(100, 100)
    d.press("use")
    assert d.held == ("stick", 4)
    d.press("attack")
    assert d.held == (None, 0) and d.info["inventory"]["stick"] == 0
    assert d.sim.screens.dropped[d.sim.rules.item_id("stick")] == 5
    d = inventory_screen({"stick": 5})
    d.click("inventory", 0)
    d.move_to((SCREEN_ORIGIN[0] + 3) * 2, (SCREEN_ORIGIN[1] + 3) * 2)  # the panel, not a slot
    d.press("attack")
    assert d.held == ("stick", 5)


def test_screen_keys_and_movement_do_nothing_else():
    d = inventory_screen({"stick": 1})
    pos = d.info["position"].copy()
    d.step(forward=1, jump=1, sneak=1)
    info = d.step(forward=1, sneak=1, **{"hotbar.3": 1})
    assert info["position"] == pytest.approx(pos) and info["selected"] == 0
    assert d.sim.player.sneaking is False


# -- recipes ------------------------------------------------------------------------------------

def grid(rows: list[str], key: dict[str, str]) -> np.ndarray:
    rules = load_rules()
    return np.array([[rules.item_id(key[c]) if c != "." else -1 for c in row] for row in rows])


def recipe_name(rows, key) -> str | None:
    rules = load_rules()
    r = match_recipe(rules.recipes, grid(rows, key))
    return rules.item_names[r.output] if r is not None else None


def test_recipes_shaped_anywhere_mirrored_shapeless_and_grid_size():
    k = {"P": "oak_planks", "S": "stick", "L": "oak_log", "C": "cobblestone", "I": "iron_ingot", "c": "coal"}
    assert recipe_name(["...", ".P.", ".P."], k) == "stick"  # anywhere in the 3×3 grid
    assert recipe_name(["P.", "P."], k) == "stick"
    assert recipe_name([".L", ".."], k) == "oak_planks"  # shapeless, any cell
    assert recipe_name(["PP", "PP"], k) == "crafting_table"
    assert recipe_name(["PPP", ".S.", ".S."], k) == "wooden_pickaxe"
    assert recipe_name(["PP.", "PS.", ".S."], k) == "wooden_axe"
    assert recipe_name([".PP", ".SP", ".S."], k) == "wooden_axe"  # mirrored
    assert recipe_name(["CCC", "C.C", "CCC"], k) == "furnace"
    assert recipe_name(["III", ".S.", ".S."], k) == "iron_pickaxe"
    assert recipe_name(["c.", "S."], k) == "torch"
    assert recipe_name(["PSP", "PSP", "..."], k) == "oak_fence"
    assert recipe_name(["PP.", "PP.", "PP."], k) == "oak_door"
    assert recipe_name(["PPP", ".S.", "..S"], k) is None
    assert recipe_name(["PP", "PS"], k) is None
    assert recipe_name(["LL", ".."], k) is None  # one log per craft
    assert recipe_name(["..", ".."], k) is None


# -- smelting -----------------------------------------------------------------------------------

def open_block(block: str, start: dict[str, int]) -> Driver:
    """Place ``block`` (from hotbar slot 0) in front of the player and open its screen."""
    d = make({block: 1, **start})
    d.turn_to(0.0, 45.0)
    d.press("use")  # place it
    info = d.press("use")  # open it
    assert info["gui"] == block
    return d


def test_furnace_smelts_200_ticks_per_item_with_fuel_values_also_closed():
    d = open_block("furnace", {"iron_ore": 3, "coal": 2, "oak_log": 1})
    f = d.sim.screens.furnace

    def wait_until(tick: int) -> None:
        d.wait(tick - d.info["tick"])

    d.click("inventory", 1, sneak=True)  # smeltable: quick move into the input
    assert d.sim.rules.item_names[f.item[0]] == "iron_ore" and f.count[0] == 3
    d.click("inventory", 3, sneak=True)  # a log smelts too: it goes for the input, which is taken
    assert d.slot(3) == ("oak_log", 1) and f.burn == 0
    d.click("inventory", 3)
    info = d.click("fuel")  # the log as fuel: 300 ticks = 1.5 items; lit at the click (on the release)
    assert f.count[1] == 0 and f.burn == 300 and f.cook == 1
    lit = info["tick"]
    d.press("ESC")
    wait_until(lit + 198)
    assert f.count[2] == 0 and f.cook == 199
    d.wait(1)
    assert d.sim.rules.item_names[f.item[2]] == "iron_ingot" and f.count[2] == 1 and f.count[0] == 2
    wait_until(lit + 300)  # the log burnt out half way through the second ore
    assert f.burn == 0 and f.cook == 98  # cooking falls back by 2 per tick without fire
    wait_until(lit + 310)
    assert f.cook == 78
    assert d.info["obtained"]["iron_ingot"] == 0  # not obtained while in the furnace
    d.press("use")
    d.click("inventory", 2, sneak=True)  # coal is fuel, not smeltable: into the fuel slot
    assert f.count[1] == 1 and f.burn == 1600 - 1  # lit at once, one coal left
    d.wait(400)
    info = d.click("output", sneak=True)  # quick move out: counted as obtained
    assert info["obtained"]["iron_ingot"] == 3 and info["inventory"]["iron_ingot"] == 3 and f.count[2] == 0
    assert f.cook == 0 and f.count[0] == 0 and f.burn > 0  # keeps burning with nothing to smelt


def test_output_slot_only_gives_and_breaking_the_furnace_returns_its_contents():
    d = open_block("furnace", {"sand": 2, "coal": 1, "stone_pickaxe": 1})
    f = d.sim.screens.furnace
    d.click("inventory", 1, sneak=True)
    d.click("inventory", 2, sneak=True)
    d.wait(401)
    assert f.count[2] == 2
    d.click("output", button="use")  # right click: half
    assert d.held == ("glass", 1)
    d.click("output")  # same item on the cursor: all of it fits
    assert d.held == ("glass", 2) and f.count[2] == 0 and d.info["obtained"]["glass"] == 2
    d.click("output")  # putting into the output is not allowed
    assert d.held == ("glass", 2)
    d.click("fuel")  # glass is no fuel
    assert f.count[1] == 0 and d.held == ("glass", 2)
    d.click("input")
    d.press("ESC")
    rules = d.sim.rules
    x, y, z = d.sim.player.target
    assert d.sim.world.blocks[x, y, z] == rules.block_id("furnace")
    d.press("hotbar.4")
    info = d.press("attack", 60)
    assert d.sim.world.blocks[x, y, z] == 0 and not d.sim.screens.furnaces
    assert info["inventory"]["glass"] == 2 and info["inventory"]["furnace"] == 1


# -- rendering ----------------------------------------------------------------------------------

def test_screen_is_drawn_with_items_hover_and_the_cursor_stack():
    d = make({"oak_log": 4}, resolution=(640, 360))
    world = d.sim.render().copy()
    d.press("inventory")
    d.move_to(100, 100)
    plain = d.sim.render().copy()
    assert not np.array_equal(plain, world)
    panel = plain[97:263, 232:408]
    assert (panel == 198).all(axis=2).mean() > 0.3  # Minecraft's grey panel, centred
    log_icon = panel[142:158, 8:24]
    assert not (log_icon == 139).all(axis=2).all()  # the hotbar's first slot shows the log
    d.move_to(*slot_center("inventory", "inventory", 9))
    hovered = d.sim.render()[97 + 84:97 + 100, 232 + 8:232 + 24]
    assert hovered.mean() > plain[97 + 84:97 + 100, 232 + 8:232 + 24].mean() + 30  # highlight
    d.click("inventory", 0)
    d.move_to(400, 300)
    frame = d.sim.render()
    assert not np.array_equal(frame[142:158, 192:208], plain[142:158, 192:208])  # the logs at the cursor
    for res in ((128, 128), (64, 36)):
        e = make({"oak_log": 4}, resolution=res)
        e.press("inventory")
        assert e.sim.render().shape == (res[1], res[0], 3)


def test_gui_frames_cost_no_more_than_world_frames():
    env = SimEnv(resolution=(128, 128), world={"size": (64, 64), "height": 48, "start_inventory": {"oak_log": 4}})
    env.reset(seed=1)
    rng = np.random.default_rng(0)

    def timed(n: int, **keys) -> float:
        times = []
        for _ in range(n):
            a = {"camera": rng.normal(0, 5, 2).astype(np.float32), **keys}
            t = time.perf_counter()
            env.step(a)
            times.append(time.perf_counter() - t)
        return float(np.median(times))

    timed(20)
    world = timed(100)
    env.step({"inventory": 1})
    timed(20)
    gui = timed(100)
    assert env.gui == "inventory"
    assert gui <= world


# -- the chain ----------------------------------------------------------------------------------

def test_diamond_pickaxe_chain_through_the_screens_with_rewards():
    """log → planks → sticks → crafting table → wooden pickaxe → cobblestone → stone pickaxe →
    furnace → iron ingot → iron pickaxe → diamond pickaxe, by cursor moves and clicks only."""
    start = {"oak_log": 3, "cobblestone": 11, "iron_ore": 3, "coal": 1, "diamond": 3}
    env = gymnasium.make("vpt/ObtainDiamondPickaxe-v0", resolution=(64, 36), world={**FLAT, "start_inventory": start})
    _, info = env.reset(seed=0)
    d = Driver(env, info)
    total = 0.0

    def check(item: str, units: int, reward: float) -> None:
        nonlocal total
        got = sum(d.rewards) - total
        assert got == pytest.approx(reward), (item, got)
        total += got
        assert d.info["obtained"][item] == units, item
        assert item in d.info["items_obtained"]

    # hotbar: 0 logs, 1 cobblestone, 2 iron ore, 3 coal, 4 diamonds
    d.press("inventory")
    d.click("inventory", 0, "use")  # 2 of 3 logs on the cursor
    d.click("grid", 2)
    d.click("result")  # planks, crafted once onto the cursor
    assert d.held == ("oak_planks", 4)
    check("oak_planks", 4, 4 / 20)
    d.click("inventory", 5)
    d.click("result", sneak=True)  # the second log: craft all into the inventory
    check("oak_planks", 8, 4 / 20)
    assert d.slot(5) == ("oak_planks", 8)
    # sticks: 2 planks over 2 planks, crafted twice
    d.click("inventory", 5)
    for cell in (0, 0, 2, 2):
        d.click("grid", cell, "use")
    d.click("inventory", 5)
    d.click("result", sneak=True)
    check("stick", 8, 8 / 16)
    # crafting table from the last 4 planks
    d.click("inventory", 5)
    for cell in range(4):
        d.click("grid", cell, "use")
    assert d.held == (None, 0)
    d.click("result")
    check("crafting_table", 1, 1.0)
    d.click("inventory", 6)
    d.click("inventory", 0)  # the last log to planks
    d.click("grid", 0)
    d.click("result", sneak=True)
    check("oak_planks", 12, 4 / 20)
    d.press("ESC")
    assert d.info["gui"] == ""
    # place the table and open it
    d.press("hotbar.7")
    d.turn_to(0.0, 45.0)
    d.press("use")
    info = d.press("use")
    assert info["gui"] == "crafting_table"
    # hotbar now: 1 cobblestone, 2 iron ore, 3 coal, 4 diamonds, 7 planks, 8 sticks

    def pickaxe(material_slot: int, item: str, dest: int) -> None:
        d.click("inventory", material_slot)
        for cell in (0, 1, 2):
            d.click("grid", cell, "use")
        d.click("inventory", material_slot)
        d.click("inventory", 8)  # sticks
        d.click("grid", 4, "use")
        d.click("grid", 7, "use")
        d.click("inventory", 8)
        assert [g is not None for g in d.grid()] == [True, True, True, False, True, False, False, True, False]
        d.click("result")
        assert d.held == (item, 1) and all(g is None for g in d.grid())
        d.click("inventory", dest)

    pickaxe(7, "wooden_pickaxe", 5)
    check("wooden_pickaxe", 1, 1.0)
    d.press("ESC")
    # cobblestone with the wooden pickaxe: place one to the east and mine it back
    d.press("hotbar.2")
    d.turn_to(-90.0, 45.0)
    d.press("use")
    assert d.info["inventory"]["cobblestone"] == 10
    d.press("hotbar.6")
    assert d.info["equipped"] == "wooden_pickaxe"
    d.press("attack", 40)
    check("cobblestone", 1, 1 / 11)
    d.turn_to(0.0, 45.0)
    d.press("use")
    assert d.info["gui"] == "crafting_table"
    pickaxe(1, "stone_pickaxe", 0)
    check("stone_pickaxe", 1, 1.0)
    # furnace: 8 cobblestone around the grid
    d.click("inventory", 1)
    assert d.held == ("cobblestone", 8)
    for cell in (0, 1, 2, 3, 5, 6, 7, 8):
        d.click("grid", cell, "use")
    assert d.held == (None, 0)
    d.click("result")
    check("furnace", 1, 1.0)
    d.click("inventory", 1)
    d.press("ESC")
    # place the furnace to the east, smelt the iron ore with coal
    d.press("hotbar.2")
    d.turn_to(-90.0, 45.0)
    d.press("use")
    info = d.press("use")
    assert info["gui"] == "furnace"
    d.click("inventory", 2, sneak=True)  # iron ore into the input
    d.click("inventory", 3)
    d.click("fuel")  # coal onto the fuel slot
    assert d.held == (None, 0)
    d.press("ESC")
    info = d.wait(600)  # it smelts with the screen closed
    assert info["obtained"]["iron_ingot"] == 0
    d.press("use")
    assert d.info["gui"] == "furnace"
    d.click("output")
    assert d.held == ("iron_ingot", 3)
    check("iron_ingot", 3, 4.0)
    d.click("inventory", 2)
    d.press("ESC")
    d.turn_to(0.0, 45.0)
    d.press("use")
    assert d.info["gui"] == "crafting_table"
    pickaxe(2, "iron_pickaxe", 3)
    check("iron_pickaxe", 1, 4.0)
    pickaxe(4, "diamond_pickaxe", 6)
    check("diamond_pickaxe", 1, 8.0)
    info = d.press("ESC")
    assert info["items_obtained"] == ["oak_planks", "stick", "crafting_table", "wooden_pickaxe", "cobblestone",
                                      "stone_pickaxe", "furnace", "iron_ingot", "iron_pickaxe", "diamond_pickaxe"]
    assert info["inventory"]["diamond_pickaxe"] == 1 and info["inventory"]["iron_pickaxe"] == 1
    assert sum(d.rewards) == pytest.approx(0.6 + 0.5 + 1 + 1 + 1 / 11 + 1 + 1 + 4 + 4 + 8)


@pytest.mark.parametrize("gui_scale", [1, 2])
def test_screen_open_tells_screens_from_the_world_by_pixels_alone(gui_scale):
    """``vpt.data.screen_open`` (BC's GUI flag for IDM-labelled footage) on 128 × 128 frames:
    a look around a world with trees, stone and sky, the inventory, a crafting table's screen."""
    from vpt.data import screen_open

    world = {"size": (32, 32), "height": 32, "tree_density": 0.1, "caves": 0.5, "gui_scale": gui_scale,
             "start_inventory": {"crafting_table": 1}}
    env = SimEnv(resolution=(128, 128), world=world)
    obs, info = env.reset(seed=1)
    frames, shown = [obs["pov"]], [info["gui"]]

    def act(**action) -> None:
        obs, _, _, _, info = env.step(action)
        frames.append(obs["pov"])
        shown.append(info["gui"])

    rng = np.random.default_rng(0)
    for pitch in (-80.0, -30.0, 0.0, 30.0, 80.0):  # sky to ground, all the way round
        act(camera=np.array([pitch - env.player.pitch, 0.0], np.float32))
        for _ in range(12):
            act(camera=np.array([rng.normal(0, 2), 30.0], np.float32), forward=int(rng.random() < 0.5))
    act(inventory=1)
    for _ in range(4):
        act(camera=rng.normal(0, 5, 2).astype(np.float32))  # the cursor wanders over the panel
    act(inventory=1)
    act(camera=np.array([45.0 - env.player.pitch, 0.0], np.float32))
    for _ in range(2):  # place the table, then open it
        act(use=1)
        act()
    for _ in range(3):
        act(camera=rng.normal(0, 5, 2).astype(np.float32))
    truth = np.array([bool(s) for s in shown])
    assert {"inventory", "crafting_table"} <= set(shown) and truth.sum() >= 8 and (~truth).sum() >= 60
    np.testing.assert_array_equal(screen_open(np.stack(frames)), truth)
