"""Per-part IoU of a part-based model's attention maps against a dataset's part labels.

    python tools/analysis_tools/part_iou.py CONFIG CHECKPOINT [--split query]
        [--batch-size 64] [--max-images N] [--resolution input|feature]
        [--device cpu] [--out iou.json] [--cfg-options k=v ...]

The images of one split (``query``, ``gallery`` or ``train``) of the config's test
dataset go through the test pipeline; their part labels are loaded as the training labels
are (``part_labels`` of the training dataset, or its ``LoadPifPafLabel`` transform) and
resized with the image to the model's input size. The part probability maps come from the
part maps contract, ``head(feats)['part_maps']`` (``[K+1, Hf, Wf]``, 0 = background), of
the model's head (or of the aux head named by ``model.test_cfg.return_part_maps``), so any
part head works; the scheme is the head's ``part_scheme`` or the training labels'. The
maps are upsampled bilinearly to that size and the most likely class of each pixel is
compared with the label: per class, IoU = |pred & label| /
|pred | label| over all pixels of the split (ignored label pixels, 255, excluded). With
``--resolution feature`` the comparison is made on the map itself, against the labels
brought to the map size the way the head's training targets are (its ``label_resize``):
this measures what the part classifier learnt, apart from the coarseness of the map. The
table lists every class with its IoU and its share of the labelled and predicted pixels,
then the mean IoU over the K parts and over the K+1 classes. The counting is that of
``PartParsingMetric`` (``mmreidparts.evaluation.functional.parsing``), which reports the
same figures during validation.
"""
import argparse
import copy
import json
import os.path as osp
import sys
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from prettytable import PrettyTable
from torch import Tensor, nn

from mmreidparts.apis import init_model
from mmreidparts.evaluation.functional import (
    counts_from_confusion,
    parsing_iou,
    part_confusion,
    predicted_parsing,
)
from mmreidparts.registry import DATASETS
from mmreidparts.structures import get_part_scheme
from mmreidparts.utils import register_all_modules
from mmreidparts.utils.config import read_config

IGNORE_INDEX = 255
SPLITS = ('query', 'gallery', 'train')
RESOLUTIONS = ('input', 'feature')
# the tool's resolutions in the terms of PartParsingMetric
METRIC_RESOLUTION = dict(input='label', feature='map')


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


def part_scheme_of(cfg: Config, head: nn.Module) -> Optional[str]:
    """The scheme of the part maps: the head's ``part_scheme``, else the training labels'."""
    scheme = getattr(head, 'part_scheme', None)
    if scheme:
        return scheme
    train = (cfg.get('train_dataloader') or {}).get('dataset', {})
    return (train.get('part_labels') or {}).get('scheme')


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


def part_map_head(model: nn.Module) -> nn.Module:
    """The module that gives the part maps: ``model.part_maps_head()`` (the head, or the aux
    head named by ``test_cfg.return_part_maps``), else ``model.head``."""
    pick = getattr(model, 'part_maps_head', None)
    return pick() if callable(pick) else model.head


def part_maps(model: nn.Module, inputs: Tensor) -> Tensor:
    """``head(feats)['part_maps']`` ``[N, K+1, Hf, Wf]``: the part maps contract of the heads."""
    head = part_map_head(model)
    with torch.no_grad():
        out = head(model.extract_feat(inputs))
    if not isinstance(out, dict) or 'part_maps' not in out:
        raise TypeError(f"{type(head).__name__}(feats) returns no 'part_maps' [N, K+1, h, w] "
                        '(softmax over channels, 0 = background): not a part head')
    return out['part_maps']


def parsed_batch(model: nn.Module, batch: dict,
                 resolution: str = 'input') -> Tuple[Tensor, Tensor, int]:
    """``(pred, label, K+1)``: the class ids ``[N, H, W]`` of the part maps and the labels.

    'input': the maps are upsampled (bilinear) to the label size; 'feature': the labels
    are brought to the map size as the head does for its training targets (its
    ``label_resize``). The same code as ``PartParsingMetric``'s
    (:func:`mmreidparts.evaluation.functional.predicted_parsing`).
    """
    data = model.data_preprocessor(batch, False)
    maps = part_maps(model, data['inputs'])  # [N, K+1, Hf, Wf]
    labels = torch.stack([s.gt_part_map.data.reshape(s.gt_part_map.shape[-2:])
                          for s in data['data_samples']]).to(maps.device).long()
    label_resize = getattr(part_map_head(model), 'label_resize', 'bilinear')
    pred, label = predicted_parsing(maps, labels, METRIC_RESOLUTION[resolution], label_resize,
                                    IGNORE_INDEX)
    return pred, label, maps.shape[1]


def predicted_classes(model: nn.Module, batch: dict,
                      resolution: str = 'input') -> Tuple[Tensor, Tensor]:
    """``(pred, label)``, ``[N, H, W]``: argmax of the part maps and the label maps."""
    return parsed_batch(model, batch, resolution)[:2]


def confusion(pred: Tensor, label: Tensor, num_classes: int,
              ignore_index: int = IGNORE_INDEX) -> Tensor:
    """``[num_classes, num_classes]`` pixel counts, rows = label, columns = prediction."""
    return part_confusion(pred, label, num_classes, ignore_index)


def iou_from_confusion(conf: Tensor) -> Dict[str, np.ndarray]:
    """Per-class IoU (NaN where a class is neither labelled nor predicted) and pixel shares."""
    return {k: v.numpy() for k, v in parsing_iou(counts_from_confusion(conf)).items()}


def evaluate(model: nn.Module, dataset, batch_size: int = 64,
             max_images: Optional[int] = None,
             resolution: str = 'input') -> Tuple[Tensor, int]:
    """The label x prediction confusion matrix over the split and the number of images.

    K+1 is the number of channels of the part maps; a label id outside 0..K stops with a
    message naming K.
    """
    conf: Optional[Tensor] = None
    count = 0
    for batch in iter_batches(dataset, batch_size, max_images):
        pred, label, num_classes = parsed_batch(model, batch, resolution)
        batch_conf = confusion(pred, label, num_classes)
        conf = batch_conf if conf is None else conf + batch_conf
        count += pred.shape[0]
    if conf is None:
        raise ValueError('the split has no images')
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
    head = part_map_head(model)
    scheme = part_scheme_of(cfg, head)
    if scheme is None:
        sys.exit(f'{type(head).__name__} declares no part_scheme and the training dataset has '
                 'no part_labels: the scheme of the labels to compare with is unknown')
    num_parts = get_part_scheme(scheme).num_parts
    dataset = build_split_dataset(cfg, args.split, scheme)
    try:
        conf, count = evaluate(model, dataset, args.batch_size, args.max_images,
                               args.resolution)
    except TypeError as err:
        sys.exit(str(err))
    if conf.shape[0] != num_parts + 1:
        sys.exit(f"{type(head).__name__}(feats)['part_maps'] has {conf.shape[0]} channels "
                 f'(K={conf.shape[0] - 1}) but the part scheme {scheme!r} of the labels has '
                 f'K={num_parts}')
    names = ('background', ) + tuple(get_part_scheme(scheme).names)
    table, figures = report(names, iou_from_confusion(conf))
    print(f'part IoU of {args.checkpoint} on the {args.split} split ({count} images, '
          f'scheme {scheme}, K={num_parts}, at {args.resolution} resolution)')
    print(table)
    if args.out:
        figures.update(split=args.split, images=count, scheme=scheme,
                       resolution=args.resolution,
                       confusion=conf.tolist())
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
