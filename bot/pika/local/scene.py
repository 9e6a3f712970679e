"""What a clip without an input video shows, moving: the seeded scene of a prompt, and still
images (an input image, ingredients) presented whole with a slow zoom and pan.

Each is a pure function of the seed, the clip's progress (0 at the first frame, 1 at the last)
and the motion strength (the request's `motion`, 1-4), so every clip moves at every strength,
the same request gives the same frames, and another seed gives another scene. Layers are drawn
once; a frame only crops, pastes and blends them, to keep renders fast.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from bot.pika.local.frames import CameraMove, collage

PARTICLES = 18
SHEEN_STRENGTH = 70  # how much the light sweep brightens, out of 255


def ease(progress: float) -> float:
    """Smooth start and stop (a cosine ease), so motion looks filmed, not mechanical."""
    return 0.5 - 0.5 * math.cos(math.pi * min(max(progress, 0.0), 1.0))


def _palette(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sky from top to horizon, and a ground colour, chosen by the seed."""
    hue = rng.random()
    top = np.array(_hsv(hue, 0.55, 0.35))
    horizon = np.array(_hsv((hue + 0.08 + 0.1 * rng.random()) % 1, 0.45, 0.95))
    ground = np.array(_hsv((hue + 0.5) % 1, 0.5, 0.3))
    return top, horizon, ground


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return round(r * 255), round(g * 255), round(b * 255)


@dataclass(frozen=True)
class Particle:
    """A soft glowing dot that floats up and across the scene."""

    x: float  # start, in fractions of the frame
    y: float
    radius: float  # in fractions of the frame's height
    speed: float  # frame heights per clip at strength 1
    colour: tuple[int, int, int, int]


class Scene:
    """A seeded landscape: a sky with a sun, hills in two layers and floating lights.

    The far hills drift slower than the near ones (parallax), the sun rises and the lights
    float; how far grows with the strength.
    """

    def __init__(self, seed: int, size: tuple[int, int], strength: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.size = size
        self.strength = max(1, strength)
        width, height = size
        # How far the near hills drift over the clip, in pixels; the far ones drift less.
        self.travel = round(width * (0.06 + 0.04 * self.strength))
        wide = width + self.travel + 2
        top, horizon, ground = _palette(rng)
        ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None] ** 1.3
        sky = (top * (1 - ramp) + horizon * ramp).astype(np.uint8)
        self.sky = Image.fromarray(np.repeat(sky, width, axis=1), "RGB")
        self.sun_x = 0.2 + 0.6 * rng.random()
        self.sun_colour = (*_hsv(rng.random() * 0.15, 0.35, 1.0), 255)
        self.far = self._hills(rng, (wide, height), 0.55, ground * 0.6 + horizon * 0.4)
        self.near = self._hills(rng, (wide, height), 0.72, ground)
        self.particles = [
            Particle(
                float(rng.random()),
                float(0.3 + 0.7 * rng.random()),
                float(0.006 + 0.014 * rng.random()),
                float(0.05 + 0.08 * rng.random()),
                (*_hsv(rng.random(), 0.3, 1.0), int(90 + 100 * rng.random())),
            )
            for _ in range(PARTICLES)
        ]

    @staticmethod
    def _hills(
        rng: np.random.Generator, size: tuple[int, int], level: float, colour: np.ndarray
    ) -> Image.Image:
        """A ridge of hills as a transparent layer: a sum of seeded waves over `level`."""
        width, height = size
        x = np.arange(width, dtype=np.float32) / height
        ridge = np.full(width, level * height, dtype=np.float32)
        for _ in range(3):
            wave = 0.5 + 2.5 * rng.random()
            ridge += height * 0.05 * np.sin(x * wave * math.tau / 2 + rng.random() * math.tau)
        rows = np.arange(height, dtype=np.float32)[:, None]
        alpha = np.clip((rows - ridge[None, :]) * 96, 0, 255).astype(np.uint8)  # soft edge
        shade = 1.0 - 0.35 * (rows / height)
        rgb = np.clip(colour[None, None, :] * shade[..., None], 0, 255).astype(np.uint8)
        rgba = np.dstack([np.broadcast_to(rgb, (height, width, 3)), alpha[..., None]])
        return Image.fromarray(np.ascontiguousarray(rgba), "RGBA")

    def at(self, progress: float) -> Image.Image:
        """The scene at a point of the clip."""
        width, height = self.size
        t = ease(progress)
        frame = self.sky.copy()
        draw = ImageDraw.Draw(frame, "RGBA")
        sun_y = height * (0.44 - (0.04 + 0.03 * self.strength) * t)
        radius = height * 0.09
        cx = width * self.sun_x
        for glow in (2.2, 1.6):
            r = radius * glow
            draw.ellipse((cx - r, sun_y - r, cx + r, sun_y + r), fill=(*self.sun_colour[:3], 40))
        draw.ellipse((cx - radius, sun_y - radius, cx + radius, sun_y + radius), self.sun_colour)
        for layer, share in ((self.far, 0.4), (self.near, 1.0)):
            left = round(self.travel * share * t)
            part = layer.crop((left, 0, left + width, height))
            frame.paste(part, (0, 0), part)
        lights = ImageDraw.Draw(frame, "RGBA")
        for p in self.particles:
            rise = p.speed * (1 + self.strength) * t
            x = (p.x + 0.3 * rise) % 1.0 * width
            y = (p.y - rise) % 1.0 * height
            r = max(1.5, p.radius * height)
            lights.ellipse((x - r, y - r, x + r, y + r), fill=p.colour)
        return frame


