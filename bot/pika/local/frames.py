"""Single frames drawn with Pillow: the seeded scene, the camera, styles, Pikaffects and edits.

Pure functions of an image and where the clip is (`progress`, 0 at the first frame and 1 at the
last); `render.py` strings them together and encodes the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps


@dataclass(frozen=True)
class CameraMove:
    """Camera movement of a clip; strength is the request's motion (1-4)."""

    zoom: Literal["in", "out"] | None = None
    pan: Literal["left", "right"] | None = None
    tilt: Literal["up", "down"] | None = None
    rotate: Literal["cw", "ccw"] | None = None
    strength: int = 1

    @property
    def still(self) -> bool:
        """True when the camera does not move."""
        return not (self.zoom or self.pan or self.tilt or self.rotate)


def cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale and crop an image to fill `size`."""
    return ImageOps.fit(image, size, Image.Resampling.BILINEAR)


# --- sources: what a frame starts from when there is no video --------------------------------


def background(seed: int, size: tuple[int, int]) -> Image.Image:
    """A seeded scene: a gradient with shapes, so that camera motion can be seen and measured."""
    rng = np.random.default_rng(seed)
    width, height = size
    top, bottom = rng.integers(30, 220, size=(2, 3))
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    image = Image.fromarray(np.repeat(pixels, width, axis=1), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(max(4, width // 60), max(8, width // 10)))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    return image


def collage(images: list[Image.Image], size: tuple[int, int]) -> Image.Image:
    """Ingredients side by side."""
    width, height = size
    canvas = Image.new("RGB", size)
    step = width / len(images)
    for index, image in enumerate(images):
        left, right = round(index * step), round((index + 1) * step)
        canvas.paste(cover(image, (right - left, height)), (left, 0))
    return canvas


# --- per-frame transforms --------------------------------------------------------------------


def camera_transform(frame: Image.Image, move: CameraMove, progress: float) -> Image.Image:
    """Apply the camera at `progress` (0 at the first frame, 1 at the last)."""
    if move.still:
        return frame
    width, height = frame.size
    k = move.strength
    margin = 1.25  # overscan, so that panning and turning never show an edge
    scale = margin
    if move.zoom == "in":
        scale = margin * (1 + 0.08 * k * progress)
    elif move.zoom == "out":
        scale = margin * (1 + 0.08 * k * (1 - progress))
    shift_x = 0.025 * k * width * progress * {"right": 1, "left": -1, None: 0}[move.pan]
    shift_y = 0.025 * k * height * progress * {"down": 1, "up": -1, None: 0}[move.tilt]
    angle = math.radians(2.5 * k * progress) * {"cw": 1, "ccw": -1, None: 0}[move.rotate]
    # Inverse map: output pixel -> input pixel, around the centre.
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    cx, cy = width / 2, height / 2
    a, b = cos, -sin
    d, e = sin, cos
    c = cx + shift_x - a * cx - b * cy
    f = cy + shift_y - d * cx - e * cy
    return frame.transform(
        frame.size, Image.Transform.AFFINE, (a, b, c, d, e, f), Image.Resampling.BILINEAR
    )


STYLE_FILTERS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "Black & white": lambda im: ImageOps.grayscale(im).convert("RGB"),
    "Moody": lambda im: ImageEnhance.Brightness(
        ImageOps.colorize(ImageOps.grayscale(im), "#050a1e", "#9fb4d8")
    ).enhance(0.8),
    "Anime": lambda im: ImageEnhance.Color(ImageOps.posterize(im, 3)).enhance(1.6),
    "3D": lambda im: im.filter(ImageFilter.EDGE_ENHANCE_MORE),
    "Watercolor": lambda im: ImageEnhance.Color(im.filter(ImageFilter.BoxBlur(3))).enhance(1.3),
    "Natural": lambda im: ImageEnhance.Contrast(im).enhance(1.1),
    "Claymation": lambda im: ImageOps.posterize(im.filter(ImageFilter.SMOOTH_MORE), 2),
}


def _scale_about_centre(frame: Image.Image, sx: float, sy: float, dy: float = 0.0) -> Image.Image:
    w, h = frame.size
    a, e = 1 / sx, 1 / sy
    return frame.transform(
        frame.size,
        Image.Transform.AFFINE,
        (a, 0, w / 2 - a * w / 2, 0, e, h / 2 - e * h / 2 - dy),
        Image.Resampling.BILINEAR,
    )


def _tint(frame: Image.Image, colour: tuple[int, int, int], amount: float) -> Image.Image:
    return Image.blend(frame, Image.new("RGB", frame.size, colour), amount)


EFFECT_KINDS: dict[str, str] = {
    "Inflate": "grow", "Deflate": "shrink", "Squish": "squash", "Crush": "squash",
    "Melt": "melt", "Dissolve": "melt", "Crumble": "melt", "Levitate": "rise",
    "Explode": "flash", "Ta-da": "flash", "Eye-pop": "flash", "Poke": "flash",
    "Peel": "peel", "Tear": "peel", "Decapitate": "peel", "Cake-ify": "cake",
    "Hearts Bouquet": "love", "Proposal": "love", "Love Bomb": "love", "Cupid Strike": "love",
    "Rose": "love", "Crazy in Love": "love",
}  # fmt: skip


def apply_effect(frame: Image.Image, effect: str, progress: float) -> Image.Image:
    """A Pikaffect, as a transformation that grows over the clip."""
    kind = EFFECT_KINDS.get(effect, "flash")
    p = progress
    if kind == "grow":
        return _scale_about_centre(frame, 1 + 0.4 * p, 1 + 0.4 * p)
    if kind == "shrink":
        return _scale_about_centre(frame, 1 - 0.5 * p, 1 - 0.5 * p)
    if kind == "squash":
        return _scale_about_centre(frame, 1 + 0.2 * p, 1 - 0.6 * p)
    if kind == "rise":
        return _scale_about_centre(frame, 1, 1, dy=0.25 * frame.height * p)
    if kind == "melt":
        return Image.blend(frame, frame.filter(ImageFilter.BoxBlur(2 + 10 * p)), p)
    if kind == "peel":
        w = frame.width
        cut = int(w * p * 0.6)
        peeled = frame.copy()
        peeled.paste((245, 235, 215), (0, 0, cut, frame.height))
        return peeled
    if kind == "cake":
        return _tint(ImageOps.posterize(frame, 2), (250, 210, 230), 0.5 * p)
    if kind == "love":
        return _tint(frame, (255, 80, 150), 0.5 * p)
    return ImageEnhance.Brightness(frame).enhance(1 + 1.5 * p)


def mouth(frame: Image.Image, level: float) -> Image.Image:
    """A mouth that opens with the speech's loudness: lip sync made visible."""
    w, h = frame.size
    cx, cy, rx = w // 2, int(h * 0.55), max(8, w // 12)
    ry = 2 + int(level * h * 0.12)
    out = frame.copy()
    ImageDraw.Draw(out).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=(120, 0, 20))
    return out


# --- edits of an area ------------------------------------------------------------------------


def area_box(
    area: tuple[float, float, float, float], size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """The pixel box (left, top, right, bottom) of an area given in percent (x, y, w, h)."""
    x, y, w, h = area
    width, height = size
    return (
        round(width * x / 100),
        round(height * y / 100),
        round(width * (x + w) / 100),
        round(height * (y + h) / 100),
    )


def outpaint(
    source: Image.Image, size: tuple[int, int], area: tuple[float, float, float, float]
) -> Image.Image:
    """The source fitted into the area of a new canvas; the rest filled from the source."""
    box = area_box(area, size)
    inner = (max(2, box[2] - box[0]), max(2, box[3] - box[1]))
    canvas = ImageEnhance.Brightness(source.resize(size, Image.Resampling.BILINEAR)).enhance(0.45)
    fitted = ImageOps.contain(source, inner, Image.Resampling.BILINEAR)
    left = box[0] + (inner[0] - fitted.width) // 2
    top = box[1] + (inner[1] - fitted.height) // 2
    canvas.paste(fitted, (left, top))
    return canvas
