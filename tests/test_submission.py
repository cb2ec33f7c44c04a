"""``vpt submission build|check``: BASALT 2022 submissions played on the simulator stand-in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import vpt
from vpt.cli import app
from vpt.env.oldgym import FailurePlan, OldGymSimEnv
from vpt.submission import BASALT_TASKS, SubmissionError, build, check
from vpt.submission.runtime import read_manifest, run_episodes, sha256_file

FIXTURES = Path(__file__).resolve().parents[2] / "shared/reference/fixtures"
MODEL, WEIGHTS = FIXTURES / "policy_small.model", FIXTURES / "policy_small.weights"
SMALL = {"episodes": 1, "max_steps": 3, "world_size": 32}


def warm_numba_cache(submission: Path) -> None:
    """Give the submission's vpt copy the simulator's compiled-code cache (numba checks the
    source files' stamps, which the copy keeps), so the check does not spend its time compiling."""
    src = Path(vpt.__file__).resolve().parent / "env/sim/__pycache__"
    if src.is_dir():
        dst = submission / "vpt/env/sim/__pycache__"
        dst.mkdir(exist_ok=True)
        for f in [*src.glob("*.nbi"), *src.glob("*.nbc")]:
            shutil.copy2(f, dst / f.name)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sub") / "basalt"
    build(MODEL, WEIGHTS, "all", out, authors=["Ada"], description="test")
    return out


def copy_of(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)  # keeps file times, so numba caches stay valid
    return dst


def test_build_writes_the_basalt_2022_layout(built: Path) -> None:
    for name in ["aicrowd.json", "environment.yml", "apt.txt", "run.py", "config.py", "train.py", "agent.py",
                 "vpt/__init__.py", "vpt/submission/runtime.py", *(f"test_{t}.py" for t in BASALT_TASKS)]:  # fmt: skip
        assert (built / name).is_file(), name
    aicrowd = json.loads((built / "aicrowd.json").read_text())
    assert aicrowd == {
        "challenge_id": "neurips-2022-minerl-basalt-competition", "authors": ["Ada"], "description": "test",
        "licence": "MIT", "gpu": True, "debug": False, "track": "basalt",
    }  # fmt: skip
    run_py = (built / "run.py").read_text()
    calls = [ln.strip() for ln in run_py.splitlines() if ln.strip().endswith(".main()")]
    assert calls == ["train.main()", *(f"test_{t}.main()" for t in BASALT_TASKS)]
    assert "aicrowd_gym.make(MINERL_GYM_ENV)" in (built / "test_FindCave.py").read_text()
    assert 'MINERL_GYM_ENV = "MineRLBasaltFindCave-v0"' in (built / "test_FindCave.py").read_text()
    manifest = read_manifest(built)
    assert set(manifest["tasks"]) == set(BASALT_TASKS)
    assert manifest["tasks"]["FindCave"]["sha256"]["all.weights"] == sha256_file(WEIGHTS)
    assert "openjdk-8-jdk" in (built / "apt.txt").read_text()
    assert "minerl@v1.0.2" in (built / "environment.yml").read_text()


def test_check_passes_on_a_built_submission(built: Path) -> None:
    warm_numba_cache(built)
    result = CliRunner().invoke(app, ["submission", "check", str(built), "--episodes", "1", "--max-steps", "3"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "basalt track" in result.output
    for task in BASALT_TASKS:
        assert f"[{task}] episode 1/1: 3 steps" in result.output


def test_check_fails_on_missing_weights(built: Path, tmp_path: Path) -> None:
    sub = copy_of(built, tmp_path)
    (sub / "train/all.weights").unlink()
    with pytest.raises(SubmissionError, match=r"train/all.weights: missing \(the weights file of task"):
        check(sub, **SMALL)
    result = CliRunner().invoke(app, ["submission", "check", str(sub)])
    flat = result.output.replace("\n", "")  # rich wraps long lines
    assert result.exit_code == 1 and "FAILED" in flat and "all.weights: missing" in flat, result.output


def test_check_fails_on_a_wrong_aicrowd_json(built: Path, tmp_path: Path) -> None:
    sub = copy_of(built, tmp_path)
    data = json.loads((sub / "aicrowd.json").read_text())
    data.update(challenge_id="neurips-2021-minerl-diamond-competition", debug="no")
    del data["authors"]
    (sub / "aicrowd.json").write_text(json.dumps(data))
    with pytest.raises(SubmissionError) as e:
        check(sub, **SMALL)
    msg = str(e.value)
    assert "challenge_id is 'neurips-2021-minerl-diamond-competition'" in msg
    assert "debug must be true or false, got 'no'" in msg and "authors must be a non-empty list" in msg
    (sub / "aicrowd.json").write_text("{not json")
    with pytest.raises(SubmissionError, match="aicrowd.json: not valid JSON"):
        check(sub, **SMALL)


def test_check_fails_on_weights_that_do_not_fit_the_model(built: Path, tmp_path: Path) -> None:
    sub = copy_of(built, tmp_path)
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    dropped = sorted(state)[0]
    del state[dropped]
    torch.save(state, sub / "train/all.weights")
    with pytest.raises(SubmissionError, match="SHA-256 .* differs from the manifest"):
        check(sub, **SMALL)
    manifest = json.loads((sub / "train/vpt_models.json").read_text())
    for entry in manifest["tasks"].values():
        entry["sha256"]["all.weights"] = sha256_file(sub / "train/all.weights")
    (sub / "train/vpt_models.json").write_text(json.dumps(manifest))
    with pytest.raises(SubmissionError, match=f"(?s)does not load with the strict loader.*missing from the file.*{dropped}"):
        check(sub, **SMALL)


def test_check_fails_clearly_on_an_agent_with_bad_actions(built: Path, tmp_path: Path) -> None:
    sub = copy_of(built, tmp_path)
    warm_numba_cache(sub)
    (sub / "agent.py").write_text(
        "from pathlib import Path\n"
        "from vpt.submission.runtime import load_task_agent\n\n"
        "class Crafty:\n"
        "    def __init__(self, agent):\n        self.agent = agent\n"
        "    def reset(self):\n        self.agent.reset()\n"
        "    def get_action(self, obs):\n        return {**self.agent.get_action(obs), 'craft': 1}\n\n"
        "def load_agent(task):\n    return Crafty(load_task_agent(Path(__file__).resolve().parent, task))\n"
    )
    with pytest.raises(SubmissionError) as e:
        check(sub, **SMALL)
    msg = str(e.value)
    assert "run.py failed: vpt.submission.runtime.SubmissionError: BuildVillageHouse: episode 0, step 0: " in msg
    assert "the agent emitted an invalid action: unknown action key(s) ['craft']" in msg


def test_check_fails_when_an_entry_point_does_not_play(built: Path, tmp_path: Path) -> None:
    sub = copy_of(built, tmp_path)
    warm_numba_cache(sub)
    run_py = (sub / "run.py").read_text().replace("    test_FindCave.main()\n", "")
    (sub / "run.py").write_text(run_py)
    with pytest.raises(SubmissionError, match="test_FindCave.py never made MineRLBasaltFindCave-v0"):
        check(sub, **SMALL)


def test_one_task_at_a_time(tmp_path: Path) -> None:
    out = tmp_path / "sub"
    build(MODEL, WEIGHTS, "FindCave", out)
    with pytest.raises(SubmissionError) as e:
        check(out, **SMALL)
    for task in ("BuildVillageHouse", "CreateVillageAnimalPen", "MakeWaterfall"):
        assert f"no model for {task} (played by test_{task}.py); add one with `vpt submission build --task {task}" in str(e.value)
    assert "no model for FindCave" not in str(e.value)
    (out / "agent.py").write_text((out / "agent.py").read_text() + "# customised\n")
    for task in ("BuildVillageHouse", "CreateVillageAnimalPen", "MakeWaterfall", "FindCave"):
        build(MODEL, WEIGHTS, task, out)
    assert sorted(p.name for p in (out / "train").glob("*.weights")) == sorted(f"{t}.weights" for t in BASALT_TASKS)
    build(MODEL, WEIGHTS, "all", out)  # replaces the four pairs by one
    assert [p.name for p in (out / "train").glob("*.weights")] == ["all.weights"]
    assert (out / "agent.py").read_text().endswith("# customised\n")  # never overwritten


def test_build_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="unknown task 'FindDiamonds'"):
        build(MODEL, WEIGHTS, "FindDiamonds", tmp_path / "a")
    with pytest.raises(SubmissionError, match="no such weights file"):
        build(MODEL, tmp_path / "nope.weights", "FindCave", tmp_path / "a")
    with pytest.raises(SubmissionError, match="do not load as a VPT policy"):
        build(MODEL, FIXTURES / "idm_small.weights", "FindCave", tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(SubmissionError, match="is not a vpt submission"):
        build(MODEL, WEIGHTS, "FindCave", tmp_path / "b")
    build(MODEL, WEIGHTS, "FindCave", tmp_path / "c")
    with pytest.raises(SubmissionError, match="'basalt'-track submission; ObtainDiamondShovel belongs to the 'intro' track"):
        build(MODEL, WEIGHTS, "ObtainDiamondShovel", tmp_path / "c")
    result = CliRunner().invoke(app, ["submission", "build", "--model", str(MODEL), "--weights", str(WEIGHTS),
                                      "--task", "Nope", "--out", str(tmp_path / "d")])  # fmt: skip
    assert result.exit_code == 2 and "unknown task 'Nope'" in result.output.replace("\n", " "), result.output


def test_intro_track(tmp_path: Path) -> None:
    out = tmp_path / "intro"
    build(MODEL, WEIGHTS, "ObtainDiamondShovel", out, debug=True)
    assert json.loads((out / "aicrowd.json").read_text())["track"] == "intro"
    assert not (out / "train.py").exists() and (out / "test.py").is_file()
    assert "MineRLObtainDiamondShovel-v0" in (out / "test.py").read_text()
    warm_numba_cache(out)
    report = check(out, **SMALL)
    assert report.track == "intro" and report.episodes == ["[ObtainDiamondShovel] episode 1/1: 3 steps, reward 0, ended by done"]
    assert report.warnings == ["aicrowd.json: debug is true, so the evaluator plays 1 episode of 100 steps per task"]


class ScriptedAgent:
    def __init__(self, actions: list[dict]) -> None:
        self.actions, self.seen = actions, []

    def reset(self) -> None:
        pass

    def get_action(self, obs: dict) -> dict:
        self.seen.append(obs["pov"])
        return self.actions[len(self.seen) - 1]


def test_run_episodes_sends_complete_actions_and_hides_bad_observations() -> None:
    env = OldGymSimEnv("FindCave", resolution=(64, 48), world={"size": (32, 32)}, failures=FailurePlan(noise_obs_on_step=2))
    agent = ScriptedAgent([{"forward": np.array([1])}] * 2 + [{"ESC": 1}])
    lines: list[str] = []
    results = run_episodes(env, agent, episodes=1, max_steps=10, task="FindCave", resolution=(64, 48), report=lines.append)
    # step 2's observation is noise: the agent does not see it (a no-op is sent), then ESC ends the episode
    assert len(agent.seen) == 3 and results[0].steps == 4 and results[0].ended_by == "done"
    assert results[0].bad_observations == 1 and "1 bad observation(s)" in lines[0]
    bad = ScriptedAgent([{"camera": [float("nan"), 0.0]}])
    env = OldGymSimEnv("FindCave", resolution=(64, 48), world={"size": (32, 32)})
    with pytest.raises(SubmissionError, match=r"FindCave: episode 0, step 0: the agent emitted an invalid action: 'camera' must be finite"):
        run_episodes(env, bad, episodes=1, max_steps=10, task="FindCave", resolution=(64, 48))
