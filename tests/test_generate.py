"""vpt data generate: recordings that load back, a manifest, web videos with ground truth, and a
run killed mid-way that finishes with every episode exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from vpt.cli import app
from vpt.data import load_recording, probe_video
from vpt.data.generate import GenerateConfig, episode_plan, generate, load_results

SMALL = {"size": (24, 24), "height": 24, "tree_density": 0.06}


def _cfg(**kw) -> GenerateConfig:
    base = dict(player="house", episodes=2, seed=1, max_steps=30, resolution=(64, 36), world=SMALL)
    base.update(kw)
    return GenerateConfig(**base)


def test_generate_recordings_manifest_and_round_trip(tmp_path):
    cfg = _cfg()
    results = generate(cfg, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config"]["player"] == "house" and len(manifest["episodes"]) == 2
    assert [e["seed"] for e in manifest["episodes"]] == [e["seed"] for e in episode_plan(cfg)]
    assert [r["name"] for r in results] == ["house-00000", "house-00001"]
    for r in results:
        rec = load_recording(tmp_path / f"{r['name']}.mp4", skip_null=False)
        assert len(rec) == r["steps"] == 30
    # a folder holding another run's settings is refused
    with pytest.raises(ValueError, match="other settings"):
        generate(_cfg(max_steps=31), tmp_path)


def test_generate_web_videos_have_ground_truth_and_no_jsonl(tmp_path):
    generate(_cfg(web=True, episodes=1, max_steps=20), tmp_path)
    mp4 = tmp_path / "web-house-00000.mp4"
    assert mp4.exists() and not list(tmp_path.glob("*.jsonl"))
    truth = json.loads((tmp_path / "ground_truth" / "web-house-00000.json").read_text())
    info = probe_video(mp4)
    assert (info.width, info.height) == tuple(truth["style"]["resolution"])
    from vpt.data.filter import decode_small

    assert len(decode_small(mp4)) == len(truth["clean"]) == len(truth["kinds"])
    assert truth["kinds"][0] == "title" and truth["clean"][0] == 0


def test_killed_run_resumes_with_every_episode_once(tmp_path):
    out = tmp_path / "run"
    # The run kills itself with SIGKILL 20 ms after its first episode is reported, i.e. inside the
    # second episode (a warm episode takes ~60 ms here). Polling from the parent instead was flaky:
    # the three warm episodes fit between two polls.
    code = (
        "import os, signal, threading\n"
        "from vpt.data.generate import GenerateConfig, generate\n"
        f"cfg = GenerateConfig(player='house', episodes=4, seed=2, max_steps=60, resolution=(64, 36), world={SMALL!r})\n"
        "kill = lambda r: threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGKILL)).start()\n"
        f"generate(cfg, {str(out)!r}, on_result=kill)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        assert proc.wait(timeout=120) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert 1 <= len(load_results(out)) < 4, "kill the run mid-way"
    cfg = GenerateConfig(player="house", episodes=4, seed=2, max_steps=60, resolution=(64, 36), world=SMALL)
    results = generate(cfg, out)
    names = [p["name"] for p in episode_plan(cfg)]
    assert [r["name"] for r in results] == names
    assert sorted(p.stem for p in out.glob("*.mp4")) == names
    assert sorted(p.stem for p in out.glob("*.jsonl")) == names
    assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left behind"
    for n in names:
        assert len(load_recording(out / f"{n}.mp4", skip_null=False)) == 60


def test_cli_generate_two_workers(tmp_path):
    res = CliRunner().invoke(app, ["data", "generate", "--player", "tech-tree", "--episodes", "2", "--workers", "2",
                                   "--out", str(tmp_path), "--max-steps", "15"])
    assert res.exit_code == 0, res.output
    results = load_results(tmp_path)
    assert len(results) == 2 and all(r["pid"] != os.getpid() for r in results)  # ran in workers
    res = CliRunner().invoke(app, ["data", "generate", "--player", "nobody", "--episodes", "1", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "unknown player" in res.output
    res = CliRunner().invoke(app, ["data", "generate", "--player", "tech-tree", "--episodes", "1", "--out", str(tmp_path),
                                   "--player-options", '{"first_log_tabel": true}'])
    assert res.exit_code == 2 and "first_log_tabel" in res.output
    res = CliRunner().invoke(app, ["data", "generate", "--player", "tech-tree", "--episodes", "1", "--out", str(tmp_path),
                                   "--player-options", "[1]"])
    assert res.exit_code == 2 and "JSON object" in res.output
    assert np.isfinite(results[0]["seconds"])


def test_measure_players_uses_the_run_seeds_and_writes_nothing(tmp_path):
    from vpt.data.generate import measure_players, success_rates

    cfg = _cfg(player="tech-tree", max_steps=400)
    results = measure_players(cfg)
    assert [r["seed"] for r in results] == [e["seed"] for e in episode_plan(cfg)]
    rates = success_rates(results, ("oak_log", "diamond"))
    assert set(rates) == {"oak_log", "diamond"} and rates["diamond"] == 0.0
    assert not list(tmp_path.iterdir())
