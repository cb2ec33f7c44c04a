"""The experiment scripts in ``scripts/`` pass the right commands to ``vpt`` (a recording stand-in)."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _run(script: str, args: list[str], tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    """Run ``script`` with ``VPT`` (and ``PYTHON``) set to a stand-in that records each command line it gets."""
    calls_dir = tmp_path / "calls"  # one file per call: runs started side by side cannot interleave
    calls_dir.mkdir(exist_ok=True)
    for old in calls_dir.iterdir():
        old.unlink()
    fake = tmp_path / "vpt"
    fake.write_text(f'#!/usr/bin/env bash\nprintf "%q " "$@" > "$(mktemp -p {shlex.quote(str(calls_dir))})"\n')
    fake.chmod(0o755)
    torchrun = tmp_path / "torchrun"  # drops its own options and runs the command it launches
    torchrun.write_text('#!/usr/bin/env bash\nwhile [[ $1 == --* ]]; do [[ $1 == --nproc_per_node ]] && shift; shift; done\nexec "$@"\n')
    torchrun.chmod(0o755)
    result = subprocess.run(["bash", str(SCRIPTS / script), *args], capture_output=True, text=True,
                            env={**os.environ, "VPT": str(fake), "TORCHRUN": str(torchrun), "PYTHON": str(fake), **env},
                            cwd=tmp_path)  # fmt: skip
    calls = [shlex.split(f.read_text()) for f in calls_dir.iterdir()]
    return result, calls


def _script_module(name: str):
    """Import ``scripts/NAME.py`` (the Python scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _option(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


#: scripts/idm_vs_true.sh's default evaluation worlds (EVAL_SEEDS), seed and episodes.
EVAL_SEEDS = (("0", "32"), ("1000", "64"), ("2000", "64"), ("3000", "64"))
SEEDS = tuple(seed for seed, _ in EVAL_SEEDS)


def test_rl_compare_runs_three_at_equal_steps(tmp_path):
    result, calls = _run("rl_compare.sh", ["models/p", "out"], tmp_path, GUI_SCALE="2", ITERATIONS="10")
    assert result.returncode == 0, result.stderr
    runs = {_option(c, "--out"): c for c in calls if c[:2] in (["rl", "train"], ["rl", "sb3"])}
    assert set(runs) == {"out/ppo_prior", "out/ppo_scratch", "out/sb3_scratch"}
    assert _option(runs["out/ppo_prior"], "--iterations") == "10" and _option(runs["out/sb3_scratch"], "--steps") == "2560"
    assert [a for a in runs["out/ppo_prior"] if a.startswith("models/")] == ["models/p.model", "models/p.weights"]
    assert all('"gui_scale": 2' in _option(c, "--world") and _option(c, "--seed") == "0" for c in runs.values())
    table = next(c for c in calls if c[:2] == ["rl", "table"])
    assert table[2:5] == ["out/ppo_prior", "out/ppo_scratch", "out/sb3_scratch"]


def test_rl_compare_another_seed_of_one_run(tmp_path):
    result, calls = _run("rl_compare.sh", ["p", "out"], tmp_path, SEED="1", ONLY="ppo_prior")
    assert result.returncode == 0, result.stderr
    trained = [c for c in calls if c[0] == "rl" and c[1] in ("train", "sb3")]
    assert len(trained) == 1 and _option(trained[0], "--out") == "out/ppo_prior" and _option(trained[0], "--seed") == "1"
    assert next(c for c in calls if c[:2] == ["rl", "plot"])[2:3] == ["out/ppo_prior"]
    result, calls = _run("rl_compare.sh", ["p", "out2"], tmp_path, ONLY="ppo_prior typo")
    assert result.returncode == 2 and "unknown run typo" in result.stderr


def test_idm_curve_on_either_data(tmp_path):
    """The default curve (gui_scale 1), KIND=g2 (models/idm_g2's data) and g2x (g2's and more): the
    same runs, one per budget, on their own data and held-out recordings."""
    result, calls = _run("idm_curve.sh", ["out"], tmp_path)
    assert result.returncode == 0, result.stderr
    runs = {_option(c, "--out"): c for c in calls if c[:2] == ["idm", "train"]}
    assert set(runs) == {f"out/curve/hours_{h}" for h in ("0", "0.37", "0.74", "0.18")}
    assert all(_option(c, "--val-recordings") == "14" and _option(c, "--steps") == "4000" for c in runs.values())
    assert {_option(c, "--preset") for c in runs.values()} == {"tiny"}
    assert sorted(_option(c, "--seed") for c in calls if c[:2] == ["data", "generate"]) == ["0", "1000"]

    result, calls = _run("idm_curve.sh", ["out"], tmp_path, KIND="g2", STEPS="5000", PRESET="small")
    assert result.returncode == 0, result.stderr
    gen = [c for c in calls if c[:2] == ["data", "generate"]]
    assert len(gen) == 1 and (_option(gen[0], "--seed"), _option(gen[0], "--episodes"), _option(gen[0], "--max-steps")) == ("5000", "176", "600")
    assert '"gui_scale": 2' in _option(gen[0], "--world") and "first_crafts" in _option(gen[0], "--player-options")
    runs = {_option(c, "--out"): c for c in calls if c[:2] == ["idm", "train"]}
    assert {_option(c, "--max-hours") for c in runs.values()} == {"0", "0.66", "0.33", "0.17"}
    assert all(_option(c, "--val-recordings") == "16" and _option(c, "--steps") == "5000" for c in runs.values())
    assert {_option(c, "--preset") for c in calls if c[:2] in (["idm", "train"], ["idm", "curve"])} == {"small"}
    assert _option(next(c for c in calls if c[:2] == ["idm", "curve"]), "--hours") == "0,0.66,0.33,0.17"
    assert _option(next(c for c in calls if c[:2] == ["idm", "eval"]), "--last") == "16"
    assert {_option(c, "--frame-cache") for c in runs.values()} == {"out/frames"}

    # g2x: g2's recordings linked in (not generated again) after 352 more; the same 16 held out.
    (tmp_path / "out/data").mkdir(parents=True)
    (tmp_path / "out/data/tech-tree-00000.mp4").write_bytes(b"g2")
    result, calls = _run("idm_curve.sh", ["out"], tmp_path, KIND="g2x")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/data_x/b-seed5000/tech-tree-00000.mp4").stat().st_ino == (tmp_path / "out/data/tech-tree-00000.mp4").stat().st_ino
    gen = {_option(c, "--out"): (_option(c, "--seed"), _option(c, "--episodes")) for c in calls if c[:2] == ["data", "generate"]}
    assert gen == {"out/data_x/b-seed5000": ("5000", "176"), "out/data_x/a-seed6000": ("6000", "352")}
    runs = {_option(c, "--out"): c for c in calls if c[:2] == ["idm", "train"]}
    assert set(runs) == {"out/curve/hours_4.22", "out/curve/hours_2.64"}
    assert all(_option(c, "--data") == "out/data_x" and _option(c, "--val-recordings") == "16" for c in runs.values())
    assert _option(next(c for c in calls if c[:2] == ["idm", "eval"]), "--model") == "out/curve/hours_4.22/idm.model"
    # The labeller: idm_g2 trained on from its weights on all of g2x, scored with --mirror --camera mean.
    result, calls = _run("idm_curve.sh", ["out"], tmp_path, KIND="g2x", LABELLER="1", ONLY_LABELLER="1", LABELLER_STEPS="7")
    assert result.returncode == 0, result.stderr
    trained = [c for c in calls if c[:2] == ["idm", "train"]]
    assert len(trained) == 1 and not any(c[:2] == ["idm", "curve"] for c in calls)
    assert (_option(trained[0], "--init-model"), _option(trained[0], "--steps"), _option(trained[0], "--out")) == (
        "models/idm_g2.model", "7", "out/labeller")
    scored = next(c for c in calls if c[:2] == ["idm", "eval"])
    assert _option(scored, "--model") == "out/labeller/idm.model" and "--mirror" in scored and _option(scored, "--camera") == "mean"
    result, _ = _run("idm_curve.sh", ["out"], tmp_path, KIND="g3")
    assert result.returncode == 2 and "unknown KIND g3" in result.stderr


def test_idm_one_hour_trains_one_phase_on_g2_or_two_phases_on_g2x(tmp_path):
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path)
    assert result.returncode == 2 and "ONLY_LABELLER=1 KIND=g2 " in result.stderr and not calls
    # One phase (default) on g2's recordings, wherever KIND=g2 or KIND=g2x put them.
    for g2 in ("out/data_x/b-seed5000", "out/data"):
        (tmp_path / g2).mkdir(parents=True)
        result, calls = _run("idm_one_hour.sh", ["out"], tmp_path)
        assert result.returncode == 0, result.stderr
        (run,) = [c for c in calls if c[:2] == ["idm", "train"]]
        assert (_option(run, "--data"), _option(run, "--steps"), _option(run, "--lr")) == (g2, "11000", "1e-3")
        assert _option(run, "--out") == "out/one_hour/single" and "--init-model" not in run
        assert (_option(run, "--preset"), _option(run, "--val-recordings"), _option(run, "--mirror-prob")) == ("tiny", "16", "0.5")
        (scored,) = [c for c in calls if c[:2] == ["idm", "eval"]]
        assert (_option(scored, "--data"), _option(scored, "--last"), _option(scored, "--camera")) == (g2, "16", "mean")
        assert _option(scored, "--model") == "out/one_hour/single/idm.model" and "--mirror" in scored
        assert _option(scored, "--out") == "out/one_hour/single/eval_mirror_mean.json" and _option(run, "--keep-every") == "1000"
    # G2X=1: the one phase on all of g2x (needs its data), scored on the same last 16.
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, G2X="1")
    assert result.returncode == 2 and "ONLY_LABELLER=1 KIND=g2x" in result.stderr and not calls
    (tmp_path / "out/data_x/a-seed6000").mkdir(parents=True)
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, G2X="1", SEED="2")
    (run,) = [c for c in calls if c[:2] == ["idm", "train"]]
    assert (_option(run, "--data"), _option(run, "--out")) == ("out/data_x", "out/one_hour/single_g2x_seed2")
    (scored,) = [c for c in calls if c[:2] == ["idm", "eval"]]
    assert (_option(scored, "--data"), _option(scored, "--last")) == ("out/data_x", "16")
    # STEPS: another schedule in its own folder (a checkpoint of 11,000 steps is never resumed with it).
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, G2X="1", STEPS="20000")
    (run,) = [c for c in calls if c[:2] == ["idm", "train"]]
    assert (_option(run, "--steps"), _option(run, "--out")) == ("20000", "out/one_hour/single_g2x_steps20000")
    (tmp_path / "out/data_x/a-seed6000").rmdir()
    # SCORE_STEPS=1: the kept weights of each 1,000th step are scored too, each into its own file.
    for n in (1000, 2000):
        (tmp_path / f"out/one_hour/single/idm.step{n}.model").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"out/one_hour/single/idm.step{n}.model").touch()
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, SCORE_STEPS="1")
    assert result.returncode == 0, result.stderr
    scored = {_option(c, "--weights"): _option(c, "--out") for c in calls if c[:2] == ["idm", "eval"]}
    assert scored == {f"out/one_hour/single/idm{k}.weights": f"out/one_hour/single/eval_mirror_mean{k}.json"
                      for k in ("", ".step1000", ".step2000")}
    # A kept step's score, once written, is not redone (the last weights' always is); RESCORE=1 redoes all.
    (tmp_path / "out/one_hour/single/eval_mirror_mean.step1000.json").touch()
    (tmp_path / "out/one_hour/single/eval_mirror_mean.json").touch()
    for rescore, want in (("0", {"", ".step2000"}), ("1", {"", ".step1000", ".step2000"})):
        result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, SCORE_STEPS="1", RESCORE=rescore)
        scored = {_option(c, "--weights") for c in calls if c[:2] == ["idm", "eval"]}
        assert result.returncode == 0 and scored == {f"out/one_hour/single/idm{k}.weights" for k in want}, result.stderr
    # Another seed: its own run folder, scored there.
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, SEED="1")
    (run,) = [c for c in calls if c[:2] == ["idm", "train"]]
    assert (_option(run, "--seed"), _option(run, "--out")) == ("1", "out/one_hour/single_seed1")
    assert _option(next(c for c in calls if c[:2] == ["idm", "eval"]), "--model") == "out/one_hour/single_seed1/idm.model"
    # A CPU without native bf16 is warned about (fp32 training: ~2x the hour); one with it is not.
    (tmp_path / "avx2").write_text("flags\t\t: fpu avx avx2 fma\n")
    (tmp_path / "bf16").write_text("flags\t\t: fpu avx avx2 avx512f avx512_bf16\n")
    result, _ = _run("idm_one_hour.sh", ["out"], tmp_path, CPUINFO=str(tmp_path / "avx2"))
    assert result.returncode == 0 and "no native bf16" in result.stderr
    result, _ = _run("idm_one_hour.sh", ["out"], tmp_path, CPUINFO=str(tmp_path / "bf16"))
    assert result.returncode == 0 and "no native bf16" not in result.stderr
    # JITTER: recoloured windows, in a run folder of their own.
    assert "--color-jitter" not in run
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, JITTER="0.3")
    (run,) = [c for c in calls if c[:2] == ["idm", "train"]]
    assert (_option(run, "--color-jitter"), _option(run, "--out")) == ("0.3", "out/one_hour/single_jitter0.3")
    # SHIFT: shifted windows, likewise (with JITTER: both, in a folder named for both).
    assert "--shift" not in run
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, SHIFT="4", JITTER="0.3")
    (run,) = [c for c in calls if c[:2] == ["idm", "train"]]
    assert (_option(run, "--shift"), _option(run, "--color-jitter")) == ("4", "0.3")
    assert _option(run, "--out") == "out/one_hour/single_jitter0.3_shift4"
    for extra in ({"JITTER": "0.3"}, {"SHIFT": "4"}):
        result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, TWO_PHASE="1", **extra)
        assert result.returncode == 2 and "JITTER and SHIFT are for the one phase" in result.stderr and not calls
    # Two phases: g2's recordings, then all of g2x's from phase 1's weights, the same 16 held out.
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, TWO_PHASE="1")
    assert result.returncode == 2 and "ONLY_LABELLER=1 KIND=g2x" in result.stderr and not calls
    (tmp_path / "out/data_x/a-seed6000").mkdir(parents=True)
    result, calls = _run("idm_one_hour.sh", ["out"], tmp_path, TWO_PHASE="1", STEPS1="5")
    assert result.returncode == 0, result.stderr
    p1, p2 = sorted((c for c in calls if c[:2] == ["idm", "train"]), key=lambda c: _option(c, "--out"))
    assert (_option(p1, "--data"), _option(p1, "--steps"), _option(p1, "--lr")) == ("out/data_x/b-seed5000", "5", "1e-3")
    assert (_option(p2, "--data"), _option(p2, "--steps"), _option(p2, "--lr")) == ("out/data_x", "3500", "5e-4")
    assert _option(p2, "--init-model") == "out/one_hour/phase1/idm.model" and "--init-model" not in p1
    assert {_option(c, "--val-recordings") for c in (p1, p2)} == {"16"} and {_option(c, "--preset") for c in (p1, p2)} == {"tiny"}
    scored = sorted(_option(c, "--model") for c in calls if c[:2] == ["idm", "eval"] and "--mirror" in c)
    assert scored == ["out/one_hour/phase1/idm.model", "out/one_hour/phase2/idm.model"]


