"""GUI screens of the embedded simulator: slot layouts, hit-testing, click semantics, crafting
and smelting — the mouse interface humans use in Minecraft.

**Coordinates.** The cursor lives in the 1280×720 window (MineRL's ``mouse.x``/``mouse.y``).
Screens are laid out like Minecraft's at GUI scale 1 on 640×360, i.e. every GUI pixel is
:data:`GUI_SCALE` = 2 window pixels (``2 * gui_scale`` at a larger ``gui_scale``, the world option
of that name): a screen is 176×166 GUI px, centred; a slot's 16-px icon has
its top-left corner at the layout's (x, y) inside the screen, and a click hits the slot within
one GUI pixel of the icon (Minecraft's 18×18 hover box). :func:`slot_center` gives a slot's
centre in window pixels, :func:`slot_at` the slot under a window position.

**Slots** are named by ``(kind, index)``: ``("result", 0)``; ``("grid", i)`` with ``i = row * n
+ col`` on the ``n``×``n`` crafting grid (2 on the inventory screen, 3 on the crafting table);
``("inventory", i)`` with the player's :class:`~vpt.env.sim.player.Inventory` index (0–8 hotbar,
9–35 main, 36 off hand, on the inventory screen only); ``("input", 0)``, ``("fuel", 0)``,
``("output", 0)`` on the furnace.

**Clicks** (:meth:`Screens.click`, Minecraft 1.16's ``Container.slotClick``; the env presses and
releases buttons through :meth:`Screens.press`, :meth:`Screens.drag` and :meth:`Screens.release`):

* left click: take the slot's stack onto the cursor / put the cursor stack down / merge it into
  a stack of the same item (as much as fits) / swap it with a different item;
* right click: take half (rounded up) / put one item / swap;
* a slot that only gives (result, furnace output) is taken whole when the cursor is empty or
  holds the same item with room for all of it;
* on the crafting result, either click crafts once (the result goes onto the cursor);
* sneak + click (either button) is a quick move: inventory screen — grid to the inventory,
  main inventory to the hotbar and back; crafting table — inventory into the grid first, else
  main ↔ hotbar, grid to the inventory; furnace — smeltable items to the input, fuel to the fuel
  slot, else main ↔ hotbar, furnace slots to the inventory. On the result slot it crafts as many
  times as the grid allows and the inventory has room for (results fill the hotbar from its
  right end, then the main inventory from its end, like Minecraft);
* with a stack on the cursor the click acts when the button is released, as in Minecraft: held
  down and dragged over several slots (empty or holding the same item), the left button
  spreads the stack evenly over them and the right button puts one item into each; what is
  left stays on the cursor;
* a double click (a second left press on the same slot within :data:`DOUBLE_CLICK_TICKS`) with
  a stack on the cursor, on a slot that is now empty, collects that item from the other slots
  onto the cursor, up to a full stack (not-full stacks first, like Minecraft);
* a click outside the screen drops the cursor stack (left) or one item of it (right);
* with the cursor empty, a hotbar key (``hotbar.1``–``hotbar.9``) swaps the hovered slot with
  that hotbar slot (over the crafting result: crafts once into it if it is empty), and ``drop``
  throws away one item of the hovered slot (with ``sprint``, i.e. Ctrl+Q: the stack; over the
  result: crafts once and throws the result away).

Items reach :attr:`Inventory.obtained` (the task reward's ``info["obtained"]``) when they are
taken from the crafting result or the furnace output, like Minecraft's crafted/smelted stats.
Dropped items vanish (the simulator has no item entities) and are counted in
:attr:`Screens.dropped`.

**Crafting** matches the grid against ``rules.yaml``'s recipes in file order: a shaped pattern
anywhere in the grid, or its left-right mirror (Minecraft mirrors every shaped recipe); a
shapeless recipe in any arrangement; item tags (``#planks``) match any of their items. A 3-wide
or 3-tall pattern, or more than 4 ingredients, needs the crafting table's 3×3 grid.

**Smelting** follows Minecraft 1.16's furnace tick: fuel (``fuel:`` burn ticks) is lit when the
input can be smelted, one item cooks in its rule's ticks (200) while the furnace burns, cooking
progress falls back by 2 per tick when the fire is out, and the output stacks up. Every furnace
placed in the world keeps its own state and ticks every step, screen open or not.

**Closing** a screen puts the grid and the cursor stack back into the inventory (DEVIATION:
Minecraft drops the cursor stack at the player's feet, where it is usually picked up again);
what does not fit is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vpt.env.sim.player import HOTBAR, MAIN_END, OFFHAND, Inventory
from vpt.env.sim.rules import Recipe, Rules

__all__ = [
    "GUI_SCALE", "MAX_GUI_SCALE", "check_gui_scale", "WINDOW", "SCREEN_SIZE", "SCREEN_ORIGIN", "screen_origin", "SCREENS", "LEFT", "RIGHT", "DOUBLE_CLICK_TICKS", "Slot", "LAYOUTS",
    "slot_center", "slot_at", "slot_index", "inside_screen", "match_recipe", "Furnace", "ScreenView",
    "Screens",
]  # fmt: skip

#: Window pixels per GUI pixel at GUI scale 1 (the 1280×720 window is 640×360 at GUI scale 1,
#: doubled); ``GUI_SCALE * gui_scale`` at a larger scale.
GUI_SCALE = 2
#: The largest GUI scale whose screens fit the window (360 / 2 = 180 GUI px high at scale 2).
MAX_GUI_SCALE = 2
#: The cursor's window, pixels.
WINDOW = (1280, 720)
#: Screen size in GUI pixels (every screen's background is Minecraft's 176×166).
SCREEN_SIZE = (176, 166)


def check_gui_scale(gui_scale: int) -> int:
    """``gui_scale`` as an int; raises ``ValueError`` outside 1 to :data:`MAX_GUI_SCALE`."""
    if not 1 <= gui_scale <= MAX_GUI_SCALE:
        raise ValueError(f"gui_scale must be 1 to {MAX_GUI_SCALE}, got {gui_scale}")
    return int(gui_scale)


def screen_origin(gui_scale: int = 1) -> tuple[int, int]:
    """Top-left corner of the centred screen in GUI pixels: (232, 97) at GUI scale 1."""
    px = GUI_SCALE * gui_scale
    return (WINDOW[0] // px - SCREEN_SIZE[0]) // 2, (WINDOW[1] // px - SCREEN_SIZE[1]) // 2


#: :func:`screen_origin` at GUI scale 1.
SCREEN_ORIGIN = screen_origin(1)
#: The screens and the size of their crafting grid (0 = none).
SCREENS: dict[str, int] = {"inventory": 2, "crafting_table": 3, "furnace": 0}
#: Mouse buttons for :meth:`Screens.click`: attack = left, use = right.
LEFT, RIGHT = 0, 1
#: Presses on the same slot at most this many ticks apart are a double click (Minecraft: 250 ms).
DOUBLE_CLICK_TICKS = 5

RESULT, GRID, INVENTORY, INPUT, FUEL, OUTPUT = "result", "grid", "inventory", "input", "fuel", "output"
_FURNACE_SLOT = {INPUT: 0, FUEL: 1, OUTPUT: 2}


@dataclass(frozen=True)
class Slot:
    """One slot of a screen: ``kind`` and ``index`` name it (see the module docstring); ``x``,
    ``y`` are its icon's top-left corner in GUI pixels inside the screen."""

    kind: str
    index: int
    x: int
    y: int


