"""Every action representation of VPT, and the conversions between them.

Four representations exist (``shared/reference/vpt.md`` §1–2):

* **Env action** — MineRL 1.0's dict of 24 keys (:data:`ENV_KEYS`): 23 buttons (0/1) and
  ``camera`` = ``[pitch_delta, yaw_delta]`` in degrees. Positive pitch looks down, positive
  yaw turns right (Minecraft's convention; recordings feed pitch from mouse ``dy``).
* **Factored action** — the 20 policy buttons (:data:`BUTTONS`, policy order) as a 0/1 vector,
  plus two camera bins (pitch, yaw) in ``0..10`` from mu-law quantisation.
* **Joint policy action** — what the policy's heads output: ``buttons`` in ``0..8640`` (the
  product of 9 button groups, plus 8640 = "inventory") and ``camera`` in ``0..120``
  (``pitch_bin * 11 + yaw_bin``).
* **Degrees ↔ bins** — :func:`camera_to_bins` / :func:`bins_to_camera`.

Everything is vectorised over a leading batch dimension ``N``: no Python loop per sample.
Lookup tables are built once at import and exposed read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np

__all__ = [
    "BUTTONS",
    "ENV_KEYS",
    "ENV_BUTTONS",
    "BUTTON_GROUPS",
    "MIRRORED_BUTTONS",
    "N_CAMERA_BINS",
    "CAMERA_MAXVAL",
    "CAMERA_BINSIZE",
    "CAMERA_MU",
    "NULL_CAMERA_BIN",
    "NULL_CAMERA_INDEX",
    "INVENTORY_INDEX",
    "N_BUTTON_INDICES",
    "N_CAMERA_INDICES",
    "BUTTON_INDEX_TO_FACTORED",
    "BUTTON_INDEX_CAMERA_META_OFF",
    "CAMERA_INDEX_TO_BINS",
    "InvalidActionError",
    "env_action_space",
    "noop_env_action",
    "validate_env_action",
    "camera_to_bins",
    "bins_to_camera",
    "camera_two_hot",
    "factored_to_joint",
    "joint_to_factored",
    "env_to_factored",
    "factored_to_env",
    "env_to_policy",
    "policy_to_env",
    "complete_batched",
    "is_null_factored",
]

# --- names --------------------------------------------------------------------------------

#: The 20 buttons the policy and the IDM act with, in the reference's ``Buttons.ALL`` order.
BUTTONS: tuple[str, ...] = (
    "attack", "back", "forward", "jump", "left", "right", "sneak", "sprint", "use", "drop",
    "inventory", *(f"hotbar.{i}" for i in range(1, 10)),
)  # fmt: skip

#: ``BUTTONS`` as a left-right mirror of the screen sees them: strafe left ↔ right and hotbar
#: slot i ↔ 10 - i swap, the rest stay (a permutation, its own inverse; mirrored yaw is the
#: negated camera, bin ``b`` ↔ ``10 - b``). Used to augment and average over mirrored videos.
MIRRORED_BUTTONS: np.ndarray = np.array([BUTTONS.index(
    {"left": "right", "right": "left"}.get(b, f"hotbar.{10 - int(b[7:])}" if b.startswith("hotbar.") else b))
    for b in BUTTONS])  # fmt: skip

#: MineRL 1.0's 24 action keys (sorted, as MineRL's ``Dict`` space lists them).
ENV_KEYS: tuple[str, ...] = (
    "ESC", "attack", "back", "camera", "drop", "forward",
    *(f"hotbar.{i}" for i in range(1, 10)),
    "inventory", "jump", "left", "pickItem", "right", "sneak", "sprint", "swapHands", "use",
)  # fmt: skip

#: The 23 button keys of the env action (everything but ``camera``).
ENV_BUTTONS: tuple[str, ...] = tuple(k for k in ENV_KEYS if k != "camera")

#: Button groups of the joint action, in order; the first option of each is "none".
#: The joint index enumerates their Cartesian product with the LAST group changing fastest.
BUTTON_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hotbar", ("none", *(f"hotbar.{i}" for i in range(1, 10)))),
    ("fore_back", ("none", "forward", "back")),
    ("left_right", ("none", "left", "right")),
    ("sprint_sneak", ("none", "sprint", "sneak")),
    ("use", ("none", "use")),
    ("drop", ("none", "drop")),
    ("attack", ("none", "attack")),
    ("jump", ("none", "jump")),
    ("camera", ("none", "camera")),
)

# --- camera quantisation (ACTION_TRANSFORMER_KWARGS, identical for the agent and the IDM) ---
CAMERA_MAXVAL = 10.0
CAMERA_BINSIZE = 2.0
CAMERA_MU = 10.0
N_CAMERA_BINS = 11
NULL_CAMERA_BIN = 5
NULL_CAMERA_INDEX = NULL_CAMERA_BIN * N_CAMERA_BINS + NULL_CAMERA_BIN  # 60
N_CAMERA_INDICES = N_CAMERA_BINS * N_CAMERA_BINS  # 121

_GROUP_SIZES = np.array([len(opts) for _, opts in BUTTON_GROUPS], dtype=np.int64)
INVENTORY_INDEX = int(np.prod(_GROUP_SIZES))  # 8640
N_BUTTON_INDICES = INVENTORY_INDEX + 1  # 8641
_BUTTON_POS = {name: i for i, name in enumerate(BUTTONS)}


class InvalidActionError(ValueError):
    """An env action with an unknown key, a wrong shape or an out-of-range value."""


def env_action_space() -> gymnasium.spaces.Dict:
    """MineRL 1.0's action space: 23 ``Discrete(2)`` buttons and ``camera`` ``Box(-180, 180, (2,))``."""
    spaces: dict[str, gymnasium.Space] = {k: gymnasium.spaces.Discrete(2) for k in ENV_BUTTONS}
    spaces["camera"] = gymnasium.spaces.Box(low=-180.0, high=180.0, shape=(2,), dtype=np.float32)
    return gymnasium.spaces.Dict({k: spaces[k] for k in ENV_KEYS})