def test_idm_vs_true_trains_the_prior_recipe_on_labels(tmp_path):
    (tmp_path / "out/data").mkdir(parents=True)
    for i in range(320):
        for ext in ("mp4", "jsonl"):
            (tmp_path / f"out/data/tech-tree-{i:05d}.{ext}").touch()
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, TRAIN_TRUE="1")
    assert result.returncode == 0, result.stderr
    gens = [c for c in calls if c[:2] == ["data", "generate"]]
    assert sorted((_option(c, "--seed"), _option(c, "--episodes")) for c in gens) == [("2000", "320"), ("9000", "16")]
    labels = {_option(c, "--out"): [a for a in c if a.endswith(".mp4")] for c in calls if c[:2] == ["idm", "label"]}
    assert [Path(v).name for v in labels["out/labels/a"]] == [f"tech-tree-{i:05d}.mp4" for i in range(160)]
    assert len(labels["out/labels/b"]) == 160 and labels["out/labels/b"][0].endswith("00160.mp4")
    assert all(_option(c, "--model") == "models/idm_g2.model" for c in calls if c[:2] == ["idm", "label"])
    bc = {_option(c, "--out"): c for c in calls if c[:2] == ["bc", "train"]}
    assert set(bc) == {f"out/{side}/bc{i}" for side in ("idm_labels", "true_labels") for i in (1, 2, 3)}
    for side, first, every in (("idm_labels", "out/labels/a", "out/labels"), ("true_labels", "out/data_a", "out/data")):
        s1, s2, s3 = (bc[f"out/{side}/bc{i}"] for i in (1, 2, 3))
        assert [_option(c, "--steps") for c in (s1, s2, s3)] == ["3000", "1500", "2400"]
        assert [_option(c, "--data") for c in (s1, s2, s3)] == [first, first, every]
        assert [_option(c, "--lr") for c in (s1, s2, s3)] == ["1e-3", "5e-4", "5e-4"]
        assert "--init-model" not in s1 and _option(s3, "--init-model") == f"out/{side}/bc2/policy.model"
        assert "--gui-weight" not in s2 and _option(s3, "--gui-weight") == "2"
        assert {_option(c, "--null-rule") for c in (s1, s2, s3)} == {"jsonl"}  # sticks_prior_g2_320's rule
    assert len(list((tmp_path / "out/data_a").iterdir())) == 320  # 160 videos and their jsonl
    evals = {_option(c, "--out"): (_option(c, "--model"), _option(c, "--seed"), _option(c, "--episodes")) for c in calls if c[0] == "eval"}
    assert evals == {f"out/eval/{name}/seed_{seed}": (model, seed, n) for seed, n in EVAL_SEEDS
                     for name, model in (("idm_labels", "out/idm_labels/bc3/policy.model"),
                                         ("true_labels_trained", "out/true_labels/bc3/policy.model"))}  # fmt: skip
    pool = [c for c in calls if c[0] == "scripts/pool_evals.py"]  # the two sides pooled over the seeds, ratios to the truth
    assert pool == [["scripts/pool_evals.py", "--ref", "true_labels_trained"] + [
        f"{side}=" + ",".join(f"out/eval/{side}/seed_{seed}" for seed in SEEDS) for side in ("idm_labels", "true_labels_trained")]]


