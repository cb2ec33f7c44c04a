"""vpt.data: jsonl conversion, the loader stream, video round trips, bad input, datasets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from vpt import actions
from vpt.cli import app
from vpt.data import (
    DatasetReport,
    RecordingError,
    StreamStats,
    iter_recordings,
    iter_samples,
    jsonl_line_to_env_action,
    list_recordings,
    load_recording,
    parse_jsonl,
    read_jsonl,
    read_video,
    write_recording,
)
from vpt.data.synthetic import synthetic_frame, synthetic_lines, write_synthetic_recording

FIXTURES = Path(os.environ.get("VPT_FIXTURES", Path(__file__).resolve().parents[2] / "shared/reference/fixtures"))


def _plain(action: dict) -> dict:
    return {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in action.items()}


def _fixture_lines():
    return read_jsonl(FIXTURES / "contractor_synthetic.jsonl")


def _fixture_frame(i: int) -> np.ndarray:
    """The decoded frame of line i (fixture formula, BGR) returned as RGB, as our decoder does."""
    y, x = np.mgrid[0:360, 0:640]
    b, g, r = (x + 3 * i) % 256, (y + 5 * i) % 256, ((x // 8) * 7 + (y // 8) * 13 + 11 * i) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


@pytest.fixture(scope="module")
def conversion():
    return json.loads((FIXTURES / "jsonl_conversion.json").read_text())


@pytest.fixture(scope="module")
def legacy_stream():
    lines = _fixture_lines()
    return list(iter_samples((_fixture_frame(i) for i in range(len(lines))), lines, legacy_integer_camera=True))


def test_raw_line_conversion_matches_reference(conversion):
    lines = _fixture_lines()
    assert len(lines) == conversion["num_lines"]
    for i, (line, ref) in enumerate(zip(lines, conversion["raw_per_line"])):
        action, is_null = jsonl_line_to_env_action(line, legacy_integer_camera=True)
        assert list(action) == list(ref["env_action"]), i
        assert _plain(action) == ref["env_action"], i
        assert is_null == ref["is_null"], i


def test_loader_stream_matches_reference(conversion, legacy_stream):
    ref = conversion["loader_stream"]
    assert [s.line for s in legacy_stream] == [r["line"] for r in ref]
    for s, r in zip(legacy_stream, ref):
        assert _plain(s.env_action) == r["env_action"], s.line
        assert s.gui_open == r["gui_open"]
        assert s.policy_action == {"buttons": r["buttons_index"], "camera": r["camera_index"]}, s.line
        fac, bins = actions.env_to_factored(s.env_action)
        assert fac[0].tolist() == r["factored_buttons"] and bins[0].tolist() == r["factored_camera_bins"]
        assert bool(actions.is_null_factored(fac, bins)[0]) == r["policy_space_is_null"]
        back = actions.policy_to_env({"buttons": [r["buttons_index"]], "camera": [r["camera_index"]]})
        assert list(back) == list(r["roundtrip_env_action"])
        for k, v in r["roundtrip_env_action"].items():
            np.testing.assert_allclose(back[k], v, atol=1e-9)


def test_loader_frames_match_reference(legacy_stream):
    ref = np.load(FIXTURES / "jsonl_loader_frames.npz")
    by_line = {s.line: s.frame for s in legacy_stream}
    for line, frame in zip(ref["line_index"], ref["frames"]):
        np.testing.assert_array_equal(by_line[int(line)], frame, err_msg=f"line {line}")


def test_fractional_camera_is_the_default():
    line = {"mouse": {"dx": 5.0, "dy": -170.8, "buttons": []}, "keyboard": {"keys": []}}
    action, is_null = jsonl_line_to_env_action(line)
    np.testing.assert_allclose(action["camera"], [-170.8 * 0.15, 0.75])
    legacy, _ = jsonl_line_to_env_action(line, legacy_integer_camera=True)
    assert legacy["camera"].tolist() == [-25, 0] and not is_null


def test_write_then_load_gives_the_same_actions(tmp_path):
    n = 60
    lines = synthetic_lines(n, seed=3)
    write_recording(tmp_path / "rec", (synthetic_frame(i) for i in range(n)), lines)
    rec = load_recording(tmp_path / "rec.mp4")
    expected = list(iter_samples((synthetic_frame(i) for i in range(n)), lines))
    assert rec.line_index.tolist() == [s.line for s in expected]
    for got, exp in zip(rec.env_actions, expected):
        assert _plain(got) == _plain(exp.env_action)
    assert rec.policy_actions["buttons"].tolist() == [s.policy_action["buttons"] for s in expected]
    assert rec.policy_actions["camera"].tolist() == [s.policy_action["camera"] for s in expected]
    # H.264 is lossy but close: frames agree to a few grey levels on average.
    diff = np.abs(rec.frames.astype(int) - np.stack([s.frame for s in expected]).astype(int))
    assert diff.mean() < 6, diff.mean()
    decoded = list(read_video(tmp_path / "rec.mp4"))
    assert len(decoded) == n and decoded[0].shape == (360, 640, 3)
    assert not list(tmp_path.glob(".*tmp*")), "temporary files left behind"


def test_skip_null_false_keeps_every_line(tmp_path):
    lines = _fixture_lines()
    stats = StreamStats()
    samples = list(iter_samples((_fixture_frame(i) for i in range(len(lines))), lines, skip_null=False, stats=stats))
    assert len(samples) == len(lines) == stats.samples
    assert sum(s.is_null for s in samples) == stats.null == 300 - 259


def test_video_frames_draw_the_cursor_a_jsonl_places(tmp_path):
    """``video_frames`` (what the IDM labels and BC on labels see) equals the recording loader's
    frames when a jsonl lies beside the video, and the plain decode without one."""
    from vpt.data import video_frames
    from vpt.data.synthetic import write_synthetic_recording
    from vpt.data.frames import resize_to_agent

    mp4, jsonl = write_synthetic_recording(tmp_path / "rec", n=40, seed=3)
    lines = [json.loads(l) for l in jsonl.read_text().splitlines()]
    assert any(l["isGuiOpen"] for l in lines) and not all(l["isGuiOpen"] for l in lines)
    got = video_frames(mp4)
    np.testing.assert_array_equal(got, load_recording(mp4, skip_null=False).frames)
    plain = np.stack([resize_to_agent(f) for f in read_video(mp4)])
    gui = np.array([l["isGuiOpen"] for l in lines])
    assert (got[gui] != plain[gui]).any() and np.array_equal(got[~gui], plain[~gui])
    jsonl.unlink()
    np.testing.assert_array_equal(video_frames(mp4), plain)


# --- bad input ---------------------------------------------------------------------------------


def test_broken_json_line_is_named_and_frames_stay_aligned(tmp_path):
    lines = synthetic_lines(20, seed=1)
    text = "\n".join(json.dumps(l) for l in lines).splitlines()
    text[7] = '{"mouse": {"dx": 1,'
    parsed = parse_jsonl("\n".join(text) + "\n\n")
    assert len(parsed) == 20
    with pytest.raises(RecordingError, match=r"rec.jsonl:8: invalid JSON"):
        list(iter_samples((synthetic_frame(i, 64, 36) for i in range(20)), parsed, path="rec.jsonl"))
    stats = StreamStats()
    got = list(iter_samples((synthetic_frame(i, 64, 36) for i in range(20)), parsed, on_bad_line="skip", stats=stats))
    ok = list(iter_samples((synthetic_frame(i, 64, 36) for i in range(20)), lines))
    assert stats.bad == 1 and [s.line for s in got] == [s.line for s in ok if s.line != 7]
    for a, b in zip(got, [s for s in ok if s.line != 7]):
        np.testing.assert_array_equal(a.frame, b.frame)


@pytest.mark.parametrize(
    "line, message",
    [
        ({"mouse": None, "keyboard": {"keys": []}}, "'mouse' is null"),
        ({"mouse": {"dx": 0, "dy": 0, "buttons": []}, "keyboard": None}, "'keyboard' is null"),
        ({"keyboard": {"keys": []}}, "missing field 'mouse'"),
        ({"mouse": {"dx": "a", "dy": 0, "buttons": []}, "keyboard": {"keys": []}}, "'dx' must be a finite number"),
        ({"mouse": {"dx": 0, "dy": 0, "buttons": [0]}, "keyboard": {"keys": [3]}}, "key names must be strings"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_lines_raise_named_errors(line, message):
    with pytest.raises(RecordingError, match=message) as info:
        jsonl_line_to_env_action(line, index=41, path="x.jsonl")
    assert str(info.value).startswith("x.jsonl:42: ")


def test_more_or_fewer_lines_than_frames():
    lines = synthetic_lines(10)
    with pytest.raises(RecordingError, match="video ended at frame 8"):
        list(iter_samples((synthetic_frame(i, 64, 36) for i in range(8)), lines, skip_null=False))
    with pytest.raises(RecordingError, match="more frames than the jsonl's 10 lines"):
        list(iter_samples((synthetic_frame(i, 64, 36) for i in range(12)), lines, skip_null=False))
    stats = StreamStats()
    got = list(iter_samples((synthetic_frame(i, 64, 36) for i in range(8)), lines, skip_null=False, on_bad_line="skip", stats=stats))
    assert len(got) == 8 and stats.bad == 1


def test_truncated_and_non_video_files(tmp_path):
    mp4, _ = write_synthetic_recording(tmp_path / "good", 30)
    data = mp4.read_bytes()
    (tmp_path / "junk.mp4").write_text("not a video")
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    for name in ("junk.mp4", "cut.mp4"):
        with pytest.raises(RecordingError, match=name):
            load_recording(tmp_path / name)
    with pytest.raises(RecordingError, match="does not exist"):
        load_recording(tmp_path / "missing.mp4")


def test_dataset_goes_on_past_bad_files(tmp_path, caplog):
    write_synthetic_recording(tmp_path / "a", 20, seed=1)
    write_synthetic_recording(tmp_path / "sub" / "b", 20, seed=2)
    (tmp_path / "bad.mp4").write_text("nope")
    report = DatasetReport()
    got = [ref.name for ref, _ in iter_recordings(tmp_path, report=report)]
    assert got == ["a", "b"]
    assert report.recordings == 3 and report.ok == 2 and list(report.bad_files) == [str(tmp_path / "bad.mp4")]
    assert "bad.mp4" in caplog.text
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"basedir": str(tmp_path), "relpaths": ["a.mp4", "sub/b.mp4"]}))
    assert [r.name for r in list_recordings(index)] == ["a", "b"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_line_like = st.fixed_dictionaries(
    {},
    optional={
        "mouse": st.fixed_dictionaries({}, optional={"dx": _json, "dy": _json, "buttons": _json}) | _json,
        "keyboard": st.fixed_dictionaries({}, optional={"keys": st.lists(st.sampled_from(["key.keyboard.w", "x"]) | _json)}) | _json,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_json, _line_like))
def test_line_converter_returns_or_raises_recording_error(line):
    try:
        action, is_null = jsonl_line_to_env_action(line)
    except RecordingError:
        return
    assert set(action) == set(actions.ENV_KEYS) and isinstance(is_null, bool)


def test_cli_inspect(tmp_path):
    write_synthetic_recording(tmp_path / "a", 40)
    (tmp_path / "bad.mp4").write_text("nope")
    runner = CliRunner()
    r = runner.invoke(app, ["data", "inspect", str(tmp_path / "a.mp4"), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["frames"] == 40 and s["lines"] == 40 and s["fps"] == 20 and len(s["camera_histogram"]) == 2
    r = runner.invoke(app, ["data", "inspect", str(tmp_path)])
    assert r.exit_code == 0 and "1 bad file" in r.output and "bad.mp4" in r.output


def test_pyav_decode_equals_opencv_decode(tmp_path):
    """Our decoder (PyAV rgb24) gives exactly the pixels the reference's OpenCV loader sees."""
    import cv2

    mp4, _ = write_synthetic_recording(tmp_path / "a", 10)
    cap = cv2.VideoCapture(str(mp4))
    for i, frame in enumerate(read_video(mp4)):
        ok, bgr = cap.read()
        assert ok, i
        np.testing.assert_array_equal(frame, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
