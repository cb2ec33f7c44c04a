"""Recordings on disk: contractor mp4 + jsonl read/write, the jsonl → env action conversion,
the reference loader stream (stuck attack, hotbar, null skipping, cursor overlay), frame
preprocessing, datasets (folders and official index files) and their inspection.
"""

from vpt.data.dataset import DatasetReport, RecordingRef, iter_recordings, list_recordings
from vpt.data.frames import AGENT_RESOLUTION, cursor_sprite, draw_cursor, resize_to_agent, screen_open
from vpt.data.jsonl import (
    BadLine,
    RecordingError,
    jsonl_line_to_env_action,
    parse_jsonl,
    read_jsonl,
)
from vpt.data.recording import Recording, load_recording, recording_paths, video_frames, write_recording
from vpt.data.stream import Sample, StreamStats, iter_samples
from vpt.data.video import VideoWriter, probe_video, read_video, write_video

__all__ = [
    "AGENT_RESOLUTION",
    "BadLine",
    "DatasetReport",
    "Recording",
    "RecordingError",
    "RecordingRef",
    "Sample",
    "StreamStats",
    "VideoWriter",
    "cursor_sprite",
    "draw_cursor",
    "iter_recordings",
    "iter_samples",
    "jsonl_line_to_env_action",
    "list_recordings",
    "load_recording",
    "video_frames",
    "parse_jsonl",
    "probe_video",
    "read_jsonl",
    "read_video",
    "recording_paths",
    "resize_to_agent",
    "screen_open",
    "write_recording",
    "write_video",
]