def test_idm_vs_true_label_ablations_run_apart(tmp_path):
    """ORACLE=screens: the label stage writes the oracle copies of both label folders, and the IDM
    side's recipe trains on them in run folders of its own, evaluated apart from the plain side;
    SOFT=1 adds --soft-camera to the IDM side alone, in folders of its own too."""
    (tmp_path / "out/data").mkdir(parents=True)
    for i in range(320):
        (tmp_path / f"out/data/tech-tree-{i:05d}.mp4").touch()
    env = {"ORACLE": "screens", "NULL_RULE": "policy", "STAGES": "label bc1 bc2 bc3 eval", "PYTHON": str(tmp_path / "vpt")}
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    oracle = sorted(c for c in calls if c[0] == "scripts/oracle_labels.py")
    assert oracle == [["scripts/oracle_labels.py", f"out/labels/{p}", f"out/labels_oracle_screens/{p}", "--where", "screens"]
                      for p in "ab"]  # fmt: skip
    assert {_option(c, "--out") for c in calls if c[:2] == ["idm", "label"]} == {"out/labels/a", "out/labels/b"}
    bc = {_option(c, "--out"): c for c in calls if c[:2] == ["bc", "train"]}
    assert set(bc) == {f"out/idm_labels_oracle_screens/bc{i}" for i in (1, 2, 3)}
    assert [_option(bc[f"out/idm_labels_oracle_screens/bc{i}"], "--data") for i in (1, 2, 3)] == [
        "out/labels_oracle_screens/a", "out/labels_oracle_screens/a", "out/labels_oracle_screens"]  # fmt: skip
    assert _option(bc["out/idm_labels_oracle_screens/bc3"], "--init-model") == "out/idm_labels_oracle_screens/bc2/policy.model"
    evals = {_option(c, "--out"): _option(c, "--model") for c in calls if c[0] == "eval"}
    assert evals == {f"out/eval/{name}/seed_{seed}": model for seed in SEEDS  # the like-for-like true side
                     for name, model in (("idm_labels_oracle_screens", "out/idm_labels_oracle_screens/bc3/policy.model"),
                                         ("true_labels", "models/sticks_prior_g2_320_policy_null.model"))}  # fmt: skip
    assert all("--soft-camera" not in c for c in bc.values())
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, **{**env, "SOFT": "1", "TRAIN_TRUE": "1", "STAGES": "bc3 eval"})
    assert result.returncode == 0, result.stderr  # the soft-camera chain, beside the true side trained as ever
    bc = {_option(c, "--out"): c for c in calls if c[:2] == ["bc", "train"]}
    assert set(bc) == {"out/idm_labels_oracle_screens_soft/bc3", "out/true_labels/bc3"}
    assert "--soft-camera" in bc["out/idm_labels_oracle_screens_soft/bc3"] and "--soft-camera" not in bc["out/true_labels/bc3"]
    assert _option(bc["out/idm_labels_oracle_screens_soft/bc3"], "--data") == "out/labels_oracle_screens"
    assert {_option(c, "--out") for c in calls if c[0] == "eval"} == {
        f"out/eval/{name}/seed_{seed}" for name in ("idm_labels_oracle_screens_soft", "true_labels_trained") for seed in SEEDS}
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, ORACLE="everywhere")
    assert result.returncode == 2 and "unknown ORACLE everywhere" in result.stderr and not calls
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, MIRROR="yes")
    assert result.returncode == 2 and "MIRROR and SOFT are 0 or 1" in result.stderr and not calls