def _player_slots() -> tuple[Slot, ...]:
    main = tuple(Slot(INVENTORY, HOTBAR + 9 * r + c, 8 + 18 * c, 84 + 18 * r) for r in range(3) for c in range(9))
    return main + tuple(Slot(INVENTORY, c, 8 + 18 * c, 142) for c in range(HOTBAR))


def _grid(n: int, x: int, y: int) -> tuple[Slot, ...]:
    return tuple(Slot(GRID, r * n + c, x + 18 * c, y + 18 * r) for r in range(n) for c in range(n))


#: Slot layouts per screen (Minecraft 1.16's positions; armor slots are left out).
LAYOUTS: dict[str, tuple[Slot, ...]] = {
    "inventory": (Slot(RESULT, 0, 154, 28), *_grid(2, 98, 18), *_player_slots(), Slot(INVENTORY, OFFHAND, 77, 62)),
    "crafting_table": (Slot(RESULT, 0, 124, 35), *_grid(3, 30, 17), *_player_slots()),
    "furnace": (Slot(INPUT, 0, 56, 17), Slot(FUEL, 0, 56, 53), Slot(OUTPUT, 0, 116, 35), *_player_slots()),
}
_XY = {s: np.array([[sl.x, sl.y] for sl in slots], np.float64) for s, slots in LAYOUTS.items()}
_INDEX = {s: {(sl.kind, sl.index): i for i, sl in enumerate(slots)} for s, slots in LAYOUTS.items()}


