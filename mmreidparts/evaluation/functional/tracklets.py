"""Tracklet descriptors from frame predictions: video re-identification with any model.

Every frame keeps the model's output contract (``embeddings [P, D]``, ``visibility [P]``).
The frames of one tracklet are summed as they arrive (so the frame features are never
stored together), and the tracklet gets, per embedding row ``i``,

    e_T[i] = sum_f v_f[i] e_f[i] / sum_f v_f[i]     (0 where no frame shows row i)
    v_T[i] = max_f v_f[i]  ('max')   or   mean_f v_f[i]  ('mean')

then optionally each row L2-normalised. With one always-visible embedding (global
models) this is the temporal average of the frame descriptors followed by L2
normalisation (the part-aligned bilinear paper's video protocol). A tracklet's frames
must agree on ``pid``, ``camid`` and the query / gallery flags.
"""
from typing import Dict, Iterable, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

VISIBILITY_MODES = ('max', 'mean')


def new_tracklet(tracklet_id: int, emb: Tensor, vis: Tensor, pid: int, camid: int,
                 is_query: bool, in_gallery: bool, names: Optional[tuple]) -> dict:
    """The running sums of a tracklet, started with one frame (``emb [P, D]``, ``vis [P]``)."""
    emb, vis = emb.double(), vis.double()
    return dict(tracklet_id=int(tracklet_id), emb_sum=emb * vis[:, None], vis_sum=vis.clone(),
                vis_max=vis.clone(), frames=1, pid=int(pid), camid=int(camid),
                is_query=bool(is_query), in_gallery=bool(in_gallery), embedding_names=names)


def _check_same(acc: dict, other: dict) -> None:
    """Raise a ValueError if two parts of a tracklet disagree on its identity or role."""
    for key in ('pid', 'camid', 'is_query', 'in_gallery'):
        if acc[key] != other[key]:
            raise ValueError(f'tracklet {acc["tracklet_id"]}: its frames disagree on {key} '
                             f'({acc[key]!r} vs {other[key]!r}); every frame of a tracklet '
                             'must come from one person, camera and split')
    if acc['emb_sum'].shape != other['emb_sum'].shape:
        raise ValueError(f'tracklet {acc["tracklet_id"]}: frames with embeddings of shapes '
                         f'{tuple(acc["emb_sum"].shape)} and {tuple(other["emb_sum"].shape)}')


def add_frames(acc: dict, other: dict) -> dict:
    """Merge the running sums ``other`` into ``acc`` (same tracklet) and return ``acc``."""
    _check_same(acc, other)
    acc['emb_sum'] += other['emb_sum']
    acc['vis_sum'] += other['vis_sum']
    acc['vis_max'] = torch.maximum(acc['vis_max'], other['vis_max'])
    acc['frames'] += other['frames']
    return acc


def merge_tracklets(parts: Iterable[dict]) -> List[dict]:
    """One running sum per tracklet id from parts collected on several processes, by id."""
    merged: Dict[int, dict] = {}
    for part in parts:
        key = part['tracklet_id']
        if key in merged:
            add_frames(merged[key], part)
        else:
            merged[key] = dict(part, emb_sum=part['emb_sum'].clone(),
                               vis_sum=part['vis_sum'].clone(), vis_max=part['vis_max'].clone())
    return [merged[k] for k in sorted(merged)]


def tracklet_prediction(acc: dict, normalize: bool = True, visibility: str = 'max') -> dict:
    """``embeddings [P, D]`` (float32) and ``visibility [P]`` of a tracklet's running sums."""
    if visibility not in VISIBILITY_MODES:
        raise ValueError(f'tracklet visibility must be one of {VISIBILITY_MODES}, '
                         f'got {visibility!r}')
    weight = acc['vis_sum'].clamp(min=1e-12)[:, None]
    emb = torch.where(acc['vis_sum'][:, None] > 0, acc['emb_sum'] / weight,
                      torch.zeros_like(acc['emb_sum']))  # [P, D]
    if normalize:
        emb = F.normalize(emb, dim=1)
    vis = acc['vis_max'] if visibility == 'max' else acc['vis_sum'] / acc['frames']
    return dict(embeddings=emb.float(), visibility=vis.float())


def tracklet_samples(parts: Iterable[dict], normalize: bool = True,
                     visibility: str = 'max') -> List[dict]:
    """Query and gallery samples (``ReIDMetric``'s per-sample dicts) of tracklet sums.

    A tracklet flagged ``is_query`` is a query; one flagged ``in_gallery`` is (also) a
    gallery entry, so a query tracklet may appear on both sides (MARS's protocol, where
    the query's own camera hides it from itself).
    """
    out = []
    for acc in merge_tracklets(parts):
        pred = tracklet_prediction(acc, normalize, visibility)
        common = dict(pred, pid=acc['pid'], camid=acc['camid'],
                      embedding_names=acc['embedding_names'], tracklet_id=acc['tracklet_id'])
        if acc['is_query']:
            out.append(dict(common, is_query=True))
        if acc['in_gallery']:
            out.append(dict(common, is_query=False))
    return out


__all__ = ['VISIBILITY_MODES', 'new_tracklet', 'add_frames', 'merge_tracklets',
           'tracklet_prediction', 'tracklet_samples']