_NOOP_BUTTONS: dict[str, Any] = {k: 0 for k in ENV_KEYS}  # "camera" is set by each copy
_SCALAR_TYPES = (int, bool, np.integer, np.bool_)


def noop_env_action() -> dict[str, Any]:
    """A complete env action with nothing pressed and no camera motion (all 24 keys)."""
    action: dict[str, Any] = {k: 0 for k in ENV_BUTTONS}
    action["camera"] = np.zeros(2, dtype=np.float32)
    return {k: action[k] for k in ENV_KEYS}


def validate_env_action(action: Mapping[str, Any]) -> dict[str, Any]:
    """Check a single (unbatched) env action and return it complete.

    Missing keys mean "not pressed"; unknown keys, non-binary buttons, a camera that is not
    two finite numbers raise :class:`InvalidActionError` naming the key.
    """
    if not isinstance(action, Mapping):
        raise InvalidActionError(f"an env action must be a dict, got {type(action).__name__}")
    unknown = sorted(set(action) - set(ENV_KEYS))
    if unknown:
        raise InvalidActionError(
            f"unknown action key(s) {unknown}; valid keys are MineRL's 24: {list(ENV_KEYS)}"
        )
    out = dict(_NOOP_BUTTONS)
    out["camera"] = np.zeros(2, dtype=np.float32)
    for key, value in action.items():
        if key == "camera":
            cam = np.asarray(value, dtype=np.float32)
            if cam.size != 2:
                raise InvalidActionError(f"'camera' must have 2 values [pitch, yaw], got shape {cam.shape}")
            cam = cam.reshape(2)
            if not np.isfinite(cam).all():
                raise InvalidActionError(f"'camera' must be finite, got {cam.tolist()}")
            out["camera"] = cam
            continue
        if isinstance(value, _SCALAR_TYPES):  # the common case, without array conversion
            v = int(value)
        else:
            arr = np.asarray(value)
            if arr.size != 1:
                raise InvalidActionError(f"button {key!r} must be a single 0/1 value, got shape {arr.shape}")
            v = arr.reshape(()).item()
        if v not in (0, 1):
            raise InvalidActionError(f"button {key!r} must be 0 or 1, got {v!r}")
        out[key] = int(v)
    return out


# --- degrees <-> bins -------------------------------------------------------------------------


