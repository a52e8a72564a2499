"""The ReID metric: CMC, mAP and mINP of the visibility-weighted part distance."""
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import broadcast_object_list, collect_results, is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.evaluator.metric import _to_cpu
from mmengine.logging import MMLogger, print_log
from mmengine.structures import BaseDataElement
from prettytable import PrettyTable

from mmreidparts.evaluation.functional.part_distance import METRICS as DISTANCES
from mmreidparts.evaluation.functional.part_distance import part_distance
from mmreidparts.evaluation.functional.ranking import PROTOCOLS, RankMetrics, rank_metrics
from mmreidparts.evaluation.functional.rerank import k_reciprocal_rerank
from mmreidparts.evaluation.functional.retrieval import part_rank_metrics
from mmreidparts.evaluation.functional.tracklets import (
    VISIBILITY_MODES,
    add_frames,
    new_tracklet,
    tracklet_samples,
)
from mmreidparts.registry import METRICS

_RERANK_DEFAULTS = dict(k1=20, k2=6, lambda_value=0.3)
_TRACKLET_DEFAULTS = dict(normalize=True, visibility='max')
AUTO = 'auto'


def _switch_options(name: str, value: Union[bool, Dict[str, Any], None],
                    defaults: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """An optional feature given as False/None (off), True (defaults) or a dict of options."""
    if isinstance(value, dict):
        unknown = set(value) - set(defaults)
        if unknown:
            raise ValueError(f'ReIDMetric: unknown {name} keys {sorted(unknown)}; expected a '
                             f'subset of {sorted(defaults)}')
        return {**defaults, **value}
    if value is True:
        return dict(defaults)
    if value is False or value is None:
        return None
    raise ValueError(f'ReIDMetric: {name} must be a bool or a dict, got {value!r}')


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """Rank each query against the whole gallery by the visibility-weighted part distance.

    ``process`` keeps, per sample, ``embeddings`` ``[P, D]`` (float32, cpu),
    ``visibility`` ``[P]`` (ones when absent), ``pid``, ``camid`` and ``is_query``; samples
    may be :class:`ReIDDataSample` objects or the dicts of their ``to_dict()`` (what
    mmengine's ``Evaluator`` passes). ``compute_metrics`` copies the per-sample results
    into preallocated query and gallery tensors; within ``evaluate`` (which drops
    ``self.results`` once collected) it releases each sample as it goes, so the peak
    memory is about one copy of the features plus the operand prepared by
    :func:`part_rank_metrics`, which streams query chunks (``chunk_size x G``).
    Distributed collection (padded duplicates dropped, order restored) is done by
    mmengine's ``collect_results``.

    Args:
        metric: ``'euclidean'`` or ``'cosine'`` part distance.
        normalize: L2-normalise each embedding before the distance.
        protocol: ``'market'`` (same id and camera ignored), ``'all'`` (no filtering),
            ``'cuhk03_classic'`` (single-shot, repeated gallery draws) or ``'auto'``: the
            dataset's ``metainfo['eval_protocol']`` (mmengine passes the dataset's
            metainfo as ``dataset_meta``), ``'market'`` with a warning when it has none.
        topk: CMC ranks reported as ``rank{k}``.
        rerank: False, True or a dict ``(k1, k2, lambda_value)`` for k-reciprocal
            re-ranking; its results are added as ``rerank_*`` (needs ``(Q + G)^2``
            memory, see :func:`k_reciprocal_rerank`).
        per_part: also report rank-1 and mAP of each embedding alone, named by
            ``metainfo['embedding_names']`` (``{name}_rank1``, ``{name}_mAP``); where the
            embedding is invisible on either side the distance is ``+inf``.
        chunk_size: queries per chunk (None: picked from the gallery size).
        tracklets: rank tracklets instead of images (video re-identification, e.g. MARS):
            False, True or a dict ``(normalize=True, visibility='max')``. Each sample
            then needs ``tracklet_id`` (and may have ``in_gallery``, default ``not
            is_query``; a query tracklet with ``in_gallery`` is also a gallery entry); the
            frames of a tracklet are summed as they come
            (:mod:`mmreidparts.evaluation.functional.tracklets`: visibility-weighted mean
            of each embedding row, then L2 normalisation when ``normalize``; row
            visibility the max or mean over the frames). With distributed testing use a
            sampler without padding (``round_up=False``), or the padded frames count twice.
        num_repeats: gallery draws of ``'cuhk03_classic'``.
        seed: seed of the ``'cuhk03_classic'`` draws.
        collect_device: ``'cpu'`` or ``'gpu'``, where results are gathered.
        prefix: prefix of the metric names.
        collect_dir: shared folder for cpu collection (a temporary one when None).

    Returns of ``compute_metrics``: ``rank{k}`` for k in ``topk``, ``mAP``, ``mINP`` in
    percent, and ``no_common_queries``: the ranked queries that share no visible
    embedding with any gallery image (ranked in gallery order, counted in the figures;
    the table adds a row without them). NaN or Inf embeddings or visibility stop the
    evaluation with :class:`mmreidparts.utils.errors.NonFiniteError` naming the images.
    """

    default_prefix: Optional[str] = 'reid'

    def __init__(self,
                 metric: str = 'euclidean',
                 normalize: bool = False,
                 protocol: str = AUTO,
                 topk: Sequence[int] = (1, 5, 10),
                 rerank: Union[bool, Dict[str, Any]] = False,
                 per_part: bool = False,
                 chunk_size: Optional[int] = None,
                 tracklets: Union[bool, Dict[str, Any], None] = False,
                 num_repeats: int = 10,
                 seed: int = 0,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = 'reid',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if metric not in DISTANCES:
            raise ValueError(f'ReIDMetric: metric must be one of {DISTANCES}, got {metric!r}')
        if protocol != AUTO and protocol not in PROTOCOLS:
            raise ValueError(f'ReIDMetric: protocol must be one of '
                             f'{(AUTO, ) + tuple(PROTOCOLS)}, got {protocol!r}')
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not topk or any(not isinstance(k, int) or k < 1 for k in topk):
            raise ValueError(f'ReIDMetric: topk must be positive ints, got {topk}')
        rerank = _switch_options('rerank', rerank, _RERANK_DEFAULTS)
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f'ReIDMetric: chunk_size must be >= 1, got {chunk_size}')
        tracklets = _switch_options('tracklets', tracklets, _TRACKLET_DEFAULTS)
        if tracklets and tracklets['visibility'] not in VISIBILITY_MODES:
            raise ValueError(f'ReIDMetric: tracklets visibility must be one of '
                             f'{VISIBILITY_MODES}, got {tracklets["visibility"]!r}')
        self.tracklets = tracklets
        self._tracklet_sums: Dict[int, dict] = {}
        self.metric = metric
        self.normalize = normalize
        self.protocol = protocol
        self.topk = topk
        self.rerank = rerank or None
        self.per_part = per_part
        self.chunk_size = chunk_size
        self.num_repeats = num_repeats
        self.seed = seed

    def process(self, data_batch: Any, data_samples: Sequence[Union[dict,
                                                                      BaseDataElement]]) -> None:
        """Keep the embeddings, visibility, pid, camid and is_query of each sample."""
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            for key in ('embeddings', 'pid', 'camid', 'is_query'):
                if key not in sample:
                    raise KeyError(f"ReIDMetric: a data sample has no '{key}' (expected "
                                   'embeddings [P, D] from the model and pid, camid, '
                                   f'is_query from the dataset); it has {sorted(sample)}')
            emb = torch.as_tensor(sample['embeddings']).detach()
            if emb.dim() == 1:
                emb = emb[None]
            if emb.dim() != 2:
                raise ValueError(f"ReIDMetric: 'embeddings' must be [P, D], got "
                                 f'{tuple(emb.shape)}')
            cpu = emb.to(device='cpu', dtype=torch.float32)
            # own storage: a view of the batch would pickle the whole batch when collected
            emb = cpu.clone() if cpu.data_ptr() == emb.data_ptr() else cpu
            vis = sample.get('visibility')
            if vis is None:
                vis = torch.ones(emb.shape[0])
            vis = torch.as_tensor(vis).detach().to(device='cpu',
                                                   dtype=torch.float32).reshape(-1).clone()
            if vis.numel() != emb.shape[0]:
                raise ValueError(f"ReIDMetric: 'visibility' has {vis.numel()} entries for "
                                 f"{emb.shape[0]} embeddings (expected [P])")
            names = sample.get('embedding_names')
            if self.tracklets is not None:
                self._add_frame(sample, emb, vis, names)
                continue
            self.results.append(
                dict(
                    embeddings=emb,
                    visibility=vis,
                    pid=int(sample['pid']),
                    camid=int(sample['camid']),
                    is_query=bool(sample['is_query']),
                    img_path=sample.get('img_path'),
                    embedding_names=tuple(names) if names is not None else None))

    def _add_frame(self, sample: dict, emb: torch.Tensor, vis: torch.Tensor,
                   names: Optional[Sequence[str]]) -> None:
        """Add one frame to the running sums of its tracklet (a new entry of ``results``)."""
        if sample.get('tracklet_id') is None:
            raise KeyError("ReIDMetric(tracklets=...): a data sample has no 'tracklet_id' "
                           '(the video datasets, e.g. MARS, put it in the metainfo); it has '
                           f'{sorted(sample)}')
        is_query = bool(sample['is_query'])
        frame = new_tracklet(int(sample['tracklet_id']), emb, vis, int(sample['pid']),
                             int(sample['camid']), is_query,
                             bool(sample.get('in_gallery', not is_query)),
                             tuple(names) if names is not None else None)
        acc = self._tracklet_sums.get(frame['tracklet_id'])
        if acc is None:
            self._tracklet_sums[frame['tracklet_id']] = frame
            self.results.append(frame)
        else:
            add_frames(acc, frame)

    def resolve_protocol(self) -> str:
        """The protocol to rank with: ``protocol``, or the dataset's when it is ``'auto'``."""
        logger = MMLogger.get_current_instance()
        meta = self.dataset_meta or {}
        from_dataset = meta.get('eval_protocol')
        if from_dataset is not None and from_dataset not in PROTOCOLS:
            raise ValueError(f"ReIDMetric: the dataset's metainfo['eval_protocol'] is "
                             f'{from_dataset!r}, expected one of {PROTOCOLS}')
        if self.protocol != AUTO:
            if from_dataset is not None and from_dataset != self.protocol:
                logger.warning(f'ReIDMetric: ranking with protocol {self.protocol!r}, but '
                               f'the dataset {meta.get("dataset_name", "")!r} declares '
                               f'{from_dataset!r}')
            return self.protocol
        if from_dataset is None:
            logger.warning("ReIDMetric: protocol='auto' but the dataset metainfo has no "
                           "'eval_protocol'; using 'market' (same id and camera ignored)")
            return 'market'
        return from_dataset

    def evaluate(self, size: int) -> dict:
        """Collect the results of all ranks and compute the metrics on the main process.

        As :meth:`BaseMetric.evaluate`, except that ``self.results`` is emptied before
        :meth:`compute_metrics` runs with ``release=True``, so that the collected list
        holds the only reference to each sample and the samples are freed while stacked.
        """
        if not self.results:
            print_log(f'{type(self).__name__} got empty `self.results`; check that the '
                      'model returns data samples with embeddings', logger='current',
                      level=logging.WARNING)
        tmpdir = self.collect_dir if self.collect_device == 'cpu' else None
        results = collect_results(self.results, size, self.collect_device, tmpdir=tmpdir)
        self.results.clear()
        self._tracklet_sums.clear()
        if is_main_process():
            results = _to_cpu(results)
            metrics = self.compute_metrics(results, release=True)
            if self.prefix:
                metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
            out = [metrics]
        else:
            out = [None]
        del results
        broadcast_object_list(out)
        return out[0]

    @staticmethod
    def _stack(results: List[Optional[dict]], is_query: List[bool],
               release: bool) -> Tuple[Tuple, Tuple]:
        """Copy the samples into query and gallery tensors (emptying ``results`` if asked).

        Returns ``(emb [Q, P, D], vis [Q, P], pids [Q], camids [Q])`` for the queries and
        the same for the gallery, each group in its order in ``results``.
        """
        num_q = sum(is_query)
        num_g = len(results) - num_q
        first = results[0]['embeddings']  # [P, D]
        num_parts, dim = first.shape

        def alloc(n: int) -> Tuple[torch.Tensor, ...]:
            """Empty ``emb [n, P, D]``, ``vis [n, P]``, ``pids [n]``, ``camids [n]``."""
            return (first.new_empty(n, num_parts, dim),
                    torch.empty(n, num_parts, dtype=torch.float32),
                    torch.empty(n, dtype=torch.long), torch.empty(n, dtype=torch.long))

        query, gallery = alloc(num_q), alloc(num_g)
        filled = [0, 0]  # next row of the gallery, of the queries
        for i, q in enumerate(is_query):
            r = results[i]
            if release:  # where the list held the last reference, the sample is freed
                results[i] = None
            emb, vis, pids, camids = query if q else gallery
            row = filled[q]
            filled[q] += 1
            emb[row] = r['embeddings']
            vis[row] = r['visibility']
            pids[row] = r['pid']
            camids[row] = r['camid']
        if release:
            results.clear()
        return query, gallery

    def compute_metrics(self, results: List[dict], release: bool = False) -> Dict[str, float]:
        """Compute rank-k, mAP and mINP (percent) over all collected samples.

        With ``release`` the list ``results`` is emptied, each sample dropped once copied
        into the stacked query / gallery tensors (``evaluate`` does this); otherwise it is
        left as it is.
        """
        logger = MMLogger.get_current_instance()
        protocol = self.resolve_protocol()
        if self.tracklets is not None:
            frames = sum(int(r['frames']) for r in results)
            results = tracklet_samples(results, **self.tracklets)
            logger.info(f'ReIDMetric: {frames} frames pooled into tracklets '
                        f'({sum(r["is_query"] for r in results)} queries, '
                        f'{sum(not r["is_query"] for r in results)} gallery)')
        is_query = [bool(r['is_query']) for r in results]
        num_q = sum(is_query)
        num_g = len(results) - num_q
        if not num_q:
            raise ValueError(f'ReIDMetric: no query samples (is_query=True) among the '
                             f'{len(results)} results; check the dataset split')
        if not num_g:
            raise ValueError(f'ReIDMetric: no gallery samples (is_query=False) among the '
                             f'{len(results)} results; check the dataset split')
        for name, flag in (('query', True), ('gallery', False)):
            shapes = {tuple(r['embeddings'].shape) for r, q in zip(results, is_query)
                      if q == flag}
            if len(shapes) > 1:
                raise ValueError(f"ReIDMetric: the {name} 'embeddings' have different [P, D] "
                                 f'shapes {sorted(shapes)}; every sample needs the same P '
                                 'and D')
        q_shape = tuple(results[is_query.index(True)]['embeddings'].shape)
        g_shape = tuple(results[is_query.index(False)]['embeddings'].shape)
        if q_shape != g_shape:
            raise ValueError("ReIDMetric: query and gallery 'embeddings' must have the same "
                             f'[P, D], got query {q_shape} and gallery {g_shape}')
        names = results[is_query.index(True)]['embedding_names']
        paths = [r.get('img_path') for r in results]
        q_paths = [p for p, q in zip(paths, is_query) if q]
        g_paths = [p for p, q in zip(paths, is_query) if not q]
        (q_emb, q_vis, q_pids, q_camids), (g_emb, g_vis, g_pids, g_camids) = self._stack(
            results, is_query, release)
        num_parts = q_emb.shape[1]
        names = names or tuple(f'emb{i}' for i in range(num_parts))
        max_rank = max(self.topk)
        common = dict(max_rank=max_rank, protocol=protocol,
                      num_repeats=self.num_repeats, seed=self.seed)

        def rank(part: Optional[int] = None) -> RankMetrics:
            sel = slice(None) if part is None else slice(part, part + 1)
            return part_rank_metrics(
                q_emb[:, sel], q_vis[:, sel], q_pids, q_camids, g_emb[:, sel], g_vis[:, sel],
                g_pids, g_camids, metric=self.metric, normalize=self.normalize,
                chunk_size=self.chunk_size, q_paths=q_paths, g_paths=g_paths,
                check_finite=part is None, **common)

        result = rank()
        if result.num_valid == 0:
            raise ValueError(f'ReIDMetric: none of the {num_q} queries has a valid '
                             f'gallery match under protocol {protocol!r}')
        if result.num_skipped:
            logger.warning(f'ReIDMetric: {result.num_skipped} of {num_q} queries have '
                           'no valid gallery match and were skipped')
        if result.num_no_common:
            logger.warning(
                f'ReIDMetric: {result.num_no_common} of {result.num_valid} ranked queries '
                'share no visible embedding with any gallery image: all their distances are '
                '+inf, so they are ranked in gallery order; see the "no common part" column '
                'and the row without them')
        rows = [('all', result)]
        if result.common is not None:
            rows.append(('all, common part only', result.common))
        metrics = self._named(result)
        metrics['no_common_queries'] = result.num_no_common
        if self.rerank is not None:
            dist = dict(metric=self.metric, normalize=self.normalize)
            reranked = k_reciprocal_rerank(
                part_distance(q_emb, q_vis, g_emb, g_vis, **dist),
                part_distance(q_emb, q_vis, q_emb, q_vis, **dist),
                part_distance(g_emb, g_vis, g_emb, g_vis, **dist), **self.rerank)
            rr = rank_metrics(reranked, q_pids, g_pids, q_camids, g_camids,
                              chunk_size=self.chunk_size or 256, **common)
            rows.append(('re-ranked', rr))
            metrics.update({f'rerank_{k}': v for k, v in self._named(rr).items()})
        if self.per_part:
            for part, name in enumerate(names):
                pr = rank(part)
                rows.append((name, pr))
                metrics[f'{name}_rank1'] = 100.0 * float(pr.cmc[0])
                metrics[f'{name}_mAP'] = 100.0 * pr.mAP
        logger.info(f'ReID evaluation ({protocol}, {self.metric} part distance, '
                    f'{num_q} queries, {num_g} gallery, {num_parts} '
                    f'embeddings)\n' + self._table(rows))
        return metrics

    def _named(self, result: RankMetrics) -> Dict[str, float]:
        """Metric dict in percent: rank{k}, mAP, mINP."""
        out = {f'rank{k}': 100.0 * float(result.cmc[k - 1]) for k in self.topk}
        out['mAP'] = 100.0 * result.mAP
        out['mINP'] = 100.0 * result.mINP
        return out

    def _table(self, rows: List[Tuple[str, RankMetrics]]) -> str:
        """A prettytable of the results, one row per evaluation."""
        table = PrettyTable()
        table.field_names = ['embeddings'] + [f'rank-{k}' for k in self.topk] + \
            ['mAP', 'mINP', 'queries', 'no common part']
        for name, res in rows:
            named = self._named(res)
            table.add_row([name] + [f'{named[f"rank{k}"]:.2f}' for k in self.topk] +
                          [f'{named["mAP"]:.2f}', f'{named["mINP"]:.2f}',
                           f'{res.num_valid} (+{res.num_skipped} skipped)',
                           res.num_no_common])
        return table.get_string()
