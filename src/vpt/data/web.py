"""Make gameplay look like online footage ("web videos"), with per-frame ground truth.

A :class:`WebStyle` is drawn per video: output resolution (640×360, 854×480 or 1280×720), field
of view (the env's ``fov_range``), brightness and gamma. A :class:`WebComposer` turns the stream
of gameplay frames into the video's frames, switching every few seconds between segment kinds:

* ``clean`` — the gameplay, only resized and colour-graded (what the filter must keep);
* ``facecam`` — a streamer's face-cam box in a corner;
* ``logo`` — a channel logo and a subscribe banner;
* ``captions`` — subtitles in a dark box over the lower part;
* ``letterbox`` — the game shrunk inside a frame with borders and a channel name;
* ``menu`` — the pause menu (game dimmed, buttons), the game not advancing;
* ``title`` — a title card (no gameplay at all) at the start and now and then.

Every output frame gets a label: clean (1) or not (0), the segment kind, and the index of the
gameplay frame it shows (so re-uploads of the same gameplay can be matched frame by frame).
Non-gameplay segments (menu, title) do not consume gameplay frames.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

__all__ = ["WebStyle", "WebComposer", "SEGMENT_KINDS", "WEB_RESOLUTIONS"]

WEB_RESOLUTIONS: tuple[tuple[int, int], ...] = ((640, 360), (854, 480), (1280, 720))
#: kind → probability of a new segment being that kind
SEGMENT_KINDS: dict[str, float] = {
    "clean": 0.5, "facecam": 0.12, "logo": 0.1, "captions": 0.1, "letterbox": 0.08, "menu": 0.06, "title": 0.04,
}


@dataclass(frozen=True)
class WebStyle:
    """How one web video looks."""

    resolution: tuple[int, int]
    fov: float
    brightness: float
    """added to every channel, in [0, 255] units"""
    gamma: float
    tint: tuple[float, float, float]
    """per-channel gain (a streamer's colour grading)"""

    @classmethod
    def sample(cls, rng: np.random.Generator) -> WebStyle:
        res = WEB_RESOLUTIONS[int(rng.integers(len(WEB_RESOLUTIONS)))]
        return cls(resolution=res, fov=float(rng.uniform(60.0, 100.0)), brightness=float(rng.uniform(-25, 25)),
                   gamma=float(rng.uniform(0.7, 1.4)), tint=tuple(float(v) for v in rng.uniform(0.9, 1.1, 3)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _grade_lut(style: WebStyle) -> np.ndarray:
    x = np.arange(256, dtype=np.float32) / 255.0
    y = np.power(x, style.gamma) * 255.0
    return np.stack([np.clip(y * g + style.brightness, 0, 255) for g in style.tint], axis=1).astype(np.uint8)


class WebComposer:
    """Compose a web video from gameplay frames.

    Call :meth:`feed` with each gameplay frame; it returns the output frames (0 or more, the
    menus and title cards come in between) and keeps their labels in :attr:`labels` /
    :attr:`kinds`. :meth:`ground_truth` gives the per-frame truth for the file kept aside.
    """

    def __init__(self, style: WebStyle, rng: np.random.Generator, *, fps: int = 20,
                 segment_seconds: tuple[float, float] = (2.0, 6.0)) -> None:
        self.style, self.rng, self.fps = style, rng, fps
        self.segment_frames = (int(segment_seconds[0] * fps), int(segment_seconds[1] * fps))
        self.lut = _grade_lut(style)
        self.labels: list[int] = []
        self.kinds: list[str] = []
        self.gameplay_index: list[int] = []
        """per output frame: the gameplay frame it shows (-1 for title cards)"""
        self._fed = -1
        self._kind, self._left, self._params = "title", self._length(), self._new_params("title")
        self._last: np.ndarray | None = None
        self._title_text = f"EP {int(rng.integers(1, 300))}: " + str(rng.choice(
            ["DIAMONDS!!", "Survival Let's Play", "Speedrun attempt", "Building my base", "Day 1"]))
        self._channel = str(rng.choice(["CraftKing", "xXMinerXx", "BlockBuilds", "SteveTV", "PixelPlays"]))
        self._face_color = tuple(int(v) for v in rng.integers(60, 230, 3))

    def _length(self) -> int:
        return int(self.rng.integers(self.segment_frames[0], self.segment_frames[1] + 1))

    def _new_params(self, kind: str) -> dict[str, Any]:
        W, H = self.style.resolution
        corner = int(self.rng.integers(4))
        return {"corner": corner, "size": float(self.rng.uniform(0.18, 0.3)),
                "caption": str(self.rng.choice(["so I found this cave", "lets go mining", "don't forget to subscribe",
                                                "ok where are the diamonds", "this is going to be epic"])),
                "margin": int(self.rng.uniform(0.08, 0.16) * H), "wh": (W, H)}

    def _next_segment(self) -> None:
        kinds = list(SEGMENT_KINDS)
        p = np.array([SEGMENT_KINDS[k] for k in kinds])
        self._kind = kinds[int(self.rng.choice(len(kinds), p=p / p.sum()))]
        self._left = self._length() if self._kind != "title" else int(self.rng.integers(20, 50))
        self._params = self._new_params(self._kind)

    def feed(self, frame: np.ndarray) -> list[np.ndarray]:
        """Output frames for one gameplay frame (RGB uint8 of any size)."""
        out: list[np.ndarray] = []
        self._fed += 1
        game = self._grade(frame)
        self._last = game
        while self._kind in ("menu", "title"):  # non-gameplay: the game waits
            out.append(self._render(self._kind, game))
            self._tick()
        out.append(self._render(self._kind, game))
        self._tick()
        return out

    def _tick(self) -> None:
        self.labels.append(int(self._kind == "clean"))
        self.kinds.append(self._kind)
        self.gameplay_index.append(-1 if self._kind == "title" else self._fed)
        self._left -= 1
        if self._left <= 0:
            self._next_segment()

    def ground_truth(self) -> dict[str, Any]:
        """``{"clean": [0/1 per frame], "kinds": [...], "gameplay_index": [...], "style": {...}}``."""
        return {"clean": list(self.labels), "kinds": list(self.kinds), "gameplay_index": list(self.gameplay_index),
                "style": self.style.to_dict(),
                "channel": self._channel}

    # -- drawing ---------------------------------------------------------------------------
    def _grade(self, frame: np.ndarray) -> np.ndarray:
        W, H = self.style.resolution
        if frame.shape[:2] != (H, W):
            frame = cv2.resize(frame, (W, H), interpolation=cv2.INTER_LINEAR)
        out = np.empty_like(frame)
        for c in range(3):
            out[..., c] = self.lut[frame[..., c], c]
        return out

    def _box(self, W: int, H: int, frac: float, corner: int) -> tuple[int, int, int, int]:
        bw, bh = int(W * frac), int(H * frac)
        x = 8 if corner % 2 == 0 else W - bw - 8
        y = 8 if corner < 2 else H - bh - 8
        return x, y, bw, bh

    def _render(self, kind: str, game: np.ndarray) -> np.ndarray:
        H, W = game.shape[:2]
        p = self._params
        img = game.copy()
        scale = H / 360.0
        if kind == "facecam":
            x, y, bw, bh = self._box(W, H, p["size"], p["corner"])
            cv2.rectangle(img, (x - 3, y - 3), (x + bw + 3, y + bh + 3), (250, 250, 250), -1)
            img[y:y + bh, x:x + bw] = (45, 40, 50)
            cx, cy = x + bw // 2, y + bh // 2 + int(3 * np.sin(len(self.labels) / 7.0))
            cv2.ellipse(img, (cx, cy + bh // 3), (bw // 3, bh // 4), 0, 180, 360, (30, 60, 160), -1)
            cv2.circle(img, (cx, cy - bh // 10), max(4, bh // 5), self._face_color, -1)
        elif kind == "logo":
            x, y, bw, bh = self._box(W, H, 0.12, p["corner"])
            cv2.circle(img, (x + bw // 2, y + bh // 2), bh // 2, (220, 30, 30), -1)
            cv2.putText(img, self._channel[:2], (x + bw // 4, y + 2 * bh // 3), cv2.FONT_HERSHEY_SIMPLEX,
                        0.6 * scale, (255, 255, 255), max(1, int(2 * scale)))
            cv2.rectangle(img, (W // 3, H - int(40 * scale)), (2 * W // 3, H - int(12 * scale)), (200, 20, 20), -1)
            cv2.putText(img, "SUBSCRIBE", (W // 3 + 10, H - int(18 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale,
                        (255, 255, 255), max(1, int(2 * scale)))
        elif kind == "captions":
            y0 = H - int(70 * scale)
            sub = img[y0:H - int(20 * scale), W // 8:7 * W // 8]
            sub[...] = (sub * 0.25).astype(np.uint8)
            cv2.putText(img, p["caption"], (W // 8 + 10, H - int(35 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.8 * scale, (255, 255, 0), max(1, int(2 * scale)))
        elif kind == "letterbox":
            m = p["margin"]
            inner = cv2.resize(game, (W - 2 * m * W // H, H - 2 * m), interpolation=cv2.INTER_AREA)
            img[...] = (20, 20, 60)
            ox = (W - inner.shape[1]) // 2
            img[m:m + inner.shape[0], ox:ox + inner.shape[1]] = inner
            cv2.putText(img, self._channel, (ox, max(12, m - 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale,
                        (230, 230, 230), max(1, int(2 * scale)))
        elif kind == "menu":
            img = (img * 0.35).astype(np.uint8)
            cv2.putText(img, "Game Menu", (W // 2 - int(60 * scale), int(60 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.8 * scale, (255, 255, 255), max(1, int(2 * scale)))
            for i, label in enumerate(("Back to Game", "Advancements", "Options...", "Save and Quit to Title")):
                y = int((100 + 45 * i) * scale)
                cv2.rectangle(img, (W // 2 - int(150 * scale), y), (W // 2 + int(150 * scale), y + int(30 * scale)),
                              (110, 110, 110), -1)
                cv2.putText(img, label, (W // 2 - int(120 * scale), y + int(21 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                            0.55 * scale, (255, 255, 255), max(1, int(scale)))
        elif kind == "title":
            img[...] = (15, 15, 25)
            cv2.putText(img, self._title_text, (W // 10, H // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.0 * scale,
                        (255, 215, 0), max(1, int(3 * scale)))
            cv2.putText(img, self._channel, (W // 10, H // 2 + int(40 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.7 * scale, (200, 200, 200), max(1, int(2 * scale)))
        return img
