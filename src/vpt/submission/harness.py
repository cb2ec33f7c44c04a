"""``python -m vpt.submission.harness`` (run in a submission's folder): play its ``run.py`` as
BASALT's evaluator does, on the embedded simulator.

``vpt submission check`` starts this in a child process with the submission folder as working
directory, so ``vpt`` is the submission's own copy. ``aicrowd_gym.make`` is replaced by the
old-gym-API stand-in (:class:`vpt.env.oldgym.OldGymSimEnv`, MineRL's task rules over the
simulator) and ``minerl`` by an empty module, exactly where the real evaluator puts its own
implementations. The last stdout line is ``runtime.RESULT_PREFIX`` + JSON: what each env saw.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
import types
from pathlib import Path
from typing import Any

import vpt

from vpt.submission.runtime import RESULT_PREFIX

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-episode-steps", type=int, required=True, help="the stand-in envs' time limit")
    parser.add_argument("--world-size", type=int, default=64, help="simulator world width and depth, blocks")
    args = parser.parse_args(argv)
    from vpt.env.oldgym import OldGymSimEnv  # noqa: PLC0415 - the simulator only loads when checking

    root = Path.cwd()
    made: list[Any] = []

    def make(env_id: str) -> Any:
        env = OldGymSimEnv(env_id, max_episode_steps=args.max_episode_steps, world={"size": (args.world_size,) * 2})
        made.append(env)
        return env

    aicrowd_gym = types.ModuleType("aicrowd_gym", "stand-in injected by `vpt submission check`")
    aicrowd_gym.make = make  # type: ignore[attr-defined]
    sys.modules["aicrowd_gym"] = aicrowd_gym
    sys.modules["minerl"] = types.ModuleType("minerl", "stand-in injected by `vpt submission check`")
    sys.path.insert(0, str(root))
    runpy.run_path(str(root / "run.py"), run_name="__main__")
    summary = {
        "vpt": str(Path(vpt.__file__).resolve().parent),
        "envs": [
            {"env_id": e.task.minerl_id, "resets": e.resets, "steps": e.steps, "closed": e.closed} for e in made
        ],
    }
    print(RESULT_PREFIX + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
