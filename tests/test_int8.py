"""Int8 convs (vpt.nn.int8): close to float32, wired into the image encoder, refused where they
cannot run."""

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

import vpt.nn.int8 as int8
from vpt.cli import app
from vpt.idm import IDMConfig, InverseDynamicsModel
from vpt.idm.files import save_idm
from vpt.idm.train import preset_kwargs
from vpt.nn.fanin import FanInInitReLULayer

needs_int8 = pytest.mark.skipif(
    int8.int8_unavailable_reason(torch.device("cpu")) is not None,
    reason=str(int8.int8_unavailable_reason(torch.device("cpu"))),
)


def _tiny_idm() -> InverseDynamicsModel:
    torch.manual_seed(0)
    return InverseDynamicsModel(IDMConfig.from_kwargs(preset_kwargs("tiny"), {"temperature": 1.0})).eval()


@needs_int8
@pytest.mark.parametrize("norm", [True, False])
@pytest.mark.parametrize("relu", [True, False])
def test_int8_conv_matches_the_float_layer(norm, relu):
    torch.manual_seed(0)
    layer = FanInInitReLULayer(32, 48, kernel_size=3, padding=1, group_norm_groups=1 if norm else None, use_activation=relu)
    if not norm:
        torch.nn.init.normal_(layer.layer.bias, std=0.5)  # the bias path (the policy's first conv)
    else:
        torch.nn.init.normal_(layer.norm.weight, 1.0, 0.3)
        torch.nn.init.normal_(layer.norm.bias, std=0.3)
    x = torch.randn(3, 32, 20, 20).contiguous(memory_format=torch.channels_last) * 2 + 0.5
    with torch.inference_mode():
        want = layer(x)
        q = int8.Int8Conv2d(layer, layer.norm, torch.float32)
        got = q(x)
    assert got.shape == want.shape and got.dtype == torch.float32
    assert float((got - want).norm() / want.norm()) < 0.02
    if relu:
        assert float(got.min()) >= 0.0
    else:
        assert float(got.min()) < 0.0
    # Quantisation is per call: a tensor 100x larger is quantised as finely.
    with torch.inference_mode():
        big_want, big_got = layer(100 * x), q(100 * x)
    assert float((big_got - big_want).norm() / big_want.norm()) < 0.02


@needs_int8
def test_int8_copy_serves_gradient_free_calls_only_and_keeps_the_state_dict():
    idm = _tiny_idm()
    state = {k: v.clone() for k, v in idm.state_dict().items()}
    frames = torch.randint(0, 256, (40, 128, 128, 3), dtype=torch.uint8)
    with torch.inference_mode():
        want = idm.encode(frames)
    idm.optimize_for_inference(int8=True)
    convs = [m for m in idm.net.img_process._inference_cnn().modules() if isinstance(m, int8.Int8Conv2d)]
    n_float_convs = sum(isinstance(m, torch.nn.Conv2d) for m in idm.net.img_process.cnn.modules())
    assert len(convs) == n_float_convs > 0
    with torch.inference_mode():
        got = idm.encode(frames)
    assert 0 < float((got - want).norm() / want.norm()) < 0.2
    assert all(torch.equal(v, state[k]) for k, v in idm.state_dict().items())
    # With gradients on, the float32 CNN runs (training never sees the int8 copy).
    x = idm._temporal_conv(frames[None, :8])
    assert torch.equal(idm.net.img_process(x.detach()), idm.net.img_process.linear(idm.net.img_process.cnn(x.detach())))
    # bf16 norms around the int8 convs, and the compiled quantiser, stay as close. (Compiled and
    # eager quantisers round a few values to neighbouring steps: on random weights the features
    # then differ by about half what int8 itself moves them.)
    idm.optimize_for_inference(int8=True, encoder_dtype=torch.bfloat16)
    with torch.inference_mode():
        bf16 = idm.encode(frames)
    assert bf16.dtype == torch.float32 and float((bf16 - want).norm() / want.norm()) < 0.2
    idm.optimize_for_inference(int8=True, compile=True)
    with torch.inference_mode():
        compiled = idm.encode(frames)
    assert float((compiled - want).norm() / want.norm()) < 0.2 and float((compiled - got).norm() / got.norm()) < 0.1


def test_int8_is_refused_where_it_cannot_run(tmp_path, monkeypatch):
    assert "CPU" in int8.int8_unavailable_reason(torch.device("meta"))
    idm = _tiny_idm()
    save_idm(idm, tmp_path / "idm.model", tmp_path / "idm.weights")
    monkeypatch.setattr(int8, "_cpu_unavailable_reason", lambda: "int8 convs need a CPU with AVX2 (test)")
    with pytest.raises(RuntimeError, match="AVX2"):
        idm.optimize_for_inference(int8=True)
    r = CliRunner().invoke(app, ["idm", "label", str(tmp_path), "--model", str(tmp_path / "idm.model"),
                                 "--weights", str(tmp_path / "idm.weights"), "--out", str(tmp_path / "labels"), "--int8"])  # fmt: skip
    assert r.exit_code == 2 and "AVX2" in r.output and "Traceback" not in r.output, r.output


@needs_int8
def test_int8_and_float_convs_agree_on_a_conv_layer_functional_reference():
    """The oneDNN call computes the same conv as F.conv2d on the dequantised tensors (to float
    rounding): what differs from float32 is only the quantisation."""
    torch.manual_seed(1)
    layer = FanInInitReLULayer(16, 16, kernel_size=3, padding=1, use_activation=False)
    x = torch.randn(2, 16, 12, 12).contiguous(memory_format=torch.channels_last)
    q = int8.Int8Conv2d(layer, None, torch.float32)
    qx, scale, zp = int8._quantize_activations(x, None, None, 0, 0.0)
    x_deq = (qx.float() - zp.float()) * scale
    w = layer.layer.weight.detach()
    w_deq = torch.round(w / q.w_scale[:, None, None, None]).clamp(-q.levels, q.levels) * q.w_scale[:, None, None, None]
    want = F.conv2d(x_deq, w_deq, layer.layer.bias, padding=1)
    with torch.inference_mode():
        got = q(x)
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4)


