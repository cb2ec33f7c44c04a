"""Web videos (overlays, menus, ground truth) and the clean filter + near-duplicate removal."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from vpt.cli import app
from vpt.data.filter import (
    CleanClassifier,
    clean_segments,
    conservative_threshold,
    dedup_embedding,
    run_filter,
    train_active,
)
from vpt.data.video import write_video
from vpt.data.web import WebComposer, WebStyle
from vpt.env.sim import SimEnv

_GAMEPLAY: dict[int, list[np.ndarray]] = {}


def _gameplay(seed: int, n: int = 120) -> list[np.ndarray]:
    """Frames of a walk through a small world."""
    if seed not in _GAMEPLAY:
        env = SimEnv(resolution=(160, 90), world={"size": (32, 32), "height": 24, "tree_density": 0.05})
        obs, _ = env.reset(seed=seed)
        frames = [obs["pov"]]
        rng = np.random.default_rng(seed)
        for t in range(n - 1):
            obs, *_ = env.step({"forward": 1, "jump": int(t % 15 == 0),
                                "camera": np.array([rng.normal(0, 1), 3 + rng.normal(0, 2)], np.float32)})
            frames.append(obs["pov"])
        _GAMEPLAY[seed] = frames
    return _GAMEPLAY[seed]


def _web_video(folder, name: str, gameplay_seed: int, style_seed: int, duplicate_of: str | None = None) -> dict:
    rng = np.random.default_rng(style_seed)
    style = WebStyle.sample(rng)
    style = WebStyle((320, 180), style.fov, style.brightness, style.gamma, style.tint)  # small, for speed
    comp = WebComposer(style, rng, segment_seconds=(1.0, 2.5))
    frames = [f for g in _gameplay(gameplay_seed) for f in comp.feed(g)]
    write_video(folder / f"{name}.mp4", frames, crf=30)
    truth = comp.ground_truth()
    truth["duplicate_of"] = duplicate_of
    (folder / "ground_truth").mkdir(exist_ok=True)
    (folder / "ground_truth" / f"{name}.json").write_text(json.dumps(truth))
    return truth


def test_composer_labels_every_frame_and_pauses_the_game_for_menus():
    rng = np.random.default_rng(0)
    comp = WebComposer(WebStyle((854, 480), 70.0, 10.0, 1.2, (1.0, 1.0, 1.0)), rng, segment_seconds=(0.5, 1.0))
    game = [np.full((360, 640, 3), i % 256, np.uint8) for i in range(300)]
    out = [f for g in game for f in comp.feed(g)]
    truth = comp.ground_truth()
    assert len(out) == len(truth["clean"]) == len(truth["kinds"]) == len(truth["gameplay_index"]) > len(game)
    shown = [i for i in truth["gameplay_index"] if i >= 0]
    assert shown == sorted(shown) and shown[-1] == len(game) - 1
    assert all(f.shape == (480, 854, 3) for f in out[:5])
    kinds = set(truth["kinds"])
    assert {"clean", "title"} <= kinds and len(kinds) >= 5
    gameplay_frames = sum(k not in ("menu", "title") for k in truth["kinds"])
    assert gameplay_frames == len(game)  # menus and title cards do not consume gameplay
    assert all(c == (k == "clean") for c, k in zip(truth["clean"], truth["kinds"]))


def test_segments_threshold_and_embedding_units():
    keep = np.array([1] * 30 + [0] * 5 + [1] * 10 + [0] + [1] * 40, bool)
    assert clean_segments(keep, erode=3, min_segment=20) == [(0, 27), (49, 86)]
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.95])
    labels = np.array([0, 0, 0, 1, 1, 1])
    t = conservative_threshold(scores, labels, 1.0)
    assert (scores[labels == 0] < t).all() and (scores[labels == 1] >= t).all()
    f = np.random.default_rng(0).integers(0, 200, (3, 36, 64, 3)).astype(np.uint8)
    graded = np.clip(np.power(f / 255.0, 1.3) * 255 * 1.1 + 5, 0, 255).astype(np.uint8)
    sim = (dedup_embedding(f) * dedup_embedding(graded)).sum(axis=1)
    assert (sim > 0.97).all()  # the embedding ignores grading


def test_active_learning_reaches_budget_and_needs_both_classes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 4))
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(np.int64)
    clf, log = train_active(x, lambda i: y[i], budget=120, initial=20, batch=25, bad_recall=0.95)
    assert log["labelled"] == 120 and [r["labelled"] for r in log["rounds"]] == [20, 45, 70, 95, 120]
    acc = ((clf.proba(x) >= 0.5) == y).mean()
    assert acc > 0.9
    assert ((clf.proba(x[y == 0]) < clf.threshold).mean()) >= 0.9  # conservative for bad frames
    with pytest.raises(ValueError, match="same"):
        train_active(x, lambda i: np.ones(len(i), np.int64), budget=40, initial=20)


def test_filter_precision_recall_and_duplicates_on_held_out_videos(tmp_path):
    train, held = tmp_path / "train", tmp_path / "held"
    train.mkdir(), held.mkdir()
    for i in range(6):
        _web_video(train, f"t{i}", gameplay_seed=10 + i, style_seed=100 + i)
    _web_video(held, "h0", gameplay_seed=2, style_seed=201)
    _web_video(held, "h1", gameplay_seed=3, style_seed=200)
    _web_video(held, "h2", gameplay_seed=2, style_seed=206, duplicate_of="h0")  # a re-upload
    report = run_filter(held, tmp_path / "out", train_dir=train, budget=200, batch=40, bad_recall=0.95)
    m = report["metrics"]
    assert m["clean_precision"] >= 0.85, m
    assert m["clean_recall"] >= 0.5, m  # conservative: segment edges and short runs go too
    assert m["bad_recall"] >= 0.85, m
    assert m["duplicate_frames"] > 20, (m, report["videos"])
    assert m["duplicate_recall"] >= 0.8 and m["duplicate_precision"] >= 0.8, (m, report["videos"])
    assert (tmp_path / "out" / "filter.json").exists()
    clf = CleanClassifier.load(tmp_path / "out" / "classifier.npz")
    assert clf.threshold == pytest.approx(report["classifier"]["threshold"])
    # the CLI applies a saved classifier; bad input names the problem
    res = CliRunner().invoke(app, ["data", "filter", str(held), "--out", str(tmp_path / "o2"), "--model",
                                   str(tmp_path / "out" / "classifier.npz")])
    assert res.exit_code == 0 and "precision" in res.output, res.output
    # a corrupt video is skipped and named; the others are still filtered
    (held / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    res = CliRunner().invoke(app, ["data", "filter", str(held), "--out", str(tmp_path / "o4"), "--model",
                                   str(tmp_path / "out" / "classifier.npz")])
    assert res.exit_code == 0 and "skipped: broken.mp4" in res.output and "in 3 videos" in res.output, res.output
    assert list(json.loads((tmp_path / "o4" / "filter.json").read_text())["skipped"]) == ["broken.mp4"]
    res = CliRunner().invoke(app, ["data", "filter", str(tmp_path / "nothing"), "--out", str(tmp_path / "o3"),
                                   "--model", str(tmp_path / "out" / "classifier.npz")])
    assert res.exit_code == 2 and "not a folder of videos" in res.output, res.output
