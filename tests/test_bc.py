"""Behavioural cloning: chunked memory-carrying loss equals stepwise, streams, resume, DDP, labels."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from vpt.agent import load_policy
from vpt import actions
from vpt.agent.bc import (BCConfig, Episode, EpisodeStreams, _soft_camera, bc_loss, evaluate_bc, label_noise_table,
                          load_episodes, read_keep_segments, train_bc)
from vpt.agent.presets import build_policy
from vpt.data.labels import camera_label_noise, read_labels, write_labels
from vpt.data.synthetic import write_synthetic_recording

FIXTURES = Path(os.environ.get("VPT_FIXTURES", Path(__file__).resolve().parents[2] / "shared/reference/fixtures"))


def _episodes(lengths, seed=0):
    rng = np.random.default_rng(seed)
    return [
        Episode(f"e{i}", rng.integers(0, 256, (n, 128, 128, 3), dtype=np.uint8), rng.integers(0, 8641, n),
                rng.integers(0, 121, n), rng.random(n) < 0.8)
        for i, n in enumerate(lengths)
    ]  # fmt: skip


def test_chunked_memory_carrying_loss_equals_stepwise():
    policy = load_policy(FIXTURES / "policy_small.model", FIXTURES / "policy_small.weights")
    streams = EpisodeStreams(_episodes([7, 30, 5, 12]), n=2, seed=1)
    chunks = [streams.next_chunk(10) for _ in range(3)]
    assert any(c["first"][:, 1:].any() for c in chunks), "an episode must start mid-chunk"

    def as_t(c):
        return {k: torch.as_tensor(v) for k, v in c.items()}

    with torch.no_grad():
        state = policy.initial_state(2)
        chunked = []
        for c in map(as_t, chunks):
            out, state = policy(c["frames"], c["first"], state)
            chunked.append(bc_loss(out, c["buttons"], c["camera"], c["mask"])[0] * c["mask"].sum())
        state = policy.initial_state(2)
        stepwise = []
        for c in map(as_t, chunks):
            for t in range(10):
                out, state = policy(c["frames"][:, t : t + 1], c["first"][:, t : t + 1], state)
                sl = {k: c[k][:, t : t + 1] for k in ("buttons", "camera", "mask")}
                stepwise.append(bc_loss(out, sl["buttons"], sl["camera"], sl["mask"])[0] * sl["mask"].sum())
    total_mask = sum(c["mask"].sum() for c in chunks)
    np.testing.assert_allclose(float(sum(chunked) / total_mask), float(sum(stepwise) / total_mask), rtol=1e-5)


def test_evaluate_bc_scores_whole_episodes_with_memory_and_splits_screen_frames():
    policy = load_policy(FIXTURES / "policy_small.model", FIXTURES / "policy_small.weights")
    eps = _episodes([7, 30, 5], seed=2)
    rng = np.random.default_rng(5)
    for e in eps:
        e.gui = rng.random(len(e.frames)) < 0.5
    # chunks of 4 and batches of 2 (episodes of unequal length, padded) against one pass per episode
    got = evaluate_bc(policy, eps, chunk=4, batch_size=2)
    nll_b = nll_c = n = 0.0
    gui_n = gui_on = gui_p = gui_c = aim_n = aim_same = 0.0
    deg = actions.bins_to_camera(np.stack(np.divmod(np.arange(121), 11), -1))  # (121, 2) pitch, yaw
    with torch.no_grad():
        for e in eps:
            first = torch.zeros(1, len(e.frames), dtype=torch.bool)
            first[0, 0] = True
            out, _ = policy(torch.as_tensor(e.frames[None]), first, policy.initial_state(1))
            lb = out.buttons_logprob[0].gather(-1, torch.as_tensor(e.buttons)[:, None])[:, 0].numpy()
            lc = out.camera_logprob[0].gather(-1, torch.as_tensor(e.camera)[:, None])[:, 0].numpy()
            p_on = (out.buttons_logprob[0].exp().numpy() * ~actions.BUTTON_INDEX_CAMERA_META_OFF).sum(-1)
            nll_b, nll_c, n = nll_b - lb[e.mask].sum(), nll_c - lc[e.mask].sum(), n + e.mask.sum()
            g = e.mask & e.gui
            gui_n, gui_c = gui_n + g.sum(), gui_c - lc[g].sum()
            gui_on += (~actions.BUTTON_INDEX_CAMERA_META_OFF[e.buttons][g]).sum()
            gui_p += p_on[g].sum()
            expect = out.camera_logprob[0].exp().numpy() @ deg
            for t in np.nonzero(g & ~actions.BUTTON_INDEX_CAMERA_META_OFF[e.buttons])[0]:
                for axis in (0, 1):
                    want = deg[e.camera[t], axis]
                    if want != 0:
                        aim_n += 1
                        aim_same += np.sign(expect[t, axis]) == np.sign(want)
    assert got["frames"] == n and got["gui/frames"] == gui_n
    np.testing.assert_allclose([got["nll/buttons"], got["nll/camera"], got["gui/nll/camera"]],
                               [nll_b / n, nll_c / n, gui_c / gui_n], rtol=1e-4)  # fmt: skip
    np.testing.assert_allclose([got["gui/camera_on"], got["gui/p_camera_on"]], [gui_on / gui_n, gui_p / gui_n], rtol=1e-4)
    assert aim_n > 0 and got["gui/aim_sign"] == pytest.approx(aim_same / aim_n)
    assert got["loss"] == pytest.approx(got["nll/buttons"] + got["nll/camera"])
    # without screen flags (IDM labels) there is no screen split
    for e in eps:
        e.gui = None
    assert not any(k.startswith("gui/") for k in evaluate_bc(policy, eps, chunk=8))


def test_streams_play_every_episode_in_order_and_resume():
    eps = _episodes([5, 9, 3])
    s = EpisodeStreams(eps, n=2, seed=3)
    a = [s.next_chunk(4) for _ in range(3)]
    saved = json.loads(json.dumps(s.state_dict()))
    b = [s.next_chunk(4) for _ in range(5)]
    s2 = EpisodeStreams(eps, n=2, seed=99)
    s2.load_state_dict(saved)
    for x, y in zip(b, [s2.next_chunk(4) for _ in range(5)]):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    # Frames of a stream are consecutive frames of its episodes; 'first' marks each start.
    frames = np.concatenate([c["frames"][0] for c in a + b])
    firsts = np.nonzero(np.concatenate([c["first"][0] for c in a + b]))[0]
    assert firsts[0] == 0
    for lo, hi in zip(firsts, list(firsts[1:]) + [len(frames)]):
        ep = next(e for e in eps if np.array_equal(e.frames[0], frames[lo]))
        np.testing.assert_array_equal(frames[lo:hi], ep.frames[: hi - lo])


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    root = tmp_path_factory.mktemp("bcrecs")
    for i in range(2):
        write_synthetic_recording(root / f"r{i}", 40, seed=i, width=128, height=72)
    return root


def test_train_from_scratch_resume_and_fine_tune(recordings, tmp_path):
    base = dict(data=str(recordings), preset="tiny", batch_size=2, chunk=8, steps=4, warmup=1, checkpoint_every=2)
    train_bc(BCConfig(out=str(tmp_path / "full"), **base))
    full = [json.loads(l)["loss"] for l in (tmp_path / "full/metrics.jsonl").read_text().splitlines()]

    def kill(step, logs):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_bc(BCConfig(out=str(tmp_path / "killed"), **base), progress=kill)
    train_bc(BCConfig(out=str(tmp_path / "killed"), **base))
    resumed = [json.loads(l)["loss"] for l in (tmp_path / "killed/metrics.jsonl").read_text().splitlines()]
    np.testing.assert_allclose(resumed, full, rtol=1e-5)

    # Fine-tune from the written official files, CNN frozen, anchored to the start.
    model, weights = tmp_path / "full/policy.model", tmp_path / "full/policy.weights"
    before = load_policy(model, weights).state_dict()
    train_bc(BCConfig(out=str(tmp_path / "ft"), init_model=str(model), init_weights=str(weights), freeze=["net.img_process"],
                      anchor=1e-3, **{**base, "steps": 2}))  # fmt: skip
    after = load_policy(tmp_path / "ft/policy.model", tmp_path / "ft/policy.weights").state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("net.img_process"))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("net.recurrent_layer"))


def test_gui_weight_weighs_screen_frames():
    """``gui_weight`` scales the loss of screen frames: 0 is the loss of the world frames alone,
    1 the plain mean; frames off the mask weigh nothing either way."""
    eps = _episodes([20, 12], seed=4)
    rng = np.random.default_rng(6)
    for ep in eps:
        ep.gui = rng.random(len(ep.frames)) < 0.5
    policy = build_policy("tiny", seed=0)
    losses = {}
    for w in (0.0, 0.25, 1.0):
        streams = EpisodeStreams(eps, n=2, gui_weight=w)
        gui = torch.as_tensor(np.stack([eps[i].gui[:12] for i in streams.current]))  # both episodes are >= 12 long
        c = {k: torch.as_tensor(v) for k, v in streams.next_chunk(12).items()}
        expected = np.where(gui.numpy(), w, 1.0) * c["mask"].numpy()
        np.testing.assert_allclose(c["weight"].numpy(), expected)
        with torch.no_grad():
            out, _ = policy(c["frames"], c["first"], policy.initial_state(2))
        losses[w] = bc_loss(out, c["buttons"], c["camera"], c["mask"], c["weight"])[0].item()
        if w == 0.0:
            world_only = bc_loss(out, c["buttons"], c["camera"], c["mask"] & ~gui)[0].item()
        if w == 1.0:
            plain = bc_loss(out, c["buttons"], c["camera"], c["mask"])[0].item()
    np.testing.assert_allclose(losses[0.0], world_only, rtol=1e-5)
    np.testing.assert_allclose(losses[1.0], plain, rtol=1e-5)
    assert min(losses[0.0], losses[1.0]) - 1e-6 <= losses[0.25] <= max(losses[0.0], losses[1.0]) + 1e-6
    with pytest.raises(ValueError, match="gui_weight"):
        EpisodeStreams(eps, n=1, gui_weight=-1)


def test_label_noise_correction_scores_labels_through_the_idm_noise():
    """With ``camera_noise`` the camera term is −log Σ_a π(a) P(label | a), the matrix chosen
    per frame by ``gui``; a noise-free table gives the plain loss; streams report ``gui``."""
    eps = _episodes([16, 16], seed=5)
    for ep in eps:
        ep.gui = np.arange(len(ep.frames)) % 3 == 0
    streams = EpisodeStreams(eps, n=2)
    c = {k: torch.as_tensor(v) for k, v in streams.next_chunk(8).items()}
    np.testing.assert_array_equal(c["gui"].numpy(), np.stack([eps[i].gui[:8] for i in streams.current]))  # 8 of 16 played
    policy = build_policy("tiny", seed=0)
    with torch.no_grad():
        out, _ = policy(c["frames"], c["first"], policy.initial_state(2))
    counts = np.zeros((2, 2, 11, 11), dtype=np.int64)
    counts[:, :, np.arange(11), np.arange(11)] = 10**9  # a perfect IDM
    perfect = label_noise_table(counts)
    plain = bc_loss(out, c["buttons"], c["camera"], c["mask"])[1]["nll/camera"]
    corrected = bc_loss(out, c["buttons"], c["camera"], c["mask"], camera_noise=perfect, gui=c["gui"])[1]["nll/camera"]
    np.testing.assert_allclose(corrected, plain, rtol=1e-4)
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 50, size=(2, 2, 11, 11))
    noise = label_noise_table(counts)
    p = camera_label_noise(counts)  # [context, true, label]
    probs = out.camera_logprob.exp().double().numpy()
    m = c["mask"].numpy()
    want = [-np.log(probs[i, t] @ p[int(c["gui"][i, t]), :, c["camera"][i, t]]) for i, t in zip(*np.nonzero(m))]
    got = bc_loss(out, c["buttons"], c["camera"], c["mask"], camera_noise=noise, gui=c["gui"])[1]["nll/camera"]
    np.testing.assert_allclose(got, np.mean(want), rtol=1e-4)


def test_soft_camera_is_the_cross_entropy_with_the_idm_posterior():
    """With ``camera_probs`` the camera term is −Σ_c q(c) log π(c), q the product of the two
    axes' bin probabilities: one-hot posteriors give the plain loss; streams serve the targets
    of the frames they play; the soft target and the label-noise correction do not combine."""
    eps = _episodes([16, 16], seed=6)
    rng = np.random.default_rng(1)
    for ep in eps:
        ep.camera_probs = rng.dirichlet(np.ones(11), size=(len(ep.frames), 2)).astype(np.float32)
    streams = EpisodeStreams(eps, n=2)
    c = {k: torch.as_tensor(v) for k, v in streams.next_chunk(8).items()}
    np.testing.assert_array_equal(c["camera_probs"].numpy(), np.stack([eps[i].camera_probs[:8] for i in streams.current]))
    policy = build_policy("tiny", seed=0)
    with torch.no_grad():
        out, _ = policy(c["frames"], c["first"], policy.initial_state(2))
    logp = out.camera_logprob.double().numpy()
    q = c["camera_probs"].double().numpy()
    bins = actions.CAMERA_INDEX_TO_BINS
    m = c["mask"].numpy()
    want = [-sum(q[i, t, 0, bins[k, 0]] * q[i, t, 1, bins[k, 1]] * logp[i, t, k] for k in range(121)) for i, t in zip(*np.nonzero(m))]
    got = bc_loss(out, c["buttons"], c["camera"], c["mask"], camera_probs=c["camera_probs"])[1]["nll/camera"]
    np.testing.assert_allclose(got, np.mean(want), rtol=1e-4)
    one_hot = torch.as_tensor(np.eye(11, dtype=np.float32)[bins[c["camera"].numpy()]])  # (2, 8, 2, 11)
    plain = bc_loss(out, c["buttons"], c["camera"], c["mask"])[1]["nll/camera"]
    np.testing.assert_allclose(bc_loss(out, c["buttons"], c["camera"], c["mask"], camera_probs=one_hot)[1]["nll/camera"], plain, rtol=1e-5)
    with pytest.raises(ValueError, match="do not combine"):
        bc_loss(out, c["buttons"], c["camera"], c["mask"], camera_probs=one_hot, camera_noise=torch.zeros(2, 121, 121))
    eps[1].camera_probs = None
    with pytest.raises(ValueError, match="soft camera targets"):
        EpisodeStreams(eps, n=2)


def test_soft_camera_targets_keep_the_inventory_keys_still_camera(tmp_path):
    """A label file's posterior is the soft target, except where the joint label's camera is not
    the IDM's (the inventory key keeps the camera still): there it is one-hot at the label."""
    rng = np.random.default_rng(0)
    buttons_logprob = np.log(np.full((3, 20, 2), 0.5, dtype=np.float32))
    buttons_logprob[:, :, 0] = np.log(0.9)  # nothing pressed ...
    buttons_logprob[:, :, 1] = np.log(0.1)
    buttons_logprob[1, actions.BUTTONS.index("inventory")] = np.log([0.1, 0.9])  # ... but the inventory on frame 1
    camera_logprob = np.log(rng.dirichlet(np.ones(11), size=(3, 2))).astype(np.float32)
    camera_logprob[:, :, 8] = 0.0  # every frame's camera: bin 8 most probable on both axes
    write_labels(tmp_path / "v.labels.npz", buttons_logprob, camera_logprob, {"video": "v.mp4"})
    lab = read_labels(tmp_path / "v.labels.npz")
    assert lab["camera"][1] == actions.NULL_CAMERA_INDEX and lab["camera"][0] != actions.NULL_CAMERA_INDEX
    probs = _soft_camera(lab)
    np.testing.assert_allclose(probs[[0, 2]], np.exp(camera_logprob[[0, 2]]), rtol=1e-6)
    np.testing.assert_array_equal(probs[1], np.eye(11)[[5, 5]])


