"""A metric that writes the test set's predictions to a feature file."""
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

from mmreidparts.registry import METRICS
from mmreidparts.structures.features import make_features, save_features


@METRICS.register_module()
class DumpReIDFeatures(BaseMetric):
    """Save ``embeddings``, ``visibility``, names, paths and ids of every test image.

    Added to the test evaluator by ``tools/test.py --dump FILE``; the file
    (:mod:`mmreidparts.structures.features`) is evaluated again without the model by
    ``tools/analysis_tools/rank_features.py``. Reports no metric.

    Args:
        out_file: the feature file to write (``.pt``).
        evaluator: the ReID metric's ``metric`` / ``normalize``, kept in the file's meta.
        collect_device: where results are gathered in distributed runs.
        prefix: prefix of the (no) metric names.
    """

    default_prefix: Optional[str] = 'dump'

    def __init__(self, out_file: str, evaluator: Optional[dict] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not str(out_file).endswith('.pt'):
            raise ValueError(f'DumpReIDFeatures: out_file must be a .pt file, got {out_file!r}')
        self.out_file = out_file
        evaluator = dict(evaluator or {})
        self.evaluator = dict(metric=evaluator.get('metric', 'euclidean'),
                              normalize=bool(evaluator.get('normalize', False)))

    def process(self, data_batch: Any,
                data_samples: Sequence[Union[dict, BaseDataElement]]) -> None:
        """Keep each sample's prediction and identity."""
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            if 'embeddings' not in sample:
                raise KeyError('DumpReIDFeatures: a data sample has no embeddings')
            emb = torch.as_tensor(sample['embeddings']).detach().float().cpu().clone()
            vis = sample.get('visibility')
            vis = torch.ones(emb.shape[0]) if vis is None else \
                torch.as_tensor(vis).detach().float().cpu().reshape(-1).clone()
            self.results.append(dict(
                embeddings=emb, visibility=vis,
                names=tuple(sample.get('embedding_names') or ()),
                img_path=str(sample.get('img_path', '')), pid=int(sample.get('pid', -1)),
                camid=int(sample.get('camid', -1)), is_query=bool(sample.get('is_query'))))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the file; no figures."""
        meta = dict(evaluator=self.evaluator)
        info = self.dataset_meta or {}
        for key in ('eval_protocol', 'dataset_name'):
            if info.get(key) is not None:
                meta[key] = info[key]
        names = results[0]['names'] or tuple(
            f'emb{i}' for i in range(results[0]['embeddings'].shape[0]))
        feats = make_features(torch.stack([r['embeddings'] for r in results]),
                              torch.stack([r['visibility'] for r in results]), names,
                              [r['img_path'] for r in results], [r['pid'] for r in results],
                              [r['camid'] for r in results], [r['is_query'] for r in results],
                              meta=meta)
        save_features(feats, self.out_file)
        print_log(f'DumpReIDFeatures: {len(results)} images -> {self.out_file}',
                  logger='current')
        return {}
