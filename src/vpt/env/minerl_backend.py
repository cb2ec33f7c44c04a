"""Real Minecraft through MineRL 1.0, adapted to the Gymnasium API of the embedded simulator.

MineRL 1.0 speaks the *old* gym API (``reset() -> obs``, ``step(a) -> (obs, reward, done,
info)``) and has sharp edges in long runs (``shared/reference/minerl.md`` §2.3, §2.8): BASALT
envs raise ``KeyError`` on an action without ``ESC`` and end the episode on ``ESC=1``; a socket
timeout makes ``step`` return a *randomly sampled* observation with ``info["error"]``; the Java
process can crash or freeze. :class:`MineRLEnv` turns one MineRL instance into a Gymnasium env
that:

* always sends the complete 24-key action dict (validated; ``ESC`` defaults to 0);
* reports ``ESC=1`` in a BASALT task as ``terminated`` with ``info["termination_reason"] ==
  "esc"``, and gym's time limit as ``truncated``;
* validates every observation (``pov`` shape, dtype, and a noise test that catches MineRL's
  random observations) and never hands a bad one to the caller;
* runs every call to the instance under a watchdog; on an exception, a timeout (frozen game), a
  MineRL error report or a bad observation it ends the episode as ``truncated`` with the reason
  in ``info["truncated_reason"]`` / ``info["error"]``, returns the last good observation, throws
  the instance away and starts a fresh one at the next ``reset()``.

``minerl`` itself is imported lazily by :func:`make_minerl_env`; nothing here needs it to be
installed. ``vpt.env.oldgym`` provides an old-gym-API stand-in over the embedded simulator, with
injectable failures, that the tests and ``vpt submission check`` drive this adapter with.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium
import numpy as np

from vpt.actions import ENV_KEYS, InvalidActionError, env_action_space, validate_env_action

__all__ = [
    "MINERL_TASKS",
    "DEFAULT_SETTINGS",
    "INSTALL_HINT",
    "MineRLTask",
    "MineRLSettings",
    "OldGymEnv",
    "MineRLEnv",
    "MineRLBackendError",
    "MineRLNotInstalledError",
    "BadObservationError",
    "resolve_task",
    "to_minerl_action",
    "check_observation",
    "looks_like_noise",
    "import_minerl",
    "make_minerl_env",
]

log = logging.getLogger(__name__)

#: How to get MineRL 1.0, shown whenever ``import minerl`` fails.
INSTALL_HINT = (
    "MineRL 1.0 is not installed in this Python environment. It is not on PyPI and builds "
    "Minecraft at install time, which needs JDK 8 (javac, JAVA_HOME set) and the network. On a "
    "machine with both: `pip install 'gym==0.23.1' 'numpy<1.24' "
    "git+https://github.com/minerllabs/minerl@v1.0.2`, and run headless commands under "
    "`xvfb-run -a`. See README.md, section 'Real Minecraft (MineRL)'."
)


class MineRLBackendError(RuntimeError):
    """The MineRL backend could not provide a working instance (after its restarts)."""


class MineRLNotInstalledError(ImportError):
    """``minerl`` (or the gym version it needs) is missing; the message says how to install it."""


class BadObservationError(ValueError):
    """An observation that must not reach the agent: missing, malformed, or random noise."""


# --- tasks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MineRLTask:
    """A task MineRL 1.0 has, and how its episodes behave (``minerl.md`` §2.1, §2.5)."""

    name: str
    """Our name, as in ``vpt/<name>-v0``."""
    minerl_id: str
    """MineRL's gym id."""
    max_episode_steps: int | None
    """MineRL's time limit in steps (ticks); None: no limit."""
    esc_ends_episode: bool
    """BASALT: ``ESC=1`` ends the episode (and MineRL raises on an action without ``ESC``)."""
    fixed_settings: bool
    """The spec hard-codes fov/gamma/GUI scale/resolution/cursor size (VPT's values)."""


MINERL_TASKS: dict[str, MineRLTask] = {
    t.name: t
    for t in (
        MineRLTask("HumanSurvival", "MineRLHumanSurvival-v0", None, False, False),
        MineRLTask("FindCave", "MineRLBasaltFindCave-v0", 3600, True, True),
        MineRLTask("MakeWaterfall", "MineRLBasaltMakeWaterfall-v0", 6000, True, True),
        MineRLTask("CreateVillageAnimalPen", "MineRLBasaltCreateVillageAnimalPen-v0", 6000, True, True),
        MineRLTask("BuildVillageHouse", "MineRLBasaltBuildVillageHouse-v0", 14400, True, True),
        MineRLTask("ObtainDiamondShovel", "MineRLObtainDiamondShovel-v0", 18000, False, True),
    )
}


