"""Per-part IoU of a part-based model's attention maps against a dataset's part labels.

    python tools/analysis_tools/part_iou.py CONFIG CHECKPOINT [--split query]
        [--batch-size 64] [--max-images N] [--resolution input|feature]
        [--device cpu] [--out iou.json] [--cfg-options k=v ...]

The images of one split (``query``, ``gallery`` or ``train``) of the config's test
dataset go through the test pipeline; their part labels are loaded as the training labels
are (``part_labels`` of the training dataset, or its ``LoadPifPafLabel`` transform) and
resized with the image to the model's input size. The head's part probability maps
(``[K+1, Hf, Wf]``, 0 = background) are upsampled bilinearly to that size and the most
likely class of each pixel is compared with the label: per class, IoU = |pred & label| /
|pred | label| over all pixels of the split (ignored label pixels, 255, excluded). With
``--resolution feature`` the comparison is made on the map itself, against the labels
brought to the map size the way the head's training targets are (its ``label_resize``):
this measures what the part classifier learnt, apart from the coarseness of the map. The
table lists every class with its IoU and its share of the labelled and predicted pixels,
then the mean IoU over the K parts and over the K+1 classes.
"""
import argparse
import copy
import json
import os.path as osp
import sys
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from prettytable import PrettyTable
from torch import Tensor, nn

from mmreidparts.apis import init_model
from mmreidparts.models.utils import resize_part_labels
from mmreidparts.registry import DATASETS
from mmreidparts.structures import get_part_scheme
from mmreidparts.utils import register_all_modules
from mmreidparts.utils.config import read_config