def _view_slot(s: Slot) -> int:
    # position of a slot in the table Screens.view gathers from
    if s.kind == INVENTORY:
        return s.index
    if s.kind == GRID:
        return 37 + s.index
    return 46 if s.kind == RESULT else 46 + _FURNACE_SLOT[s.kind]


_VIEW_INDEX = {s: np.array([_view_slot(sl) for sl in slots], np.intp) for s, slots in LAYOUTS.items()}


def slot_index(screen: str, kind: str, index: int = 0) -> int:
    """Position of slot ``(kind, index)`` in ``LAYOUTS[screen]``; raises ``KeyError``."""
    try:
        return _INDEX[screen][(kind, index)]
    except KeyError:
        raise KeyError(f"screen {screen!r} has no slot ({kind!r}, {index})") from None


def slot_center(screen: str, kind: str, index: int = 0, *, gui_scale: int = 1) -> tuple[float, float]:
    """Centre of a slot's icon in window pixels (where a scripted player should click)."""
    s = LAYOUTS[screen][slot_index(screen, kind, index)]
    (ox, oy), px = screen_origin(gui_scale), GUI_SCALE * gui_scale
    return float((ox + s.x + 8) * px), float((oy + s.y + 8) * px)


def _gui_xy(x: float, y: float, gui_scale: int) -> tuple[float, float]:
    (ox, oy), px = screen_origin(gui_scale), GUI_SCALE * gui_scale
    return x / px - ox, y / px - oy


def slot_at(screen: str, x: float, y: float, *, gui_scale: int = 1) -> int:
    """Position in ``LAYOUTS[screen]`` of the slot under the window position (x, y), or -1."""
    gx, gy = _gui_xy(x, y, gui_scale)
    xy = _XY[screen]
    hit = np.nonzero((gx >= xy[:, 0] - 1) & (gx < xy[:, 0] + 17) & (gy >= xy[:, 1] - 1) & (gy < xy[:, 1] + 17))[0]
    return int(hit[0]) if len(hit) else -1


def inside_screen(x: float, y: float, *, gui_scale: int = 1) -> bool:
    """True when the window position (x, y) is on the screen's background."""
    gx, gy = _gui_xy(x, y, gui_scale)
    return 0 <= gx < SCREEN_SIZE[0] and 0 <= gy < SCREEN_SIZE[1]


# ------------------------------------------------------------------------------------------
# recipes


def _trim(pattern: tuple[tuple[frozenset[int] | None, ...], ...]) -> tuple[tuple[frozenset[int] | None, ...], ...]:
    rows = [i for i, r in enumerate(pattern) if any(c is not None for c in r)]
    cols = [j for j in range(len(pattern[0])) if any(r[j] is not None for r in pattern)]
    return tuple(tuple(pattern[i][j] for j in range(cols[0], cols[-1] + 1)) for i in range(rows[0], rows[-1] + 1))


def _fits(cells: list[list[int]], pattern) -> bool:
    return all((p is None and c < 0) or (p is not None and c in p) for crow, prow in zip(cells, pattern)
               for c, p in zip(crow, prow))


def _assign(items: list[int], ingredients: tuple[frozenset[int], ...], used: list[bool]) -> bool:
    """Backtracking match of every item to a distinct ingredient set."""
    if not items:
        return True
    first, rest = items[0], items[1:]
    for k, ing in enumerate(ingredients):
        if not used[k] and first in ing:
            used[k] = True
            if _assign(rest, ingredients, used):
                return True
            used[k] = False
    return False


def match_recipe(recipes: list[Recipe], grid: np.ndarray) -> Recipe | None:
    """The first recipe the square item grid (int [n, n], -1 empty) makes, or None."""
    filled = np.argwhere(grid >= 0)
    if len(filled) == 0:
        return None
    (r0, c0), (r1, c1) = filled.min(0), filled.max(0)
    cells = grid[r0:r1 + 1, c0:c1 + 1].tolist()
    h, w = len(cells), len(cells[0])
    items = [int(i) for i in grid.ravel() if i >= 0]
    for recipe in recipes:
        if recipe.pattern is not None:
            pattern = _trim(recipe.pattern)
            if len(pattern) != h or len(pattern[0]) != w:
                continue
            if _fits(cells, pattern) or _fits(cells, [row[::-1] for row in pattern]):
                return recipe
        elif recipe.ingredients is not None and len(recipe.ingredients) == len(items):
            if _assign(items, recipe.ingredients, [False] * len(items)):
                return recipe
    return None


