"""VPT policy network: fixture equality (stepwise, chunked), episode starts, manifests, blocks."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vpt.agent import PolicyConfig, VPTPolicy, load_policy
from vpt.nn import MaskedAttention
from vpt.nn.attention import clipped_causal_mask, relative_logits


def _shared() -> Path:
    env = os.environ.get("VPT_FIXTURES")
    if env:
        return Path(env).parents[1]
    return Path(__file__).resolve().parents[2] / "shared"


FIXTURES = Path(os.environ.get("VPT_FIXTURES", _shared() / "reference" / "fixtures"))
MANIFESTS = _shared() / "reference" / "manifests"
ATOL_LOGP, ATOL_LATENT = 2e-4, 5e-4


@pytest.fixture(scope="module")
def policy() -> VPTPolicy:
    return load_policy(FIXTURES / "policy_small.model", FIXTURES / "policy_small.weights")


@pytest.fixture(scope="module")
def inputs() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "policy_inputs.npz"))


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "policy_outputs.npz"))


def _run(policy: VPTPolicy, frames: np.ndarray, first: np.ndarray, bounds: list[tuple[int, int]]):
    state = policy.initial_state(frames.shape[0])
    outs = []
    with torch.inference_mode():
        for a, b in bounds:
            out, state = policy(torch.from_numpy(frames[:, a:b]), torch.from_numpy(first[:, a:b]), state)
            outs.append(out)
    cat = {
        k: torch.cat([getattr(o, k) for o in outs], 1).numpy()
        for k in ("buttons_logprob", "camera_logprob", "vpred_normalized", "vpred", "cnn_latent", "final_latent")
    }
    for i in range(len(outs[0].block_outputs)):
        cat[f"block{i}_out"] = torch.cat([o.block_outputs[i] for o in outs], 1).numpy()
    return cat, state


def _check(got: dict, state, expected: dict, prefix: str) -> None:
    for k in ("buttons_logprob", "camera_logprob"):
        np.testing.assert_allclose(got[k], expected[f"{prefix}_{k}"], atol=ATOL_LOGP, rtol=0, err_msg=k)
    for k in ("vpred_normalized", "vpred", "cnn_latent", "final_latent", "block0_out", "block1_out"):
        np.testing.assert_allclose(got[k], expected[f"{prefix}_{k}"], atol=ATOL_LATENT, rtol=0, err_msg=k)
    np.testing.assert_array_equal(got["buttons_logprob"].argmax(-1), expected[f"{prefix}_argmax_buttons"])
    np.testing.assert_array_equal(got["camera_logprob"].argmax(-1), expected[f"{prefix}_argmax_camera"])
    for i, s in enumerate(state):
        np.testing.assert_array_equal(s.mask.numpy(), expected[f"{prefix}_layer{i}_state_mask"])
        np.testing.assert_allclose(s.k.numpy(), expected[f"{prefix}_layer{i}_K"], atol=ATOL_LATENT, rtol=0)
        np.testing.assert_allclose(s.v.numpy(), expected[f"{prefix}_layer{i}_V"], atol=ATOL_LATENT, rtol=0)


@pytest.mark.parametrize("reference_first_handling", [False, True])
def test_stepwise_matches_fixture(policy, inputs, expected, reference_first_handling):
    policy.reference_first_handling = reference_first_handling
    try:
        got, state = _run(policy, inputs["frames"], inputs["first"], [(t, t + 1) for t in range(20)])
    finally:
        policy.reference_first_handling = False
    _check(got, state, expected, "stepwise")


@pytest.mark.parametrize("reference_first_handling", [False, True])
def test_chunked_matches_fixture(policy, inputs, expected, reference_first_handling):
    policy.reference_first_handling = reference_first_handling
    try:
        got, state = _run(policy, inputs["frames"], inputs["first"], [tuple(b) for b in inputs["chunk_bounds"]])
    finally:
        policy.reference_first_handling = False
    _check(got, state, expected, "chunked")


def test_mid_chunk_episode_start_resets_memory(policy, inputs, expected):
    """Default: one 20-step call with a start at t=3 for row 0 equals the stepwise reference."""
    got, state = _run(policy, inputs["frames"], inputs["first"], [(0, 20)])
    _check(got, state, expected, "stepwise")
    # ... and row 0 from t=3 on equals a fresh episode started there.
    fresh, _ = _run(policy, inputs["frames"][:1, 3:], inputs["first"][:1, 3:], [(0, 17)])
    np.testing.assert_allclose(got["buttons_logprob"][0, 3:], fresh["buttons_logprob"][0], atol=ATOL_LOGP, rtol=0)


def test_reference_first_handling_ignores_mid_chunk_start(policy, inputs, expected):
    """Reference option: only first[:, 0] counts, so the start at t=3 of row 0 is ignored."""
    policy.reference_first_handling = True
    try:
        ref, ref_state = _run(policy, inputs["frames"], inputs["first"], [(0, 20)])
    finally:
        policy.reference_first_handling = False
    no_mid = inputs["first"].copy()
    no_mid[:, 1:] = False
    ignored, ignored_state = _run(policy, inputs["frames"], no_mid, [(0, 20)])
    np.testing.assert_allclose(ref["buttons_logprob"], ignored["buttons_logprob"], atol=1e-5, rtol=0)
    for a, b in zip(ref_state, ignored_state):
        np.testing.assert_array_equal(a.mask.numpy(), b.mask.numpy())
    # Row 1 and row 0 before the start still equal the stepwise reference; row 0 after it differs.
    exp = expected["stepwise_buttons_logprob"]
    np.testing.assert_allclose(ref["buttons_logprob"][1], exp[1], atol=ATOL_LOGP, rtol=0)
    np.testing.assert_allclose(ref["buttons_logprob"][0, :3], exp[0, :3], atol=ATOL_LOGP, rtol=0)
    assert np.abs(ref["buttons_logprob"][0, 3:] - exp[0, 3:]).max() > 1e-2


@settings(max_examples=5, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 11), min_size=1, max_size=4, unique=True),
    starts=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_any_chunking_equals_stepwise(policy, inputs, cuts, starts):
    """Property: with correct episode handling, how a sequence is cut into calls never matters."""
    frames = inputs["frames"][:, :12]
    first = np.array([starts, starts[::-1]], dtype=bool)
    bounds = [0, *sorted(cuts), 12]
    chunked, cstate = _run(policy, frames, first, list(zip(bounds[:-1], bounds[1:])))
    stepwise, sstate = _run(policy, frames, first, [(t, t + 1) for t in range(12)])
    np.testing.assert_allclose(chunked["buttons_logprob"], stepwise["buttons_logprob"], atol=ATOL_LOGP, rtol=0)
    np.testing.assert_allclose(chunked["vpred"], stepwise["vpred"], atol=ATOL_LATENT, rtol=0)
    for a, b in zip(cstate, sstate):
        np.testing.assert_array_equal(a.mask.numpy(), b.mask.numpy())
        np.testing.assert_allclose(a.k.numpy(), b.k.numpy(), atol=ATOL_LATENT, rtol=0)


def test_clipped_causal_mask_window_and_state():
    maxlen, t = 4, 6
    first = torch.zeros(1, t, dtype=torch.bool)
    state = torch.ones(1, 1, maxlen, dtype=torch.bool)
    allowed, new = clipped_causal_mask(first, state, maxlen)
    for r in range(t):
        cols = allowed[0, r].nonzero().flatten().tolist()
        assert cols == list(range(r + 1, r + maxlen + 1))  # itself and the previous maxlen-1 frames
    assert new.tolist() == [[[True] * maxlen]]
    first[0, 2] = True
    allowed, new = clipped_causal_mask(first, state, maxlen)
    assert allowed[0, 1].nonzero().flatten().tolist() == [2, 3, 4, 5]
    assert allowed[0, 3].nonzero().flatten().tolist() == [6, 7]  # nothing before the start at t=2
    allowed_ref, new_ref = clipped_causal_mask(first, state, maxlen, reference_first_handling=True)
    assert allowed_ref[0, 3].nonzero().flatten().tolist() == [4, 5, 6, 7]
    assert new.tolist() == new_ref.tolist() == [[[True] * maxlen]]
    # A start in the last step leaves only that frame valid in the memory (correct mode).
    first = torch.zeros(1, 2, dtype=torch.bool)
    first[0, 1] = True
    _, new = clipped_causal_mask(first, state, maxlen)
    assert new.tolist() == [[[False, False, False, True]]]


def test_relative_logits_against_definition():
    torch.manual_seed(0)
    b, h, t, maxlen = 2, 3, 5, 4
    r_coef, b_nd = torch.randn(b, h, t, 10), torch.randn(10, maxlen)
    got = relative_logits(r_coef, b_nd, t, maxlen)
    want = torch.zeros(b, h, t, maxlen + t)
    for r in range(t):
        for c in range(maxlen + t):
            d = maxlen + r - c
            if 0 <= d < maxlen:
                want[:, :, r, c] = (r_coef[:, :, r] * b_nd[:, d]).sum(-1)
    torch.testing.assert_close(got, want)


def test_unmasked_attention_without_memory_is_bidirectional():
    """IDM style (mask "none", memory = timesteps): frame 0 sees the future, no state is kept."""
    torch.manual_seed(0)
    attn = MaskedAttention(16, 2, memory_size=8, timesteps=8, mask="none")
    x = torch.randn(1, 5, 16)
    first = torch.zeros(1, 5, dtype=torch.bool)
    y, state = attn(x, first, attn.initial_state(1))
    x2 = x.clone()
    x2[0, 4] += 1.0
    y2, _ = attn(x2, first, attn.initial_state(1))
    assert not torch.allclose(y[0, 0], y2[0, 0])
    assert state.k.shape == (1, 0, 16)


@pytest.mark.parametrize("name", ["1x_partial", "agent_py_2x", "3x_partial"])
def test_released_sizes_match_manifests(name):
    manifest = json.loads((MANIFESTS / f"{name}.json").read_text())
    cfg = PolicyConfig.from_kwargs(manifest["kwargs"], {"temperature": 2.0})
    with torch.device("meta"):
        policy = VPTPolicy(cfg)
    sd = policy.state_dict()
    assert list(sd) == list(manifest["state_dict"])
    assert {k: list(v.shape) for k, v in sd.items()} == manifest["state_dict"]
    assert sum(v.numel() for v in sd.values()) == manifest["total_elements"]
    assert sum(p.numel() for p in policy.parameters() if p.requires_grad) == manifest["trainable_parameters"]
    assert sorted(k for k, p in policy.named_parameters() if not p.requires_grad) == manifest["non_trainable_keys"]


def test_fixture_model_file_is_plain(policy):
    cfg = policy.cfg
    raw = pickle.loads((FIXTURES / "policy_small.model").read_bytes())
    assert cfg.temperature == 2.0 and isinstance(cfg.temperature, float)
    assert cfg.maxlen == 16 and cfg.net_kwargs == raw["model"]["args"]["net"]["args"]


def test_bf16_encoder_close_to_fp32(policy, inputs):
    frames, first = inputs["frames"][:, :4], inputs["first"][:, :4]
    ref, _ = _run(policy, frames, first, [(0, 4)])
    policy.optimize_for_inference(channels_last=True, encoder_dtype=torch.bfloat16)
    try:
        fast, _ = _run(policy, frames, first, [(0, 4)])
        with torch.no_grad():  # a gradient-free call that is not inference mode also uses the copy
            out, _ = policy(torch.from_numpy(frames), torch.from_numpy(first), policy.initial_state(2))
        np.testing.assert_allclose(out.buttons_logprob.numpy(), fast["buttons_logprob"], atol=1e-6)
    finally:
        policy.optimize_for_inference(channels_last=False, encoder_dtype=None)
    # bf16 convs carry ~3% relative error on this randomly perturbed net: ~0.1 in log-probabilities.
    err = np.abs(fast["buttons_logprob"] - ref["buttons_logprob"]).max()
    assert 0 < err < 0.3
    fp32_again, _ = _run(policy, frames, first, [(0, 4)])
    np.testing.assert_array_equal(fp32_again["buttons_logprob"], ref["buttons_logprob"])


def test_input_validation(policy):
    state = policy.initial_state(1)
    with pytest.raises(ValueError, match="frames must have shape"):
        policy(torch.zeros(1, 1, 64, 64, 3, dtype=torch.uint8), torch.zeros(1, 1, dtype=torch.bool), state)
    with pytest.raises(ValueError, match="first must have shape"):
        policy(torch.zeros(1, 2, 128, 128, 3, dtype=torch.uint8), torch.zeros(1, 1, dtype=torch.bool), state)
    with pytest.raises(ValueError, match="state has 1 layers"):
        policy(torch.zeros(1, 1, 128, 128, 3, dtype=torch.uint8), torch.zeros(1, 1, dtype=torch.bool), state[:1])


def test_training_mode_gradients_flow(policy, inputs):
    """The policy is trainable: a BC-style loss backpropagates into the CNN and the heads."""
    policy.train()
    try:
        policy.zero_grad()
        out, _ = policy(
            torch.from_numpy(inputs["frames"][:1, :2]), torch.from_numpy(inputs["first"][:1, :2]), policy.initial_state(1)
        )
        (-out.buttons_logprob[..., 0].sum() - out.camera_logprob[..., 60].sum()).backward()
        assert policy.net.img_process.cnn.stacks[0].firstconv.layer.weight.grad.abs().sum() > 0
        assert policy.pi_head["buttons"].linear_layer.weight.grad.abs().sum() > 0
    finally:
        policy.zero_grad(set_to_none=True)
        policy.eval()


def test_fp16_linear_weights_close_and_refreshed(policy, inputs):
    frames, first = inputs["frames"][:, :6], inputs["first"][:, :6]
    steps = [(t, t + 1) for t in range(6)]
    ref, _ = _run(policy, frames, first, steps)
    policy.optimize_for_inference(linear_dtype=torch.float16, linear_max_rows=None)
    try:
        fast, _ = _run(policy, frames, first, steps)
        p = np.exp(ref["buttons_logprob"])
        assert 0 < np.abs(fast["buttons_logprob"] - ref["buttons_logprob"]).max() < 5e-3
        assert (p * (ref["buttons_logprob"] - fast["buttons_logprob"])).sum(-1).max() < 1e-5  # KL
        np.testing.assert_array_equal(fast["buttons_logprob"].argmax(-1), ref["buttons_logprob"].argmax(-1))
        # The half copy follows in-place weight changes (optimizer steps, load_state_dict).
        head = policy.pi_head["buttons"].linear_layer
        with torch.no_grad():
            head.weight.zero_()  # logits become bias / temperature; a stale copy would not know
        zeroed, _ = _run(policy, frames[:, :1], first[:, :1], [(0, 1)])
        expected = torch.log_softmax(head.bias.detach() / policy.cfg.temperature, -1).numpy()
        np.testing.assert_allclose(zeroed["buttons_logprob"][:, 0], np.stack([expected] * 2), atol=5e-3)
    finally:
        policy.load_state_dict(torch.load(FIXTURES / "policy_small.weights", weights_only=True))
        policy.optimize_for_inference(channels_last=False, linear_dtype=None)
    again, _ = _run(policy, frames, first, steps)
    np.testing.assert_array_equal(again["buttons_logprob"], ref["buttons_logprob"])


def test_nn_blocks_assemble_the_4x_idm_layout():
    """vpt.nn is enough to build the IDM (vpt.md §7): conv3d front, first-conv norm, mask "none",
    factored heads. Assembled here on the meta device, it has exactly the 4x IDM manifest."""
    from torch import nn

    from vpt.nn import (
        ActionHeads,
        FanInInitReLULayer,
        ImageEncoder,
        ResidualRecurrentBlocks,
        dense_norm_kwargs,
    )

    manifest = json.loads((MANIFESTS / "4x_idm.json").read_text())
    kw = manifest["kwargs"]
    dense_kw = dense_norm_kwargs(kw["init_norm_kwargs"])
    hid = kw["hidsize"]
    with torch.device("meta"):
        net = nn.Module()
        net.img_process = ImageEncoder(
            kw["img_shape"],
            [kw["impala_width"] * c for c in (16, 32, 32)],
            hid,
            init_norm_kwargs=kw["init_norm_kwargs"],
            dense_init_norm_kwargs=dense_kw,
            first_conv_norm=True,
            post_pool_groups=kw["impala_kwargs"]["post_pool_groups"],
        )
        net.recurrent_layer = ResidualRecurrentBlocks(
            kw["n_recurrence_layers"],
            hidsize=hid,
            heads=kw["attention_heads"],
            memory_size=kw["attention_memory_size"],
            timesteps=kw["timesteps"],
            mask="none",
        )
        net.lastlayer = FanInInitReLULayer(hid, hid, layer_type="linear", **dense_kw)
        net.final_ln = nn.LayerNorm(hid)
        c3 = kw["conv3d_params"]
        net.conv3d_layer = FanInInitReLULayer(
            c3["inchan"], c3["outchan"], layer_type="conv3d", kernel_size=c3["kernel_size"], padding=c3["padding"]
        )
        idm = nn.Module()
        idm.net = net
        idm.pi_head = ActionHeads(hid, {"buttons": (2, (20,)), "camera": (11, (2,))})
    got = {k: list(v.shape) for k, v in idm.state_dict().items()}
    assert list(got) == list(manifest["state_dict"]) and got == manifest["state_dict"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # the CPU's Numba path; the matrix-product path (GPUs)
@pytest.mark.parametrize("shape", [(2, 16, 8, 8, 32), (1, 24, 16, 12, 8), (3, 5, 4, 20, 7)])
def test_winograd_conv_matches_direct(shape, dtype):
    from vpt.nn import winograd_conv3x3, winograd_weights

    n, c, h, w, k = shape
    gen = torch.Generator().manual_seed(0)
    x, wt, b = torch.randn(n, c, h, w, generator=gen), torch.randn(k, c, 3, 3, generator=gen), torch.randn(k, generator=gen)
    want = torch.nn.functional.conv2d(x.double(), wt.double(), b.double(), padding=1)
    got = winograd_conv3x3(x.to(dtype).contiguous(memory_format=torch.channels_last), winograd_weights(wt.to(dtype)), b.to(dtype))
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert got.shape == want.shape
    assert ((got.double() - want).abs().max() / want.abs().max()).item() < 3e-5


@pytest.mark.parametrize("channels", [8, 32])
def test_group_norm_fast_path_is_pytorchs_norm_in_channels_last(channels):
    """vpt.nn.GroupNorm on a narrow channels-last bf16 input computes PyTorch's group norm of an
    NCHW copy, bit for bit, forward and backward, and hands back channels-last output and input
    gradient; wider or float32 inputs take nn.GroupNorm's own path."""
    from vpt.nn import GroupNorm

    gen = torch.Generator().manual_seed(0)
    ours, theirs = GroupNorm(1, channels), torch.nn.GroupNorm(1, channels)
    weight, bias = torch.randn(channels, generator=gen), torch.randn(channels, generator=gen)
    with torch.no_grad():
        for m in (ours, theirs):
            m.weight.copy_(weight), m.bias.copy_(bias)
    for dtype in (torch.bfloat16, torch.float32):
        x = (torch.randn(6, channels, 12, 10, generator=gen) * 3 + 1).to(dtype)
        dy = torch.randn(x.shape, generator=gen).to(dtype).contiguous(memory_format=torch.channels_last)
        fast_path = dtype == torch.bfloat16 and channels < 16
        a = x.contiguous(memory_format=torch.channels_last).requires_grad_()
        b = (x.contiguous() if fast_path else x.contiguous(memory_format=torch.channels_last)).requires_grad_()
        ya, yb = ours(a), theirs(b)
        ya.backward(dy)
        yb.backward(dy)
        assert ya.is_contiguous(memory_format=torch.channels_last) and a.grad.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(ya, yb) and torch.equal(a.grad, b.grad)
        assert torch.equal(ours.weight.grad, theirs.weight.grad) and torch.equal(ours.bias.grad, theirs.bias.grad)
        ours.zero_grad(), theirs.zero_grad()
    assert list(ours.state_dict()) == ["weight", "bias"]