def test_idm_vs_true_mirror_labels_run_apart(tmp_path):
    """MIRROR=1: the IDM labels with --mirror into labels_mirror, and the IDM side (soft and oracle
    too) trains on those in run folders of its own; the plain labels are not touched."""
    (tmp_path / "out/data").mkdir(parents=True)
    for i in range(320):
        (tmp_path / f"out/data/tech-tree-{i:05d}.mp4").touch()
    env = {"MIRROR": "1", "SOFT": "1", "NULL_RULE": "policy", "STAGES": "label bc1 bc2 bc3 eval"}
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    label = {_option(c, "--out"): c for c in calls if c[:2] == ["idm", "label"]}
    assert set(label) == {"out/labels_mirror/a", "out/labels_mirror/b"} and all("--mirror" in c for c in label.values())
    bc = {_option(c, "--out"): c for c in calls if c[:2] == ["bc", "train"]}
    assert set(bc) == {f"out/idm_labels_mirror_soft/bc{i}" for i in (1, 2, 3)}
    assert [_option(bc[f"out/idm_labels_mirror_soft/bc{i}"], "--data") for i in (1, 2, 3)] == [
        "out/labels_mirror/a", "out/labels_mirror/a", "out/labels_mirror"]  # fmt: skip
    assert all("--soft-camera" in c for c in bc.values())
    assert {_option(c, "--out") for c in calls if c[0] == "eval"} == {
        f"out/eval/{name}/seed_{seed}" for name in ("idm_labels_mirror_soft", "true_labels") for seed in SEEDS}
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, **{**env, "SOFT": "0", "ORACLE": "screens", "STAGES": "label bc1"})
    assert result.returncode == 0, result.stderr
    oracle = sorted(c for c in calls if c[0] == "scripts/oracle_labels.py")
    assert oracle == [["scripts/oracle_labels.py", f"out/labels_mirror/{p}", f"out/labels_mirror_oracle_screens/{p}", "--where",
                       "screens"] for p in "ab"]  # fmt: skip
    bc = [c for c in calls if c[:2] == ["bc", "train"]]
    assert [_option(c, "--out") for c in bc] == ["out/idm_labels_mirror_oracle_screens/bc1"]
    assert _option(bc[0], "--data") == "out/labels_mirror_oracle_screens/a" and "--soft-camera" not in bc[0]


