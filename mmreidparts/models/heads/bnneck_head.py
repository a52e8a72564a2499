"""BNNeck head of the strong ReID baseline (BoT, Luo et al. 2019)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmreidparts.models.utils import GlobalPool
from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, fill_predictions

TEST_FEATURES = ('after_bn', 'before_bn')


def gather_labels(data_samples: Sequence[ReIDDataSample], num_classes: int,
                  device: torch.device) -> Tensor:
    """Stack the ``gt_label`` of the samples into ``[N]`` and check they fit ``num_classes``."""
    missing = [i for i, s in enumerate(data_samples) if 'gt_label' not in s]
    if missing:
        raise KeyError(f'data samples {missing[:5]} have no gt_label: training needs the '
                       'identity index of every image')
    labels = torch.cat([s.gt_label.reshape(-1) for s in data_samples]).long().to(device)  # [N]
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.numel():
        raise ValueError(
            f'gt_label {bad[0].item()} is outside [0, {num_classes}): the num_classes '
            f'({num_classes}) of the head in the config does not match the number of '
            'training identities of the dataset (a label of -1 comes from a query or '
            'gallery split, which has no training labels)')
    return labels


@MODELS.register_module()
class BNNeckHead(BaseModule):
    """Global pooling -> BNNeck -> identity classifier, with BoT's losses.

    Training: the pre-BN feature ``f_t`` [N, C] feeds the triplet (and center) loss, the
    BN'd feature ``f_i`` feeds a bias-free linear classifier and the label-smoothed
    cross-entropy. The BatchNorm's bias is frozen at 0. Test: one embedding per image,
    ``f_i`` ('after_bn') or ``f_t`` ('before_bn'), named ``'global'`` with visibility 1.

    Args:
        in_channels: channels of the input feature map.
        num_classes: number of training identities.
        in_index: which of the backbone's outputs to use.
        pool: 'avg', 'max' or 'gem'.
        loss_cls: config of the identity loss (on the BN'd feature's logits).
        loss_triplet: config of the metric loss (on the pre-BN feature), or None.
        loss_center: config of a center loss on the pre-BN feature, or None;
            ``num_classes`` and ``feat_dim`` are filled in.
        test_feature: 'after_bn' or 'before_bn'.
        init_cfg: initialisation config (classifier ~ N(0, 0.001)).
    """

    visibility_type = 'ones'  # one global embedding, always visible

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 in_index: int = -1,
                 pool: str = 'avg',
                 loss_cls: Optional[dict] = dict(type='CrossEntropyLoss', label_smoothing=0.1),
                 loss_triplet: Optional[dict] = dict(type='TripletLoss', margin=0.3),
                 loss_center: Optional[dict] = None,
                 test_feature: str = 'after_bn',
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(
                     type='Normal', layer='Linear', std=0.001)) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels <= 0 or num_classes <= 0:
            raise ValueError(f'BNNeckHead needs in_channels > 0 and num_classes > 0, got '
                             f'{in_channels} and {num_classes}')
        if test_feature not in TEST_FEATURES:
            raise ValueError(f'BNNeckHead test_feature must be one of {TEST_FEATURES}, '
                             f'got {test_feature!r}')
        if loss_cls is None and loss_triplet is None and loss_center is None:
            raise ValueError('BNNeckHead needs at least one of loss_cls, loss_triplet, '
                             'loss_center')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.in_index = in_index
        self.test_feature = test_feature
        self.pool = GlobalPool(pool)
        self.bnneck = nn.BatchNorm1d(in_channels)
        nn.init.ones_(self.bnneck.weight)
        nn.init.zeros_(self.bnneck.bias)
        self.bnneck.bias.requires_grad_(False)  # BoT: no shift after the neck
        self.classifier = nn.Linear(in_channels, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)
        self.loss_cls = MODELS.build(loss_cls) if loss_cls is not None else None
        self.loss_triplet = MODELS.build(loss_triplet) if loss_triplet is not None else None
        self.loss_center = None
        if loss_center is not None:
            loss_center = dict(loss_center)
            loss_center.setdefault('num_classes', num_classes)
            loss_center.setdefault('feat_dim', in_channels)
            self.loss_center = MODELS.build(loss_center)

    def pre_logits(self, feats: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor]:
        """Pooled features before and after the BNNeck, both ``[N, C]``."""
        if not isinstance(feats, (tuple, list)):
            feats = (feats, )
        x = feats[self.in_index]  # [N, C, H, W] or [N, C]
        if x.shape[1] != self.in_channels:
            raise ValueError(f'BNNeckHead(in_channels={self.in_channels}) got features with '
                             f'{x.shape[1]} channels {tuple(x.shape)}; fix in_channels in the '
                             'config')
        feat = self.pool(x)  # [N, C]
        return feat, self.bnneck(feat)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Identity logits ``[N, num_classes]``."""
        _, bn_feat = self.pre_logits(feats)
        return self.classifier(bn_feat)

    def loss(self, feats: Tuple[Tensor, ...],
             data_samples: List[ReIDDataSample]) -> Dict[str, Tensor]:
        """Losses ``loss_cls``, ``loss_triplet`` (``loss_center``) and ``acc_top1`` (percent)."""
        feat, bn_feat = self.pre_logits(feats)  # [N, C], [N, C]
        labels = gather_labels(data_samples, self.num_classes, feat.device)  # [N]
        if labels.numel() != feat.shape[0]:
            raise ValueError(f'{labels.numel()} labels for a batch of {feat.shape[0]} images')
        logits = self.classifier(bn_feat)  # [N, num_classes]
        losses = {}
        if self.loss_cls is not None:
            losses['loss_cls'] = self.loss_cls(logits, labels)
        if self.loss_triplet is not None:
            losses['loss_triplet'] = self.loss_triplet(feat, labels)
        if self.loss_center is not None:
            losses['loss_center'] = self.loss_center(feat, labels)
        with torch.no_grad():
            # logged by mmengine, not summed into the loss (its key holds no 'loss')
            losses['acc_top1'] = (logits.argmax(dim=1) == labels).float().mean() * 100
        return losses

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """Names of the test embeddings: ``('global', )``."""
        return ('global', )

    def predict_tensors(self, feats: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor]:
        """Test embeddings ``[N, 1, C]`` and visibility ``[N, 1]`` (ones), tensors only."""
        feat, bn_feat = self.pre_logits(feats)
        emb = bn_feat if self.test_feature == 'after_bn' else feat  # [N, C]
        return emb[:, None], emb.new_ones(emb.shape[0], 1)

    def predict(self, feats: Tuple[Tensor, ...],
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Set one embedding ``[1, C]`` named 'global', with visibility 1, per image."""
        embeddings, visibility = self.predict_tensors(feats)  # [N, 1, C], [N, 1]
        return fill_predictions(data_samples, embeddings.detach(), visibility,
                                self.embedding_names, type(self).__name__)
