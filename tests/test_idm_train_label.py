"""IDM training (tiny, on synthetic recordings) and labelling: resumable, atomic, exact."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vpt.data import load_recording
from vpt.data.synthetic import write_synthetic_recording
from vpt.idm import IDMConfig, InverseDynamicsModel, load_idm, predict
from vpt.idm.label import label_path, label_videos, labels_to_jsonl, read_labels
from vpt.idm.train import IDMTrainConfig, preset_kwargs, train_idm


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    root = tmp_path_factory.mktemp("recs")
    for i in range(3):
        write_synthetic_recording(root / f"rec{i}", 48, seed=i, width=128, height=72)
    return root


def _tiny_idm(seed: int = 0) -> InverseDynamicsModel:
    torch.manual_seed(seed)
    kw = preset_kwargs("tiny")
    kw.update(hidsize=32, impala_chans=[4, 8, 8], attention_heads=2, timesteps=16, attention_memory_size=16)
    kw["conv3d_params"]["outchan"] = 4
    kw["img_shape"] = [128, 128, 4]
    return InverseDynamicsModel(IDMConfig.from_kwargs(kw, {"temperature": 1.0})).eval()


def test_train_resumes_after_a_kill_and_writes_official_files(recordings, tmp_path):
    cfg = IDMTrainConfig(data=str(recordings), out=str(tmp_path / "run"), preset="tiny", window=16, batch_size=2,
                         steps=4, warmup=1, eval_every=4, checkpoint_every=2, val_recordings=1, precision="fp32",
                         keep_every=2)  # fmt: skip
    metrics = train_idm(cfg)
    assert 0 <= metrics["val/keypress_accuracy"] <= 1 and "val/camera_r2" in metrics
    full = [m["loss"] for m in (json.loads(l) for l in (tmp_path / "run/metrics.jsonl").read_text().splitlines())]
    model = load_idm(tmp_path / "run/idm.model", tmp_path / "run/idm.weights")
    assert model.cfg.trunk.hidsize == 128
    # keep_every: the weights of steps 2 and 4 kept beside the last ones (step 4's are the last).
    assert sorted(p.name for p in (tmp_path / "run").glob("idm.step*")) == [
        "idm.step2.model", "idm.step2.weights", "idm.step4.model", "idm.step4.weights"]
    assert (tmp_path / "run/idm.step4.weights").read_bytes() == (tmp_path / "run/idm.weights").read_bytes()
    step2 = load_idm(tmp_path / "run/idm.step2.model", tmp_path / "run/idm.step2.weights").state_dict()
    assert any(not torch.equal(v, model.state_dict()[k]) for k, v in step2.items())

    # The same run killed during step 3 (last checkpoint: step 2) and restarted gives the same losses.
    cfg2 = IDMTrainConfig(**{**cfg.__dict__, "out": str(tmp_path / "run2")})

    def kill(step, logs):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_idm(cfg2, progress=kill)
    train_idm(cfg2)
    resumed = [m["loss"] for m in (json.loads(l) for l in (tmp_path / "run2/metrics.jsonl").read_text().splitlines())]
    assert len(resumed) == 4
    np.testing.assert_allclose(resumed, full, rtol=1e-5)
    # Through a frame cache (filled by the first run, memory-mapped by the second) nothing changes.
    for name in ("run3", "run4"):
        assert train_idm(IDMTrainConfig(**{**cfg.__dict__, "out": str(tmp_path / name), "frame_cache": str(tmp_path / "cache")})) == pytest.approx(metrics)
        cached = [m["loss"] for m in (json.loads(l) for l in (tmp_path / name / "metrics.jsonl").read_text().splitlines())]
        np.testing.assert_allclose(cached, full, rtol=1e-5)
    assert len(list((tmp_path / "cache").glob("*.frames.npy"))) == 3
    # Started again once finished, it trains no further and reports the same held-out metrics.
    assert train_idm(cfg) == pytest.approx(metrics)
    assert json.loads((tmp_path / "run/summary.json").read_text())["val/keypress_accuracy"] == metrics["val/keypress_accuracy"]


def test_two_hot_camera_targets_train_the_posterior_mean(recordings, tmp_path):
    """``camera_target="two-hot"``: the camera loss is the cross-entropy against the two-hot
    weights (bin targets give the one-bin loss), and training on them lowers it."""
    from vpt import actions
    from vpt.idm.train import idm_loss

    idm = _tiny_idm(seed=1)
    frames = torch.as_tensor(np.random.default_rng(0).integers(0, 255, (1, 8, 128, 128, 3), dtype=np.uint8))
    out = idm(frames)
    buttons = torch.zeros(1, 8, 20, dtype=torch.uint8)
    degrees = np.random.default_rng(1).normal(0, 4, (1, 8, 2))
    bins = torch.as_tensor(actions.camera_to_bins(degrees))
    on_centres = torch.as_tensor(actions.camera_two_hot(actions.bins_to_camera(bins.numpy())))
    assert idm_loss(out, buttons, on_centres)[1]["loss/camera"] == pytest.approx(idm_loss(out, buttons, bins)[1]["loss/camera"], rel=1e-5)
    weights = torch.as_tensor(actions.camera_two_hot(degrees))
    expected = -(weights * out.camera_logprob).sum().item() / 8
    assert idm_loss(out, buttons, weights)[1]["loss/camera"] == pytest.approx(expected, rel=1e-5)

    cfg = IDMTrainConfig(data=str(recordings), out=str(tmp_path / "run"), preset="tiny", window=16, batch_size=2, lr=3e-3,
                         steps=12, warmup=1, eval_every=12, val_recordings=1, precision="fp32", camera_target="two-hot")  # fmt: skip
    train_idm(cfg)
    camera = [m["loss/camera"] for m in (json.loads(l) for l in (tmp_path / "run/metrics.jsonl").read_text().splitlines())]
    assert np.mean(camera[-4:]) < np.mean(camera[:4]), camera
    with pytest.raises(ValueError, match="camera target"):
        train_idm(IDMTrainConfig(**{**cfg.__dict__, "camera_target": "three-hot"}))


def test_train_ddp_two_cpu_processes(recordings, tmp_path, two_cpu_processes):
    """``torchrun`` with 2 CPU processes (gloo): every parameter that is trained gets a gradient
    on every rank (the IDM's discarded ``lastlayer`` is frozen), and the run writes its files;
    with a frame cache, the ranks fill it together, each recording decoded once, by one rank."""
    two_cpu_processes(
        "import os\n"
        "import vpt.idm.metrics as m\n"
        "decode = m._decode\n"
        "def spy(ref, *args):\n"  # which process decodes which recording
        f"    with open(os.path.join({str(tmp_path)!r}, 'decoded_' + os.environ['RANK']), 'a') as f:\n"
        "        f.write(ref.name + '\\n')\n"
        "    return decode(ref, *args)\n"
        "m._decode = spy\n"
        "from vpt.idm.train import IDMTrainConfig, train_idm\n"
        f"train_idm(IDMTrainConfig(data={str(recordings)!r}, out={str(tmp_path / 'ddp')!r}, preset='tiny', window=16,"
        " batch_size=1, steps=2, warmup=1, eval_every=2, checkpoint_every=2, val_recordings=1, precision='fp32',"
        f" device='cpu', frame_cache={str(tmp_path / 'cache')!r}))\n",
        port=29532,
    )
    # Rank 0 decoded the first and third recordings into the cache, rank 1 the second; then both
    # mapped all three from it (one entry each), decoding none again.
    assert len(list((tmp_path / "cache").glob("*.targets.npz"))) == 3
    decoded = [(tmp_path / f"decoded_{r}").read_text().split() for r in (0, 1)]
    assert decoded == [["rec0", "rec2"], ["rec1"]], decoded
    summary = json.loads((tmp_path / "ddp/summary.json").read_text())
    assert summary["steps"] == 2 and 0 <= summary["val/keypress_accuracy"] <= 1
    assert load_idm(tmp_path / "ddp/idm.model", tmp_path / "ddp/idm.weights").cfg.trunk.hidsize == 128


def test_label_resume_is_exact_and_exports_to_a_loadable_recording(recordings, tmp_path):
    idm = _tiny_idm()
    videos = sorted(recordings.glob("*.mp4"))
    full = label_videos(idm, videos, tmp_path / "a", window=16, stride=8)
    assert full.labelled == 3 and not full.failed
    # "Kill" after the first video: label one, then rerun over all.
    part = label_videos(idm, videos[:1], tmp_path / "b", window=16, stride=8)
    rest = label_videos(idm, videos, tmp_path / "b", window=16, stride=8)
    assert part.labelled == 1 and rest.skipped_existing == 1 and rest.labelled == 2
    for v in videos:
        a, b = read_labels(label_path(tmp_path / "a", v)), read_labels(label_path(tmp_path / "b", v))
        for k in ("buttons", "camera", "button_probs", "camera_probs", "logprob"):
            np.testing.assert_array_equal(a[k], b[k])
    assert not list((tmp_path / "b").glob(".*tmp*"))

    lab = read_labels(label_path(tmp_path / "a", videos[0]))
    # a recording's video is labelled as training sees it: the cursor drawn where its jsonl has a screen open
    seen = load_recording(videos[0], skip_null=False).frames
    direct = predict(idm, seen, window=16, stride=8)
    assert lab["meta"]["frames"] == 48
    # Export: video + exported jsonl load back with exactly the labelled joint actions.
    out = tmp_path / "export"
    out.mkdir()
    (out / "x.mp4").write_bytes(videos[0].read_bytes())
    labels_to_jsonl(lab, out / "x.jsonl")
    back = load_recording(out / "x.mp4", skip_null=False)
    np.testing.assert_array_equal(back.policy_actions["buttons"], lab["buttons"])
    np.testing.assert_array_equal(back.policy_actions["camera"], lab["camera"])
    np.testing.assert_array_equal(direct.policy_actions["buttons"], lab["buttons"])


def test_bad_video_is_reported_and_the_rest_goes_on(recordings, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    videos = [bad, *sorted(recordings.glob("*.mp4"))[:1]]
    report = label_videos(_tiny_idm(), videos, tmp_path / "out", window=16)
    assert report.labelled == 1 and list(report.failed) == [str(bad)]


def test_sharding_by_rank_splits_videos_without_overlap(recordings, tmp_path):
    videos = sorted(recordings.glob("*.mp4"))
    idm = _tiny_idm()
    r0 = label_videos(idm, videos, tmp_path, window=16, rank=0, world_size=2)
    r1 = label_videos(idm, videos, tmp_path, window=16, rank=1, world_size=2)
    assert r0.labelled + r1.labelled == 3 and r0.skipped_existing == r1.skipped_existing == 0


def test_curve_trains_one_run_per_budget_and_tabulates_them(recordings, tmp_path):
    from vpt.idm.curve import read_curve, run_curve, write_curve

    base = IDMTrainConfig(data=str(recordings), out=str(tmp_path / "curve"), preset="tiny", window=16, batch_size=1,
                          steps=2, warmup=1, eval_every=2, val_recordings=1, precision="fp32")  # fmt: skip
    one_recording = 40 / 20 / 3600  # hours: fewer frames than one 48-frame recording -> exactly one kept
    calls = []
    run_curve(base, [one_recording, 0.0], progress=lambda h, s, logs: calls.append((h, s)))
    assert calls == [(one_recording, 1), (one_recording, 2), (0.0, 1), (0.0, 2)]
    rows = read_curve(tmp_path / "curve")
    assert [r["train_frames"] for r in rows] == [48, 96]  # 1 then both training recordings
    run_curve(base, [0.0], progress=lambda h, s, logs: calls.append((h, s)))  # finished: not trained again
    assert len(calls) == 4
    table = write_curve(tmp_path / "curve", command="vpt idm curve ...").read_text()
    assert table.count("\n| 0.0") == 2 and "camera R²" in table and "screen camera R²" in table
    cells = table.splitlines()[-1].strip("|").split("|")
    assert len(cells) == 3 + 9 and float(cells[3]) == pytest.approx(rows[-1]["val/keypress_accuracy"], abs=5e-4)
    assert (tmp_path / "curve" / "curve.png").stat().st_size > 0


def test_held_out_metrics_split_world_and_gui_frames(recordings):
    """GUI frames (camera = cursor) and world frames (camera = view) are scored apart, and the
    split recombines into the pooled metrics."""
    from vpt.data import list_recordings
    from vpt.idm.metrics import evaluate, load_segments

    segments = load_segments(list_recordings(recordings))
    model = _tiny_idm()
    for s in segments:
        s.gui_open = np.zeros(len(s.frames), bool)
    world_only = evaluate(model, segments, window=16)
    assert "val_gui/frames" not in world_only and world_only["val_world/frames"] == world_only["val/frames"]
    for s in segments:
        s.gui_open = np.arange(len(s.frames)) % 3 == 0
    m = evaluate(model, segments, window=16)
    n_gui, n_world = m["val_gui/frames"], m["val_world/frames"]
    assert n_gui + n_world == m["val/frames"] and n_gui > 0 and n_world > 0
    for key in ("keypress_accuracy", "camera_bin_accuracy"):
        pooled = (m[f"val_gui/{key}"] * n_gui + m[f"val_world/{key}"] * n_world) / m["val/frames"]
        assert m[f"val/{key}"] == pytest.approx(pooled)
        assert m[f"val/{key}"] == world_only[f"val/{key}"]  # the predictions do not depend on the mask


def test_frame_cache_gives_the_same_segments_and_counts_and_misses_changed_files(recordings, tmp_path):
    """A cached load is the decoded one (frames memory-mapped), counted alike; an edited jsonl
    and a damaged entry are decoded again."""
    import shutil

    from vpt.data import DatasetReport, list_recordings
    from vpt.idm.metrics import load_segments

    data = tmp_path / "data"
    shutil.copytree(recordings, data)
    jsonl = data / "rec1.jsonl"
    lines = jsonl.read_text().splitlines()
    jsonl.write_text("\n".join([*lines[:20], "{not json", *lines[21:]]) + "\n")  # one broken line: two runs
    refs, cache = list_recordings(data), tmp_path / "cache"

    def load(**kw):
        report = DatasetReport()
        return load_segments(refs, report=report, **kw), report

    plain, plain_report = load()
    assert len(plain) == 4 and plain_report.bad_lines == 1
    for _ in range(2):  # fills the cache, then reads it: both times the frames are the file's, mapped
        cached, report = load(cache=cache)
        assert report == plain_report
        assert [s.name for s in cached] == [s.name for s in plain]
        for a, b in zip(cached, plain):
            for field in ("frames", "buttons", "camera_bins", "camera_degrees", "gui_open"):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert all(isinstance(s.frames.base, np.memmap) and s.frames.flags.writeable for s in cached)
    entries = sorted(cache.glob("*.targets.npz"))
    assert len(entries) == 3

    jsonl.write_text("\n".join(lines) + "\n")  # mended: a new entry, decoded from the new file
    mended, report = load(cache=cache)
    assert len(mended) == 3 and report.bad_lines == 0 and len(list(cache.glob("*.targets.npz"))) == 4
    entries[0].write_bytes(b"damaged")  # a damaged entry is rebuilt, not trusted
    again, _ = load(cache=cache)
    np.testing.assert_array_equal(again[0].frames, plain[0].frames)
    assert np.load(entries[0])["runs"].tolist() == [[0, len(plain[0].frames)]]


def test_button_errors_attribute_keypress_misses():
    """Four frames, two of them wrong: attack missed once (world), jump predicted falsely once
    (GUI) together with a missed attack."""
    from vpt import actions
    from vpt.idm.metrics import FramePredictions, button_errors

    a, j = actions.BUTTONS.index("attack"), actions.BUTTONS.index("jump")
    tb, pb = np.zeros((4, 20), np.uint8), np.zeros((4, 20), np.uint8)
    tb[[0, 1, 3], a] = 1
    pb[0, a] = 1  # frame 0 right; frames 1 and 3 miss attack; frame 3 also has a false jump
    pb[3, j] = 1
    bins = np.full((4, 2), 5)
    p = FramePredictions(tb, pb, bins, bins, np.zeros((4, 2)), np.array([False, False, False, True]))
    rows = {r["button"]: r for r in button_errors(p)}
    assert set(rows) == {"attack", "jump"}
    assert rows["attack"]["pressed"] == 0.75 and rows["attack"]["recall"] == pytest.approx(1 / 3)
    assert rows["attack"]["precision"] == 1.0 and rows["attack"]["missed_world"] == 0.25 and rows["attack"]["missed_gui"] == 0.25
    assert rows["attack"]["share_of_misses"] == 1.0 and rows["jump"]["share_of_misses"] == 0.5
    assert rows["jump"]["false_gui"] == 0.25 and rows["jump"]["false_world"] == 0.0 and np.isnan(rows["jump"]["recall"])


def test_posterior_mean_camera_scores_what_the_argmax_bins_lose():
    """The posterior mean is the probability-weighted bin centre; where the truth lies between two
    bins that share the probability, it beats either argmax bin, and R² says so."""
    import dataclasses

    from vpt import actions
    from vpt.idm.metrics import FramePredictions, frame_metrics
    from vpt.idm.predict import IDMPrediction

    centres = actions.bins_to_camera(np.arange(actions.N_CAMERA_BINS))
    logp = np.full((3, 2, actions.N_CAMERA_BINS), -np.inf, np.float32)
    logp[0, :, 5] = 0.0  # certain: the centre bin (0 degrees)
    logp[1, :, [6, 7]] = np.log(0.5)  # split between bins 6 and 7 (argmax: 6)
    logp[2, 0, 2], logp[2, 1, 9] = 0.0, 0.0  # certain: bins 2 (pitch) and 9 (yaw)
    pred = IDMPrediction(np.zeros((3, 20, 2), np.float32), logp)
    mean = pred.camera_mean_degrees
    assert mean[0] == pytest.approx([0.0, 0.0]) and mean[2] == pytest.approx([centres[2], centres[9]])
    assert mean[1] == pytest.approx([(centres[6] + centres[7]) / 2] * 2) and list(pred.camera_bins[1]) == [6, 6]

    truth = mean.copy()  # the truth is the posterior mean: the argmax bins miss it on frame 1
    buttons = np.zeros((3, 20), np.uint8)
    p = FramePredictions(buttons, buttons, pred.camera_bins, pred.camera_bins, truth, np.zeros(3, bool), mean)
    m = frame_metrics("val", p)
    assert m["val/camera_r2_mean"] == pytest.approx(1.0) and 0.5 < m["val/camera_r2"] < 1.0
    assert "val/camera_r2_mean" not in frame_metrics("val", dataclasses.replace(p, pred_mean_degrees=None))


def test_mirrored_window_moves_the_other_way_and_swaps_sided_keys():
    """A mirrored window is a valid recording: the world's pixels shift the other way, which is
    what the reflected yaw bin says, and strafe/hotbar keys trade sides."""
    import cv2

    from vpt import actions
    from vpt.env.sim.env import SimEnv
    from vpt.idm.train import mirror_window

    env = SimEnv(resolution=(128, 128), world={"size": (24, 24), "height": 24, "tree_density": 0.1})
    frames = [env.reset(seed=2)[0]["pov"]]
    env_actions = []
    for i in range(4):
        a = actions.noop_env_action()
        a.update({"camera": np.array([0.0, 6.0]), "left": int(i == 1), "hotbar.2": int(i == 2)})
        frames.append(env.step(a)[0]["pov"])
        env_actions.append(a)
    env_actions.append(actions.noop_env_action())  # the last frame's action
    env_batch = {k: np.array([a[k] for a in env_actions]) for k in actions.BUTTONS}
    env_batch["camera"] = np.stack([np.asarray(a["camera"], dtype=np.float64) for a in env_actions])
    buttons, bins = actions.env_to_factored(env_batch)
    frames = np.stack(frames)
    mf, mb, mc = mirror_window(frames, buttons, bins)

    def shift_x(f0, f1):  # of the upper half: the hand and the hotbar do not move
        g0, g1 = (cv2.cvtColor(f[:64], cv2.COLOR_RGB2GRAY).astype(np.float64) for f in (f0, f1))
        return cv2.phaseCorrelate(g0, g1)[0][0]

    for t in range(4):  # action t turns the view between frame t and t + 1
        s, ms = shift_x(frames[t], frames[t + 1]), shift_x(mf[t], mf[t + 1])
        assert abs(s) > 3 and np.sign(ms) == -np.sign(s), (t, s, ms)
    assert (actions.bins_to_camera(bins)[:4, 1] > 0).all() and (actions.bins_to_camera(mc)[:4, 1] < 0).all()
    np.testing.assert_array_equal(mc[:, 0], bins[:, 0])  # pitch untouched
    col = {b: i for i, b in enumerate(actions.BUTTONS)}
    assert mb[1, col["right"]] == 1 and mb[1, col["left"]] == 0 and mb[2, col["hotbar.8"]] == 1 and mb[2].sum() == 1
    for x, y in zip(mirror_window(mf, mb, mc), (frames, buttons, bins)):  # a mirror of a mirror is the original
        np.testing.assert_array_equal(x, y)
    # Two-hot camera targets mirror the same way: the weights of the negated yaw.
    degrees = env_batch["camera"]
    np.testing.assert_array_equal(mirror_window(frames, buttons, actions.camera_two_hot(degrees))[2],
                                  actions.camera_two_hot(degrees * [1, -1]))


def test_mirror_averaged_prediction_is_mirror_symmetric_and_labels_carry_it(recordings, tmp_path):
    """``mirror=True`` averages a video's prediction with its mirror image's, mapped back: so
    the mirrored video's prediction is exactly this one seen in a mirror (yaw bins reversed,
    strafe and hotbar keys swapped), which neither one-sided prediction is."""
    from vpt import actions

    idm = _tiny_idm(seed=3)
    video = sorted(recordings.glob("*.mp4"))[0]
    frames = load_recording(video, skip_null=False).frames
    flipped = np.ascontiguousarray(frames[:, :, ::-1])

    def as_mirrored(p):  # pitch kept, yaw bins reversed
        c = p.camera_logprob.copy()
        c[:, 1] = c[:, 1, ::-1]
        return p.buttons_logprob[:, actions.MIRRORED_BUTTONS], c

    both, both_flipped = (predict(idm, f, window=16, stride=8, mirror=True) for f in (frames, flipped))
    for got, want in zip(as_mirrored(both_flipped), (both.buttons_logprob, both.camera_logprob)):
        np.testing.assert_allclose(got, want, atol=1e-5)
    one, one_flipped = (predict(idm, f, window=16, stride=8) for f in (frames, flipped))
    assert np.abs(as_mirrored(one_flipped)[1] - one.camera_logprob).max() > 1e-3  # an untrained IDM is not symmetric
    np.testing.assert_allclose(np.exp(both.camera_logprob).sum(-1), 1.0, atol=1e-5)  # still distributions

    report = label_videos(idm, [video], tmp_path, window=16, stride=8, mirror=True, camera="mean")
    lab = read_labels(label_path(tmp_path, video))
    assert report.labelled == 1 and lab["meta"]["mirror"] is True and lab["meta"]["camera"] == "mean"
    np.testing.assert_allclose(lab["camera_probs"], np.exp(both.camera_logprob), atol=1e-6)
    want = actions.camera_to_bins(predict(idm, frames, window=16, stride=8, mirror=True, camera="mean").camera_mean_degrees)
    np.testing.assert_array_equal(lab["camera_bins"], want)


def test_mean_camera_labels_take_the_bin_nearest_the_posterior_mean():
    from vpt import actions
    from vpt.idm.predict import IDMPrediction

    logp = np.full((2, 2, actions.N_CAMERA_BINS), -np.inf, np.float32)
    logp[0, :, 5] = 0.0  # certain: the centre bin either way
    logp[1, :, 5], logp[1, :, [9, 10]] = np.log(0.4), np.log(0.3)  # mode: centre; mean: far right
    buttons = np.log(np.full((2, 20, 2), 0.5, np.float32))
    mode, mean = (IDMPrediction(buttons, logp, camera=c) for c in ("mode", "mean"))
    assert mode.camera_bins.tolist() == [[5, 5], [5, 5]]
    assert mean.camera_bins[0].tolist() == [5, 5] and (mean.camera_bins[1] > 5).all()
    np.testing.assert_array_equal(mean.camera_bins, actions.camera_to_bins(mean.camera_mean_degrees))
    assert mean.policy_actions["camera"][1] != mode.policy_actions["camera"][1]
    with pytest.raises(ValueError, match="camera must be one of"):
        IDMPrediction(buttons, logp, camera="median")


@pytest.fixture(scope="module")
def turning_window() -> np.ndarray:
    """Four 128×128 frames of the simulator while the view turns right 6° a frame."""
    from vpt import actions
    from vpt.env.sim.env import SimEnv

    env = SimEnv(resolution=(128, 128), world={"size": (24, 24), "height": 24, "tree_density": 0.1})
    frames = [env.reset(seed=2)[0]["pov"]]
    for _ in range(3):
        a = actions.noop_env_action()
        a["camera"] = np.array([0.0, 6.0])
        frames.append(env.step(a)[0]["pov"])
    return np.stack(frames)


def _view_shift_x(f0: np.ndarray, f1: np.ndarray, rows: slice = slice(0, 64)) -> float:
    """How far the view moves left-right from f0 to f1, in pixels (phase correlation of the upper
    half, as in the mirror test: the hand and hotbar below do not move)."""
    import cv2

    g0, g1 = (cv2.cvtColor(np.ascontiguousarray(f[rows]), cv2.COLOR_RGB2GRAY).astype(np.float64) for f in (f0, f1))
    return cv2.phaseCorrelate(g0, g1)[0][0]


def test_colour_jitter_recolours_a_window_but_keeps_its_motion_and_labels(turning_window):
    """A jittered window is the same recording under other light: every pixel's colour changes
    alike on all frames, so the view turns by the same pixels, and the labels are untouched; off,
    the sampler draws exactly the windows it drew before the option existed."""
    from vpt.idm.metrics import Segment
    from vpt.idm.train import _sample_windows, jitter_window

    frames = turning_window
    jittered = jitter_window(frames, np.random.default_rng(0), 0.3)
    assert jittered.shape == frames.shape and jittered.dtype == np.uint8
    assert np.abs(jittered.astype(int) - frames).mean() > 5  # visibly another light

    for t in range(3):
        s, js = _view_shift_x(frames[t], frames[t + 1]), _view_shift_x(jittered[t], jittered[t + 1])
        assert abs(s) > 3 and abs(js - s) < 0.5, (t, s, js)
    # One draw per window: a pixel's colour maps to the same colour on every frame.
    a, b = frames.reshape(-1, 3), jittered.reshape(-1, 3)
    for colour in np.unique(a[:500], axis=0)[:20]:
        assert len(np.unique(b[(a == colour).all(1)], axis=0)) == 1

    rng = np.random.default_rng(5)
    seg = Segment(name="s", frames=np.concatenate([frames] * 4), buttons=rng.integers(0, 2, (16, 20)).astype(np.uint8),
                  camera_bins=rng.integers(0, 11, (16, 2)), camera_degrees=np.zeros((16, 2)), gui_open=np.zeros(16, bool))
    plain = _sample_windows([seg], 8, 3, np.random.default_rng(1), mirror_prob=0.5)
    again = _sample_windows([seg], 8, 3, np.random.default_rng(1), mirror_prob=0.5, color_jitter=0.0)
    for x, y in zip(plain, again):
        np.testing.assert_array_equal(x, y)
    # A window's own draws come first (where, whether mirrored), so a batch of one is the same window.
    plain = _sample_windows([seg], 8, 1, np.random.default_rng(1), mirror_prob=0.5)
    recoloured = _sample_windows([seg], 8, 1, np.random.default_rng(1), mirror_prob=0.5, color_jitter=0.3)
    np.testing.assert_array_equal(plain[1], recoloured[1]), np.testing.assert_array_equal(plain[2], recoloured[2])
    assert (plain[0] != recoloured[0]).mean() > 0.5


def test_shift_moves_every_frame_of_a_window_alike_so_its_motion_and_labels_stay(turning_window):
    """A shifted window is the same recording framed a little differently: each frame is the
    original moved by one (dy, dx) with the edge pixels repeated into the uncovered border, so the
    view still turns by the same pixels from frame to frame; the labels are untouched; off, the
    sampler draws exactly the windows it drew before the option existed."""
    from vpt.idm.metrics import Segment
    from vpt.idm.train import _sample_windows, shift_window

    frames = turning_window
    moves = set()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        dy, dx = np.random.default_rng(seed).integers(-4, 5, size=2)  # the draw shift_window makes
        shifted = shift_window(frames, rng, 4)
        assert shifted.shape == frames.shape and shifted.dtype == np.uint8
        moves.add((int(dy), int(dx)))
        # DrQ's pad-and-crop: pixel (y, x) is the original's (y + dy, x + dx), the edge repeated beyond it.
        padded = np.pad(frames, ((0, 0), (4, 4), (4, 4), (0, 0)), mode="edge")
        np.testing.assert_array_equal(shifted, padded[:, 4 + dy : 132 + dy, 4 + dx : 132 + dx])
        for t in range(3):  # the turn, in pixels, is unchanged (rows 8..56: no repeated border)
            s, ss = _view_shift_x(frames[t], frames[t + 1], slice(8, 56)), _view_shift_x(shifted[t], shifted[t + 1], slice(8, 56))
            assert abs(ss - s) < 0.5, (seed, t, s, ss)
    assert len(moves) > 6 and all(max(abs(dy), abs(dx)) <= 4 for dy, dx in moves)

    rng = np.random.default_rng(5)
    seg = Segment(name="s", frames=np.concatenate([frames] * 4), buttons=rng.integers(0, 2, (16, 20)).astype(np.uint8),
                  camera_bins=rng.integers(0, 11, (16, 2)), camera_degrees=np.zeros((16, 2)), gui_open=np.zeros(16, bool))
    plain = _sample_windows([seg], 8, 3, np.random.default_rng(1), mirror_prob=0.5)
    for x, y in zip(plain, _sample_windows([seg], 8, 3, np.random.default_rng(1), mirror_prob=0.5, shift=0)):
        np.testing.assert_array_equal(x, y)
    plain = _sample_windows([seg], 8, 1, np.random.default_rng(1), mirror_prob=0.5)
    moved = _sample_windows([seg], 8, 1, np.random.default_rng(1), mirror_prob=0.5, shift=4)
    np.testing.assert_array_equal(plain[1], moved[1]), np.testing.assert_array_equal(plain[2], moved[2])


def test_within_budget_counts_lines_to_pick_the_recordings_a_budget_trains_on(recordings):
    import dataclasses

    from vpt.data import list_recordings
    from vpt.idm.train import _within_budget

    refs = list_recordings(recordings, require_jsonl=True)
    lines = [sum(1 for _ in open(r.jsonl)) for r in refs]
    assert lines == [48] * 3  # one line per frame

    def names(frames: float) -> list[str]:
        return [r.name for r in _within_budget(refs, frames)]

    assert names(48) == ["rec0"] and names(49) == ["rec0", "rec1"] and names(0) == []
    assert names(float("inf")) == ["rec0", "rec1", "rec2"]
    # An unreadable jsonl is chosen but not counted: loading reports it.
    missing = [dataclasses.replace(refs[0], jsonl=refs[0].jsonl.with_name("gone.jsonl")), *refs[1:]]
    assert [r.name for r in _within_budget(missing, 49)] == ["rec0", "rec1", "rec2"]