def test_idm_vs_true_bc_seed_replicates_run_apart(tmp_path):
    """BC_SEED=S: every BC stage of both sides trains with --seed S, in run folders and
    evaluations of its own (a replicate beside the seed-0 chain); a bad seed stops the script."""
    (tmp_path / "out/data").mkdir(parents=True)
    for i in range(320):
        (tmp_path / f"out/data/tech-tree-{i:05d}.mp4").touch()
    env = {"BC_SEED": "7", "MIRROR": "1", "SOFT": "1", "TRAIN_TRUE": "1", "NULL_RULE": "policy", "STAGES": "bc1 bc2 bc3 eval"}
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    bc = {_option(c, "--out"): c for c in calls if c[:2] == ["bc", "train"]}
    assert set(bc) == {f"out/{side}/bc{i}" for side in ("idm_labels_mirror_soft_seed7", "true_labels_seed7") for i in (1, 2, 3)}
    assert all(_option(c, "--seed") == "7" for c in bc.values())
    assert _option(bc["out/true_labels_seed7/bc2"], "--init-model") == "out/true_labels_seed7/bc1/policy.model"
    evals = {_option(c, "--out"): c for c in calls if c[0] == "eval"}
    assert set(evals) == {f"out/eval/{name}/seed_{seed}" for name in ("idm_labels_mirror_soft_seed7", "true_labels_trained_seed7")
                          for seed in SEEDS}  # fmt: skip
    assert _option(evals["out/eval/true_labels_trained_seed7/seed_0"], "--model") == "out/true_labels_seed7/bc3/policy.model"
    result, _ = _run("idm_vs_true.sh", ["out"], tmp_path, **{**env, "BC_SEED": "x"})
    assert result.returncode == 2 and "BC_SEED must be a whole number" in result.stderr


