"""Contact sheets of images with their part label maps overlaid, with a colour legend."""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmreidparts.structures.part_schemes import PartScheme

# BGR colours for ids 1..; id 0 (background) is never painted.
PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (40, 40, 230), (0, 150, 255), (40, 200, 40), (230, 120, 20), (190, 40, 170),
    (20, 230, 240), (250, 250, 90), (20, 100, 20), (180, 130, 255), (30, 70, 140),
    (150, 150, 150), (120, 20, 60), (40, 150, 150), (240, 240, 240))


def colorize(labels: np.ndarray) -> np.ndarray:
    """Colour image ``[H, W, 3]`` uint8 BGR of a label map ``[H, W]`` (background black)."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    for i in range(1, 256):
        lut[i] = PALETTE[(i - 1) % len(PALETTE)]
    return lut[labels]


def overlay(img: np.ndarray, labels: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Blend the colours of ``labels`` [h, w] over ``img`` [H, W, 3] (labels resized)."""
    import cv2
    h, w = img.shape[:2]
    if labels.shape != (h, w):
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    color = colorize(labels).astype(np.float32)
    out = img.astype(np.float32)
    fg = labels > 0
    out[fg] = (1 - alpha) * out[fg] + alpha * color[fg]
    return out.round().astype(np.uint8)


def draw_sheet(items: Sequence[Tuple[Optional[np.ndarray], np.ndarray]], scheme: PartScheme,
               tile_height: int = 192, columns: int = 8,
               titles: Optional[Sequence[str]] = None) -> np.ndarray:
    """A sheet ``[H, W, 3]`` BGR: per item the image and its overlay, then a legend.

    ``items`` holds (image [H, W, 3] BGR or None, label map [h, w] uint8) pairs; without
    an image the colour map is drawn on black.
    """
    import cv2
    tiles: List[np.ndarray] = []
    for i, (img, labels) in enumerate(items):
        if img is None:
            img = np.zeros(labels.shape + (3, ), dtype=np.uint8)
        scale = tile_height / img.shape[0]
        size = (max(1, int(round(img.shape[1] * scale))), tile_height)
        img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        lab = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
        pair = np.concatenate([img, np.full((tile_height, 2, 3), 255, np.uint8),
                               overlay(img, lab)], axis=1)
        if titles is not None:
            cv2.putText(pair, str(titles[i])[:24], (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(pair)
    tile_w = max((t.shape[1] for t in tiles), default=tile_height)
    columns = max(1, min(columns, len(tiles)))
    rows = max(1, -(-len(tiles) // columns))
    pad = 4
    grid = np.full((rows * (tile_height + pad), columns * (tile_w + pad), 3), 40, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = r * (tile_height + pad), c * (tile_w + pad)
        grid[y:y + tile_height, x:x + t.shape[1]] = t
    legend = draw_legend(scheme, grid.shape[1])
    return np.concatenate([grid, legend], axis=0)


def draw_legend(scheme: PartScheme, width: int) -> np.ndarray:
    """Legend strip ``[h, width, 3]``: a colour box and the name of each part."""
    entries = [(f'{k + 1} {name}', PALETTE[k % len(PALETTE)])
               for k, name in enumerate(scheme.names)]
    return draw_colour_legend(entries, width)


def draw_colour_legend(entries: Sequence[Tuple[str, Tuple[int, int, int]]], width: int,
                       entry_w: int = 150) -> np.ndarray:
    """Legend strip ``[h, width, 3]``: a colour box (BGR) and a label per entry."""
    import cv2
    entry_h = 22
    per_row = max(1, width // entry_w)
    rows = max(1, -(-len(entries) // per_row))
    out = np.full((rows * entry_h + 6, max(width, entry_w), 3), 255, np.uint8)
    for k, (label, colour) in enumerate(entries):
        r, c = divmod(k, per_row)
        x, y = c * entry_w + 6, r * entry_h + 4
        cv2.rectangle(out, (x, y), (x + 16, y + 16), tuple(int(v) for v in colour), -1)
        cv2.putText(out, label, (x + 22, y + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return out[:, :width]


__all__ = ['PALETTE', 'colorize', 'overlay', 'draw_sheet', 'draw_legend', 'draw_colour_legend']