@needs_int8
def test_vpt_idm_label_int8_labels_a_video(tmp_path):
    """``vpt idm label --int8`` end to end: a label per frame, probabilities close to the float32 labels'."""
    from vpt.data.labels import read_labels
    from vpt.data.synthetic import write_synthetic_recording

    write_synthetic_recording(tmp_path / "videos" / "v", 48, seed=3, width=128, height=72)
    save_idm(_tiny_idm(), tmp_path / "idm.model", tmp_path / "idm.weights")
    idm = ["--model", str(tmp_path / "idm.model"), "--weights", str(tmp_path / "idm.weights"), "--window", "16"]
    for name, extra in (("fp32", []), ("int8", ["--int8"])):
        r = CliRunner().invoke(app, ["idm", "label", str(tmp_path / "videos"), *idm, "--out", str(tmp_path / name), *extra])
        assert r.exit_code == 0, r.output
    fp32, q = (read_labels(next((tmp_path / n).rglob("*.labels.npz"))) for n in ("fp32", "int8"))
    assert q["button_probs"].shape == fp32["button_probs"].shape == (48, 20)
    assert 0 < abs(q["camera_probs"] - fp32["camera_probs"]).max() < 0.05  # probabilities here span 0.01-0.37


@needs_int8
def test_agent_acts_with_int8_convs_close_to_float32():
    """``Agent(int8=True)``: the policy's convs (its first one has a bias and no norm) run in int8;
    the action distributions stay close to float32's, and the state dict is untouched."""
    import numpy as np

    from test_agent import MODEL, WEIGHTS, synthetic_pov
    from vpt.agent import Agent, load_policy

    fp32 = Agent(load_policy(MODEL, WEIGHTS), seed=0)
    policy = load_policy(MODEL, WEIGHTS)
    state = {k: v.clone() for k, v in policy.state_dict().items()}
    q = Agent(policy, int8=True, bf16=True, seed=0)
    frames = torch.from_numpy(np.stack([fp32.preprocess(synthetic_pov(i))[0] for i in range(4)]))[None]
    first = torch.zeros(1, 4, dtype=torch.bool)
    with torch.inference_mode():
        (want, _), (got, _) = (a.policy(frames, first, a.policy.initial_state(1)) for a in (fp32, q))
    convs = [m for m in policy.net.img_process._inference_cnn().modules() if isinstance(m, int8.Int8Conv2d)]
    assert convs and all(torch.equal(v, state[k]) for k, v in policy.state_dict().items())
    for w, g in ((want.buttons_logprob, got.buttons_logprob), (want.camera_logprob, got.camera_logprob)):
        tv = 0.5 * (w.exp() - g.exp()).abs().sum(-1)  # total variation distance per frame
        assert 0 < float(tv.max()) < 0.05, tv
    assert float((got.vpred - want.vpred).abs().max()) < 0.1
    assert q.act({"pov": synthetic_pov(0)}).env_action.keys() == fp32.act({"pov": synthetic_pov(0)}).env_action.keys()


def test_weights_use_7_bits_without_vnni(monkeypatch):
    """oneDNN's AVX2 path sums pairs of uint8 x int8 products into a saturating int16: without
    VNNI the weights stop at 63, with VNNI or AMX they use all of int8's -127..127."""
    for flags, levels in ((("avx2",), 63), (("avx2", "avx512_vnni"), 127), (("avx2", "avx_vnni"), 127), (("amx_int8",), 127)):
        monkeypatch.setattr(int8, "cpu_flags", lambda flags=flags: frozenset(flags))
        assert int8.weight_levels() == levels
    monkeypatch.setattr(int8, "cpu_flags", lambda: frozenset(("avx2",)))
    monkeypatch.setattr(int8, "_cpu_unavailable_reason", lambda: None)
    layer = FanInInitReLULayer(4, 4, kernel_size=3, padding=1)
    q = int8.Int8Conv2d(layer, None, torch.float32)
    assert q.levels == 63
    with pytest.raises(ValueError, match="levels"):
        int8.Int8Conv2d(layer, None, torch.float32, levels=128)


@needs_int8
def test_int8_conv_is_exact_on_the_worst_case_for_saturation():
    """Every activation at 255 and every weight at the top level: the products whose pair sums
    overflow a 16-bit sum on AVX2 with 8-bit weights. At this CPU's levels the oneDNN conv equals
    the conv of the dequantised tensors."""
    layer = FanInInitReLULayer(64, 64, kernel_size=3, padding=1, use_activation=False)
    with torch.no_grad():
        layer.layer.weight.fill_(0.01)
        layer.layer.bias.zero_()
    x = torch.ones(1, 64, 8, 8).contiguous(memory_format=torch.channels_last)
    x[..., 0, 0] = 0.0  # a range 0..1: 1 quantises to 255
    q = int8.Int8Conv2d(layer, None, torch.float32)
    qx, scale, zp = int8._quantize_activations(x, None, None, 0, 0.0)
    assert int(qx.max()) == 255 and int(zp) == 0
    w_deq = torch.full_like(layer.layer.weight, q.levels) * q.w_scale[:, None, None, None]
    want = F.conv2d(qx.float() * scale, w_deq, padding=1)
    with torch.inference_mode():
        got = q(x)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-4), float((got - want).abs().max())