def camera_to_bins(degrees: Any) -> np.ndarray:
    """Quantise camera degrees to bins ``0..10`` (mu-law, per axis), as int64.

    Reference quirk kept: the final rounding is numpy's round-half-to-even, so exact ties such
    as an encoded 6.5 give bin 6 (the released models were trained on these bins).
    """
    x = np.clip(np.asarray(degrees, dtype=np.float64), -CAMERA_MAXVAL, CAMERA_MAXVAL)
    x = x / CAMERA_MAXVAL
    x = np.sign(x) * (np.log(1.0 + CAMERA_MU * np.abs(x)) / np.log(1.0 + CAMERA_MU))
    x = x * CAMERA_MAXVAL
    return np.round((x + CAMERA_MAXVAL) / CAMERA_BINSIZE).astype(np.int64)


def bins_to_camera(bins: Any) -> np.ndarray:
    """Bin centres in degrees (float64) for camera bins ``0..10`` (inverse mu-law)."""
    x = np.asarray(bins, dtype=np.float64) * CAMERA_BINSIZE - CAMERA_MAXVAL
    x = x / CAMERA_MAXVAL
    x = np.sign(x) * (1.0 / CAMERA_MU) * ((1.0 + CAMERA_MU) ** np.abs(x) - 1.0)
    return x * CAMERA_MAXVAL


def camera_two_hot(degrees: Any) -> np.ndarray:
    """Per-bin target weights ``(..., 2, 11)`` float32 for camera degrees ``(..., 2)``: each
    value (clipped to the bins' ±10°) split between the two bin centres around it, so that the
    weights' mean centre is the value itself ("two-hot" targets). A value on a centre (0° is
    one) gets that bin alone. Training on these rather than on :func:`camera_to_bins`'s one bin
    teaches a model the posterior-mean camera (what ``--camera mean`` labels carry), not only
    the nearest bin.
    """
    x = np.clip(np.asarray(degrees, dtype=np.float64), -CAMERA_MAXVAL, CAMERA_MAXVAL)
    centres = bins_to_camera(np.arange(N_CAMERA_BINS))
    lo = np.clip(np.searchsorted(centres, x, side="right") - 1, 0, N_CAMERA_BINS - 2)
    upper = np.clip((x - centres[lo]) / (centres[lo + 1] - centres[lo]), 0.0, 1.0)
    weights = np.zeros(x.shape + (N_CAMERA_BINS,), dtype=np.float32)
    np.put_along_axis(weights, lo[..., None], (1.0 - upper)[..., None].astype(np.float32), axis=-1)
    np.put_along_axis(weights, lo[..., None] + 1, upper[..., None].astype(np.float32), axis=-1)
    return weights


# --- factored <-> joint ------------------------------------------------------------------------


def _group_options(factored: np.ndarray, camera_bins: np.ndarray) -> np.ndarray:
    """Per-row option position (0 = none) of each of the 9 button groups, shape (N, 9)."""
    b = factored.astype(bool)
    n = b.shape[0]
    g = np.zeros((n, len(BUTTON_GROUPS)), dtype=np.int64)
    for gi, (name, options) in enumerate(BUTTON_GROUPS):
        if name == "camera":
            g[:, gi] = np.any(camera_bins != NULL_CAMERA_BIN, axis=1)
            continue
        cols = b[:, [_BUTTON_POS[o] for o in options[1:]]]
        if name in ("fore_back", "left_right"):
            # Opposite directions pressed together cancel out.
            both = cols.all(axis=1)
            g[:, gi] = np.where(both, 0, np.where(cols[:, 0], 1, np.where(cols[:, 1], 2, 0)))
        else:
            # Several options of one group: the later one in the group's order wins.
            last = cols.shape[1] - np.argmax(cols[:, ::-1], axis=1)
            g[:, gi] = np.where(cols.any(axis=1), last, 0)
    return g


