"""Benchmark: the local Pika's render speed and memory.

Prints seconds of render time per second of video at 16:9 and 24 fps, for a generation with
camera motion and a prompt, a prompt alone (the moving scene), an input image (shown whole,
zoomed and panned), an extend to 15 s and a 2x upscale, and the process's peak memory.
Run: `make bench` (or `.venv/bin/python benchmarks/local_pika_render.py`).
"""

from __future__ import annotations

import io
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.pika.local.frames import CameraMove
from bot.pika.local.render import RenderSpec, probe, render


def picture() -> bytes:
    """An 800x600 photo-sized input with some shapes in it."""
    image = Image.new("RGB", (800, 600), (70, 110, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 150, 550, 450), fill=(240, 200, 60))
    draw.rectangle((40, 40, 160, 560), fill=(200, 40, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def timed(spec: RenderSpec, out: Path, name: str) -> tuple[float, float]:
    """Render once; return (wall seconds, seconds of video)."""
    started = time.perf_counter()
    result = render(spec, out, name)
    return time.perf_counter() - started, result.seconds


def main() -> None:
    """Run the three cases and print one line each, then peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        base = RenderSpec(
            width=640,
            height=360,
            fps=24,
            seconds=3.0,
            seed=1,
            prompt="a robed villain lurking the streets, cinematic, volumetric light",
            label="benchmark",
            camera=CameraMove(zoom="in", pan="left", strength=3),
        )
        wall, seconds = timed(base, out, "gen.mp4")
        print(f"{'generate 3 s':<22} {wall / seconds:6.3f} s render per s of video")
        alone = replace(base, camera=CameraMove(strength=3))
        wall, seconds = timed(alone, out / "alone", "alone.mp4")
        print(f"{'prompt alone 3 s':<22} {wall / seconds:6.3f} s render per s of video")
        wall, seconds = timed(replace(alone, image=picture()), out / "image", "image.mp4")
        print(f"{'image 3 s':<22} {wall / seconds:6.3f} s render per s of video")
        long_spec = RenderSpec(
            width=640,
            height=360,
            fps=24,
            seconds=15.0,
            seed=1,
            prompt=base.prompt,
            camera=CameraMove(pan="right", strength=2),
            video=out / "gen.mp4",
            video_mode="extend",
        )
        wall, seconds = timed(long_spec, out / "long", "long.mp4")
        print(f"{'extend to 15 s':<22} {wall / seconds:6.3f} s render per s of video")
        info = probe(out / "gen.mp4")
        up = RenderSpec(
            width=info.width * 2,
            height=info.height * 2,
            fps=24,
            seconds=info.seconds,
            seed=1,
            video=out / "gen.mp4",
            text_scale=0.6,
        )
        wall, seconds = timed(up, out / "up", "up.mp4")
        print(f"{'upscale 2x (1280x720)':<22} {wall / seconds:6.3f} s render per s of video")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{'peak memory':<22} {peak_kib / 1024:6.1f} MiB (whole process)")


if __name__ == "__main__":
    main()
