"""Query against a gallery folder: the ranked gallery as data and as a picture.

Used by ``demo/reid_demo.py`` and the browser demo (``projects/gradio_demo``). The
gallery's features are cached (:func:`cached_folder_features`) and reused while the
model and the folder's files stay the same.
"""
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from mmreidparts.datasets.base_reid_dataset import BaseReIDDataset
from mmreidparts.visualization import (
    draw_embedding_legend,
    draw_ranked_list,
    draw_reid_tile,
    visible_parts,
)

from .features import cached_folder_features, features_of, rank
from .inferencer import ReIDInferencer

TILE_SIZE = (128, 64)
_NAME = re.compile(BaseReIDDataset.NAME_PATTERN)


def identity_of(path: str) -> Tuple[Optional[int], Optional[int]]:
    """``(pid, camid)`` parsed from a Market-style file name (``0002_c1...``), else Nones."""
    found = _NAME.match(osp.splitext(osp.basename(path))[0])
    if not found:
        return None, None
    return int(found.group('pid')), int(found.group('cam'))


def search_gallery(inferencer: ReIDInferencer,
                   queries: Sequence[Union[str, np.ndarray]],
                   gallery_dir: str,
                   cache_dir: str,
                   topk: int = 10,
                   batch_size: int = 32) -> Dict[str, Any]:
    """Rank the images of ``gallery_dir`` for each query image.

    A gallery image that is the query file itself is left out of its ranking; images
    that cannot be read are skipped and listed in ``skipped``.

    Returns:
        a JSON-able dict: ``model``, ``gallery``, ``from_cache``, ``skipped`` and, per
        query, ``query`` (path or ``'<array i>'``), ``pid``, ``visibility`` and
        ``ranked``: the top-k ``{path, distance, pid, same_id, visibility}``.
    """
    gallery, from_cache = cached_folder_features(inferencer, gallery_dir, cache_dir,
                                                 batch_size=batch_size)
    query = features_of(inferencer, queries, on_error='raise', batch_size=batch_size)
    # one more, in case a query is a gallery file itself (left out below)
    order, dist = rank(query, gallery, topk=topk + 1)
    names = list(gallery['embedding_names'])
    results = []
    for i, qpath in enumerate(query['img_paths']):
        qpid = identity_of(qpath)[0] if qpath else None
        ranked = []
        for j, d in zip(order[i].tolist(), dist[i].tolist()):
            gpath = gallery['img_paths'][j]
            if qpath and osp.abspath(gpath) == osp.abspath(qpath):
                continue
            gpid = identity_of(gpath)[0]
            ranked.append(dict(
                path=gpath, distance=float(d), pid=gpid,
                same_id=None if qpid is None or gpid is None else bool(qpid == gpid),
                visibility=[round(float(v), 4) for v in gallery['visibility'][j]]))
        results.append(dict(query=qpath or f'<array {i}>', pid=qpid,
                            visibility=[round(float(v), 4) for v in query['visibility'][i]],
                            ranked=ranked[:topk]))
    return dict(gallery=osp.abspath(gallery_dir), gallery_size=len(gallery['img_paths']),
                from_cache=from_cache, embedding_names=names,
                skipped=[list(s) for s in gallery['skipped']], queries=results)


def _tiles(inferencer: ReIDInferencer, images: List[Union[str, np.ndarray]],
           overlay: bool) -> List[np.ndarray]:
    """Tiles of images with their part overlay (part models) and visibility strip."""
    preds = inferencer(images, return_part_maps=overlay, batch_size=len(images) or 1)
    tiles = []
    for item, pred in zip(images, preds):
        img = cv2.imread(item) if isinstance(item, str) else item
        part_map = pred.get('part_map')
        tiles.append(draw_reid_tile(
            img, TILE_SIZE, part_map=part_map, visibility=pred['visibility'],
            names=pred['embedding_names'],
            part_visible=visible_parts(part_map, pred['visibility'], pred['embedding_names'])))
    return tiles


def draw_search(inferencer: ReIDInferencer, result: Dict[str, Any],
                queries: Sequence[Union[str, np.ndarray]], overlay: bool = True) -> np.ndarray:
    """The picture of a :func:`search_gallery` result: one row per query, then its top-k.

    Frames: blue query; green same person, red another person, grey unknown (ids come
    from Market-style file names). Each tile shows the part overlay of part models and
    the visibility strip of multi-embedding models; distances are written below.
    """
    q_tiles = _tiles(inferencer, list(queries), overlay)
    g_tiles, matches, dists = [], [], []
    for row in result['queries']:
        g_tiles.append(_tiles(inferencer, [r['path'] for r in row['ranked']], overlay)
                       if row['ranked'] else [])
        matches.append([r['same_id'] for r in row['ranked']])
        dists.append([r['distance'] for r in row['ranked']])
    size = q_tiles[0].shape[:2]
    titles = [osp.basename(r['query'])[:12] for r in result['queries']]
    sheet = draw_ranked_list(q_tiles, g_tiles, matches, dists, tile_size=size, titles=titles)
    names = result['embedding_names']
    if len(names) < 2:
        return sheet
    return np.concatenate([sheet, draw_embedding_legend(names, sheet.shape[1])], axis=0)


__all__ = ['search_gallery', 'draw_search', 'identity_of']
