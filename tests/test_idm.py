"""The inverse dynamics model: fixture outputs, released 4x layout, windowing, files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from vpt.agent.files import StateDictMismatchError
from vpt.agent.policy import ModelConfigError
from vpt.idm import IDMConfig, InverseDynamicsModel, load_idm, predict, save_idm
from vpt.idm.predict import assign_windows, window_starts

SHARED = Path(os.environ.get("VPT_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FIXTURES = SHARED / "reference/fixtures"
MANIFESTS = SHARED / "reference/manifests"


@pytest.fixture(scope="module")
def idm():
    return load_idm(FIXTURES / "idm_small.model", FIXTURES / "idm_small.weights")


@pytest.fixture(scope="module")
def io():
    return np.load(FIXTURES / "idm_io.npz")


def test_reference_windows_reproduce_fixture(idm, io):
    chunk = int(io["chunk_size"])
    p = predict(idm, io["frames"], window=chunk, reference_windows=True)
    np.testing.assert_allclose(p.buttons_logprob, io["buttons_logprob"], atol=2e-4, rtol=0)
    np.testing.assert_allclose(p.camera_logprob, io["camera_logprob"], atol=2e-4, rtol=0)
    np.testing.assert_array_equal(p.factored_buttons, io["pred_buttons"])
    np.testing.assert_array_equal(p.camera_bins, io["pred_camera"])
    expected = json.loads((FIXTURES / "idm_env_actions.json").read_text())
    got = p.env_actions
    for t, (g, e) in enumerate(zip(got, expected)):
        assert list(g) == list(e), t
        for k in e:
            np.testing.assert_allclose(g[k], e[k], atol=1e-9, err_msg=f"frame {t} {k}")


def test_latents_and_temporal_conv_match_fixture(idm, io):
    frames = torch.as_tensor(io["frames"])
    chunk = int(io["chunk_size"])
    with torch.inference_mode():
        outs = [idm(frames[s : s + chunk][None]) for s in range(0, len(frames), chunk)]
        conv = torch.cat([idm._temporal_conv(frames[s : s + chunk][None])[0] for s in range(0, len(frames), chunk)])
    np.testing.assert_allclose(torch.cat([o.cnn_latent[0] for o in outs]).numpy(), io["cnn_latent"], atol=5e-4)
    np.testing.assert_allclose(torch.cat([o.final_latent[0] for o in outs]).numpy(), io["final_latent"], atol=5e-4)
    np.testing.assert_allclose(conv.mean(dim=(1, 2)).T.numpy(), io["conv3d_out_mean_over_hw"], atol=5e-4)


def test_4x_idm_layout_matches_manifest():
    m = json.loads((MANIFESTS / "4x_idm.json").read_text())
    with torch.device("meta"):
        model = InverseDynamicsModel(IDMConfig.from_kwargs(m["kwargs"], {"temperature": 1.0}))
    sd = model.state_dict()
    assert list(sd) == list(m["state_dict"])
    assert {k: list(v.shape) for k, v in sd.items()} == m["state_dict"]
    assert sum(v.numel() for v in sd.values()) == m["total_elements"]


def test_encode_sees_true_neighbours_and_chunking_is_invisible(idm, io):
    frames = torch.as_tensor(io["frames"])
    with torch.inference_mode():
        whole = idm(frames[None]).cnn_latent[0]  # one call over the whole video
        # oneDNN's conv3d rounds a frame's sums a little differently at other chunk lengths
        # (~5e-7), which this fixture's random CNN amplifies to ~2e-4 in the features.
        for chunk in (1, 3, 16):
            np.testing.assert_allclose(idm.encode(frames, chunk=chunk).numpy(), whole.numpy(), atol=1e-3)
        # What the tolerance must catch: chunks that see zeros instead of their neighbours.
        cut = torch.cat([idm.encode(frames[s : s + 3], chunk=3) for s in range(0, len(frames), 3)])
        assert (cut - whole).abs().max() > 0.05


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                    reason="torch.compile (inductor) needs a C++ compiler")
def test_compiled_encoder_matches_and_compiles_one_shape(io):
    """``compile=True`` (torch.compile, frozen weights) gives the eager features; a video whose
    length is not a multiple of ``chunk`` still compiles once (the last chunk is padded), and a
    weight change is seen (the frozen copy is rebuilt)."""
    import torch._dynamo

    model = load_idm(FIXTURES / "idm_small.model", FIXTURES / "idm_small.weights")
    frames = torch.as_tensor(io["frames"])

    def encode() -> np.ndarray:
        with torch.inference_mode():
            return model.encode(frames, chunk=6).numpy()  # 16 frames: chunks of 6, 6 and 4

    eager = encode()
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    model.optimize_for_inference(channels_last=True, compile=True)
    compiled = encode()
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    np.testing.assert_allclose(compiled, eager, atol=1e-3)  # fused fp32 kernels: ~1e-5 to 2e-4
    with torch.no_grad():  # as an optimizer step would
        conv = model.net.img_process.cnn.stacks[0].firstconv.layer.weight
        conv.add_(0.1 * torch.randn(conv.shape, generator=torch.Generator().manual_seed(0)))
    changed = encode()
    model.optimize_for_inference(channels_last=True)
    np.testing.assert_allclose(changed, encode(), atol=1e-3)
    assert np.abs(changed - compiled).max() > 0.05


def test_overlapping_windows_equal_one_call_when_the_video_fits(idm, io):
    full = predict(idm, io["frames"], window=16, reference_windows=True)
    over = predict(idm, io["frames"], window=16, stride=4)
    np.testing.assert_allclose(over.buttons_logprob, full.buttons_logprob, atol=1e-5)
    np.testing.assert_allclose(over.camera_logprob, full.camera_logprob, atol=1e-5)


@pytest.mark.parametrize("n,window,stride", [(1, 8, 4), (8, 8, 4), (9, 8, 4), (100, 16, 8), (37, 10, 3)])
def test_window_assignment_covers_every_frame_with_most_context(n, window, stride):
    starts = window_starts(n, min(window, n), stride)
    w = min(window, n)
    owner = assign_windows(n, starts, w)
    s = starts[owner]
    t = np.arange(n)
    assert np.all((t >= s) & (t < s + w))
    assert starts[0] == 0 and starts[-1] + w == n
    # Interior frames of long videos are at least (w - stride) // 2 frames from an edge.
    interior = (t >= w // 2) & (t < n - w // 2)
    if n > w:
        margin = np.minimum(t - s, s + w - 1 - t)
        assert np.all(margin[interior] >= (w - stride) // 2 - 1)


def test_save_load_roundtrip_and_strict_errors(idm, io, tmp_path):
    save_idm(idm, tmp_path / "m.model", tmp_path / "m.weights")
    again = load_idm(tmp_path / "m.model", tmp_path / "m.weights")
    a = predict(idm, io["frames"][:8], reference_windows=True, window=8)
    b = predict(again, io["frames"][:8], reference_windows=True, window=8)
    np.testing.assert_array_equal(a.buttons_logprob, b.buttons_logprob)
    with pytest.raises(ModelConfigError, match="conv3d_params"):
        load_idm(FIXTURES / "policy_small.model", FIXTURES / "policy_small.weights")
    sd = torch.load(tmp_path / "m.weights", weights_only=True)
    del sd["net.conv3d_layer.layer.bias"]
    torch.save(sd, tmp_path / "bad.weights")
    with pytest.raises(StateDictMismatchError, match="net.conv3d_layer.layer.bias"):
        load_idm(tmp_path / "m.model", tmp_path / "bad.weights")


def test_temporal_conv_as_conv2d_equals_the_conv3d_forward_and_backward(io):
    """OpenAI's (5, 1, 1) conv3d runs as a (5, 1) conv2d: same outputs, loss and gradients."""
    from vpt.idm.train import idm_loss, preset_kwargs

    torch.manual_seed(0)
    model = InverseDynamicsModel(IDMConfig.from_kwargs(preset_kwargs("tiny"), {"temperature": 1.0})).train()
    frames = torch.as_tensor(io["frames"][:16]).reshape(2, 8, 128, 128, 3)
    buttons, camera = torch.randint(0, 2, (2, 8, 20)), torch.randint(0, 11, (2, 8, 2))
    got = {}
    for conv2d in (False, True):
        model.temporal_conv2d = conv2d
        model.zero_grad()
        conv = model._temporal_conv(frames)
        loss, _ = idm_loss(model(frames), buttons, camera)
        loss.backward()
        got[conv2d] = (conv.detach(), loss.item(), [p.grad.clone() for p in model.parameters() if p.grad is not None])
    assert got[True][0].is_contiguous()  # (B, T, H, W, C) channels-last without a copy
    torch.testing.assert_close(got[True][0], got[False][0], atol=1e-5, rtol=1e-5)
    assert got[True][1] == pytest.approx(got[False][1], rel=1e-5)
    assert len(got[True][2]) == len(got[False][2]) > 0
    for a, b in zip(got[True][2], got[False][2]):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-3)
    # The default: the conv2d in training; at inference on a CPU oneDNN's conv3d called
    # directly (PyTorch's own dispatch of this kernel takes its slow unfold path), equal to the
    # reference's nn.Conv3d for narrow and wide layers alike, channels-last without a copy.
    model.temporal_conv2d = None
    wide = InverseDynamicsModel(IDMConfig.from_kwargs(preset_kwargs("small"), {"temperature": 1.0}))
    conv3d_calls = []  # the reference path calls the layer; the others read its weights
    for m in (model, wide):
        m.net.conv3d_layer.register_forward_hook(lambda mod, inputs, out: conv3d_calls.append(mod))
    model._temporal_conv(frames), wide._temporal_conv(frames)
    assert conv3d_calls == []
    with torch.no_grad():
        for m in (model, wide):
            calls = len(conv3d_calls)
            default = m._temporal_conv(frames)
            assert len(conv3d_calls) == calls and default.is_contiguous()
            m.temporal_conv2d = False
            torch.testing.assert_close(default, m._temporal_conv(frames), atol=1e-5, rtol=1e-5)
            m.temporal_conv2d = None
    assert conv3d_calls == [model.net.conv3d_layer, wide.net.conv3d_layer]