def test_loss_decreases_when_overfitting_one_episode(tmp_path):
    torch.manual_seed(0)
    policy = build_policy("tiny", seed=0)
    ep = _episodes([16])[0]
    ep.buttons[:] = 288  # always forward
    ep.camera[:] = 60
    streams = EpisodeStreams([ep], n=1)
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    losses = []
    for _ in range(15):
        c = {k: torch.as_tensor(v) for k, v in streams.next_chunk(16).items()}
        out, _ = policy(c["frames"], c["first"], policy.initial_state(1))
        loss, _ = bc_loss(out, c["buttons"], c["camera"], c["mask"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_ddp_two_cpu_processes(recordings, tmp_path, two_cpu_processes):
    two_cpu_processes(
        "from vpt.agent.bc import BCConfig, train_bc\n"
        f"train_bc(BCConfig(data={str(recordings)!r}, out={str(tmp_path / 'ddp')!r}, preset='tiny', batch_size=1,"
        " chunk=8, steps=2, warmup=1, checkpoint_every=2, device='cpu'))\n",
        port=29531,
    )
    ckpt = torch.load(tmp_path / "ddp/checkpoint.pt", weights_only=True)
    assert len(ckpt["streams"]) == 2 and len(ckpt["memory"]) == 2
    assert (tmp_path / "ddp/policy.weights").exists()
    # each process decoded its own recording; the summary counts both
    assert json.loads((tmp_path / "ddp/summary.json").read_text())["episodes"] == 2


def test_null_actions_are_masked_unless_asked_for(recordings, tmp_path):
    nulls = sum(int((~e.mask).sum()) for e in load_episodes(recordings))
    assert nulls > 0  # the synthetic recordings have a few null lines
    # 2 streams x 5 chunks of 8 frames: each of the two 40-frame recordings exactly once
    base = dict(data=str(recordings), preset="tiny", batch_size=2, chunk=8, steps=5, warmup=1)
    trained = {}
    for flag in (False, True):
        train_bc(BCConfig(out=str(tmp_path / f"null_{flag}"), null_actions=flag, **base))
        lines = (tmp_path / f"null_{flag}/metrics.jsonl").read_text().splitlines()
        trained[flag] = sum(json.loads(l)["trained_frames"] for l in lines)
    assert trained == {False: 80 - nulls, True: 80}


def test_null_rule_policy_drops_sub_bin_mouse_moves_as_label_files_do(recordings, tmp_path):
    """A line with no key and a 1-pixel mouse move is not null for the reference's loader (it
    teaches "no button, centre camera") but is for label files; ``null_rule="policy"`` drops it
    from recordings too, and only such lines."""
    import shutil

    from vpt import actions

    shutil.copy(recordings / "r0.mp4", tmp_path / "r0.mp4")
    lines = [json.loads(l) for l in (recordings / "r0.jsonl").read_text().splitlines()]
    for line in lines[5:10]:  # idle but for a sub-bin mouse move (0.15 degrees: the centre bin)
        line["keyboard"].update(keys=[], newKeys=[])
        line["mouse"].update(dx=1.0, dy=0.0, buttons=[], newButtons=[])
    (tmp_path / "r0.jsonl").write_text("\n".join(json.dumps(l) for l in lines) + "\n")
    (ref,) = load_episodes(tmp_path)
    (pol,) = load_episodes(tmp_path, null_rule="policy")
    assert ref.mask[5:10].all() and not pol.mask[5:10].any()
    np.testing.assert_array_equal(pol.mask, (ref.buttons != 0) | (ref.camera != actions.NULL_CAMERA_INDEX))
    assert (ref.mask | ~pol.mask).all()  # what the policy rule trains, the reference's trains too
    with pytest.raises(ValueError, match="null_rule"):
        load_episodes(tmp_path, null_rule="strict")


def test_episodes_from_idm_labels(recordings, tmp_path):
    from vpt.idm import IDMConfig, InverseDynamicsModel
    from vpt.idm.label import label_videos
    from vpt.idm.train import preset_kwargs

    idm = InverseDynamicsModel(IDMConfig.from_kwargs(preset_kwargs("tiny"), {"temperature": 1.0})).eval()
    label_videos(idm, sorted(recordings.glob("*.mp4")), tmp_path / "labels", window=16)
    eps = load_episodes(tmp_path / "labels")
    assert len(eps) == 2 and all(len(e.frames) == 40 == len(e.buttons) for e in eps)
    # Footage has no isGuiOpen: the screen flag (for --gui-weight) is seen in the pixels. A web
    # video whose frames 10-19 show a screen's grey panel over the middle:
    from vpt.data import write_video

    frames = np.random.default_rng(0).integers(0, 256, (40, 72, 128, 3), dtype=np.uint8)
    frames[10:20, 18:54, 32:96] = 198
    write_video(tmp_path / "web" / "w.mp4", frames, fps=20)
    label_videos(idm, [tmp_path / "web" / "w.mp4"], tmp_path / "web_labels", window=16)
    (ep,) = load_episodes(tmp_path / "web_labels")
    np.testing.assert_array_equal(ep.gui, (np.arange(40) >= 10) & (np.arange(40) < 20))
    weight = EpisodeStreams([ep], 1, gui_weight=2.0).next_chunk(40)["weight"][0]
    assert set(weight[ep.mask & ep.gui]) == {2.0} and set(weight[ep.mask & ~ep.gui]) == {1.0}


def test_keep_segments_cut_recordings_and_labels(recordings, tmp_path):
    """``keep`` (a filter.json's segments) keeps only those frame ranges of the videos it names,
    for recordings as for label files; a video it does not name is used whole."""
    (r0, _) = load_episodes(recordings)
    eps = {e.name: e for e in load_episodes(recordings, keep={"r0": [(5, 12), (30, 60)]})}
    assert sorted(eps) == ["r0[30:40]", "r0[5:12]", "r1[0:40]"]
    for name, lo, hi in (("r0[5:12]", 5, 12), ("r0[30:40]", 30, 40)):
        assert np.array_equal(eps[name].frames, r0.frames[lo:hi]) and np.array_equal(eps[name].buttons, r0.buttons[lo:hi])
    f = tmp_path / "filter.json"
    f.write_text(json.dumps({"videos": {"r0": {"segments": [[5, 12]]}}}))
    assert read_keep_segments(f) == {"r0": [(5, 12)]}
    f.write_text(json.dumps({"r0": [[5, 12]]}))
    with pytest.raises(ValueError, match="filter.json"):
        read_keep_segments(f)
