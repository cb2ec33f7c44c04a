"""Datasets of recordings: a folder of ``.mp4`` (+ ``.jsonl``) files, or an official index JSON.

The official index files (OpenAI's contractor data) are JSON objects ``{"basedir": URL-or-dir,
"relpaths": ["6.13/alias-session-date-time.mp4", ...]}``. A local ``basedir`` is used as is;
for a remote one, pass ``root`` = the local folder the files were downloaded to.

Inside a dataset a bad recording never stops the run: it is logged as a warning, counted in
:class:`DatasetReport`, and the rest goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpt.data.jsonl import RecordingError
from vpt.data.recording import Recording, load_recording, recording_paths

__all__ = ["RecordingRef", "DatasetReport", "list_recordings", "iter_recordings"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordingRef:
    """Where one recording lives. ``jsonl`` is None for a video without actions."""

    mp4: Path
    jsonl: Path | None

    @property
    def name(self) -> str:
        return self.mp4.stem


@dataclass
class DatasetReport:
    """Counts of a pass over a dataset and the files that could not be used (with reasons)."""

    recordings: int = 0
    ok: int = 0
    bad_files: dict[str, str] = field(default_factory=dict)
    bad_lines: int = 0
    null_lines: int = 0
    samples: int = 0

    def add_loaded(self, bad_lines: int, null_lines: int, samples: int) -> None:
        """Count one recording that loaded, with its bad and null lines and its samples."""
        self.ok += 1
        self.bad_lines += bad_lines
        self.null_lines += null_lines
        self.samples += samples


def list_recordings(source: str | Path, *, root: str | Path | None = None, require_jsonl: bool = False) -> list[RecordingRef]:
    """All recordings of a folder (recursively, sorted), an index JSON, or a single recording.

    With ``require_jsonl`` videos without a jsonl are left out.
    """
    src = Path(source)
    refs: list[RecordingRef] = []
    if src.is_dir():
        mp4s = sorted(p for p in src.rglob("*.mp4") if not p.name.startswith("."))
    elif src.suffix == ".json":
        try:
            index: Any = json.loads(src.read_text())
            basedir, relpaths = index["basedir"], index["relpaths"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise RecordingError(f"not an index file with 'basedir' and 'relpaths' ({e})", path=src) from e
        base = Path(root) if root is not None else Path(basedir)
        if not base.is_absolute():
            base = src.parent / base
        mp4s = [recording_paths(base / rel)[0] for rel in relpaths]
    elif src.suffix in (".mp4", ".jsonl", ""):
        mp4s = [recording_paths(src)[0]]
    else:
        raise RecordingError("expected a folder, an index .json, or a recording", path=src)
    for mp4 in mp4s:
        jsonl = recording_paths(mp4)[1]
        has = jsonl.exists()
        if require_jsonl and not has:
            continue
        refs.append(RecordingRef(mp4, jsonl if has else None))
    return refs


def iter_recordings(
    source: str | Path | list[RecordingRef],
    *,
    report: DatasetReport | None = None,
    root: str | Path | None = None,
    **load_kwargs: Any,
) -> Iterator[tuple[RecordingRef, Recording]]:
    """Load each recording of a dataset; bad files are warned about and counted, not raised.

    Bad lines inside a good file are skipped and counted too (``on_bad_line="skip"``).
    ``load_kwargs`` go to :func:`~vpt.data.load_recording`.
    """
    report = report if report is not None else DatasetReport()
    refs = source if isinstance(source, list) else list_recordings(source, root=root)
    load_kwargs.setdefault("on_bad_line", "skip")
    for ref in refs:
        report.recordings += 1
        try:
            rec = load_recording(ref.mp4, ref.jsonl, **load_kwargs)
        except RecordingError as e:
            log.warning("skipping recording: %s", e)
            report.bad_files[str(ref.mp4)] = e.reason
            continue
        report.add_loaded(rec.stats.bad, rec.stats.null, len(rec))
        for err in rec.stats.errors:
            log.warning("%s", err)
        yield ref, rec
