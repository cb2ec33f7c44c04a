"""Model files: safe .model loading (malicious pickles refused, nothing runs), strict key report,
bad kwargs, save -> load round trips (official format and safetensors), ``vpt agent info``."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vpt.agent import (
    ModelConfigError,
    ModelFileError,
    StateDictMismatchError,
    UnsafeModelFileError,
    export_safetensors,
    load_policy,
    load_policy_safetensors,
    read_model_file,
    read_weights_file,
    safe_unpickle,
    save_policy,
)
from vpt.cli import app

FIXTURES = Path(os.environ.get("VPT_FIXTURES", Path(__file__).resolve().parents[2] / "shared/reference/fixtures"))
MODEL, WEIGHTS = FIXTURES / "policy_small.model", FIXTURES / "policy_small.weights"


class _RunsCommand:
    """Pickles to ``os.system(command)``: unpickling it with plain ``pickle`` runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _malicious_model(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    payload = pickle.loads(pickle.dumps(pickle.load(open(MODEL, "rb"))))
    payload["model"]["args"]["net"]["args"]["hidsize"] = _RunsCommand(f"touch {marker}")
    path = tmp_path / "evil.model"
    path.write_bytes(pickle.dumps(payload))
    return path, marker


def test_malicious_model_is_refused_and_nothing_runs(tmp_path):
    path, marker = _malicious_model(tmp_path)
    with pytest.raises(UnsafeModelFileError, match=r"refused global (posix|os|nt)\.system") as err:
        read_model_file(path)
    assert str(path) in str(err.value)
    with pytest.raises(UnsafeModelFileError):
        load_policy(path, WEIGHTS)
    assert not marker.exists()
    # Control: the payload is live. Plain pickle (in a child process) does run the command.
    subprocess.run([sys.executable, "-c", f"import pickle; pickle.load(open({str(path)!r}, 'rb'))"], check=True)
    assert marker.exists()


def test_cli_refuses_malicious_model(tmp_path):
    path, marker = _malicious_model(tmp_path)
    result = CliRunner().invoke(app, ["agent", "info", str(path), str(WEIGHTS)])
    assert result.exit_code == 2
    assert "system" in result.output and not marker.exists()


@pytest.mark.parametrize(
    "obj, name",
    [({"a": np.int64(3)}, "refused global numpy"), ({"a": torch.zeros(1)}, "refused global torch")],
)
def test_non_plain_globals_are_named(obj, name):
    with pytest.raises(UnsafeModelFileError, match=name):
        safe_unpickle(pickle.dumps(obj), "x.model")


def test_sets_refused_in_any_protocol():
    with pytest.raises(UnsafeModelFileError, match=r"refused global (__builtin__|builtins)\.set"):
        safe_unpickle(pickle.dumps({"a": {1}}, protocol=2))
    with pytest.raises(UnsafeModelFileError, match=r"x.model\['a'\]: unexpected object of type set"):
        safe_unpickle(pickle.dumps({"a": {1}}, protocol=4), "x.model")


def test_plain_containers_and_ordered_dict_allowed():
    obj = OrderedDict(a=[1, 2.5, (True, None)], b={"c": "d"})
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert safe_unpickle(pickle.dumps(obj, protocol=protocol)) == obj


def test_malicious_weights_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.weights"
    torch.save({"w": _RunsCommand(f"touch {marker}")}, path)
    with pytest.raises(UnsafeModelFileError, match=r"weights_only=True.*(posix|os|nt)\.system") as err:
        read_weights_file(path)
    assert "weights_only=False" not in str(err.value)
    assert not marker.exists()


def test_garbage_files(tmp_path):
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"not a pickle at all")
    with pytest.raises(ModelFileError, match="bad.model"):
        read_model_file(bad)
    with pytest.raises(ModelFileError, match="cannot read"):
        read_model_file(tmp_path / "missing.model")
    wrong = tmp_path / "wrong.model"
    wrong.write_bytes(pickle.dumps({"model": {"args": {}}}))
    with pytest.raises(ModelFileError, match="model.args.net.args"):
        read_model_file(wrong)
    with pytest.raises(ModelFileError, match="not a plain tensor state dict"):
        read_weights_file(bad)
    notdict = tmp_path / "list.weights"
    torch.save([torch.zeros(1)], notdict)
    with pytest.raises(ModelFileError, match="expected a state dict"):
        read_weights_file(notdict)