def resolve_task(env_id: str) -> MineRLTask:
    """The MineRL task for ``"FindCave"``, ``"vpt/FindCave-v0"`` or ``"MineRLBasaltFindCave-v0"``."""
    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a string, got {type(env_id).__name__}")
    for task in MINERL_TASKS.values():
        if env_id in (task.name, f"vpt/{task.name}-v0", task.minerl_id):
            return task
    known = ", ".join(f"{t.name} ({t.minerl_id})" for t in MINERL_TASKS.values())
    raise ValueError(f"MineRL has no task {env_id!r}; the MineRL backend knows: {known}")


# --- settings (HumanControlEnvSpec kwargs, vpt.md §1) ---------------------------------------


def _range(name: str, value: Any, lo: float, hi: float, integer: bool = False) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a [low, high] pair of numbers, got {value!r}") from None
    if not (lo <= a <= b <= hi) or not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"{name} must satisfy {lo} <= low <= high <= {hi}, got {[a, b]}")
    if integer and (a != int(a) or b != int(b)):
        raise ValueError(f"{name} must hold whole numbers, got {[a, b]}")
    return (a, b)


@dataclass(frozen=True)
class MineRLSettings:
    """MineRL's own env kwargs. Ranges are drawn uniformly at each reset by MineRL."""

    fov_range: tuple[float, float] = (70.0, 70.0)
    gamma_range: tuple[float, float] = (2.0, 2.0)
    guiscale_range: tuple[float, float] = (1.0, 1.0)
    resolution: tuple[int, int] = (640, 360)
    """(width, height), as MineRL takes it; observations are (height, width, 3)."""
    cursor_size_range: tuple[float, float] = (16.0, 16.0)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> MineRLSettings:
        """Validate MineRL env kwargs. ``frameskip`` is accepted and swallowed (must be 1:
        MineRL ignores it, one step is always one tick); anything else unknown is an error."""
        frameskip = kwargs.pop("frameskip", 1)
        if frameskip != 1:
            raise ValueError(f"frameskip={frameskip!r}: MineRL ignores frameskip (one step is one tick); pass 1 or omit it")
        unknown = sorted(set(kwargs) - {"fov_range", "gamma_range", "guiscale_range", "resolution", "cursor_size_range"})
        if unknown:
            raise ValueError(
                f"unknown MineRL env kwarg(s) {unknown}; MineRL takes fov_range, gamma_range, "
                "guiscale_range, resolution, cursor_size_range (and swallows frameskip)"
            )
        d = cls()
        res = kwargs.get("resolution", d.resolution)
        try:
            w, h = (int(v) for v in res)
            ok = [w, h] == [float(v) for v in res] and w > 0 and h > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"resolution must be [width, height] in positive whole pixels, got {res!r}")
        return cls(
            fov_range=_range("fov_range", kwargs.get("fov_range", d.fov_range), 1.0, 179.0),
            gamma_range=_range("gamma_range", kwargs.get("gamma_range", d.gamma_range), -10.0, 10.0),
            guiscale_range=_range("guiscale_range", kwargs.get("guiscale_range", d.guiscale_range), 0, 8, True),
            resolution=(w, h),
            cursor_size_range=_range("cursor_size_range", kwargs.get("cursor_size_range", d.cursor_size_range), 0, 64, True),
        )

    def as_kwargs(self) -> dict[str, Any]:
        """The kwargs to give ``HumanSurvival(...)`` (lists, as MineRL's own code passes them)."""
        return {
            "fov_range": list(self.fov_range),
            "gamma_range": list(self.gamma_range),
            "guiscale_range": [int(v) for v in self.guiscale_range],
            "resolution": list(self.resolution),
            "cursor_size_range": list(self.cursor_size_range),
        }


#: VPT's ``ENV_KWARGS``, MineRL's defaults, and what BASALT / ObtainDiamondShovel hard-code.
DEFAULT_SETTINGS = MineRLSettings()


# --- actions and observations ---------------------------------------------------------------


def to_minerl_action(action: Mapping[str, Any]) -> dict[str, Any]:
    """A complete MineRL action from an env action dict (e.g. ``Agent.get_action``'s output).

    All 24 keys are present (missing buttons, ``ESC`` included, are 0); buttons are Python
    ints and ``camera`` a float32 ``(2,)`` array; batch dimensions of one are squeezed.
    Raises :class:`~vpt.actions.InvalidActionError` naming the offending key.
    """
    out = validate_env_action(action)
    if float(np.max(np.abs(out["camera"]))) > 180.0:
        raise InvalidActionError(f"'camera' degrees must lie in [-180, 180], got {out['camera'].tolist()}")
    return {k: out[k] for k in ENV_KEYS}


