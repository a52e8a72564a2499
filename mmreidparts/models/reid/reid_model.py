"""The top-level ReID model: data preprocessor, backbone, optional neck and head."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample

FLIP_VISIBILITY = ('max', 'mean')
# what a test config may ask of the head's visibility (``test_cfg.visibility``)
VISIBILITY_NEEDS = ('any', 'soft')


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
            ``visibility`` ('any' default, or 'soft'): what the test protocol needs of
            the head's visibility; 'soft' (VPM's partial protocols, whose Eq. 4 weights
            regions by predicted scores) stops at construction unless the head declares
            ``visibility_type = 'soft'`` (heads declare 'ones', 'binary' or 'soft').
        training_only_prefixes: state-dict key prefixes of modules used only for training
            (e.g. ``('aux_heads.', )``): left out of published checkpoints and not asked
            for when one is loaded. Submodules may declare their own
            (``mmreidparts.utils.training_only_prefixes`` collects them all).
        init_cfg: initialisation config of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 test_cfg: Optional[dict] = None,
                 training_only_prefixes: Sequence[str] = (),
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
        self._check_visibility_need()
        if isinstance(training_only_prefixes, str):
            training_only_prefixes = (training_only_prefixes, )
        self.training_only_prefixes = tuple(str(p) for p in training_only_prefixes)

    @staticmethod
    def _check_test_cfg(test_cfg: Optional[dict]) -> dict:
        """Fill in and validate the keys of ``test_cfg``."""
        cfg = dict(flip=False, flip_visibility='max', flip_pairs=(), visibility='any')
        unknown = set(test_cfg or {}) - set(cfg)
        if unknown:
            raise KeyError(f'ReIDModel test_cfg: unknown keys {sorted(unknown)}; '
                           f'expected some of {sorted(cfg)}')
        cfg.update(test_cfg or {})
        if cfg['flip_visibility'] not in FLIP_VISIBILITY:
            raise ValueError(f'ReIDModel test_cfg.flip_visibility must be one of '
                             f'{FLIP_VISIBILITY}, got {cfg["flip_visibility"]!r}')
        if cfg['visibility'] not in VISIBILITY_NEEDS:
            raise ValueError(f'ReIDModel test_cfg.visibility must be one of '
                             f'{VISIBILITY_NEEDS}, got {cfg["visibility"]!r}')
        cfg['flip_pairs'] = tuple(tuple(pair) for pair in cfg['flip_pairs'])
        if any(len(pair) != 2 for pair in cfg['flip_pairs']):
            raise ValueError('ReIDModel test_cfg.flip_pairs must hold pairs of embedding '
                             f'names, got {cfg["flip_pairs"]}')
        return cfg

    def _check_visibility_need(self) -> None:
        """Stop when the test config asks for soft visibility and the head has none."""
        if self.test_cfg['visibility'] != 'soft':
            return
        kind = getattr(self.head, 'visibility_type', None)
        if kind != 'soft':
            raise ValueError(
                f"ReIDModel test_cfg.visibility='soft': this test config weights the "
                f'embeddings by soft visibility scores, but the head '
                f'{type(self.head).__name__} predicts '
                f'{"no declared visibility" if kind is None else repr(kind) + " visibility"}'
                f"; use a visibility-aware model (e.g. VPMHead with test_visibility='soft') "
                "or drop test_cfg.visibility")

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
        for result, other in zip(results, mirrored):
            names = tuple(result.embedding_names)
            order = self._flip_order(names)
            embeddings = (result.embeddings + other.embeddings[order]) / 2  # [P, D]
            vis_a, vis_b = result.visibility, other.visibility[order]  # [P]
            if self.test_cfg['flip_visibility'] == 'max':
                visibility = torch.maximum(vis_a, vis_b)
            else:
                visibility = (vis_a + vis_b) / 2
            result.set_prediction(embeddings, visibility, names)
        return results

    def _flip_order(self, names: Sequence[str]) -> List[int]:
        """Row order that puts the mirrored image's embeddings under the original names."""
        index = {name: i for i, name in enumerate(names)}
        order = list(range(len(names)))
        for left, right in self.test_cfg['flip_pairs']:
            if left in index and right in index:
                order[index[left]], order[index[right]] = index[right], index[left]
        return order