def _with_kwargs(tmp_path: Path, **changes) -> Path:
    payload = pickle.load(open(MODEL, "rb"))
    net = payload["model"]["args"]["net"]["args"]
    for k, v in changes.items():
        if v is KeyError:
            del net[k]
        else:
            net[k] = v
    path = tmp_path / "changed.model"
    path.write_bytes(pickle.dumps(payload))
    return path


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"attention_heads": 5}, "divisible by attention_heads"),
        ({"recurrence_type": "lstm"}, "recurrence_type 'lstm'"),
        ({"timesteps": KeyError}, "'timesteps'"),
        ({"hidsize": "64"}, "'hidsize'"),
        ({"attention_memory_size": 16}, "attention_memory_size"),
        ({"img_shape": [128, 128]}, "'img_shape'"),
        ({"conv3d_params": {"inchan": 3}}, "inverse dynamics"),
        ({"attention_mask_style": "causal"}, "attention_mask_style"),
    ],
)
def test_bad_kwargs_named(tmp_path, changes, message):
    with pytest.raises(ModelConfigError, match=message):
        read_model_file(_with_kwargs(tmp_path, **changes))


def test_strict_key_report(tmp_path):
    sd = torch.load(WEIGHTS, weights_only=True)
    del sd["value_head.linear.bias"]
    sd["net.extra.weight"] = torch.zeros(3)
    sd["net.final_ln.weight"] = torch.zeros(65)
    path = tmp_path / "bad.weights"
    torch.save(sd, path)
    with pytest.raises(StateDictMismatchError) as err:
        load_policy(MODEL, path)
    msg = str(err.value)
    assert "missing from the file (1):\n    value_head.linear.bias" in msg
    assert "unexpected in the file (1):\n    net.extra.weight" in msg
    assert "net.final_ln.weight: [64] vs [65]" in msg
    report = err.value.report
    assert report.missing == ["value_head.linear.bias"] and report.unexpected == ["net.extra.weight"]


def _outputs(policy):
    inputs = np.load(FIXTURES / "policy_inputs.npz")
    with torch.inference_mode():
        out, state = policy(
            torch.from_numpy(inputs["frames"][:, :5]), torch.from_numpy(inputs["first"][:, :5]), policy.initial_state(2)
        )
    return out, state


def test_save_load_roundtrip_identical(tmp_path):
    policy = load_policy(MODEL, WEIGHTS)
    policy.optimize_for_inference(channels_last=True)  # strides must not leak into the files
    save_policy(policy, tmp_path / "p.model", tmp_path / "p.weights")
    again = load_policy(tmp_path / "p.model", tmp_path / "p.weights")
    a, _ = _outputs(policy)
    b, _ = _outputs(again)
    torch.testing.assert_close(a.buttons_logprob, b.buttons_logprob, rtol=0, atol=0)
    torch.testing.assert_close(a.vpred, b.vpred, rtol=0, atol=0)
    saved = safe_unpickle((tmp_path / "p.model").read_bytes())
    original = pickle.load(open(MODEL, "rb"))
    assert saved["model"]["args"]["net"]["args"] == original["model"]["args"]["net"]["args"]
    assert saved["model"]["args"]["pi_head_opts"] == {"temperature": 2.0}
    sd = torch.load(tmp_path / "p.weights", weights_only=True)
    ref = torch.load(WEIGHTS, weights_only=True)
    assert list(sd) == list(ref) and all(torch.equal(sd[k], ref[k]) for k in ref)
    assert all(v.is_contiguous() for v in sd.values())


def test_safetensors_export_roundtrip(tmp_path):
    policy = load_policy(MODEL, WEIGHTS)
    cfg_path = export_safetensors(policy, tmp_path / "p.safetensors")
    assert cfg_path == tmp_path / "p.json"
    assert json.loads(cfg_path.read_text())["model"]["args"]["pi_head_opts"]["temperature"] == 2.0
    again = load_policy_safetensors(tmp_path / "p.safetensors")
    a, _ = _outputs(policy)
    b, _ = _outputs(again)
    torch.testing.assert_close(a.buttons_logprob, b.buttons_logprob, rtol=0, atol=0)


def test_cli_info_ok_and_mismatch(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["agent", "info", str(MODEL), str(WEIGHTS), "--json"])
    assert ok.exit_code == 0, ok.output
    info = json.loads(ok.output)
    assert info["weights"]["ok"] and info["architecture"]["hidsize"] == 64
    assert info["parameters"]["total"] == sum(v.numel() for v in torch.load(WEIGHTS, weights_only=True).values())
    sd = torch.load(WEIGHTS, weights_only=True)
    del sd["net.final_ln.bias"]
    torch.save(sd, tmp_path / "missing.weights")
    bad = runner.invoke(app, ["agent", "info", str(MODEL), str(tmp_path / "missing.weights")])
    assert bad.exit_code == 1 and "net.final_ln.bias" in bad.output