def backdrop(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The image blurred and dimmed to fill the frame, behind the image shown whole."""
    filled = ImageOps.fit(image, (max(2, size[0] // 8), max(2, size[1] // 8)))
    blurred = filled.filter(ImageFilter.GaussianBlur(2)).resize(size, Image.Resampling.BILINEAR)
    return ImageEnhance.Brightness(blurred).enhance(0.4)


class Presentation:
    """A still image shown whole (no crop cuts it) on its own blurred backdrop, with a slow
    zoom, a drift within the margin and a light sweeping across; stronger motion moves more."""

    def __init__(self, image: Image.Image, size: tuple[int, int], strength: int = 1) -> None:
        self.size = size
        self.strength = max(1, strength)
        self.back = backdrop(image, size)
        width, height = size
        fit = min(width / image.width, height / image.height)
        self.start = 0.8 * fit
        self.end = (0.8 + 0.04 * self.strength) * fit  # 0.96 of the fit at strength 4
        self.image = image.resize(
            (max(2, round(image.width * self.end)), max(2, round(image.height * self.end))),
            Image.Resampling.BILINEAR,
        )
        self.native = image

    def at(self, progress: float) -> Image.Image:
        """The presentation at a point of the clip."""
        width, height = self.size
        t = ease(progress)
        scale = self.start + (self.end - self.start) * t
        w = max(2, round(self.native.width * scale))
        h = max(2, round(self.native.height * scale))
        shown = self.image.resize((w, h), Image.Resampling.BILINEAR)
        # Drift from one side of the free margin towards the other, never past it.
        margin_x, margin_y = (width - w) / 2, (height - h) / 2
        left = round(margin_x + margin_x * 0.6 * (2 * t - 1))
        top = round(margin_y - margin_y * 0.4 * (2 * t - 1))
        frame = self.back.copy()
        frame.paste(shown, (left, top))
        return sheen(frame, t, self.strength)


def sheen(frame: Image.Image, t: float, strength: int) -> Image.Image:
    """A soft diagonal band of light that sweeps across the frame over the clip."""
    return ImageChops.add(frame, _sheen_layer(frame.size, t, strength))


def _sheen_layer(size: tuple[int, int], t: float, strength: int) -> Image.Image:
    """The light added at one point of the sweep: it depends on x + y only, so a row of
    values, one per diagonal, is indexed by each pixel's diagonal."""
    width, height = size
    span = width + height
    centre = (-0.3 + 1.6 * t) * span
    diagonal = np.arange(span, dtype=np.float32)
    row = (
        SHEEN_STRENGTH
        * (0.6 + 0.1 * strength)
        * np.exp(-(((diagonal - centre) / (0.18 * span)) ** 2))
    )
    lift = row.astype(np.uint8)[_diagonals(size)]
    return Image.fromarray(lift, "L").convert("RGB")


@functools.lru_cache(maxsize=8)
def _diagonals(size: tuple[int, int]) -> np.ndarray:
    """Each pixel's diagonal, x + y (kept for the few frame sizes in use)."""
    width, height = size
    return np.add.outer(np.arange(height, dtype=np.int32), np.arange(width, dtype=np.int32))


def drift(still: Image.Image, progress: float, strength: int) -> Image.Image:
    """A slow push in on a still that fills the frame (ingredients), growing with strength."""
    scale = 1 + 0.03 * max(1, strength) * ease(progress)
    width, height = still.size
    w, h = width / scale, height / scale
    left, top = (width - w) / 2, (height - h) / 2
    box = (round(left), round(top), round(left + w), round(top + h))
    return still.resize(still.size, Image.Resampling.BILINEAR, box=box)


def moving(
    seed: int,
    size: tuple[int, int],
    camera: CameraMove,
    *,
    image: Image.Image | None = None,
    ingredients: Sequence[Image.Image] = (),
) -> Callable[[float], Image.Image]:
    """What a clip without an input video shows at each point of it; it always moves.

    An image is shown whole, slowly zoomed and panned; ingredients side by side, slowly pushed
    in on; a prompt alone gets the seeded scene, whose layers drift unless a camera move is
    asked for (then the scene holds still and the camera alone moves, as measured in tests).
    """
    strength = camera.strength
    if ingredients:
        still = collage(list(ingredients), size)
        return lambda progress: drift(still, progress, strength)
    if image is not None:
        return Presentation(image, size, strength).at
    scene = Scene(seed, size, strength)
    if not camera.still:
        held = scene.at(0.0)
        return lambda progress: held
    return scene.at
