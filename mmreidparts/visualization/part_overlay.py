"""An image tile with its predicted parts: parsing overlay and a visibility strip."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from mmreidparts.part_labels.visualize import PALETTE, draw_colour_legend, overlay

# embeddings of the whole person, drawn grey in the visibility strip
HOLISTIC_NAMES = ('global', 'foreground', 'concat')
STRIP_HEIGHT = 10


def embedding_colours(names: Sequence[str]) -> Tuple[Tuple[int, int, int], ...]:
    """BGR colour of each embedding: grey for holistic ones, the part palette otherwise.

    Part embeddings take the palette colours in order, the colours of the part ids
    1..K in the parsing overlay when the names follow the head's part order.
    """
    colours, k = [], 0
    for name in names:
        if name in HOLISTIC_NAMES:
            colours.append((110, 110, 110))
        else:
            colours.append(PALETTE[k % len(PALETTE)])
            k += 1
    return tuple(colours)


def draw_visibility_strip(visibility: np.ndarray, names: Sequence[str],
                          width: int) -> np.ndarray:
    """A ``[STRIP_HEIGHT, width, 3]`` strip: one cell per embedding, its colour faded by
    ``1 - visibility`` (a full cell: visible; white: invisible)."""
    vis = np.clip(np.asarray(visibility, np.float32).reshape(-1), 0, 1)
    if len(names) != vis.size:
        raise ValueError(f'{len(names)} embedding names for {vis.size} visibility scores')
    strip = np.full((STRIP_HEIGHT, width, 3), 255, np.uint8)
    edges = np.linspace(0, width, vis.size + 1).round().astype(int)
    for i, colour in enumerate(embedding_colours(names)):
        cell = np.array(colour, np.float32) * vis[i] + 255 * (1 - vis[i])
        strip[1:, edges[i]:max(edges[i] + 1, edges[i + 1] - 1)] = cell.round().astype(np.uint8)
    return strip


def draw_reid_tile(img: np.ndarray,
                   size: Tuple[int, int] = (128, 64),
                   part_map: Optional[np.ndarray] = None,
                   visibility: Optional[np.ndarray] = None,
                   names: Optional[Sequence[str]] = None,
                   alpha: float = 0.45,
                   part_visible: Optional[Sequence[bool]] = None) -> np.ndarray:
    """An image resized to ``size`` (H, W), its parts overlaid, a visibility strip below.

    Args:
        img: ``[H, W, 3]`` uint8 BGR.
        part_map: ``[K+1, h, w]`` part probabilities (channel 0 background): each pixel
            takes the colour of its most likely part.
        visibility: ``[P]`` visibility of the embeddings; a strip is drawn when P > 1.
        names: the P embedding names (their colours, see :func:`embedding_colours`).
        alpha: opacity of the overlay.
        part_visible: K flags; pixels of an invisible part are left bare (default: all
            parts are painted).

    Returns:
        ``[H (+ STRIP_HEIGHT), W, 3]`` uint8 BGR.
    """
    h, w = size
    tile = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    if part_map is not None:
        maps = np.asarray(part_map, np.float32)
        if maps.ndim != 3 or maps.shape[0] < 2:
            raise ValueError(f'part_map must be [K+1, h, w], got {maps.shape}')
        up = cv2.resize(maps.transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR)
        labels = up.reshape(h, w, -1).argmax(axis=2).astype(np.uint8)  # [H, W] 0..K
        if part_visible is not None:
            keep = np.concatenate([[False], np.asarray(part_visible, bool)])  # [K+1]
            if keep.size != maps.shape[0]:
                raise ValueError(f'{keep.size - 1} part_visible flags for K='
                                 f'{maps.shape[0] - 1} part maps')
            labels = np.where(keep[labels], labels, 0).astype(np.uint8)
        tile = overlay(tile, labels, alpha=alpha)
    if visibility is not None and np.asarray(visibility).size > 1:
        names = tuple(names) if names is not None else tuple(
            f'emb{i}' for i in range(np.asarray(visibility).size))
        tile = np.concatenate([tile, draw_visibility_strip(visibility, names, w)], axis=0)
    return tile


def draw_embedding_legend(names: Sequence[str], width: int) -> np.ndarray:
    """Legend ``[h, width, 3]`` of the visibility strip's cells (and the overlay's parts)."""
    return draw_colour_legend(list(zip(names, embedding_colours(names))), width, entry_w=110)


def visible_parts(part_map: Optional[np.ndarray], visibility: np.ndarray,
                  names: Sequence[str]) -> Optional[np.ndarray]:
    """The K part flags of a prediction whose embeddings are (holistic, part 1..K).

    None when the layout is another one (the overlay then paints every part).
    """
    vis = np.asarray(visibility).reshape(-1)
    if part_map is None or vis.size != part_map.shape[0] or not names or \
            names[0] not in HOLISTIC_NAMES:
        return None
    return vis[1:] > 0.5