# ------------------------------------------------------------------------------------------
# furnaces


@dataclass
class Furnace:
    """One furnace's contents (slots 0 input, 1 fuel, 2 output) and fire.

    Attributes:
        burn: ticks of fire left; ``burn_total`` the burn time of the fuel item lit last.
        cook: ticks the current input item has cooked; ``cook_total`` the ticks it needs.
    """

    item: np.ndarray = field(default_factory=lambda: np.full(3, -1, np.int32))
    count: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int32))
    damage: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int32))
    burn: int = 0
    burn_total: int = 0
    cook: int = 0
    cook_total: int = 200
    cooking: int = -1  # the input item ``cook`` belongs to

    def _can_smelt(self, rules: Rules) -> bool:
        if self.count[0] <= 0 or int(self.item[0]) not in rules.smelting:
            return False
        out = rules.smelting[int(self.item[0])].output
        return self.count[2] == 0 or (self.item[2] == out and self.count[2] < rules.stack[out])

    def tick(self, rules: Rules) -> None:
        """One game tick (Minecraft 1.16's ``AbstractFurnaceTileEntity.tick``)."""
        if self.item[0] != self.cooking:  # a new input item starts from zero
            self.cooking = int(self.item[0])
            self.cook = 0
            if self.cooking in rules.smelting:
                self.cook_total = rules.smelting[self.cooking].ticks
        burning = self.burn > 0
        if burning:
            self.burn -= 1
        if self.burn > 0 or (self.count[0] > 0 and self.count[1] > 0):
            can = self._can_smelt(rules)
            if self.burn == 0 and can:
                fuel = int(self.item[1])
                self.burn = self.burn_total = rules.fuel.get(fuel, 0) if self.count[1] > 0 else 0
                if self.burn > 0:
                    self.count[1] -= 1
                    if self.count[1] == 0:
                        self.item[1] = -1
            if self.burn > 0 and can:
                self.cook += 1
                if self.cook >= self.cook_total:
                    self.cook = 0
                    out = rules.smelting[int(self.item[0])].output
                    self.item[2] = out
                    self.count[2] += 1
                    self.count[0] -= 1
                    if self.count[0] == 0:
                        self.item[0] = -1
            else:
                self.cook = 0
        elif self.cook > 0:
            self.cook = max(0, self.cook - 2)

    @property
    def idle(self) -> bool:
        """Nothing would change this tick."""
        return self.burn == 0 and self.cook == 0 and (self.count[0] == 0 or self.count[1] == 0)


# ------------------------------------------------------------------------------------------
# the screens


@dataclass(frozen=True)
class ScreenView:
    """What the renderer draws of an open screen: per slot of ``LAYOUTS[screen]`` the item (-1
    empty) and count, the hovered slot (-1 none), the furnace's progress arrow (0–24 px) and
    flame (0–14 px), and the stack on the cursor."""

    screen: str
    items: np.ndarray
    counts: np.ndarray
    hovered: int
    arrow: int
    flame: int
    held_item: int
    held_count: int