def looks_like_noise(pov: np.ndarray) -> bool:
    """True for an image of independent random pixels, such as MineRL's sampled observation.

    A rendered frame is locally smooth: neighbouring pixels differ by a few levels on
    average. Uniform noise differs by ~85 (E|X - Y| for X, Y ~ U[0, 255]). The test looks at
    every 4th row and column and flags a mean neighbour difference above 60.
    """
    if pov.shape[0] < 8 or pov.shape[1] < 8:
        return False
    dx = np.abs(np.diff(pov[::4].astype(np.int16), axis=1)).mean()
    dy = np.abs(np.diff(pov[:, ::4].astype(np.int16), axis=0)).mean()
    return bool(dx > 60.0 and dy > 60.0)


def check_observation(obs: Any, resolution: tuple[int, int]) -> np.ndarray:
    """Return ``obs["pov"]`` if it is a plausible frame at ``resolution`` (width, height).

    Raises :class:`BadObservationError` saying what is wrong: not a dict, no ``pov``, wrong
    shape or dtype, or random noise.
    """
    if not isinstance(obs, Mapping):
        raise BadObservationError(f"observation must be a dict, got {type(obs).__name__}")
    if "pov" not in obs:
        raise BadObservationError(f"observation has no 'pov' (keys: {sorted(obs)[:10]})")
    pov = obs["pov"]
    if not isinstance(pov, np.ndarray):
        raise BadObservationError(f"obs['pov'] must be a numpy array, got {type(pov).__name__}")
    w, h = resolution
    if pov.shape != (h, w, 3):
        raise BadObservationError(f"obs['pov'] has shape {pov.shape}, expected {(h, w, 3)} (resolution {w}x{h})")
    if pov.dtype != np.uint8:
        raise BadObservationError(f"obs['pov'] has dtype {pov.dtype}, expected uint8")
    if looks_like_noise(pov):
        raise BadObservationError("obs['pov'] is random noise (MineRL's sampled observation after a socket timeout)")
    return pov


# --- the adapter ----------------------------------------------------------------------------


@runtime_checkable
class OldGymEnv(Protocol):
    """What :class:`MineRLEnv` needs from a MineRL instance (old gym API)."""

    def reset(self) -> Any: ...

    def step(self, action: dict[str, Any]) -> tuple[Any, float, bool, dict[str, Any]]: ...

    def close(self) -> None: ...


class _Failure(Exception):
    """An instance failed: ``kind`` is crash / frozen / minerl_error / bad_observation."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def _call_with_watchdog(fn: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Run ``fn`` in a daemon thread; raise ``_Failure`` if it raises or takes over ``timeout_s``.

    A frozen call cannot be interrupted: its thread is abandoned (daemon, so it never blocks
    interpreter exit) and the caller closes the instance, which ends MineRL's blocked socket read.
    """
    box: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - reported to the caller below
            box["error"] = e
        finally:
            finished.set()

    threading.Thread(target=target, name=f"minerl-{what}", daemon=True).start()
    if not finished.wait(timeout_s):
        raise _Failure("frozen", f"{what}() gave no answer in {timeout_s:g} s")
    if "error" in box:
        e = box["error"]
        raise _Failure("crash", f"{what}() raised {type(e).__name__}: {e}") from e
    return box["value"]


