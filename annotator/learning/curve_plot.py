"""The learning curve as a PNG (simulate_al --plot): labels used against test macro AUROC,
one colour per strategy, each seed a thin line and the mean over seeds a thick one."""

from pathlib import Path
from statistics import fmean

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 800, 500
LEFT, RIGHT, TOP, BOTTOM = 70, 180, 30, 60
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]


def write_png(path: Path, curves: dict[str, dict[str, list[dict]]]) -> None:
    """`curves`: {strategy: {seed: [{"labels", "macro_auroc"}, ...]}}."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    points = [
        (p["labels"], p["macro_auroc"])
        for runs in curves.values()
        for curve in runs.values()
        for p in curve
        if p.get("macro_auroc") is not None
    ]
    if not points:
        draw.text((LEFT, TOP), "no points to draw", fill="black")
        image.save(path)
        return
    x_max = max(x for x, _ in points)
    y_low = min(0.5, min(y for _, y in points))
    y_low = max(0.0, int(y_low * 20) / 20)  # a round tick below the lowest point

    def at(x: float, y: float) -> tuple[float, float]:
        px = LEFT + (WIDTH - LEFT - RIGHT) * x / x_max
        py = HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (y - y_low) / (1.0 - y_low)
        return px, py

    _axes(draw, at, x_max, y_low)
    for number, (strategy, runs) in enumerate(curves.items()):
        colour = COLOURS[number % len(COLOURS)]
        faint = tuple(int(c + (255 - c) * 0.6) for c in colour)
        for curve in runs.values():
            line = [
                at(p["labels"], p["macro_auroc"]) for p in curve if p["macro_auroc"] is not None
            ]
            if len(line) > 1:
                draw.line(line, fill=faint, width=1)
        mean = _mean(list(runs.values()))
        if len(mean) > 1:
            draw.line([at(x, y) for x, y in mean], fill=colour, width=3)
        for x, y in mean:
            px, py = at(x, y)
            draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=colour)
        ly = TOP + 20 * number
        draw.line((WIDTH - RIGHT + 15, ly + 6, WIDTH - RIGHT + 40, ly + 6), fill=colour, width=3)
        draw.text((WIDTH - RIGHT + 46, ly), f"{strategy} ({len(runs)} seeds)", fill="black")
    image.save(path)


def _mean(runs: list[list[dict]]) -> list[tuple[float, float]]:
    out = []
    for step in zip(*runs, strict=False):
        values = [p["macro_auroc"] for p in step if p["macro_auroc"] is not None]
        if len(values) == len(step):
            out.append((fmean(p["labels"] for p in step), fmean(values)))
    return out


def _axes(draw: ImageDraw.ImageDraw, at, x_max: int, y_low: float) -> None:
    x0, y0 = at(0, y_low)
    x1, y1 = at(x_max, 1.0)
    draw.rectangle((x0, y1, x1, y0), outline="black")
    for k in range(int(round((1.0 - y_low) / 0.05)) + 1):
        y = y_low + 0.05 * k
        _, py = at(0, y)
        draw.line((x0 - 4, py, x0, py), fill="black")
        draw.line((x0, py, x1, py), fill=(230, 230, 230))
        draw.text((x0 - 40, py - 6), f"{y:.2f}", fill="black")
    step = max(1, x_max // 6)
    for x in range(0, x_max + 1, step):
        px, _ = at(x, y_low)
        draw.line((px, y0, px, y0 + 4), fill="black")
        draw.text((px - 10, y0 + 8), str(x), fill="black")
    draw.text(((x0 + x1) / 2 - 60, y0 + 30), "labeled training slices", fill="black")
    draw.text((10, TOP - 20), "test macro AUROC", fill="black")
