"""Files that are whole or absent: every file a long job writes goes through here.

A file is written to a hidden temporary sibling (:func:`atomic_path`) and renamed over its
destination only once it is complete, so a job killed mid-write leaves the previous file (or
none), never a truncated one; resumable jobs rely on that to tell finished outputs from
unfinished ones. The temporary names start with ``.`` and contain ``.tmp``, so folder scans for
outputs (``*.mp4``, ``*.labels.npz``) never see them and ``.*.tmp*`` finds leftovers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_output", "atomic_open", "atomic_write_text", "atomic_write_json"]


def atomic_path(path: str | Path) -> Path:
    """The temporary sibling ``path`` is written to: hidden, unique per process, and keeping the
    suffix (``np.savez`` appends ``.npz`` to names without it; PyAV picks the container from it)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    For writers that take a path (``np.savez``, ``torch.save``, ``shutil.copyfile``). The parent
    folder is created if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open(path, mode)`` whose file appears at ``path`` only when the block ends without error."""
    with atomic_output(path) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def atomic_write_json(path: str | Path, obj: Any, *, indent: int | None = 1, **dumps: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (``dumps`` go to :func:`json.dumps`)."""
    atomic_write_text(path, json.dumps(obj, indent=indent, **dumps))
