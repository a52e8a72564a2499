"""The top-level ReID model: data preprocessor, backbone, optional neck and head."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample

FLIP_VISIBILITY = ('max', 'mean')


@MODELS.register_module()
class ReIDModel(BaseModel):
    """Backbone -> (neck) -> head; the head owns the losses and fills the predictions.

    Args:
        backbone: config of the backbone; it returns a tuple of feature maps. Components
            of other packages are named with their scope, e.g. ``'mmpretrain.ResNet'``.
        head: config of the head, exposing ``loss(feats, data_samples) -> dict`` and
            ``predict(feats, data_samples) -> List[ReIDDataSample]``.
        neck: optional config of a neck between backbone and head.
        data_preprocessor: config (or module) of the data preprocessor;
            ``ReIDDataPreprocessor`` with ImageNet statistics when None.
        test_cfg: test-time options. ``flip`` (default False): also embed the mirrored
            image and average the two sets of embeddings, row by row; ``flip_visibility``
            ('max' default, or 'mean') combines the two visibilities: 'max' keeps binary
            scores binary (an embedding counts if seen in either view), 'mean' makes a part
            seen in one view only count half. ``flip_pairs``: pairs of embedding names
            whose rows are swapped in the mirrored prediction (left/right parts).
        init_cfg: initialisation config of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReIDDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        for name, cfg in (('backbone', backbone), ('head', head)):
            if not isinstance(cfg, (dict, nn.Module)):
                raise TypeError(f'ReIDModel: "{name}" must be a config dict, got {cfg!r}')
        self.backbone = backbone if isinstance(backbone, nn.Module) else MODELS.build(backbone)
        self.neck = None
        if neck is not None:
            self.neck = neck if isinstance(neck, nn.Module) else MODELS.build(neck)
        self.head = head if isinstance(head, nn.Module) else MODELS.build(head)
        self.test_cfg = self._check_test_cfg(test_cfg)

    @staticmethod
    def _check_test_cfg(test_cfg: Optional[dict]) -> dict:
        """Fill in and validate the keys of ``test_cfg``."""
        cfg = dict(flip=False, flip_visibility='max', flip_pairs=())
        unknown = set(test_cfg or {}) - set(cfg)
        if unknown:
            raise KeyError(f'ReIDModel test_cfg: unknown keys {sorted(unknown)}; '
                           f'expected some of {sorted(cfg)}')
        cfg.update(test_cfg or {})
        if cfg['flip_visibility'] not in FLIP_VISIBILITY:
            raise ValueError(f'ReIDModel test_cfg.flip_visibility must be one of '
                             f'{FLIP_VISIBILITY}, got {cfg["flip_visibility"]!r}')
        cfg['flip_pairs'] = tuple(tuple(pair) for pair in cfg['flip_pairs'])
        if any(len(pair) != 2 for pair in cfg['flip_pairs']):
            raise ValueError('ReIDModel test_cfg.flip_pairs must hold pairs of embedding '
                             f'names, got {cfg["flip_pairs"]}')
        return cfg

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone (and neck) features of ``inputs`` [N, 3, H, W], as a tuple."""
        feats = self.backbone(inputs)
        if isinstance(feats, Tensor):
            feats = (feats, )
        if self.neck is not None:
            feats = self.neck(tuple(feats))
            if isinstance(feats, Tensor):
                feats = (feats, )
        return tuple(feats)

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[ReIDDataSample]] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], List[ReIDDataSample],
                                                 Tuple[Tensor, ...]]:
        """Run in mode 'loss' (dict of losses), 'predict' (data samples) or 'tensor'."""
        if mode == 'loss':
            if not data_samples:
                raise ValueError('ReIDModel mode="loss" needs data_samples with gt_label')
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise ValueError(f'ReIDModel: invalid mode "{mode}"; use "loss", "predict" or "tensor"')

    def loss(self, inputs: Tensor, data_samples: List[ReIDDataSample]) -> Dict[str, Tensor]:
        """Dict of named losses (and logged metrics) of a training batch."""
        return self.head.loss(self.extract_feat(inputs), data_samples)

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Embeddings ``[P, D]``, visibility ``[P]`` and names for every image."""
        if data_samples is None:
            data_samples = [ReIDDataSample() for _ in range(inputs.shape[0])]
        if not self.test_cfg['flip']:
            return self.head.predict(self.extract_feat(inputs), data_samples)
        mirrored = [ReIDDataSample(metainfo=copy.deepcopy(s.metainfo)) for s in data_samples]
        mirrored = self.head.predict(self.extract_feat(inputs.flip(-1)), mirrored)
        results = self.head.predict(self.extract_feat(inputs), data_samples)
        names = tuple(results[0].embedding_names)
        embeddings, visibility = self.combine_flip(
            torch.stack([r.embeddings for r in results]),
            torch.stack([r.visibility for r in results]),
            torch.stack([m.embeddings for m in mirrored]),
            torch.stack([m.visibility for m in mirrored]), names)
        for result, emb, vis in zip(results, embeddings, visibility):
            result.set_prediction(emb, vis, names)
        return results

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """Names of the P test embeddings (the head's ``embedding_names``)."""
        names = getattr(self.head, 'embedding_names', None)
        if names is None:
            raise TypeError(f'{type(self.head).__name__} has no embedding_names: a head '
                            'gives the names of its test embeddings (see docs/design.md)')
        return tuple(names)

    def predict_tensors(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """The test graph on a normalised batch ``[N, 3, H, W]``, tensors only.

        Returns ``embeddings [N, P, D]`` and ``visibility [N, P]``, exactly what
        :meth:`predict` stores in the data samples (with the test-time flip when
        ``test_cfg.flip``); this is what ONNX export traces. The head must implement
        ``predict_tensors(feats) -> (embeddings, visibility)``.
        """
        if not hasattr(self.head, 'predict_tensors'):
            raise TypeError(f'{type(self.head).__name__} has no predict_tensors(feats): '
                            'every head returns its test embeddings [N, P, D] and '
                            'visibility [N, P] as tensors through it (see docs/design.md)')
        embeddings, visibility = self.head.predict_tensors(self.extract_feat(inputs))
        if not self.test_cfg['flip']:
            return embeddings, visibility
        mirrored = self.head.predict_tensors(self.extract_feat(inputs.flip(-1)))
        return self.combine_flip(embeddings, visibility, *mirrored, self.embedding_names)

    def combine_flip(self, embeddings: Tensor, visibility: Tensor, mirrored_embeddings: Tensor,
                     mirrored_visibility: Tensor,
                     names: Sequence[str]) -> Tuple[Tensor, Tensor]:
        """Average ``[N, P, D]`` embeddings with those of the mirrored images.

        The mirrored rows are put under the original names first (``flip_pairs``); the
        visibilities ``[N, P]`` are combined by ``test_cfg.flip_visibility``.
        """
        order = self._flip_order(names)
        if order != list(range(len(order))):
            mirrored_embeddings = mirrored_embeddings[:, order]
            mirrored_visibility = mirrored_visibility[:, order]
        embeddings = (embeddings + mirrored_embeddings) / 2  # [N, P, D]
        if self.test_cfg['flip_visibility'] == 'max':
            visibility = torch.maximum(visibility, mirrored_visibility)  # [N, P]
        else:
            visibility = (visibility + mirrored_visibility) / 2
        return embeddings, visibility

    def _flip_order(self, names: Sequence[str]) -> List[int]:
        """Row order that puts the mirrored image's embeddings under the original names."""
        index = {name: i for i, name in enumerate(names)}
        order = list(range(len(names)))
        for left, right in self.test_cfg['flip_pairs']:
            if left in index and right in index:
                order[index[left]], order[index[right]] = index[right], index[left]
        return order
