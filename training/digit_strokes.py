"""An MNIST digit as the pen strokes that would draw it: its skeleton traced into polylines.

The sketch pad's browser tests replay these through the mouse or a touch screen, and test_drawings.py
draws them as the canvas does, so both read the same strokes.
"""

import numpy as np
from PIL import Image, ImageDraw
from skimage.morphology import skeletonize

ORTHOGONAL = ((0, 1), (1, 0), (0, -1), (-1, 0))
DIAGONAL = ((1, 1), (1, -1), (-1, 1), (-1, -1))


def _neighbours(points: set) -> dict:
    """Each skeleton pixel's neighbours; a diagonal step only where no orthogonal pixel joins the two."""
    graph = {point: set() for point in points}
    for y, x in points:
        for dy, dx in ORTHOGONAL:
            if (y + dy, x + dx) in points:
                graph[(y, x)].add((y + dy, x + dx))
        for dy, dx in DIAGONAL:
            if (y + dy, x + dx) in points and (y + dy, x) not in points and (y, x + dx) not in points:
                graph[(y, x)].add((y + dy, x + dx))
    return graph


def skeleton_strokes(digit: np.ndarray, threshold: int = 96) -> list[list[tuple[float, float]]]:
    """The digit's strokes, each a list of (x, y) points in fractions of the image's side (0..1).

    Each stroke starts at a loose end where there is one and follows the skeleton until it runs out,
    so a 1 is one stroke and an 8 one or two.
    """
    graph = _neighbours(set(zip(*np.nonzero(skeletonize(digit > threshold)))))
    unused = {frozenset((a, b)) for a, neighbours in graph.items() for b in neighbours}
    side = digit.shape[0]
    strokes = []
    while unused:
        free = {point: [n for n in graph[point] if frozenset((point, n)) in unused] for point in graph}
        starts = sorted(p for p, ns in free.items() if len(ns) % 2 == 1) or sorted(p for p, ns in free.items() if ns)
        path = [starts[0]]
        while True:
            ahead = sorted(n for n in graph[path[-1]] if frozenset((path[-1], n)) in unused)
            if not ahead:
                break
            unused.discard(frozenset((path[-1], ahead[0])))
            path.append(ahead[0])
        strokes.append([((x + 0.5) / side, (y + 0.5) / side) for y, x in path])
    return strokes


def drawn_on_pad(strokes: list, side: int = 280, pen: float = 20) -> Image.Image:
    """The strokes drawn as the sketch pad draws them: dark ink, round caps and joins, on white."""
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(x * side, y * side) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=(20, 20, 20), width=round(pen), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse([x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2], fill=(20, 20, 20))
    return image
