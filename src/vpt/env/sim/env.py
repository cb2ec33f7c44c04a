"""The embedded simulator as a Gymnasium environment with MineRL 1.0's HumanSurvival interface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np

from vpt.actions import ENV_BUTTONS, env_action_space, validate_env_action
from vpt.env.sim.gui import LEFT, RIGHT, Screens, inside_screen
from vpt.env.sim.player import HOTBAR, IN_WATER, ON_GROUND, Player
from vpt.env.sim.render import Renderer
from vpt.env.sim.rules import Rules, load_rules
from vpt.env.sim.world import World, WorldOptions, generate_world

#: MineRL's mouse scaling: degrees of camera per pixel of the 1280×720 window.
CAMERA_DEG_PER_PIXEL = 360.0 / 2400.0
#: The window the cursor lives in (MineRL / contractor recordings), pixels.
WINDOW = (1280, 720)

_B = {k: i for i, k in enumerate(ENV_BUTTONS)}


class SimEnv(gymnasium.Env):
    """Minecraft-like voxel survival behind MineRL 1.0's ``HumanSurvival`` interface.

    **Actions**: MineRL's 24-key dict (:func:`vpt.actions.env_action_space`): 23 buttons (0/1)
    and ``camera`` = ``[pitch_delta, yaw_delta]`` in degrees. Convention (Minecraft's and
    MineRL's): positive pitch looks down, positive yaw turns right; pitch is clamped to ±90°.
    Missing keys mean "not pressed"; unknown keys, wrong shapes or non-0/1 buttons raise
    :class:`vpt.actions.InvalidActionError`. Held keys act every tick (movement, attack, use
    every 4 ticks, hotbar); ``inventory``, ``ESC``, ``drop``, ``swapHands`` and ``pickItem`` act
    when pressed (0 → 1), like key presses in the game. ``drop`` with ``sprint`` (Ctrl+Q) drops the
    whole stack.

    **Screens** (:mod:`vpt.env.sim.gui`): ``inventory`` opens the player's inventory screen;
    ``inventory`` or ``ESC`` closes any screen, and ``use`` on a crafting table or furnace opens
    its screen. While a screen is open, ``camera`` moves the mouse cursor (MineRL's 0.15° per
    pixel of the 1280×720 window) instead of the view, then ``attack`` is the left and ``use``
    the right mouse button at the cursor (a click on the press, 0 → 1; with a stack on the
    cursor on the release, after a drag over the slots passed while held), with ``sneak`` held
    a quick move;
    hotbar keys swap the hovered slot with the hotbar and ``drop`` throws from it;
    movement keys (sneak included) do nothing, the world is dimmed, the screen and the cursor
    are drawn. Closing puts the crafting grid and the cursor stack back into the inventory.
    Furnaces smelt every tick, screen open or not.

    **Observation**: ``{"pov": uint8[H, W, 3]}`` RGB at ``resolution=(W, H)`` (default 640×360,
    MineRL's), rendered directly at that size.

    **info** (every step and reset): ``inventory`` (item name -> count, every item),
    ``obtained`` (item name -> units gained this episode, the start inventory not included),
    ``new_items`` (names obtained for the first time this step), ``items_obtained`` (names in
    the order first obtained this episode), ``position`` (feet x, y, z), ``yaw``, ``pitch``,
    ``health`` (0–20), ``food`` (0–20), ``selected`` (hotbar slot 0–8), ``equipped`` (held item
    name or ``"air"``), ``gui`` (open screen name or ``""``), ``gui_open``, ``cursor`` (x, y in
    1280×720 window pixels), ``cursor_on_screen`` (a screen is open and the cursor is over its
    panel), ``on_ground``, ``in_water``, ``tick``.

    One step is one game tick (1/20 s). The episode terminates when health reaches 0; it has no
    time limit of its own (pass ``max_episode_steps`` to ``gymnasium.make``). Everything is
    seeded: the same seed and actions give the same frames.

    Args:
        resolution: (width, height) of ``pov``.
        world: :class:`~vpt.env.sim.world.WorldOptions` or a dict of its fields.
        fov_range: vertical field of view in degrees, drawn uniformly at each reset (MineRL's
            kwarg; VPT uses [70, 70]).
        frameskip: accepted for VPT's ``ENV_KWARGS``; only 1 is supported.
        view_distance: blocks to the end of the distance fog.
        rules_path: a rules YAML file instead of the packaged one.
        render_mode: ``"rgb_array"`` (``render()`` returns the last ``pov``) or None.
        cursor_size: size in 640×360 pixels of the cursor drawn while a screen is open
            (MineRL's ``cursor_size_range``, 16 for VPT); 0 draws none, as in contractor
            recordings, whose cursor the data loader draws (:func:`vpt.data.draw_cursor`).
            The sprite is the loader's, so a policy sees the same cursor in both.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, resolution: tuple[int, int] = (640, 360), world: WorldOptions | Mapping | None = None,
                 fov_range: tuple[float, float] = (70.0, 70.0), frameskip: int = 1, view_distance: float = 32.0,
                 rules_path: str | None = None, render_mode: str | None = "rgb_array", cursor_size: int = 16) -> None:
        if len(resolution) != 2 or min(resolution) < 8:
            raise ValueError(f"resolution must be (width, height) with both >= 8, got {resolution}")
        if frameskip != 1:
            raise ValueError("only frameskip=1 is supported (one step = one game tick)")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        if len(fov_range) != 2 or not 1.0 <= fov_range[0] <= fov_range[1] < 180.0:
            raise ValueError(f"fov_range must be [low, high] degrees in [1, 180), got {fov_range}")
        if not 0 <= cursor_size <= 64:
            raise ValueError(f"cursor_size must be 0 (none) to 64 pixels, got {cursor_size}")
        self.width, self.height = int(resolution[0]), int(resolution[1])
        self.cursor_size = int(cursor_size)
        self.render_mode = render_mode
        self.options = WorldOptions.from_dict(world)
        self.rules: Rules = load_rules(rules_path)
        for name in self.options.start_inventory:
            self.rules.item_id(name)  # unknown names fail at construction
        self.fov_range = (float(fov_range[0]), float(fov_range[1]))
        self.view_distance = float(view_distance)
        self.action_space = env_action_space()
        self.observation_space = gymnasium.spaces.Dict(
            {"pov": gymnasium.spaces.Box(0, 255, (self.height, self.width, 3), np.uint8)})
        self._renderers: dict[float, Renderer] = {}
        self.world: World | None = None
        self.player: Player | None = None
        self._pov: np.ndarray | None = None

    # -- gymnasium API ---------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Generate a fresh world (from ``seed``, or the env's RNG stream) and spawn the player."""
        super().reset(seed=seed)
        rng = self.np_random
        self.world = generate_world(self.options, self.rules, int(rng.integers(2**31)))
        self.player = Player(self.rules, self.world, rng, self.options.start_inventory, self.options.break_speed)
        fov = float(rng.uniform(*self.fov_range)) if self.fov_range[0] < self.fov_range[1] else self.fov_range[0]
        if fov not in self._renderers:
            self._renderers[fov] = Renderer(self.rules, self.width, self.height, fov, self.view_distance, self.cursor_size,
                                            self.options.gui_scale)
        self.renderer = self._renderers[fov]
        self.screens = Screens(self.rules, self.player.inventory, self.options.gui_scale)
        self.cursor = np.array([WINDOW[0] / 2, WINDOW[1] / 2])
        self.tick = 0
        self._prev = np.zeros(len(ENV_BUTTONS), np.int8)
        self._items_obtained: list[str] = []
        self._inventory_key: tuple | None = None
        self._inventory_dicts: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self._obtained_before = self.player.inventory.obtained.copy()
        return {"pov": self._render()}, self._info([])

    def step(self, action: Mapping[str, Any]) -> tuple[dict, float, bool, bool, dict]:
        """Advance one game tick with a MineRL action dict."""
        if self.player is None:
            raise RuntimeError("call reset() before step()")
        act = validate_env_action(action)
        b = np.array([act[k] for k in ENV_BUTTONS], np.int8)
        pressed = b & ~self._prev
        released = ~b & self._prev
        self._prev = b
        cam = act["camera"]
        p = self.player
        screens = self.screens
        p.advance_swing()
        if screens.screen:
            if pressed[_B["ESC"]] or pressed[_B["inventory"]]:
                screens.close()
            else:
                self.cursor[0] = min(WINDOW[0] - 1.0, max(0.0, self.cursor[0] + float(cam[1]) / CAMERA_DEG_PER_PIXEL))
                self.cursor[1] = min(WINDOW[1] - 1.0, max(0.0, self.cursor[1] + float(cam[0]) / CAMERA_DEG_PER_PIXEL))
                x, y, quick = self.cursor[0], self.cursor[1], bool(b[_B["sneak"]])
                for key, button in (("attack", LEFT), ("use", RIGHT)):
                    if pressed[_B[key]]:
                        screens.press(x, y, button, quick)
                    elif b[_B[key]]:
                        screens.drag(x, y)
                    elif released[_B[key]]:
                        screens.release(x, y, button)
                for i in range(9):
                    if pressed[_B[f"hotbar.{i + 1}"]]:
                        screens.swap_hotbar(x, y, i)
                if pressed[_B["drop"]]:
                    screens.drop(x, y, whole_stack=bool(b[_B["sprint"]]))
            p.move(0, 0, 0, 0, False, False, False)
            p.mine(False)
            p.use(False, False)
        else:
            p.look(float(cam[0]), float(cam[1]))
            for i in range(9):
                if b[_B[f"hotbar.{i + 1}"]]:
                    p.selected = i
            p.move(b[_B["forward"]], b[_B["back"]], b[_B["left"]], b[_B["right"]], bool(b[_B["jump"]]),
                   bool(b[_B["sneak"]]), bool(b[_B["sprint"]]))
            p.update_target()
            target = p.target
            # The arm swings on every attack press and while attack is held on a block
            # (Minecraft's clickMouse / continueAttack), and on a use press at a block.
            if pressed[_B["attack"]] or (b[_B["attack"]] and target is not None) or (pressed[_B["use"]] and target is not None):
                p.swing_arm()
            if p.mine(bool(b[_B["attack"]])) is not None:
                screens.block_broken(target)
            screen = p.use(bool(b[_B["use"]]), bool(b[_B["sneak"]]))
            if pressed[_B["drop"]]:
                p.drop(whole_stack=bool(b[_B["sprint"]]))
            if pressed[_B["swapHands"]]:
                p.swap_hands()
            if pressed[_B["pickItem"]]:
                p.pick_item()
            if pressed[_B["inventory"]]:
                screen = "inventory"
            if screen:
                screens.open(screen, p.target, p.selected)
                self.cursor[:] = (WINDOW[0] / 2, WINDOW[1] / 2)
        screens.tick()
        p.survival_tick()
        self.tick += 1
        new = self._first_time()
        terminated = p.health <= 0
        return {"pov": self._render()}, 0.0, terminated, False, self._info(new)

    def render(self) -> np.ndarray | None:
        """The last ``pov`` frame (``render_mode="rgb_array"``), or None."""
        if self.render_mode != "rgb_array" or self._pov is None:
            return None
        return self._pov.copy()

    @property
    def gui(self) -> str:
        """The open screen's name, ``""`` when none is open."""
        return self.screens.screen

    # -- internals -------------------------------------------------------------------------
    def _first_time(self) -> list[str]:
        obtained = self.player.inventory.obtained
        if np.array_equal(obtained, self._obtained_before):
            return []
        fresh = np.nonzero((obtained > 0) & (self._obtained_before == 0))[0]
        self._obtained_before = obtained.copy()
        new = [self.rules.item_names[i] for i in fresh]
        self._items_obtained.extend(new)
        return new

    def _render(self) -> np.ndarray:
        p, w = self.player, self.world
        inv = p.inventory
        args = (w.cells, w.shape, w.top, p.eye, p.yaw, p.pitch, p.target, p.break_progress, inv.item[:HOTBAR],
                inv.count[:HOTBAR], p.selected, p.health, p.food, p.swing_progress)
        if self.screens.screen:
            cursor = (float(self.cursor[0]), float(self.cursor[1]))
            frame = self.renderer.render_screen(self.screens.view(cursor), cursor, *args)
        else:
            frame = self.renderer.render(*args)
        self._pov = frame.copy()
        return self._pov

    def _info(self, new_items: list[str]) -> dict[str, Any]:
        p = self.player
        names = self.rules.item_names
        held = p.held_item
        inv = p.inventory
        key = (inv.item.tobytes(), inv.count.tobytes(), inv.obtained.tobytes())
        if key != self._inventory_key:  # rebuild the item dicts only when the inventory changed
            self._inventory_key = key
            self._inventory_dicts = (dict(zip(names, inv.counts().tolist())), dict(zip(names, inv.obtained.tolist())))
        return {
            "inventory": dict(self._inventory_dicts[0]),
            "obtained": dict(self._inventory_dicts[1]),
            "new_items": new_items,
            "items_obtained": list(self._items_obtained),
            "position": np.array(p.position),
            "yaw": p.yaw,
            "pitch": p.pitch,
            "health": p.health,
            "food": p.food,
            "selected": p.selected,
            "equipped": names[held] if held >= 0 else "air",
            "gui": self.gui,
            "gui_open": bool(self.gui),
            "cursor": self.cursor.copy(),
            "cursor_on_screen": bool(self.gui) and inside_screen(*self.cursor, gui_scale=self.options.gui_scale),
            "on_ground": bool(p.state[ON_GROUND] > 0),
            "in_water": bool(p.state[IN_WATER] > 0),
            "tick": self.tick,
        }