IGNORE_INDEX = 255
SPLITS = ('query', 'gallery', 'train')
RESOLUTIONS = ('input', 'feature')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(
        description='Per-part IoU of the predicted part maps against the part labels')
    parser.add_argument('config', help='config of a part-based model (e.g. BPBreID)')
    parser.add_argument('checkpoint', help='checkpoint of that model')
    parser.add_argument('--split', choices=SPLITS, default='query', help='dataset split')
    parser.add_argument('--batch-size', type=int, default=64, help='images per batch')
    parser.add_argument('--max-images', type=int, default=None,
                        help='use only the first N images of the split')
    parser.add_argument('--resolution', choices=RESOLUTIONS, default='input',
                        help='compare at the input size (maps upsampled) or at the feature '
                        'map size (labels resized like the training targets)')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda if any)')
    parser.add_argument('--out', default=None, help='also write the figures to this JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)



def build_model(cfg: Config, checkpoint: Optional[str], device: torch.device) -> nn.Module:
    """The config's model in eval mode, with the checkpoint's weights (checked) loaded."""
    return init_model(cfg, checkpoint, device=str(device))


def _type_name(transform: dict) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def label_loader(cfg: Config, scheme: str) -> Tuple[Optional[dict], dict]:
    """``(part_labels, transform)`` that load the split's labels as the training ones are."""
    train = (cfg.get('train_dataloader') or {}).get('dataset', {})
    for transform in train.get('pipeline', []):
        if _type_name(transform) == 'LoadPifPafLabel':
            return None, copy.deepcopy(dict(transform))
    part_labels = copy.deepcopy(dict(train.get('part_labels') or dict(scheme=scheme)))
    if part_labels.get('scheme', scheme) != scheme:
        raise ValueError(f'the training labels use the part scheme {part_labels["scheme"]!r} '
                         f'but the head predicts {scheme!r}')
    part_labels['scheme'] = scheme
    return part_labels, dict(type='LoadPartLabel')


def build_split_dataset(cfg: Config, split: str, scheme: str):
    """The split of the config's test dataset, with part labels, through the test pipeline.

    ``LoadPartLabel`` (or the training ``LoadPifPafLabel``) is inserted right after the
    image loading, so the labels follow every later geometric transform.
    """
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    if split == 'train':
        ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    part_labels, loader = label_loader(cfg, scheme)
    pipeline = [dict(t) for t in ds_cfg.get('pipeline', [])
                if _type_name(t) not in ('LoadPartLabel', 'LoadPifPafLabel')]
    names = [_type_name(t) for t in pipeline]
    if 'LoadReIDImage' not in names:
        raise ValueError('the test pipeline has no LoadReIDImage transform')
    pipeline.insert(names.index('LoadReIDImage') + 1, loader)
    if split == 'train':  # deterministic: drop the random augmentations
        pipeline = [t for t in pipeline if _type_name(t) not in (
            'PadRandomCrop', 'RandomErasing', 'ReIDRandomFlip', 'VPMRandomCrop')]
    ds_cfg.update(mode=split, pipeline=pipeline, part_labels=part_labels)
    if part_labels is not None:
        ds_cfg['part_labels'] = dict(part_labels, optional=True)
    return DATASETS.build(ds_cfg)


def iter_batches(dataset, batch_size: int, max_images: Optional[int] = None) -> Iterator[dict]:
    """Collated batches of the dataset's first ``max_images`` (default all) items, in order."""
    total = len(dataset) if max_images is None else min(max_images, len(dataset))
    for start in range(0, total, batch_size):
        yield pseudo_collate([dataset[i] for i in range(start, min(start + batch_size, total))])


def predicted_classes(model: nn.Module, batch: dict,
                      resolution: str = 'input') -> Tuple[Tensor, Tensor]:
    """``(pred, label)``, ``[N, H, W]``: argmax of the part maps and the label maps.

    'input': the maps are upsampled (bilinear) to the label size; 'feature': the labels
    are brought to the map size as the head does for its training targets.
    """
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        out = model.head(model.extract_feat(data['inputs']))
    maps = out['part_maps']  # [N, K+1, Hf, Wf]
    labels = torch.stack([s.gt_part_map.data.reshape(s.gt_part_map.shape[-2:])
                          for s in data['data_samples']]).to(maps.device).long()
    if resolution == 'feature':
        labels = resize_part_labels(labels, maps.shape[-2:], maps.shape[1],
                                    getattr(model.head, 'label_resize', 'bilinear'),
                                    IGNORE_INDEX)
        return maps.argmax(dim=1), labels
    up = F.interpolate(maps, size=labels.shape[-2:], mode='bilinear', align_corners=False)
    return up.argmax(dim=1), labels


def confusion(pred: Tensor, label: Tensor, num_classes: int,
              ignore_index: int = IGNORE_INDEX) -> Tensor:
    """``[num_classes, num_classes]`` pixel counts, rows = label, columns = prediction."""
    valid = label != ignore_index
    idx = label[valid] * num_classes + pred[valid]
    return torch.bincount(idx.flatten().cpu(), minlength=num_classes ** 2).reshape(
        num_classes, num_classes)


def iou_from_confusion(conf: Tensor) -> Dict[str, np.ndarray]:
    """Per-class IoU (NaN where a class is neither labelled nor predicted) and pixel shares."""
    conf = conf.double()
    inter = conf.diag()
    labelled, predicted = conf.sum(dim=1), conf.sum(dim=0)
    union = labelled + predicted - inter
    iou = torch.where(union > 0, inter / union.clamp(min=1), torch.full_like(inter, float('nan')))
    total = conf.sum().clamp(min=1)
    return dict(iou=iou.numpy(), label_share=(labelled / total).numpy(),
                pred_share=(predicted / total).numpy())


def evaluate(model: nn.Module, dataset, batch_size: int = 64,
             max_images: Optional[int] = None,
             resolution: str = 'input') -> Tuple[Tensor, int]:
    """The label x prediction confusion matrix over the split and the number of images."""
    num_classes = model.head.num_parts + 1
    conf = torch.zeros(num_classes, num_classes, dtype=torch.long)
    count = 0
    for batch in iter_batches(dataset, batch_size, max_images):
        pred, label = predicted_classes(model, batch, resolution)
        conf += confusion(pred, label, num_classes)
        count += pred.shape[0]
    return conf, count


def report(names: Sequence[str], stats: Dict[str, np.ndarray]) -> Tuple[str, dict]:
    """The printed table and the JSON-able figures (IoU in percent)."""
    table = PrettyTable()
    table.field_names = ['class', 'IoU', 'label px %', 'pred px %']
    rows: List[dict] = []
    for i, name in enumerate(names):
        iou = stats['iou'][i]
        rows.append(dict(name=name, iou=None if np.isnan(iou) else 100 * float(iou),
                         label_share=100 * float(stats['label_share'][i]),
                         pred_share=100 * float(stats['pred_share'][i])))
        table.add_row([name, '-' if np.isnan(iou) else f'{100 * iou:.2f}',
                       f'{rows[-1]["label_share"]:.2f}', f'{rows[-1]["pred_share"]:.2f}'])
    mean_parts = 100 * float(np.nanmean(stats['iou'][1:]))
    mean_all = 100 * float(np.nanmean(stats['iou']))
    table.add_row(['mean (parts)', f'{mean_parts:.2f}', '', ''])
    table.add_row(['mean (all)', f'{mean_all:.2f}', '', ''])
    return table.get_string(), dict(classes=rows, mIoU_parts=mean_parts, mIoU_all=mean_all)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Evaluate the part maps of a checkpoint on one split and print the IoU table."""
    args = parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'{what} file not found: {path}')
    register_all_modules()
    cfg = read_config(args.config, args.cfg_options)
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    model = build_model(cfg, args.checkpoint, device)
    head = model.head
    if not hasattr(head, 'num_parts') or not hasattr(head, 'part_scheme'):
        sys.exit(f'{type(head).__name__} predicts no part maps (a part-based head with '
                 'num_parts and part_scheme, e.g. BPBreIDHead, is needed)')
    dataset = build_split_dataset(cfg, args.split, head.part_scheme)
    conf, count = evaluate(model, dataset, args.batch_size, args.max_images, args.resolution)
    names = ('background', ) + tuple(get_part_scheme(head.part_scheme).names)
    table, figures = report(names, iou_from_confusion(conf))
    print(f'part IoU of {args.checkpoint} on the {args.split} split ({count} images, '
          f'scheme {head.part_scheme}, K={head.num_parts}, at {args.resolution} resolution)')
    print(table)
    if args.out:
        figures.update(split=args.split, images=count, scheme=head.part_scheme,
                       resolution=args.resolution,
                       confusion=conf.tolist())
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