def test_idm_vs_true_skips_finished_stages_and_checks_its_input(tmp_path):
    stage_files = {"bc1": ["policy.weights"],  # copied in from another session
                   "bc2": ["policy.weights", "checkpoint.pt", "summary.json"],  # finished here
                   "bc3": ["policy.weights", "checkpoint.pt"]}  # killed after a checkpoint: resume it
    for stage, names in stage_files.items():
        (tmp_path / "out/idm_labels" / stage).mkdir(parents=True)
        for name in names:
            (tmp_path / "out/idm_labels" / stage / name).touch()
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="bc1 bc2 bc3 eval")
    assert result.returncode == 0, result.stderr
    assert [_option(c, "--out") for c in calls if c[:2] == ["bc", "train"]] == ["out/idm_labels/bc3"]
    evals = {_option(c, "--out"): _option(c, "--model") for c in calls if c[0] == "eval"}
    assert evals["out/eval/true_labels/seed_1000"] == "models/sticks_prior_g2_320.model"
    for seed in SEEDS:  # the prior's evaluation, done before, and the IDM side's but for seed 1000
        for name in ("true_labels", "idm_labels") if seed != "1000" else ("true_labels",):
            (tmp_path / f"out/eval/{name}/seed_{seed}").mkdir(parents=True, exist_ok=True)
            (tmp_path / f"out/eval/{name}/seed_{seed}/report.json").touch()
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="eval")
    assert result.returncode == 0, result.stderr
    assert [_option(c, "--out") for c in calls if c[0] == "eval"] == ["out/eval/idm_labels/seed_1000"]
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="eval", TRAIN_TRUE="1", EVAL_SEEDS="0:32 7:8")
    assert result.returncode == 0, result.stderr  # a retrained true side is reported beside the prior's
    assert {_option(c, "--out") for c in calls if c[0] == "eval"} == {
        "out/eval/idm_labels/seed_7", "out/eval/true_labels_trained/seed_0", "out/eval/true_labels_trained/seed_7"}
    failing = tmp_path / "failing_vpt"  # the two sides play side by side: either failing stops the script
    failing.write_text('#!/usr/bin/env bash\n[[ $1 == eval && $* == *true_labels* ]] && exit 3\nexit 0\n')
    failing.chmod(0o755)
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="eval", EVAL_SEEDS="5:8", VPT=str(failing))
    assert result.returncode == 3 and not any(c[0] == "scripts/pool_evals.py" for c in calls)
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="eval", EVAL_SEEDS="0:32 1000")
    assert result.returncode == 2 and "bad EVAL_SEEDS entry 1000" in result.stderr and not calls
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="bc3", TRAIN_TRUE="1", ONLY="true_labels")
    assert result.returncode == 0, result.stderr  # the killed IDM-side bc3 is left alone
    assert [_option(c, "--out") for c in calls if c[:2] == ["bc", "train"]] == ["out/true_labels/bc3"]
    assert all("--null-actions" not in c for c in calls)
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="bc3", TRAIN_TRUE="1", NULL_ACTIONS="1")
    trained = [c for c in calls if c[:2] == ["bc", "train"]]
    assert len(trained) == 2 and all("--null-actions" in c for c in trained)
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="bc3", ONLY="true")
    assert result.returncode == 2 and "unknown side true" in result.stderr and not calls
    result, calls = _run("idm_vs_true.sh", ["out2"], tmp_path, STAGES="bc1", TRAIN_TRUE="1", NULL_RULE="policy")
    assert result.returncode == 1  # no demonstrations under out2 for the true side's links
    assert [_option(c, "--null-rule") for c in calls if c[:2] == ["bc", "train"]] == ["policy"]
    result, calls = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="bc4 eval4", TRAIN_TRUE="1")
    assert result.returncode == 0, result.stderr  # the waits fine-tune of both sides' bc3, and its evaluation
    bc4 = {_option(c, "--out"): c for c in calls if c[:2] == ["bc", "train"]}
    assert set(bc4) == {"out/idm_labels/bc4", "out/true_labels/bc4"}
    assert _option(bc4["out/idm_labels/bc4"], "--data") == "out/labels" and _option(bc4["out/true_labels/bc4"], "--data") == "out/data"
    for side, c in bc4.items():
        assert _option(c, "--init-model") == side.replace("bc4", "bc3/policy.model") and "--null-actions" in c
        assert (_option(c, "--steps"), _option(c, "--lr"), _option(c, "--gui-weight")) == ("1200", "5e-4", "2")
    evals = {_option(c, "--out"): _option(c, "--model") for c in calls if c[0] == "eval"}
    assert evals == {f"out/eval/{side}_bc4/seed_{seed}": f"out/{side}/bc4/policy.model"
                     for side in ("idm_labels", "true_labels") for seed in SEEDS}  # fmt: skip
    result, _ = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="label")
    assert result.returncode == 1 and "expected 320 videos" in result.stderr
    result, _ = _run("idm_vs_true.sh", ["out"], tmp_path, STAGES="bc1 typo")
    assert result.returncode == 2 and "unknown stage typo" in result.stderr