class MineRLEnv(gymnasium.Env):
    """One MineRL instance (old gym API) behind the Gymnasium API, with validation and restarts.

    Args:
        make_instance: builds a fresh instance (called at the first reset and after a failure).
        task: which MineRL task the instance runs (ESC semantics, time limit).
        resolution: (width, height) of ``pov``.
        step_timeout_s: a ``step`` that takes longer is a frozen game (MineRL's own socket
            timeout is 240 s).
        reset_timeout_s: the same for building an instance and ``reset`` (MineRL waits up to
            600 s for the first frame of a new world).
        close_timeout_s: how long ``close`` may take before the instance is abandoned.
        max_restarts: fresh instances one ``reset`` may start before giving up with
            :class:`MineRLBackendError`.
        render_mode: None or ``"rgb_array"`` (``render()`` returns the last ``pov``).

    ``info`` always has ``"restarts"`` (instances replaced so far). A failed step also has
    ``"truncated_reason"`` (crash, frozen, minerl_error, bad_observation) and ``"error"``.
    MineRL's own info is passed through; observation entries other than ``pov`` (inventory,
    stats in HumanSurvival) are in ``info["minerl_obs"]``, the inventory also in
    ``info["inventory"]``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        make_instance: Callable[[], OldGymEnv],
        *,
        task: MineRLTask,
        resolution: tuple[int, int] = DEFAULT_SETTINGS.resolution,
        step_timeout_s: float = 300.0,
        reset_timeout_s: float = 900.0,
        close_timeout_s: float = 30.0,
        max_restarts: int = 3,
        render_mode: str | None = None,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        for name, v in (("step_timeout_s", step_timeout_s), ("reset_timeout_s", reset_timeout_s), ("close_timeout_s", close_timeout_s)):
            if not (v > 0):
                raise ValueError(f"{name} must be > 0, got {v!r}")
        if max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {max_restarts}")
        self.make_instance = make_instance
        self.task = task
        self.resolution = (int(resolution[0]), int(resolution[1]))
        self.step_timeout_s = float(step_timeout_s)
        self.reset_timeout_s = float(reset_timeout_s)
        self.close_timeout_s = float(close_timeout_s)
        self.max_restarts = int(max_restarts)
        self.render_mode = render_mode
        w, h = self.resolution
        self.observation_space = gymnasium.spaces.Dict(
            {"pov": gymnasium.spaces.Box(low=0, high=255, shape=(h, w, 3), dtype=np.uint8)}
        )
        self.action_space = env_action_space()
        self.restarts = 0
        """Instances replaced after a failure, over this env's life."""
        self.failures: list[str] = []
        """One line per failure, oldest first."""
        self._instance: OldGymEnv | None = None
        self._replace_failed = False
        self._episode_over = True
        self._episode_steps = 0
        self._last_pov: np.ndarray | None = None

    # -- instance lifecycle --

    def _drop_instance(self) -> None:
        """Close the current instance in the background (close may hang too) and forget it."""
        inst, self._instance = self._instance, None
        if inst is None:
            return
        try:
            _call_with_watchdog(inst.close, self.close_timeout_s, "close")
        except _Failure as e:
            log.warning("MineRL instance did not close cleanly (%s); abandoned", e)

    def _fail(self, failure: _Failure) -> None:
        self.failures.append(f"{failure.kind}: {failure.message}")
        self._replace_failed = True
        log.warning("MineRL instance failed (%s: %s); it will be replaced", failure.kind, failure.message)
        self._drop_instance()

    def _observe(self, obs: Any, info: dict[str, Any]) -> dict[str, np.ndarray]:
        try:
            pov = check_observation(obs, self.resolution)
        except BadObservationError as e:
            raise _Failure("bad_observation", str(e)) from None
        extra = {k: v for k, v in obs.items() if k != "pov"}
        if extra:
            info["minerl_obs"] = extra
            if isinstance(extra.get("inventory"), Mapping):
                info["inventory"] = {k: int(np.asarray(v)) for k, v in extra["inventory"].items()}
        self._last_pov = pov
        return {"pov": pov}

    # -- Gymnasium API --

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        reasons: list[str] = []
        while True:
            try:
                if self._instance is None:
                    if self._replace_failed:
                        self.restarts += 1
                        self._replace_failed = False
                    self._instance = _call_with_watchdog(self.make_instance, self.reset_timeout_s, "make")
                inst = self._instance
                if seed is not None and hasattr(inst, "seed"):
                    inst.seed(int(seed))  # MineRL applies it at the next reset only
                obs = _call_with_watchdog(inst.reset, self.reset_timeout_s, "reset")
                info: dict[str, Any] = {}
                observation = self._observe(obs, info)
                break
            except _Failure as e:
                reasons.append(f"{e.kind}: {e.message}")
                self._fail(e)
                if len(reasons) > self.max_restarts:
                    raise MineRLBackendError(
                        f"MineRL {self.task.minerl_id}: reset failed {len(reasons)} times "
                        f"(max_restarts={self.max_restarts}): " + "; ".join(reasons)
                    ) from None
        self._episode_over = False
        self._episode_steps = 0
        info["restarts"] = self.restarts
        if reasons:
            info["restart_reasons"] = reasons
        return observation, info

    def step(
        self, action: Mapping[str, Any]
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._instance is None or self._episode_over:
            raise RuntimeError(f"MineRL {self.task.minerl_id}: step() without a running episode; call reset() first")
        act = to_minerl_action(action)  # a bad action is the caller's error, not the instance's
        inst = self._instance
        try:
            result = _call_with_watchdog(lambda: inst.step(act), self.step_timeout_s, "step")
            try:
                obs, reward, done, minerl_info = result
            except (TypeError, ValueError):
                raise _Failure("crash", f"step() returned {type(result).__name__}, not (obs, reward, done, info)") from None
            info = dict(minerl_info) if isinstance(minerl_info, Mapping) else {}
            if "error" in info:  # MineRL's socket-timeout signature: the observation is random
                raise _Failure("minerl_error", str(info["error"]))
            observation = self._observe(obs, info)
            try:
                reward = float(reward)
            except (TypeError, ValueError):
                raise _Failure("bad_observation", f"reward {reward!r} is not a number") from None
            if not math.isfinite(reward):
                raise _Failure("bad_observation", f"reward is {reward}")
        except _Failure as e:
            self._fail(e)
            self._episode_over = True
            assert self._last_pov is not None
            fail_info = {"truncated_reason": e.kind, "error": e.message, "restarts": self.restarts}
            return {"pov": self._last_pov}, 0.0, False, True, fail_info
        self._episode_steps += 1
        esc = self.task.esc_ends_episode and act["ESC"] == 1
        terminated = truncated = False
        if esc:
            terminated = True
            info["termination_reason"] = "esc"
        elif done:
            limit = self.task.max_episode_steps
            if info.get("TimeLimit.truncated") or (limit is not None and self._episode_steps >= limit):
                truncated = True
                info["truncated_reason"] = "time_limit"
            else:
                terminated = True
        self._episode_over = terminated or truncated
        info["restarts"] = self.restarts
        return observation, reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return None if self._last_pov is None else self._last_pov.copy()

    def close(self) -> None:
        self._drop_instance()
        self._episode_over = True


# --- building real MineRL envs --------------------------------------------------------------


def import_minerl() -> Any:
    """``import minerl``, or :class:`MineRLNotInstalledError` with installation instructions."""
    try:
        import minerl  # noqa: PLC0415 - optional dependency, imported only when asked for
    except ImportError as e:
        raise MineRLNotInstalledError(f"{INSTALL_HINT} (import error: {e})") from e
    except AttributeError as e:  # gym >= 0.24 turned the registry into a dict
        raise MineRLNotInstalledError(
            f"`import minerl` failed ({e}): MineRL 1.0 needs gym<=0.23.1 (`pip install gym==0.23.1`)"
        ) from e
    return minerl


def _minerl_instance_factory(task: MineRLTask, settings: MineRLSettings) -> Callable[[], OldGymEnv]:
    if task.name == "HumanSurvival":
        from minerl.herobraine.env_specs.human_survival_specs import HumanSurvival  # noqa: PLC0415

        kwargs = settings.as_kwargs()
        # EnvSpec.make() as VPT's run_agent.py does: no gym TimeLimit, the kwargs honoured.
        return lambda: HumanSurvival(**kwargs).make()
    import gym  # noqa: PLC0415 - old gym, installed with minerl

    # gym.make applies the task's wrappers (BASALT's ESC and time limit, the shovel rewards).
    return lambda: gym.make(task.minerl_id)


def make_minerl_env(
    env_id: str = "HumanSurvival",
    *,
    render_mode: str | None = None,
    step_timeout_s: float = 300.0,
    reset_timeout_s: float = 900.0,
    max_restarts: int = 3,
    **minerl_kwargs: Any,
) -> MineRLEnv:
    """A Gymnasium env over real MineRL 1.0 for ``env_id`` (see :data:`MINERL_TASKS`).

    ``minerl_kwargs`` are MineRL's own (``fov_range``, ``gamma_range``, ``guiscale_range``,
    ``resolution``, ``cursor_size_range``; ``frameskip=1`` swallowed). BASALT tasks and
    ObtainDiamondShovel hard-code VPT's values, so other values are refused for them. The
    Java instance starts at the first ``reset()``. Raises :class:`MineRLNotInstalledError`
    when ``minerl`` is missing.
    """
    task = resolve_task(env_id)
    settings = MineRLSettings.from_kwargs(**minerl_kwargs)
    if task.fixed_settings and settings != DEFAULT_SETTINGS:
        raise ValueError(
            f"{task.minerl_id} hard-codes fov 70, gamma 2, GUI scale 1, 640x360 and cursor 16 "
            f"(VPT's settings); it cannot take {settings}. Use HumanSurvival for other settings."
        )
    import_minerl()
    return MineRLEnv(
        _minerl_instance_factory(task, settings),
        task=task,
        resolution=settings.resolution,
        step_timeout_s=step_timeout_s,
        reset_timeout_s=reset_timeout_s,
        max_restarts=max_restarts,
        render_mode=render_mode,
    )

