"""Pictures of ranked retrieval results."""
from typing import List, Optional, Sequence

import cv2
import numpy as np


def _tile(img: np.ndarray, size: tuple, border: int, colour: tuple) -> np.ndarray:
    """Resize ``img`` to ``size`` (H, W) and frame it with a coloured border."""
    h, w = size
    tile = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(tile, border, border, border, border, cv2.BORDER_CONSTANT,
                              value=colour)


def draw_ranked_list(query_imgs: Sequence[np.ndarray],
                     gallery_imgs: Sequence[Sequence[np.ndarray]],
                     matches: Optional[Sequence[Sequence[Optional[bool]]]],
                     distances: Optional[np.ndarray] = None,
                     tile_size: tuple = (128, 64),
                     border: int = 4,
                     titles: Optional[List[str]] = None) -> np.ndarray:
    """One row per query: the query (blue frame), then its top gallery images.

    Args:
        query_imgs: Q images (BGR uint8).
        gallery_imgs: for each query, its top-k gallery images in rank order.
        matches: ``[Q, k]`` bool, True where the gallery image shows the query's person
            (green frame), False otherwise (red frame); None (all, or an entry) where
            the identities are unknown (grey frame).
        distances: optional ``[Q, k]`` distances written under each tile.
        tile_size: (H, W) of each tile.
        titles: optional text per row, written under the query.

    Returns:
        The sheet as a BGR uint8 image.
    """
    q = len(query_imgs)
    if q == 0:
        raise ValueError('draw_ranked_list needs at least one query')
    k = max(len(g) for g in gallery_imgs)
    th, tw = tile_size[0] + 2 * border, tile_size[1] + 2 * border
    text_h, gap = 16, 12
    sheet = np.full((q * (th + text_h), (k + 1) * tw + gap, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for i in range(q):
        y = i * (th + text_h)
        sheet[y:y + th, :tw] = _tile(query_imgs[i], tile_size, border, (255, 128, 0))
        if titles is not None:
            cv2.putText(sheet, titles[i][:12], (2, y + th + 12), font, 0.35, (0, 0, 0), 1)
        for j, img in enumerate(gallery_imgs[i]):
            match = None if matches is None else matches[i][j]
            colour = (160, 160, 160) if match is None else (0, 170, 0) if match else (0, 0, 220)
            x = gap + (j + 1) * tw
            sheet[y:y + th, x:x + tw] = _tile(img, tile_size, border, colour)
            if distances is not None:
                cv2.putText(sheet, f'{distances[i][j]:.3g}', (x + 2, y + th + 12), font, 0.35,
                            (0, 0, 0), 1)
    return sheet