def test_pool_evals_pools_seeds_and_takes_ratios(tmp_path, capsys, monkeypatch):
    """scripts/pool_evals.py: episodes of one policy's reports pooled (success rates with their
    standard errors, screens, cursor off the panel over the episodes that opened one), and each
    policy's rates over the reference's with the ratio's standard error."""
    def report(name, items, gui, off):
        (tmp_path / name).mkdir()
        detail = {"items": items, "returns": [float(len(i)) for i in items], "gui_fraction": gui, "cursor_off_screen": off}
        (tmp_path / name / "report.json").write_text(json.dumps({"episodes_detail": detail}))

    report("a0", [["log"], ["log", "planks"]], [0.5, 0.3], [0.1, 0.3])
    report("a1", [[], ["log", "planks", "stick"]], [0.0, 0.4], [0.2])
    report("t0", [["log", "planks"], ["log", "planks"], ["log"], []], [0.5] * 4, [0.0] * 3)
    monkeypatch.setattr("sys.argv", ["pool_evals.py", "--ref", "truth", f"ours={tmp_path}/a0,{tmp_path}/a1", f"truth={tmp_path}/t0"])
    _script_module("pool_evals").main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "| ours | 4 | 1.500 | 30% | 20% | 75.0% ± 21.7 | 50.0% ± 25.0 | 25.0% ± 21.7 | 0.0% ± 0.0 |"
    assert lines[3].startswith("| truth | 4 | 1.250 | 50% | 0% | 75.0% ± 21.7 | 50.0% ± 25.0 | 0.0% ± 0.0 |")
    assert lines[4] == "ours / truth: log 1.00 ± 0.41, planks 1.00 ± 0.71, stick –, crafting_table –"
    assert _script_module("pool_evals").ratio((0.36, 0.038), (0.45, 0.039)) == "0.80 ± 0.11"
    assert _script_module("pool_evals").ratio((0.0, 0.0), (0.5, 0.1)) == "0.00"


def test_cursor_trace_summary_tells_a_stuck_cursor_from_a_stray():
    """scripts/cursor_trace.py's summary: the share of screen steps off the panel, by side, the
    mean move there, and per screen visit whether the cursor left the panel and stayed off."""
    trace = _script_module("cursor_trace")
    centre, right, corner = (640, 360), (1100, 360), (1279, 0)  # on the panel; off it at gui_scale 2
    rows = [(0, 0, *centre, 0, 0)] * 5  # world steps count for nothing
    rows += [(0, 1, *centre, 0, 3.2)] * 8 + [(0, 1, *right, 0, -10)] * 2 + [(0, 1, *centre, 0, 0)] * 10  # a stray, back
    rows += [(1, 1, *centre, 0, 10)] * 4 + [(1, 1, *corner, -1.6, 10)] * 16  # stuck in the window's corner
    from vpt.env.sim.gui import inside_screen

    left, top, right, bottom = trace.panel_rect(2)
    assert inside_screen(left, top, gui_scale=2) and inside_screen(right - 0.01, bottom - 0.01, gui_scale=2)
    assert not inside_screen(left - 0.01, top, gui_scale=2) and not inside_screen(right, bottom - 1, gui_scale=2)
    s = trace.summarize(np.array(rows, dtype=float), gui_scale=2)
    assert s["screen_steps"] == 40 and s["off_panel"] == 18 / 40
    assert s["sides"]["right"] == pytest.approx({"steps": 18, "mean_yaw": (2 * -10 + 16 * 10) / 18,
                                                 "mean_pitch": 16 * -1.6 / 18, "at_window_edge": 16 / 18})  # fmt: skip
    assert s["visits"] == {"count": 2, "ever_off": 1.0, "mostly_off": 0.5}


def test_cursor_trace_plays_every_episode_to_its_end():
    """cursor_trace.trace plays the requested episodes on two environments, one row per step."""
    from vpt.agent.agent import Agent
    from vpt.agent.presets import build_policy

    trace = _script_module("cursor_trace")
    world = {"size": [16, 16], "height": 16, "gui_scale": 2}
    rows = trace.trace(Agent(build_policy("tiny", seed=0)), episodes=3, seed=0, world=world, max_steps=6)
    assert rows.shape == (18, len(trace.COLUMNS))
    assert sorted(np.unique(rows[:, 0], return_counts=True)[1]) == [6, 6, 6]