def test_spatiotemporal_conv3d_kernel_encodes_like_one_call_and_round_trips(io, tmp_path):
    """A (3, 5, 5) conv3d keeps the whole-video encode exact and the file format."""
    from vpt.idm.train import preset_kwargs

    kw = preset_kwargs("tiny")
    kw["conv3d_params"] = dict(kw["conv3d_params"], kernel_size=[3, 5, 5], padding=[1, 2, 2])
    torch.manual_seed(0)
    model = InverseDynamicsModel(IDMConfig.from_kwargs(kw, {"temperature": 1.0})).eval()
    assert tuple(model.net.conv3d_layer.layer.weight.shape) == (8, 3, 3, 5, 5)
    frames = torch.as_tensor(io["frames"][:12])
    with torch.inference_mode():
        whole = model(frames[None]).cnn_latent[0]
        # Chunked and whole-clip calls take different conv algorithms (oneDNN picks per
        # shape and CPU), so sums differ in float order: ~1e-4 on CI's CPU. A wrong chunk
        # boundary (missing temporal context) differs by O(0.1).
        np.testing.assert_allclose(
            model.encode(frames, chunk=5).numpy(), whole.numpy(), rtol=1e-3, atol=1e-3
        )
    save_idm(model, tmp_path / "st.model", tmp_path / "st.weights")
    again = load_idm(tmp_path / "st.model", tmp_path / "st.weights")
    assert again.cfg.kernel_hw == (5, 5)
    bad = dict(kw, conv3d_params=dict(kw["conv3d_params"], padding=[1, 0, 0]))
    with pytest.raises(ModelConfigError, match="same"):
        IDMConfig.from_kwargs(bad)
