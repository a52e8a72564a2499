"""The top-level ReID model: data preprocessor, backbone, optional neck and head."""
import fnmatch
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, fill_predictions

FLIP_VISIBILITY = ('max', 'mean')
FLIP_MERGES = ('mean', 'sum')
# what a test config may ask of the head's visibility (``test_cfg.visibility``)
VISIBILITY_NEEDS = ('any', 'soft')
# state-dict prefix of the training-only heads: never in the test graph, dropped on publishing
AUX_HEADS_PREFIX = 'aux_heads.'


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
        aux_heads: training-only heads, ``{name: config}``: each gets the same features as
            the head, and the losses of its ``loss(feats, data_samples)`` are added to the
            head's in :meth:`loss`. They are never run by :meth:`predict`; their weights
            (``aux_heads.<name>.*``) may be missing from a checkpoint loaded for testing and
            are left out of :meth:`inference_state_dict` (published checkpoints).
        loss_phases: alternating optimisation, or None (every loss at every step). A list of
            phases ``dict(losses=[patterns], lr_mult=1.0)``; training iteration ``t`` runs
            phase ``t % len(loss_phases)``: only the losses whose names match one of its
            ``fnmatch`` patterns are back-propagated (the others are still logged), and
            :class:`~mmreidparts.engine.hooks.LossPhaseLRHook` scales the learning rates
            of that step by ``lr_mult``.
        test_cfg: test-time options. ``flip`` (default False): also embed the mirrored
            image and merge the two sets of embeddings, row by row: ``flip_merge='mean'``
            (default) averages the head's final embeddings, ``'sum'`` adds the head's
            embeddings before its normalisation and normalises the sum (the head must
            implement ``predict_tensors(..., normalize=False)`` and ``normalize_embeddings``).
            ``flip_visibility`` ('max' default, or 'mean') combines the two visibilities:
            'max' keeps binary scores binary (an embedding counts if seen in either view),
            'mean' makes a part seen in one view only count half. ``flip_pairs``: pairs of
            embedding names whose rows are swapped in the mirrored prediction (left/right
            parts). ``visibility`` ('any' default, or 'soft'): what the test protocol needs
            of the head's visibility; 'soft' (VPM's partial protocols, whose Eq. 4 weights
            regions by predicted scores) stops at construction unless the head declares
            ``visibility_type = 'soft'`` (heads declare 'ones', 'binary' or 'soft').
            ``return_part_maps`` (default False): also store the predicted part maps in
            every data sample as ``pred_part_map`` (``PixelData`` ``[K+1, h, w]``, soft
            maps, channel 0 the background), what ``PartParsingMetric`` evaluates. True
            takes them from the head, the name of an aux head from that head; either
            way through the part maps contract, ``forward(feats)['part_maps']``. Maps a
            head already stores in its own prediction are kept.
        training_only_prefixes: state-dict key prefixes of modules used only for training:
            left out of published checkpoints and not asked for when one is loaded;
            ``aux_heads.`` is one of them when there are aux heads. Submodules may declare
            their own (``mmreidparts.utils.training_only_prefixes`` collects them all).
        init_cfg: initialisation config of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 aux_heads: Optional[Dict[str, dict]] = None,
                 loss_phases: Optional[Sequence[dict]] = None,
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
        self.aux_heads = self._build_aux_heads(aux_heads)
        self.loss_phases = check_loss_phases(loss_phases)
        self._phase_steps = 0  # phase counter when no runner reports the iteration
        self.test_cfg = self._check_test_cfg(test_cfg)
        if self.test_cfg['flip'] and self.test_cfg['flip_merge'] == 'sum' and not callable(
                getattr(self.head, 'normalize_embeddings', None)):
            raise ValueError("ReIDModel test_cfg.flip_merge='sum' needs a head with "
                             'normalize_embeddings() and predict_tensors(..., normalize=False); '
                             f'{type(self.head).__name__} has none (use flip_merge="mean")')
        self._check_visibility_need()
        self._check_part_maps_source()
        if isinstance(training_only_prefixes, str):
            training_only_prefixes = (training_only_prefixes, )
        declared = tuple(str(p) for p in training_only_prefixes)
        if len(self.aux_heads):
            declared += (AUX_HEADS_PREFIX, )
        self.training_only_prefixes = tuple(dict.fromkeys(declared))

    @staticmethod
    def _build_aux_heads(aux_heads: Optional[Dict[str, dict]]) -> nn.ModuleDict:
        """Build the training-only heads into a ``ModuleDict`` (empty when None)."""
        heads = nn.ModuleDict()
        if aux_heads is None:
            return heads
        if not isinstance(aux_heads, dict):
            raise TypeError(f'ReIDModel: aux_heads must be a dict {{name: head config}}, got '
                            f'{type(aux_heads).__name__}')
        for name, cfg in aux_heads.items():
            if not isinstance(cfg, (dict, nn.Module)):
                raise TypeError(f'ReIDModel: aux_heads[{name!r}] must be a config dict, got '
                                f'{cfg!r}')
            head = cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)
            if not callable(getattr(head, 'loss', None)):
                raise TypeError(f'ReIDModel: aux_heads[{name!r}] ({type(head).__name__}) has '
                                'no loss(feats, data_samples) method')
            heads[name] = head
        return heads

    def inference_state_dict(self) -> 'Dict[str, Tensor]':
        """The state dict without the training-only modules (what a published checkpoint holds)."""
        from mmreidparts.utils.checkpoint import training_only_prefixes
        prefixes = training_only_prefixes(self)
        state = self.state_dict()
        return type(state)((k, v) for k, v in state.items() if not k.startswith(prefixes))

    @staticmethod
    def _check_test_cfg(test_cfg: Optional[dict]) -> dict:
        """Fill in and validate the keys of ``test_cfg``."""
        cfg = dict(flip=False, flip_visibility='max', flip_merge='mean', flip_pairs=(),
                   visibility='any', return_part_maps=False)
        unknown = set(test_cfg or {}) - set(cfg)
        if unknown:
            raise KeyError(f'ReIDModel test_cfg: unknown keys {sorted(unknown)}; '
                           f'expected some of {sorted(cfg)}')
        cfg.update(test_cfg or {})
        if cfg['flip_visibility'] not in FLIP_VISIBILITY:
            raise ValueError(f'ReIDModel test_cfg.flip_visibility must be one of '
                             f'{FLIP_VISIBILITY}, got {cfg["flip_visibility"]!r}')
        if cfg['flip_merge'] not in FLIP_MERGES:
            raise ValueError(f'ReIDModel test_cfg.flip_merge must be one of {FLIP_MERGES}, '
                             f'got {cfg["flip_merge"]!r}')
        if cfg['visibility'] not in VISIBILITY_NEEDS:
            raise ValueError(f'ReIDModel test_cfg.visibility must be one of '
                             f'{VISIBILITY_NEEDS}, got {cfg["visibility"]!r}')
        if not isinstance(cfg['return_part_maps'], (bool, str)) or cfg['return_part_maps'] == '':
            raise ValueError('ReIDModel test_cfg.return_part_maps must be a bool or the name '
                             f'of an aux head, got {cfg["return_part_maps"]!r}')
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

    def _check_part_maps_source(self) -> None:
        """Check ``test_cfg.return_part_maps`` and let a head that stores its maps do so."""
        source = self.test_cfg['return_part_maps']
        if isinstance(source, str) and source not in self.aux_heads:
            raise KeyError(f'ReIDModel test_cfg.return_part_maps={source!r} names no aux head; '
                           f'the aux heads are {sorted(self.aux_heads)} (True: the head)')
        if source is True and hasattr(self.head, 'return_part_maps'):
            self.head.return_part_maps = True  # VPMHead, PoseDistillHead: predict stores them

    def part_maps_head(self) -> nn.Module:
        """The module whose ``forward(feats)['part_maps']`` gives the part maps.

        The aux head named by ``test_cfg.return_part_maps``, else the head.
        """
        source = self.test_cfg['return_part_maps']
        return self.aux_heads[source] if isinstance(source, str) else self.head

    def part_maps(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Part maps ``[N, K+1, h, w]`` of the features (the part maps contract)."""
        head = self.part_maps_head()
        out = head(feats)
        if not isinstance(out, dict) or 'part_maps' not in out:
            raise TypeError(f"ReIDModel test_cfg.return_part_maps: {type(head).__name__}"
                            "(feats) returns no 'part_maps' (a dict with part_maps [N, K+1, "
                            'h, w], softmax over channels, 0 = background, is the contract '
                            'of the part heads)')
        maps = out['part_maps']
        if not isinstance(maps, Tensor) or maps.dim() != 4:
            raise ValueError(f"{type(head).__name__}(feats)['part_maps'] must be [N, K+1, h, "
                             f'w], got {getattr(maps, "shape", type(maps).__name__)}')
        return maps

    def _attach_part_maps(self, feats: Tuple[Tensor, ...],
                          samples: List[ReIDDataSample]) -> List[ReIDDataSample]:
        """Set ``pred_part_map [K+1, h, w]`` on the samples that have none yet."""
        if all('pred_part_map' in s for s in samples):
            return samples
        maps = self.part_maps(feats).detach()
        for sample, part_map in zip(samples, maps):
            if 'pred_part_map' not in sample:
                sample.pred_part_map = PixelData(data=part_map)
        return samples

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
        """Dict of named losses (and logged metrics) of a training batch.

        The head's losses, then those of every training-only head on the same features.
        """
        feats = self.extract_feat(inputs)
        losses = dict(self.head.loss(feats, data_samples))
        for name, head in self.aux_heads.items():
            extra = head.loss(feats, data_samples)
            clash = sorted(set(extra) & set(losses))
            if clash:
                raise KeyError(f'ReIDModel: aux_heads[{name!r}] returns {clash}, which the '
                               'head (or another aux head) already returns; give its losses '
                               'other names')
            losses.update(extra)
        return losses

    def phase_index(self, iteration: Optional[int] = None) -> int:
        """Index of the loss phase of a training iteration (the runner's, when known)."""
        if not self.loss_phases:
            return 0
        if iteration is None:
            iteration = MessageHub.get_current_instance().get_info('iter')
        if iteration is None:  # outside a runner: count the optimisation steps
            iteration = self._phase_steps
            self._phase_steps += 1
        return int(iteration) % len(self.loss_phases)

    def phase_lr_mult(self, iteration: int) -> float:
        """Learning-rate factor of the loss phase of ``iteration`` (1 without phases)."""
        if not self.loss_phases:
            return 1.0
        return self.loss_phases[int(iteration) % len(self.loss_phases)]['lr_mult']

    def parse_losses(self, losses: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Sum the losses to optimise; with ``loss_phases``, only those of the current phase.

        Every term is still logged; ``loss`` is the sum that is back-propagated and
        ``phase`` the index of the phase.
        """
        total, log_vars = super().parse_losses(losses)
        if not self.loss_phases or not self.training:
            return total, log_vars
        index = self.phase_index()
        patterns = self.loss_phases[index]['losses']
        chosen = [k for k in log_vars if k != 'loss' and 'loss' in k
                  and any(fnmatch.fnmatchcase(k, p) for p in patterns)]
        if not chosen:
            raise KeyError(f'ReIDModel loss_phases[{index}] selects none of the losses '
                           f'{sorted(k for k in log_vars if "loss" in k and k != "loss")} '
                           f'with the patterns {list(patterns)}')
        if self.phase_lr_mult(index) != 1.0 and not getattr(self, '_phase_lr_hooked', False) \
                and not getattr(self, '_phase_lr_warned', False):
            print_log('ReIDModel: loss_phases set lr_mult, but no LossPhaseLRHook scales the '
                      'learning rate; add dict(type="LossPhaseLRHook") to custom_hooks',
                      logger='current', level=logging.WARNING)
            self._phase_lr_warned = True
        total = sum(log_vars[k] for k in chosen)
        log_vars['loss'] = total
        log_vars['phase'] = torch.tensor(float(index))
        return total, log_vars

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Embeddings ``[P, D]``, visibility ``[P]`` and names for every image; with
        ``test_cfg.return_part_maps`` also ``pred_part_map`` ``[K+1, h, w]``."""
        if data_samples is None:
            data_samples = [ReIDDataSample() for _ in range(inputs.shape[0])]
        feats = self.extract_feat(inputs)
        if not self.test_cfg['flip']:
            results = self.head.predict(feats, data_samples)
        else:
            embeddings, visibility = self._flip_tensors(inputs, feats)  # [N, P, D], [N, P]
            if getattr(self.head, 'return_part_maps', False):
                # the head's own prediction keeps what it adds (part maps); the embeddings
                # and visibility are then those of the two views
                results = self.head.predict(feats, data_samples)
            else:
                results = data_samples
            results = fill_predictions(results, embeddings.detach(), visibility.detach(),
                                       self.embedding_names, type(self.head).__name__)
        if self.test_cfg['return_part_maps']:
            results = self._attach_part_maps(feats, results)
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
        if not self.test_cfg['flip']:
            return self.head.predict_tensors(self.extract_feat(inputs))
        return self._flip_tensors(inputs, self.extract_feat(inputs))

    def _flip_tensors(self, inputs: Tensor, feats: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor]:
        """Embeddings and visibility of ``inputs`` (features ``feats``) and their mirror."""
        # flip_merge 'sum': the raw embeddings of both views are summed, then normalised
        kwargs = dict(normalize=False) if self.test_cfg['flip_merge'] == 'sum' else {}
        embeddings, visibility = self.head.predict_tensors(feats, **kwargs)
        mirrored = self.head.predict_tensors(self.extract_feat(inputs.flip(-1)), **kwargs)
        return self.combine_flip(embeddings, visibility, *mirrored, self.embedding_names)

    def combine_flip(self, embeddings: Tensor, visibility: Tensor, mirrored_embeddings: Tensor,
                     mirrored_visibility: Tensor,
                     names: Sequence[str]) -> Tuple[Tensor, Tensor]:
        """Merge ``[N, P, D]`` embeddings with those of the mirrored images.

        The mirrored rows are put under the original names first (``flip_pairs``), then
        averaged (``test_cfg.flip_merge='mean'``) or summed and normalised by the head
        (``'sum'``, on raw embeddings); the visibilities ``[N, P]`` are combined by
        ``test_cfg.flip_visibility``.
        """
        order = self._flip_order(names)
        if order != list(range(len(order))):
            mirrored_embeddings = mirrored_embeddings[:, order]
            mirrored_visibility = mirrored_visibility[:, order]
        if self.test_cfg['flip_merge'] == 'sum':
            embeddings = self.head.normalize_embeddings(embeddings + mirrored_embeddings)
        else:
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


def check_loss_phases(phases: Optional[Sequence[dict]]) -> Tuple[dict, ...]:
    """Validate ``loss_phases``: dicts ``(losses=[fnmatch patterns], lr_mult=float > 0)``."""
    if phases is None:
        return ()
    if isinstance(phases, dict) or not isinstance(phases, (list, tuple)) or not phases:
        raise ValueError('ReIDModel loss_phases must be None or a non-empty list of '
                         f'dict(losses=[...], lr_mult=...), got {phases!r}')
    out = []
    for i, phase in enumerate(phases):
        if not isinstance(phase, dict) or not set(phase) <= {'losses', 'lr_mult'} \
                or 'losses' not in phase:
            raise ValueError(f'ReIDModel loss_phases[{i}] must be dict(losses=[patterns], '
                             f'lr_mult=1.0), got {phase!r}')
        patterns = phase['losses']
        patterns = (patterns, ) if isinstance(patterns, str) else tuple(patterns)
        if not patterns or not all(isinstance(p, str) and p for p in patterns):
            raise ValueError(f'ReIDModel loss_phases[{i}].losses must be non-empty loss-name '
                             f'patterns, got {phase["losses"]!r}')
        lr_mult = float(phase.get('lr_mult', 1.0))
        if not lr_mult > 0:
            raise ValueError(f'ReIDModel loss_phases[{i}].lr_mult must be > 0, got {lr_mult}')
        out.append(dict(losses=patterns, lr_mult=lr_mult))
    return tuple(out)