def test_winograd_policy_matches_fixture_and_follows_weights(policy, inputs, expected):
    policy.optimize_for_inference(winograd=True)
    try:
        got, state = _run(policy, inputs["frames"], inputs["first"], [(t, t + 1) for t in range(20)])
        _check(got, state, expected, "stepwise")
        conv = policy.net.img_process.cnn.stacks[1].blocks[0].conv0.layer
        x = torch.randn(1, conv.in_channels, 8, 8)
        with torch.no_grad():
            conv.weight.mul_(2.0)  # the cached transform must be rebuilt
            torch.testing.assert_close(conv(x), torch.nn.functional.conv2d(x, conv.weight, padding=1), atol=1e-4, rtol=1e-4)
    finally:
        policy.load_state_dict(torch.load(FIXTURES / "policy_small.weights", weights_only=True))
        policy.optimize_for_inference(channels_last=False, winograd=False)


def test_numpy_inputs_accepted(policy, inputs, expected):
    with torch.inference_mode():
        out, _ = policy(inputs["frames"][:, :2], inputs["first"][:, :2], policy.initial_state(2))
    np.testing.assert_allclose(
        out.buttons_logprob.numpy(), expected["stepwise_buttons_logprob"][:, :2], atol=ATOL_LOGP, rtol=0
    )
