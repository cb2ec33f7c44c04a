"""Read the simulator's rules file (``rules.yaml``) into arrays the game code and renderer use.

Everything the game knows about blocks, items, tools, recipes and smelting comes from that one
YAML file; this module validates it and turns it into NumPy tables indexed by block id or item
id (Numba kernels read those tables directly). Block id 0 is ``air``; ids follow the file's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

#: Tool kinds, index = the code stored in ``Rules.block_tool`` / ``Rules.item_tool``.
TOOL_KINDS: tuple[str, ...] = ("none", "pickaxe", "axe", "shovel", "hoe")
#: Render kinds, index = the code stored in ``Rules.render_kind``.
RENDER_KINDS: tuple[str, ...] = ("none", "cube", "cutout", "liquid", "box")

_BLOCK_KEYS = {"hardness", "tool", "tier", "drops", "solid", "box", "render", "replaceable", "item",
               "screen", "texture"}
_ITEM_KEYS = {"stack", "tool", "tier", "speed", "durability", "food", "saturation", "icon"}


class RulesError(ValueError):
    """The rules file is inconsistent (unknown item, bad key, bad value)."""


@dataclass(frozen=True)
class Drop:
    """One possible drop of a block: ``count`` of ``item`` with probability ``chance``."""

    item: int
    count: int = 1
    chance: float = 1.0


@dataclass(frozen=True)
class Recipe:
    """A crafting recipe. ``pattern`` is a tuple of rows of ingredient sets (``None`` = empty
    cell) for shaped recipes; ``ingredients`` is a tuple of ingredient sets for shapeless ones.
    ``grid`` is the smallest crafting grid (2 or 3) that fits it."""

    output: int
    count: int
    grid: int
    pattern: tuple[tuple[frozenset[int] | None, ...], ...] | None = None
    ingredients: tuple[frozenset[int], ...] | None = None


@dataclass(frozen=True)
class Smelting:
    """A furnace recipe: ``input`` becomes ``output`` after ``ticks`` of burning."""

    input: int
    output: int
    ticks: int


@dataclass
class Rules:
    """All game data, as names and arrays indexed by block id / item id."""

    block_names: list[str]
    item_names: list[str]
    # blocks
    hardness: np.ndarray          # float64 [nb]; -1 unbreakable
    block_tool: np.ndarray        # int8 [nb], index into TOOL_KINDS
    block_tier: np.ndarray        # int8 [nb], minimum tier to drop
    solid: np.ndarray             # bool [nb]
    box: np.ndarray               # float64 [nb, 6], in blocks
    render_kind: np.ndarray       # int8 [nb], index into RENDER_KINDS
    replaceable: np.ndarray       # bool [nb]
    block_item: np.ndarray        # int32 [nb], the item of the block or -1
    block_screen: list[str | None]
    drops: list[list[Drop]]
    block_texture: list[dict[str, Any]]
    # items
    stack: np.ndarray             # int32 [ni]
    item_tool: np.ndarray         # int8 [ni]
    item_tier: np.ndarray         # int8 [ni]
    item_speed: np.ndarray        # float64 [ni]
    durability: np.ndarray        # int32 [ni], 0 = not damageable
    food: np.ndarray              # int32 [ni]
    saturation: np.ndarray        # float64 [ni]
    item_block: np.ndarray        # int32 [ni], the block it places or -1
    item_icon: list[dict[str, Any]]
    # crafting and smelting (used by the GUI screens)
    tags: dict[str, frozenset[int]]
    recipes: list[Recipe]
    smelting: dict[int, Smelting]
    fuel: dict[int, int]
    player: dict[str, float]
    tiers: dict[str, int]

    def block_id(self, name: str) -> int:
        """Block id of ``name``; raises ``KeyError`` with the known names."""
        try:
            return self._block_index[name]
        except KeyError:
            raise KeyError(f"unknown block {name!r}; known: {', '.join(self.block_names)}") from None

    def item_id(self, name: str) -> int:
        """Item id of ``name``; raises ``KeyError`` with the known names."""
        try:
            return self._item_index[name]
        except KeyError:
            raise KeyError(f"unknown item {name!r}; known: {', '.join(self.item_names)}") from None

    def __post_init__(self) -> None:
        self._block_index = {n: i for i, n in enumerate(self.block_names)}
        self._item_index = {n: i for i, n in enumerate(self.item_names)}

    @property
    def num_blocks(self) -> int:
        return len(self.block_names)

    @property
    def num_items(self) -> int:
        return len(self.item_names)


def _check_keys(kind: str, name: str, entry: dict, allowed: set[str]) -> None:
    extra = set(entry) - allowed
    if extra:
        raise RulesError(f"{kind} {name!r}: unknown keys {sorted(extra)}; allowed {sorted(allowed)}")


def parse_rules(data: dict[str, Any]) -> Rules:
    """Validate the parsed YAML document ``data`` and build the :class:`Rules` tables."""
    tiers = {str(k): int(v) for k, v in data["tiers"].items()}
    blocks: dict[str, dict] = data["blocks"]
    if next(iter(blocks)) != "air":
        raise RulesError("the first block must be 'air' (block id 0)")
    block_names = list(blocks)
    items_cfg: dict[str, dict] = data.get("items", {})
    item_names = [n for n, b in blocks.items() if b.get("item", True)]
    for n in items_cfg:
        if n in item_names:
            raise RulesError(f"item {n!r} is already declared as a block item")
    item_names += list(items_cfg)
    iidx = {n: i for i, n in enumerate(item_names)}

    def item_ref(ref: str, where: str) -> int:
        if ref not in iidx:
            raise RulesError(f"{where}: unknown item {ref!r}")
        return iidx[ref]

    def tool_code(kind: str | None, where: str) -> int:
        kind = kind or "none"
        if kind not in TOOL_KINDS:
            raise RulesError(f"{where}: unknown tool kind {kind!r}; known {TOOL_KINDS}")
        return TOOL_KINDS.index(kind)

    def tier_code(tier: str, where: str) -> int:
        if tier not in tiers:
            raise RulesError(f"{where}: unknown tier {tier!r}; known {sorted(tiers)}")
        return tiers[tier]

    nb, ni = len(block_names), len(item_names)
    hardness = np.zeros(nb)
    block_tool = np.zeros(nb, np.int8)
    block_tier = np.zeros(nb, np.int8)
    solid = np.zeros(nb, bool)
    box = np.zeros((nb, 6))
    render_kind = np.zeros(nb, np.int8)
    replaceable = np.zeros(nb, bool)
    block_item = np.full(nb, -1, np.int32)
    screens: list[str | None] = []
    drops: list[list[Drop]] = []
    textures: list[dict] = []
    item_block = np.full(ni, -1, np.int32)
    for b, (name, e) in enumerate(blocks.items()):
        e = e or {}
        _check_keys("block", name, e, _BLOCK_KEYS)
        hardness[b] = float(e.get("hardness", 0.0))
        block_tool[b] = tool_code(e.get("tool"), f"block {name!r}")
        block_tier[b] = tier_code(e.get("tier", "hand"), f"block {name!r}")
        solid[b] = bool(e.get("solid", True))
        bx = e.get("box", [0, 0, 0, 16, 16, 16])
        if len(bx) != 6:
            raise RulesError(f"block {name!r}: box needs 6 numbers")
        box[b] = np.asarray(bx, float) / 16.0
        render = e.get("render", "cube")
        if render not in RENDER_KINDS:
            raise RulesError(f"block {name!r}: unknown render {render!r}; known {RENDER_KINDS}")
        render_kind[b] = RENDER_KINDS.index(render)
        if render_kind[b] not in (0,) and "texture" not in e:
            raise RulesError(f"block {name!r}: a visible block needs a texture")
        replaceable[b] = bool(e.get("replaceable", False))
        if e.get("item", True):
            block_item[b] = iidx[name]
            item_block[iidx[name]] = b
        screens.append(e.get("screen"))
        textures.append(e.get("texture", {}))
        if "drops" in e:
            ds = []
            for d in e["drops"]:
                ds.append(Drop(item_ref(d["item"], f"block {name!r} drops"), int(d.get("count", 1)),
                               float(d.get("chance", 1.0))))
            drops.append(ds)
        else:
            drops.append([Drop(int(block_item[b]))] if block_item[b] >= 0 else [])

    stack = np.full(ni, 64, np.int32)
    item_tool = np.zeros(ni, np.int8)
    item_tier = np.zeros(ni, np.int8)
    item_speed = np.ones(ni)
    durability = np.zeros(ni, np.int32)
    food = np.zeros(ni, np.int32)
    saturation = np.zeros(ni)
    icons: list[dict] = []
    for i, name in enumerate(item_names):
        e = items_cfg.get(name)
        if e is None:  # a block item
            icons.append({"shape": "block", "block": int(item_block[i])})
            continue
        _check_keys("item", name, e, _ITEM_KEYS)
        stack[i] = int(e.get("stack", 64))
        item_tool[i] = tool_code(e.get("tool"), f"item {name!r}")
        item_tier[i] = tier_code(e.get("tier", "hand"), f"item {name!r}")
        item_speed[i] = float(e.get("speed", 1.0))
        durability[i] = int(e.get("durability", 0))
        food[i] = int(e.get("food", 0))
        saturation[i] = float(e.get("saturation", 0.0))
        if "icon" not in e:
            raise RulesError(f"item {name!r}: needs an icon")
        icons.append(dict(e["icon"]))

    tags = {t: frozenset(item_ref(n, f"tag {t!r}") for n in names) for t, names in data.get("tags", {}).items()}

    def ingredient(ref: str, where: str) -> frozenset[int]:
        if ref.startswith("#"):
            if ref[1:] not in tags:
                raise RulesError(f"{where}: unknown tag {ref!r}")
            return tags[ref[1:]]
        return frozenset({item_ref(ref, where)})

    recipes: list[Recipe] = []
    for k, r in enumerate(data.get("recipes", [])):
        where = f"recipe {k} ({r.get('output')})"
        out = item_ref(r["output"], where)
        count = int(r.get("count", 1))
        if "pattern" in r:
            rows = [str(row) for row in r["pattern"]]
            key = {str(c): ingredient(v, where) for c, v in r["key"].items()}
            width = max(len(row) for row in rows)
            pattern = []
            for row in rows:
                cells = []
                for c in row.ljust(width):
                    if c == " ":
                        cells.append(None)
                    elif c in key:
                        cells.append(key[c])
                    else:
                        raise RulesError(f"{where}: pattern symbol {c!r} not in key")
                pattern.append(tuple(cells))
            grid = 2 if len(rows) <= 2 and width <= 2 else 3
            if len(rows) > 3 or width > 3:
                raise RulesError(f"{where}: patterns are at most 3x3")
            recipes.append(Recipe(out, count, grid, pattern=tuple(pattern)))
        elif "shapeless" in r:
            ings = tuple(ingredient(v, where) for v in r["shapeless"])
            recipes.append(Recipe(out, count, 2 if len(ings) <= 4 else 3, ingredients=ings))
        else:
            raise RulesError(f"{where}: needs `pattern` + `key` or `shapeless`")

    smelting = {}
    for s in data.get("smelting", []):
        inp = item_ref(s["input"], "smelting")
        smelting[inp] = Smelting(inp, item_ref(s["output"], "smelting"), int(s.get("ticks", 200)))
    fuel = {item_ref(n, "fuel"): int(t) for n, t in data.get("fuel", {}).items()}
    player = {str(k): float(v) for k, v in data["player"].items()}

    return Rules(block_names, item_names, hardness, block_tool, block_tier, solid, box, render_kind,
                 replaceable, block_item, screens, drops, textures, stack, item_tool, item_tier,
                 item_speed, durability, food, saturation, item_block, icons, tags, recipes, smelting,
                 fuel, player, tiers)


@lru_cache(maxsize=8)
def load_rules(path: str | None = None) -> Rules:
    """Load and validate a rules file (default: the packaged ``rules.yaml``). Cached per path."""
    if path is None:
        text = resources.files("vpt.env.sim").joinpath("rules.yaml").read_text()
    else:
        text = Path(path).read_text()
    return parse_rules(yaml.safe_load(text))