def test_oracle_labels_replace_the_chosen_frames_camera_with_the_truth(tmp_path):
    """scripts/oracle_labels.py: on screen frames (or only those with the cursor off the panel)
    the camera label becomes the jsonl's; every other frame and every button stays the IDM's."""
    from vpt import actions
    from vpt.data.jsonl import jsonl_line_to_env_action, read_jsonl
    from vpt.data.labels import read_labels, write_labels
    from vpt.data.synthetic import write_synthetic_recording

    oracle = _script_module("oracle_labels")
    mp4, jsonl = write_synthetic_recording(tmp_path / "v" / "rec", 300, seed=3, width=128, height=72)
    rng = np.random.default_rng(0)
    buttons = np.log(rng.dirichlet(np.ones(2), size=(300, 20))).astype(np.float32)
    camera = np.log(rng.dirichlet(np.ones(11), size=(300, 2))).astype(np.float32)
    write_labels(tmp_path / "idm" / "rec.labels.npz", buttons, camera, {"video": str(mp4)})
    lines = read_jsonl(jsonl)
    truth = actions.camera_to_bins(np.array([jsonl_line_to_env_action(ln)[0]["camera"] for ln in lines]).reshape(-1, 2))
    gui = np.array([ln["isGuiOpen"] for ln in lines])
    assert 0 < gui.sum() < 300
    before = read_labels(tmp_path / "idm" / "rec.labels.npz")
    for where in ("screens", "off"):
        counts = oracle.oracle_labels(tmp_path / "idm", tmp_path / where, where)
        after = read_labels(tmp_path / where / "rec.labels.npz")
        chosen = (after["camera_bins"] != before["camera_bins"]).any(1)
        assert after["meta"]["oracle_camera"] == where
        replaced = np.all(after["camera_probs"].max(-1) == 1.0, axis=-1) & (after["camera_bins"] == truth).all(1)
        assert counts["files"] == 1 and counts["frames"] == 300 and counts["changed"] == chosen.sum() > 0
        assert not chosen[~gui].any()  # world frames keep the IDM's camera
        np.testing.assert_array_equal(after["camera_bins"][chosen], truth[chosen])
        assert replaced.sum() == counts["selected"] and (replaced <= gui).all()
        np.testing.assert_array_equal(after["factored_buttons"], before["factored_buttons"])
        np.testing.assert_array_equal(after["camera"], actions.factored_to_joint(after["factored_buttons"], after["camera_bins"])[1])
        assert oracle.oracle_labels(tmp_path / "idm", tmp_path / where, where)["files"] == 0  # finished copies are kept
    screens, off = (read_labels(tmp_path / w / "rec.labels.npz") for w in ("screens", "off"))
    np.testing.assert_array_equal(screens["camera_bins"][gui], truth[gui])
    assert ((off["camera_bins"] != before["camera_bins"]).any(1) <= (screens["camera_bins"] == truth).all(1)).all()


def test_label_quality_scores_label_files_against_the_truth(tmp_path, capsys, monkeypatch):
    """scripts/label_quality.py: on screen and world frames apart, the share of frames with both
    camera bins right, the NLL of the true bins under camera_probs and p(true bin); an oracle copy
    (the truth one-hot on screens) scores 1 / 0 / 1 there and the IDM's own numbers elsewhere."""
    from vpt import actions
    from vpt.data.jsonl import jsonl_line_to_env_action, read_jsonl
    from vpt.data.labels import write_labels
    from vpt.data.synthetic import write_synthetic_recording

    mp4, jsonl = write_synthetic_recording(tmp_path / "v" / "rec", 200, seed=5, width=128, height=72)
    rng = np.random.default_rng(1)
    buttons = np.log(rng.dirichlet(np.ones(2), size=(200, 20))).astype(np.float32)
    camera = np.log(rng.dirichlet(np.ones(11), size=(200, 2))).astype(np.float32)
    write_labels(tmp_path / "idm" / "rec.labels.npz", buttons, camera, {"video": str(mp4)})
    _script_module("oracle_labels").oracle_labels(tmp_path / "idm", tmp_path / "oracle", "screens")
    lines = read_jsonl(jsonl)
    truth = actions.camera_to_bins(np.array([jsonl_line_to_env_action(ln)[0]["camera"] for ln in lines]).reshape(-1, 2))
    gui = np.array([ln["isGuiOpen"] for ln in lines])
    probs = np.exp(camera)
    p_true = np.take_along_axis(probs, truth[..., None], -1)[..., 0]
    quality = _script_module("label_quality")
    names = quality.common_names([str(tmp_path / "idm"), str(tmp_path / "oracle")])
    assert names == ["rec.labels.npz"]
    idm, oracle = (quality.label_quality(tmp_path / f, names) for f in ("idm", "oracle"))
    for kind, mask in (("screens", gui), ("world", ~gui)):
        assert idm[kind]["frames"] == mask.sum() > 0
        assert idm[kind]["bins_right"] == pytest.approx((probs.argmax(-1) == truth).all(1)[mask].mean())
        assert idm[kind]["nll"] == pytest.approx(-np.log(p_true[mask]).sum(1).mean(), rel=1e-5)
        assert idm[kind]["p_true"] == pytest.approx(p_true[mask].mean(1).mean(), rel=1e-5)
    assert (oracle["screens"]["bins_right"], oracle["screens"]["nll"], oracle["screens"]["p_true"]) == (1.0, 0.0, 1.0)
    assert oracle["world"] == pytest.approx(idm["world"])
    monkeypatch.setattr("sys.argv", ["label_quality.py", str(tmp_path / "idm"), str(tmp_path / "oracle")])
    quality.main()
    out = capsys.readouterr().out
    assert "1 label files in each folder" in out and f"| {gui.sum()} + {(~gui).sum()} | 1.000 | 0.000 | 1.000 |" in out
    monkeypatch.setattr("sys.argv", ["label_quality.py", str(tmp_path / "idm"), str(tmp_path / "missing")])
    with pytest.raises(SystemExit, match="no label files .* in .*missing"):
        quality.main()