def _as_2d(a: Any, width: int, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != width:
        raise InvalidActionError(f"{name} must have shape (N, {width}), got {np.shape(a)}")
    return arr


def factored_to_joint(factored: Any, camera_bins: Any) -> tuple[np.ndarray, np.ndarray]:
    """Factored buttons (N, 20) and camera bins (N, 2) → joint indices ``(buttons, camera)``, each (N,).

    ``inventory`` is exclusive: it gives buttons index 8640 and forces the camera to 60.
    """
    f = _as_2d(factored, len(BUTTONS), "factored buttons")
    cb = _as_2d(camera_bins, 2, "camera bins").astype(np.int64)
    if f.shape[0] != cb.shape[0]:
        raise InvalidActionError(f"batch sizes differ: buttons {f.shape[0]}, camera {cb.shape[0]}")
    g = _group_options(f, cb)
    buttons = np.zeros(f.shape[0], dtype=np.int64)
    for gi, size in enumerate(_GROUP_SIZES):
        buttons = buttons * size + g[:, gi]
    camera = cb[:, 0] * N_CAMERA_BINS + cb[:, 1]
    inventory = f[:, _BUTTON_POS["inventory"]].astype(bool)
    buttons = np.where(inventory, INVENTORY_INDEX, buttons)
    camera = np.where(inventory, NULL_CAMERA_INDEX, camera)
    return buttons, camera


def _build_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.arange(INVENTORY_INDEX)
    factored = np.zeros((N_BUTTON_INDICES, len(BUTTONS)), dtype=np.uint8)
    meta_off = np.zeros(N_BUTTON_INDICES, dtype=bool)
    rem = idx.copy()
    for gi in range(len(BUTTON_GROUPS) - 1, -1, -1):
        name, options = BUTTON_GROUPS[gi]
        pos = rem % _GROUP_SIZES[gi]
        rem //= _GROUP_SIZES[gi]
        if name == "camera":
            meta_off[:INVENTORY_INDEX] = pos == 0
            continue
        for oi, opt in enumerate(options[1:], start=1):
            factored[idx[pos == oi], _BUTTON_POS[opt]] = 1
    factored[INVENTORY_INDEX, _BUTTON_POS["inventory"]] = 1
    # Reference quirk: index 8640 (inventory) is NOT flagged camera-off, so the camera head's
    # sample is kept as is when the policy opens the inventory.
    meta_off[INVENTORY_INDEX] = False
    cam = np.stack(np.divmod(np.arange(N_CAMERA_INDICES), N_CAMERA_BINS), axis=1).astype(np.int64)
    for t in (factored, meta_off, cam):
        t.setflags(write=False)
    return factored, meta_off, cam


#: (8641, 20) uint8: the factored buttons of each joint buttons index.
#: (8641,) bool: whether the joint buttons index has the camera meta option "none".
#: (121, 2) int64: (pitch bin, yaw bin) of each joint camera index.
BUTTON_INDEX_TO_FACTORED, BUTTON_INDEX_CAMERA_META_OFF, CAMERA_INDEX_TO_BINS = _build_tables()


def joint_to_factored(buttons: Any, camera: Any) -> tuple[np.ndarray, np.ndarray]:
    """Joint indices → factored buttons (N, 20) uint8 and camera bins (N, 2) int64.

    When the buttons index has the camera meta option "none", both bins become 5.
    """
    b = np.asarray(_to_numpy(buttons), dtype=np.int64).reshape(-1)
    c = np.asarray(_to_numpy(camera), dtype=np.int64).reshape(-1)
    if b.shape != c.shape:
        raise InvalidActionError(f"buttons and camera index counts differ: {b.shape} vs {c.shape}")
    if b.size and (b.min() < 0 or b.max() >= N_BUTTON_INDICES):
        raise InvalidActionError(f"buttons index out of range [0, {N_BUTTON_INDICES}): {b.min()}..{b.max()}")
    if c.size and (c.min() < 0 or c.max() >= N_CAMERA_INDICES):
        raise InvalidActionError(f"camera index out of range [0, {N_CAMERA_INDICES}): {c.min()}..{c.max()}")
    factored = BUTTON_INDEX_TO_FACTORED[b]
    bins = CAMERA_INDEX_TO_BINS[c].copy()
    bins[BUTTON_INDEX_CAMERA_META_OFF[b]] = NULL_CAMERA_BIN
    return factored, bins


# --- env <-> factored / joint -----------------------------------------------------------------


def _to_numpy(x: Any) -> Any:
    """Tensors (torch or anything with ``.numpy()``) to numpy, without importing torch here."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().numpy()
    return x


def env_to_factored(env_action: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Env action (single or batched) → factored buttons (N, 20) uint8 and camera bins (N, 2).

    A single action has scalar buttons and ``camera`` of shape (2,); a batched one has buttons
    of shape (N,) and ``camera`` (N, 2). Missing button keys count as not pressed; unknown
    keys raise. ``ESC``, ``swapHands`` and ``pickItem`` have no policy button and are dropped.
    """
    unknown = sorted(set(env_action) - set(ENV_KEYS))
    if unknown:
        raise InvalidActionError(f"unknown action key(s) {unknown}; valid keys: {list(ENV_KEYS)}")
    if "camera" in env_action:
        cam = np.asarray(_to_numpy(env_action["camera"]), dtype=np.float64)
        if cam.shape[-1:] != (2,) or cam.ndim > 2:
            raise InvalidActionError(f"'camera' must have shape (2,) or (N, 2), got {cam.shape}")
        cam = cam.reshape(-1, 2)
        n = cam.shape[0]
    else:
        first = next((env_action[k] for k in BUTTONS if k in env_action), 0)
        n = int(np.asarray(_to_numpy(first)).reshape(-1).shape[0])
        cam = np.zeros((n, 2))
    factored = np.zeros((n, len(BUTTONS)), dtype=np.uint8)
    for i, key in enumerate(BUTTONS):
        if key in env_action:
            v = np.asarray(_to_numpy(env_action[key])).reshape(-1)
            if v.shape[0] != n:
                raise InvalidActionError(f"button {key!r} has {v.shape[0]} values, camera has {n}")
            factored[:, i] = v != 0
    return factored, camera_to_bins(cam)


def factored_to_env(factored: Any, camera_bins: Any) -> dict[str, np.ndarray]:
    """Factored buttons (N, 20) + camera bins (N, 2) → env dict: the 20 buttons then ``camera``.

    This is the reference agent's output layout (vpt.md §1.3): 21 keys, each button an int
    array of shape (N,), ``camera`` float64 degrees (N, 2). ``ESC``, ``swapHands`` and
    ``pickItem`` are never emitted (use :func:`validate_env_action` to complete a single one).
    """
    f = _as_2d(factored, len(BUTTONS), "factored buttons")
    out: dict[str, np.ndarray] = {k: f[:, i].astype(np.int64) for i, k in enumerate(BUTTONS)}
    out["camera"] = bins_to_camera(_as_2d(camera_bins, 2, "camera bins"))
    return out


def env_to_policy(env_action: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Env action (single or batched) → joint policy indices ``{"buttons": (N,), "camera": (N,)}``."""
    buttons, camera = factored_to_joint(*env_to_factored(env_action))
    return {"buttons": buttons, "camera": camera}


def policy_to_env(policy_action: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Joint indices ``{"buttons", "camera"}`` (any shape, numpy or torch) → env dict (see :func:`factored_to_env`)."""
    return factored_to_env(*joint_to_factored(policy_action["buttons"], policy_action["camera"]))


def complete_batched(env_action: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
    """A batched agent action (the 20 buttons + ``camera``) made complete for a Gymnasium vector
    env over the MineRL space: the three keys the policy never presses (``ESC``, ``swapHands``,
    ``pickItem``) added as zeros, ``camera`` as float32."""
    out = {k: np.asarray(v) for k, v in env_action.items()}
    for k in ENV_BUTTONS:
        if k not in out:
            out[k] = np.zeros(n, dtype=np.int64)
    out["camera"] = np.asarray(env_action["camera"], dtype=np.float32).reshape(n, 2)
    return out


def is_null_factored(factored: Any, camera_bins: Any) -> np.ndarray:
    """(N,) bool: no policy button pressed and both camera bins at the null bin 5.

    This is the check the reference's comment intends (its code compares with a bound method
    and never fires, vpt.md §10.3).
    """
    f = _as_2d(factored, len(BUTTONS), "factored buttons")
    cb = _as_2d(camera_bins, 2, "camera bins")
    return ~f.astype(bool).any(axis=1) & np.all(cb == NULL_CAMERA_BIN, axis=1)