class Screens:
    """The player's GUI: which screen is open, its crafting grid, the stack on the cursor, and
    every furnace in the world.

    Args:
        rules: the game rules (recipes, smelting, fuel, stack sizes).
        inventory: the player's inventory, which the screens show and change.
        gui_scale: the GUI scale (1 to :data:`MAX_GUI_SCALE`) slots are hit-tested at.
    """

    def __init__(self, rules: Rules, inventory: Inventory, gui_scale: int = 1) -> None:
        self.rules = rules
        self.inventory = inventory
        self.gui_scale = check_gui_scale(gui_scale)
        #: The open screen's name, ``""`` when none is open.
        self.screen = ""
        self.grid_item = np.full(9, -1, np.int32)
        self.grid_count = np.zeros(9, np.int32)
        self.grid_damage = np.zeros(9, np.int32)
        #: The stack on the cursor: item (-1 none), count, damage.
        self.held = [-1, 0, 0]
        #: The crafting result of the grid: (recipe or None).
        self.recipe: Recipe | None = None
        #: Furnace state by block position.
        self.furnaces: dict[tuple[int, int, int], Furnace] = {}
        self.furnace: Furnace | None = None
        #: Units of each item dropped (lost) by clicks outside the screen or a full inventory.
        self.dropped = np.zeros(rules.num_items, np.int64)
        self._selected = 0
        self._drag: tuple[int, list[int]] | None = None  # button, slots dragged over
        self._ticks = 0
        self._last_press = (-DOUBLE_CLICK_TICKS - 1, -1, -1)  # tick, slot, button

    # -- open / close / tick ---------------------------------------------------------------
    def open(self, screen: str, block: tuple[int, int, int] | None = None, selected: int = 0) -> None:
        """Open ``screen``; a furnace screen shows the furnace at ``block``. ``selected`` is the
        hotbar slot (items returned on close go there first, like a pickup)."""
        if screen not in SCREENS:
            raise ValueError(f"unknown screen {screen!r}; known: {', '.join(SCREENS)}")
        if screen == "furnace":
            if block is None:
                raise ValueError("the furnace screen needs the furnace's block position")
            self.furnace = self.furnaces.setdefault(tuple(int(v) for v in block), Furnace())
        self.screen = screen
        self._selected = selected
        self._update_result()

    def close(self) -> None:
        """Close the screen: grid items and the cursor stack go back into the inventory."""
        for i in range(9):
            if self.grid_count[i] > 0:
                self._give(int(self.grid_item[i]), int(self.grid_count[i]), int(self.grid_damage[i]))
        self.grid_item[:], self.grid_count[:], self.grid_damage[:] = -1, 0, 0
        if self.held[1] > 0:
            self._give(*self.held)
        self.held = [-1, 0, 0]
        self.recipe = None
        self.screen = ""
        self.furnace = None
        self._drag = None

    def tick(self) -> None:
        """Advance every furnace by one game tick."""
        self._ticks += 1
        for f in self.furnaces.values():
            if not f.idle:
                f.tick(self.rules)

    def block_broken(self, block: tuple[int, int, int]) -> None:
        """A block was broken: a furnace there gives its contents to the player (its output
        counts as obtained) and is forgotten."""
        f = self.furnaces.pop(tuple(int(v) for v in block), None)
        if f is None:
            return
        for k in range(3):
            if f.count[k] > 0:
                if k == 2:
                    self.inventory.obtained[int(f.item[k])] += int(f.count[k])
                self._give(int(f.item[k]), int(f.count[k]), int(f.damage[k]))

    # -- queries ---------------------------------------------------------------------------
    @property
    def result(self) -> tuple[int, int]:
        """(item, count) the crafting grid makes, (-1, 0) for none."""
        return (self.recipe.output, self.recipe.count) if self.recipe is not None else (-1, 0)

    def view(self, cursor: tuple[float, float]) -> ScreenView:
        """The open screen's contents for the renderer, with the slot under ``cursor``."""
        inv, f = self.inventory, self.furnace
        # all slots in one table: 0-36 inventory, 37-45 grid, 46 result or input, 47 fuel, 48 output
        items, counts = np.full(49, -1, np.int32), np.zeros(49, np.int32)
        items[:37], counts[:37] = inv.item, inv.count
        items[37:46], counts[37:46] = self.grid_item, self.grid_count
        arrow = flame = 0
        if f is not None:
            items[46:49], counts[46:49] = f.item, f.count
            arrow = f.cook * 24 // max(1, f.cook_total)
            flame = f.burn * 14 // max(1, f.burn_total) if f.burn > 0 else 0
        else:
            items[46], counts[46] = self.result
        idx = _VIEW_INDEX[self.screen]
        hovered = slot_at(self.screen, *cursor, gui_scale=self.gui_scale)
        return ScreenView(self.screen, items[idx], counts[idx], hovered, arrow, flame, self.held[0], self.held[1])

    # -- clicks ----------------------------------------------------------------------------
    def click(self, x: float, y: float, button: int, quick: bool = False) -> None:
        """A mouse click at window position (x, y): ``button`` :data:`LEFT` or :data:`RIGHT`,
        ``quick`` with sneak held (see the module docstring for what each does)."""
        if not self.screen:
            return
        i = slot_at(self.screen, x, y, gui_scale=self.gui_scale)
        if i < 0:
            if not inside_screen(x, y, gui_scale=self.gui_scale) and self.held[1] > 0:
                n = self.held[1] if button == LEFT else 1
                self.dropped[self.held[0]] += n
                self._set_held(self.held[0], self.held[1] - n, self.held[2])
            return
        slot = LAYOUTS[self.screen][i]
        if slot.kind == RESULT:
            if quick:
                self._craft_all()
            else:
                self._craft_once()
        elif quick:
            self._quick_move(slot)
        else:
            self._pickup(slot, button)
        self._update_result()

    def press(self, x: float, y: float, button: int, quick: bool = False) -> None:
        """A mouse button pressed at window (x, y): a click, or with a stack on the cursor the
        start of a drag that :meth:`release` finishes."""
        if not self.screen:
            return
        i = slot_at(self.screen, x, y, gui_scale=self.gui_scale)
        double = (i, button) == self._last_press[1:] and self._ticks - self._last_press[0] <= DOUBLE_CLICK_TICKS
        self._last_press = (self._ticks, i, button)
        if quick or self.held[1] == 0 or (i >= 0 and LAYOUTS[self.screen][i].kind == RESULT):
            self.click(x, y, button, quick)
            return
        if double and button == LEFT and i >= 0:
            _, counts, _, k = self._where(LAYOUTS[self.screen][i])
            if counts[k] == 0:  # the first click took this slot's stack
                self._collect()
                return
        self._drag = (button, [])
        self.drag(x, y)

    def drag(self, x: float, y: float) -> None:
        """The cursor at window (x, y) with the pressed button held: a slot that can take the
        cursor stack joins the drag."""
        if self._drag is None:
            return
        slots = self._drag[1]
        i = slot_at(self.screen, x, y, gui_scale=self.gui_scale)
        if i < 0 or i in slots or len(slots) >= self.held[1]:
            return
        slot = LAYOUTS[self.screen][i]
        items, counts, damages, k = self._where(slot) if slot.kind != RESULT else (None, None, None, 0)
        if counts is None or not self._accepts(slot, self.held[0]):
            return
        if counts[k] == 0 or (items[k] == self.held[0] and damages[k] == self.held[2]
                              and counts[k] < self.rules.stack[self.held[0]]):
            slots.append(i)

    def release(self, x: float, y: float, button: int) -> None:
        """The pressed button released at window (x, y): a drag over one slot (or none) is a
        click there; over several it spreads the cursor stack (left: evenly; right: one each)."""
        if self._drag is None or self._drag[0] != button:
            return
        slots = self._drag[1]
        self._drag = None
        if len(slots) <= 1:
            self.click(x, y, button)
            return
        item, count, damage = self.held
        per = count // len(slots) if button == LEFT else 1
        stack = int(self.rules.stack[item])
        for i in slots:
            items, counts, damages, k = self._where(LAYOUTS[self.screen][i])
            n = min(per, stack - int(counts[k]))
            items[k], damages[k] = item, damage
            counts[k] += n
            count -= n
        self._set_held(item, count, damage)
        self._update_result()

    def _collect(self) -> None:
        """Gather the cursor's item from the screen's slots onto the cursor, up to a stack."""
        item, count, damage = self.held
        stack = int(self.rules.stack[item])
        for full_too in (False, True):
            for s in LAYOUTS[self.screen]:
                if count >= stack:
                    break
                if s.kind == RESULT:
                    continue
                items, counts, damages, k = self._where(s)
                if items[k] != item or damages[k] != damage or (counts[k] == stack and not full_too):
                    continue
                n = min(stack - count, int(counts[k]))
                counts[k] -= n
                if counts[k] == 0:
                    items[k], damages[k] = -1, 0
                count += n
                self._taken(s, item, n)
        self._set_held(item, count, damage)
        self._update_result()

    def _hovered(self, x: float, y: float) -> Slot | None:
        if not self.screen or self.held[1] > 0:  # Minecraft's key actions need an empty cursor
            return None
        i = slot_at(self.screen, x, y, gui_scale=self.gui_scale)
        return LAYOUTS[self.screen][i] if i >= 0 else None

    def swap_hotbar(self, x: float, y: float, hotbar: int) -> None:
        """A hotbar key (slot ``hotbar``, 0–8) pressed with the cursor at window (x, y)."""
        slot = self._hovered(x, y)
        if slot is None or (slot.kind == INVENTORY and slot.index == hotbar):
            return
        inv = self.inventory
        hi, hc, hd = int(inv.item[hotbar]), int(inv.count[hotbar]), int(inv.damage[hotbar])
        if slot.kind == RESULT:
            item, count = self.result
            if item >= 0 and hc == 0:
                inv.item[hotbar], inv.count[hotbar], inv.damage[hotbar] = item, count, 0
                self._consume()
            return
        items, counts, damages, k = self._where(slot)
        si, sc, sd = int(items[k]), int(counts[k]), int(damages[k])
        if hc == 0 and sc > 0:
            inv.item[hotbar], inv.count[hotbar], inv.damage[hotbar] = si, sc, sd
            items[k], counts[k], damages[k] = -1, 0, 0
            self._taken(slot, si, sc)
        elif hc > 0 and self._accepts(slot, hi):
            items[k], counts[k], damages[k] = hi, hc, hd
            inv.item[hotbar], inv.count[hotbar], inv.damage[hotbar] = (si, sc, sd) if sc > 0 else (-1, 0, 0)
        self._update_result()

    def drop(self, x: float, y: float, whole_stack: bool) -> None:
        """The drop key pressed with the cursor at window (x, y): throw away one item of the
        hovered slot, or its stack."""
        slot = self._hovered(x, y)
        if slot is None:
            return
        if slot.kind == RESULT:
            item, count = self.result
            if item >= 0:
                self._consume()
                self.dropped[item] += count
            return
        items, counts, damages, k = self._where(slot)
        if counts[k] == 0:
            return
        item = int(items[k])
        n = int(counts[k]) if whole_stack else 1
        self._taken(slot, item, n)
        self.dropped[item] += n
        counts[k] -= n
        if counts[k] == 0:
            items[k], damages[k] = -1, 0
        self._update_result()

    # slot storage: (item array, count array, damage array, index)
    def _where(self, slot: Slot) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        if slot.kind == INVENTORY:
            inv = self.inventory
            return inv.item, inv.count, inv.damage, slot.index
        if slot.kind == GRID:
            return self.grid_item, self.grid_count, self.grid_damage, slot.index
        f = self.furnace
        return f.item, f.count, f.damage, _FURNACE_SLOT[slot.kind]

    def _accepts(self, slot: Slot, item: int) -> bool:
        if slot.kind in (RESULT, OUTPUT):
            return False
        return slot.kind != FUEL or item in self.rules.fuel

    def _set_held(self, item: int, count: int, damage: int) -> None:
        self.held = [item, count, damage] if count > 0 else [-1, 0, 0]

    def _taken(self, slot: Slot, item: int, n: int) -> None:
        if slot.kind == OUTPUT:  # smelted items count when taken out
            self.inventory.obtained[item] += n

    def _pickup(self, slot: Slot, button: int) -> None:
        items, counts, damages, k = self._where(slot)
        item, count, damage = int(items[k]), int(counts[k]), int(damages[k])
        hi, hc, hd = self.held
        stack = int(self.rules.stack[hi]) if hi >= 0 else 0

        def put(it: int, n: int, d: int) -> None:
            items[k], counts[k], damages[k] = (it, n, d) if n > 0 else (-1, 0, 0)

        if hc == 0:
            if count == 0:
                return
            n = count if button == LEFT else (count + 1) // 2
            self._set_held(item, n, damage)
            put(item, count - n, damage)
            self._taken(slot, item, n)
        elif count == 0:
            if self._accepts(slot, hi):
                n = hc if button == LEFT else 1
                put(hi, n, hd)
                self._set_held(hi, hc - n, hd)
        elif item == hi and damage == hd:
            if self._accepts(slot, hi):
                n = min(hc if button == LEFT else 1, stack - count)
                put(hi, count + n, hd)
                self._set_held(hi, hc - n, hd)
            elif hc + count <= stack:  # an output slot: take all of it if it fits
                self._set_held(hi, hc + count, hd)
                put(item, 0, 0)
                self._taken(slot, item, count)
        elif self._accepts(slot, hi):
            put(hi, hc, hd)
            self._set_held(item, count, damage)

    # quick move -------------------------------------------------------------------------
    def _inv_slots(self, kinds: str) -> list[Slot]:
        """Inventory slots of the open screen: ``main``, ``hotbar`` or ``all`` (main, hotbar)."""
        main = [s for s in LAYOUTS[self.screen] if s.kind == INVENTORY and HOTBAR <= s.index < MAIN_END]
        hotbar = [s for s in LAYOUTS[self.screen] if s.kind == INVENTORY and s.index < HOTBAR]
        return {"main": main, "hotbar": hotbar, "all": main + hotbar}[kinds]

    def _merge(self, item: int, count: int, damage: int, targets: list[Slot]) -> int:
        """Minecraft's ``mergeItemStack``: fill stacks of the same item, then the first empty
        slot that accepts it; returns how many are left."""
        stack = int(self.rules.stack[item])
        for s in targets:
            if count == 0:
                break
            items, counts, damages, k = self._where(s)
            if items[k] == item and damages[k] == damage and counts[k] < stack:
                n = min(count, stack - int(counts[k]))
                counts[k] += n
                count -= n
        for s in targets:
            if count == 0:
                break
            items, counts, damages, k = self._where(s)
            if counts[k] == 0 and self._accepts(s, item):
                n = min(count, stack)
                items[k], counts[k], damages[k] = item, n, damage
                count -= n
        return count

    def _room(self, item: int, targets: list[Slot]) -> int:
        stack = int(self.rules.stack[item])
        room = 0
        for s in targets:
            items, counts, damages, k = self._where(s)
            if counts[k] == 0:
                room += stack
            elif items[k] == item and damages[k] == 0:
                room += stack - int(counts[k])
        return room

    def _quick_targets(self, slot: Slot, item: int) -> list[list[Slot]]:
        """Where a quick move from ``slot`` tries to go, in order: the first group that takes
        anything ends the move."""
        screen, main, hotbar = self.screen, self._inv_slots("main"), self._inv_slots("hotbar")
        everything = main + hotbar
        if slot.kind != INVENTORY:
            targets = everything[::-1] if slot.kind == OUTPUT else everything
            return [targets]
        other = [hotbar] if HOTBAR <= slot.index < MAIN_END else [main]
        if slot.index == OFFHAND:
            other = [everything]
        if screen == "crafting_table":
            return [[s for s in LAYOUTS[screen] if s.kind == GRID], *other]
        if screen == "furnace":
            if item in self.rules.smelting:
                return [[LAYOUTS[screen][0]]]
            if item in self.rules.fuel:
                return [[LAYOUTS[screen][1]]]
        return other

    def _quick_move(self, slot: Slot) -> None:
        items, counts, damages, k = self._where(slot)
        if counts[k] == 0:
            return
        item, count, damage = int(items[k]), int(counts[k]), int(damages[k])
        for targets in self._quick_targets(slot, item):
            left = self._merge(item, count, damage, targets)
            if left < count:
                self._taken(slot, item, count - left)
                if left == 0:
                    items[k], counts[k], damages[k] = -1, 0, 0
                else:
                    counts[k] = left
                return

    # crafting ---------------------------------------------------------------------------
    def _update_result(self) -> None:
        n = SCREENS.get(self.screen, 0)
        self.recipe = match_recipe(self.rules.recipes, self.grid_item[:n * n].reshape(n, n)) if n else None

    def _consume(self) -> None:
        """Use one of each grid ingredient, count the output as obtained, update the result."""
        item, count = self.result
        self.inventory.obtained[item] += count
        filled = self.grid_count > 0
        self.grid_count[filled] -= 1
        empty = self.grid_count <= 0
        self.grid_item[empty], self.grid_count[empty], self.grid_damage[empty] = -1, 0, 0
        self._update_result()

    def _craft_once(self) -> None:
        item, count = self.result
        if item < 0:
            return
        hi, hc, _ = self.held
        if hc == 0:
            self.held = [item, count, 0]
        elif hi == item and hc + count <= self.rules.stack[item]:
            self.held[1] = hc + count
        else:
            return
        self._consume()

    def _craft_all(self) -> None:
        first = self.result[0]
        targets = self._inv_slots("all")[::-1]
        while self.recipe is not None and self.result[0] == first:
            item, count = self.result
            if self._room(item, targets) < count:
                break
            self._merge(item, count, 0, targets)
            self._consume()

    # -- inventory -------------------------------------------------------------------------
    def _give(self, item: int, count: int, damage: int) -> None:
        """Put a stack back into the inventory like a pickup (Minecraft's
        ``addItemStackToInventory``: same-item stacks in the selected slot, the off hand, then
        slot order; then the first empty slots); what does not fit is dropped."""
        inv = self.inventory
        stack = int(self.rules.stack[item])
        for s in (self._selected, OFFHAND, *range(MAIN_END)):
            if count == 0:
                return
            if inv.item[s] == item and inv.damage[s] == damage and inv.count[s] < stack:
                n = min(count, stack - int(inv.count[s]))
                inv.count[s] += n
                count -= n
        for s in range(MAIN_END):
            if count == 0:
                return
            if inv.item[s] < 0:
                n = min(count, stack)
                inv.item[s], inv.count[s], inv.damage[s] = item, n, damage
                count -= n
        self.dropped[item] += count
