"""Part probability maps: pixel logits, binary visibility, label maps at the feature size."""
from collections import OrderedDict
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

VISIBILITY_MODES = ('threshold', 'argmax')
LABEL_RESIZES = ('bilinear', 'nearest', 'area')


def build_pixel_classifier(in_channels: int, num_classes: int) -> nn.Sequential:
    """BPBreID's pixel part classifier: ``bn`` (BatchNorm2d), ``conv`` (1x1 to ``num_classes``).

    The BN starts at weight 1, bias 0; the conv weight is drawn from ``N(0, 0.001^2)``
    with a zero bias (the release's PixelToPartClassifier).
    """
    layer = nn.Sequential(OrderedDict(
        bn=nn.BatchNorm2d(in_channels), conv=nn.Conv2d(in_channels, num_classes, 1)))
    nn.init.ones_(layer.bn.weight)
    nn.init.zeros_(layer.bn.bias)
    nn.init.normal_(layer.conv.weight, std=0.001)
    nn.init.zeros_(layer.conv.bias)
    return layer


def pixel_logits(x: Tensor, conv: nn.Conv2d) -> Tensor:
    """Logits ``[N, J, H, W]`` of the 1x1 convolution ``conv`` on the map ``x [N, C, H, W]``.

    Computed as one batched matrix product with the 1x1 kernel: the same result as the
    convolution, with a much cheaper backward pass for the few output channels of a
    pixel classifier. The kernel is expanded over the batch (``bmm``, not a broadcast
    ``matmul``) so that the gradient of ``x`` comes back in ``x``'s own layout: a
    broadcast product returns it channels-last, and a batch norm in front of the
    classifier then takes a slow mixed-layout backward pass (5x slower on a CPU for a
    ``[16, 256, 64, 32]`` bfloat16 map).
    """
    if conv.kernel_size != (1, 1) or conv.groups != 1:
        raise ValueError(f'pixel_logits needs a 1x1 convolution without groups, got {conv}')
    weight = conv.weight.view(conv.out_channels, -1)  # [J, C]
    logits = torch.bmm(weight.expand(x.shape[0], -1, -1), x.flatten(2))  # [N, J, HW]
    if conv.bias is not None:
        logits = logits + conv.bias[:, None]
    return logits.view(x.shape[0], conv.out_channels, *x.shape[2:])


def part_visibility(maps: Tensor, mode: str = 'threshold', threshold: float = 0.4) -> Tensor:
    """Binary visibility ``[N, K]`` of the parts of attention maps ``[N, K+1, H, W]``.

    'threshold': part k is visible iff ``max_hw M_k > threshold`` (strict).
    'argmax': part k is visible iff it is the most likely class at one location at least.
    """
    if maps.dim() != 4 or maps.shape[1] < 2:
        raise ValueError(f'part_visibility expects maps [N, K+1, H, W], got {tuple(maps.shape)}')
    if mode == 'threshold':
        return maps[:, 1:].flatten(2).amax(dim=2) > threshold  # [N, K]
    if mode == 'argmax':
        winner = maps.argmax(dim=1).flatten(1)  # [N, H*W]
        hits = F.one_hot(winner, maps.shape[1]).amax(dim=1)  # [N, K+1]
        return hits[:, 1:].bool()  # [N, K]
    raise ValueError(f'visibility_mode must be one of {VISIBILITY_MODES}, got {mode!r}')


def resize_part_labels(labels: Tensor,
                       size: Tuple[int, int],
                       num_classes: int,
                       mode: str = 'bilinear',
                       ignore_index: int = 255) -> Tensor:
    """Bring part labels ``[N, H, W]`` (ids 0..num_classes-1 or ``ignore_index``) to ``size``.

    'bilinear' follows the release's label path for hard labels: a nearest resize to a
    quarter of the input size (never below ``size``), then the one-hot maps (with the
    ignored pixels as one more class) are resized bilinearly (align_corners=True) and
    the most likely class is taken at each location. 'area' takes the majority class of
    the pixels each location covers; 'nearest' samples the nearest pixel.

    Returns:
        ``[N, *size]`` long labels.
    """
    if labels.dim() != 3:
        raise ValueError(f'part labels must be [N, H, W], got {tuple(labels.shape)}')
    size = (int(size[0]), int(size[1]))
    if tuple(labels.shape[1:]) == size:
        return labels.long()
    if mode not in LABEL_RESIZES:
        raise ValueError(f'label_resize must be one of {LABEL_RESIZES}, got {mode!r}')
    if mode == 'nearest':
        return F.interpolate(labels[:, None].float(), size=size, mode='nearest')[:, 0].long()
    if mode == 'bilinear':
        quarter = (max(labels.shape[1] // 4, size[0]), max(labels.shape[2] // 4, size[1]))
        if quarter != tuple(labels.shape[1:]):
            labels = F.interpolate(labels[:, None].float(), size=quarter,
                                   mode='nearest')[:, 0].long()
    labels = labels.long()
    classes = torch.where(labels == ignore_index, torch.full_like(labels, num_classes), labels)
    onehot = F.one_hot(classes, num_classes + 1).permute(0, 3, 1, 2).float()  # [N, C+1, H, W]
    if mode == 'bilinear':
        soft = F.interpolate(onehot, size=size, mode='bilinear', align_corners=True)
    else:
        soft = F.adaptive_avg_pool2d(onehot, size)
    out = soft.argmax(dim=1)  # [N, h, w]
    return torch.where(out == num_classes, torch.full_like(out, ignore_index), out)


def stack_part_labels(data_samples: Sequence, device: torch.device, owner: str,
                      hint: str) -> Tensor:
    """Stack the ``gt_part_map`` of data samples into ``[N, H, W]`` long labels on ``device``.

    A sample without one stops with a KeyError naming ``owner``, the sample's image and
    ``hint`` (how to provide the labels).
    """
    maps = []
    for i, sample in enumerate(data_samples):
        if 'gt_part_map' not in sample:
            raise KeyError(f'{owner}: data sample {i} '
                           f'({sample.metainfo.get("img_path", "no img_path")}) has no '
                           f'gt_part_map; {hint}')
        label = sample.gt_part_map.data
        maps.append(label.reshape(-1, *label.shape[-2:])[0])
    return torch.stack(maps).to(device).long()  # [N, H, W]


def part_targets(data_samples: Sequence, num_parts: int, size: Tuple[int, int],
                 device: torch.device, owner: str, part_scheme: str, hint: str,
                 mode: str = 'bilinear', ignore_index: int = 255) -> Tensor:
    """The samples' ``gt_part_map`` checked against K and brought to the map size ``[N, h, w]``.

    A sample without labels stops with :func:`stack_part_labels`'s KeyError (``hint`` says
    how to provide them); a label id outside ``0..num_parts`` (and not ``ignore_index``)
    stops with a ValueError naming the head's K and ``part_scheme``.
    """
    labels = stack_part_labels(data_samples, device, owner, hint)
    # min/max of the labelled pixels (ignored ones read as 0) without a gather
    low, high = (int(v) for v in torch.aminmax(labels.masked_fill(labels == ignore_index, 0)))
    if low < 0 or high > num_parts:
        bad = high if high > num_parts else low
        raise ValueError(
            f'{owner}: gt_part_map holds the id {bad} (max id {high}), but the head has '
            f'K={num_parts} parts (num_parts, part_scheme {part_scheme!r}); ids must be 0 '
            f'(background), 1..{num_parts} or {ignore_index} (ignored)')
    return resize_part_labels(labels, size, num_parts + 1, mode, ignore_index)
