"""Draw the body part attention maps of a part-attention model (BPBreID) on images.

    python tools/analysis_tools/visualize_part_attention.py CONFIG CHECKPOINT \
        --images a.jpg b.jpg --out sheet.png [--label-root ROOT [--label-scheme S]]

One row per image: the image, its foreground map, then each of the K part maps over
the image, titled with the part name, the part's visibility (1/0) and its maximum
probability. The images go through the config's test pipeline and the model's data
preprocessor, exactly as at test time. The maps come from the part maps contract of the
heads, ``head(feats)['part_maps']`` (``[N, K+1, h, w]``, softmax, 0 = background), of the
model's head or of the aux head named by ``model.test_cfg.return_part_maps``, so any part
head works (BPBreID, DROP, PAL's part segmentation head). The visibility is the head's
``visibility`` output when it has one, else BPBreID's rule (max probability > 0.4); the
part names are the head's ``part_names``, else those of its ``part_scheme`` or of the
training labels' scheme.

With ``--label-root`` the part labels are drawn beside the maps: two more panels after
the image, the label map and the predicted parsing (most likely class of each pixel) in
the same colours, and each part's title tells whether the label holds that part
(``lab=1/0``). A label is read from ``<label-root>/<label-scheme>/<image's folder
name>/<image stem>.png``, the layout ``generate_part_labels.py`` and the synthetic
generator write; a label in a finer scheme (e.g. ``atoms13``) is regrouped into the
model's scheme.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose

from mmreidparts.apis.inference import test_pipeline_cfg
from mmreidparts.datasets.transforms import LoadPartLabel
from mmreidparts.models.utils import part_visibility
from mmreidparts.part_labels.visualize import overlay
from mmreidparts.registry import MODELS
from mmreidparts.structures import get_part_scheme
from mmreidparts.utils import load_reid_checkpoint, register_all_modules
from mmreidparts.utils.config import read_config

VISIBILITY_THRESHOLD = 0.4  # BPBreID's, for heads that give no visibility


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Sheet of body part attention maps.')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint of the model')
    parser.add_argument('--images', nargs='+', required=True, help='image files')
    parser.add_argument('--out', required=True, help='output image (e.g. sheet.png)')
    parser.add_argument('--alpha', type=float, default=0.5,
                        help='opacity of the attention maps over the image')
    parser.add_argument('--label-root', default=None,
                        help='root of part label maps (<root>/<scheme>/<split>/<stem>.png) '
                        'to draw beside the maps')
    parser.add_argument('--label-scheme', default=None,
                        help='scheme of the stored labels (default: the model\'s)')
    parser.add_argument('--device', default='cpu', help='torch device')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def _test_pipeline(cfg: Config) -> list:
    """The test pipeline of a config, without its label-loading steps (the images given on
    the command line have no record to read labels from)."""
    return test_pipeline_cfg(cfg)


@torch.no_grad()
def part_attention(model: torch.nn.Module, pipeline: Compose,
                   paths: Sequence[str]) -> Tuple[List[np.ndarray], np.ndarray, np.ndarray]:
    """Run the model on image files.

    Returns:
        the network inputs as RGB uint8 images ``[H, W, 3]``, the attention maps
        ``[N, K+1, Hf, Wf]`` and the part visibility ``[N, K]``.
    """
    records = []
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'image not found: {path}')
        records.append(pipeline(dict(img_path=osp.abspath(path), pid=-1, camid=-1,
                                     gt_label=-1, is_query=False, part_map_path=None,
                                     part_scheme=None)))
    batch = dict(inputs=[r['inputs'] for r in records],
                 data_samples=[r['data_samples'] for r in records])
    data = model.data_preprocessor(batch, False)
    head = part_map_head(model)
    out = head(model.extract_feat(data['inputs']))
    if not isinstance(out, dict) or 'part_maps' not in out:
        raise TypeError(f'{type(head).__name__}(feats) must return a dict with "part_maps" '
                        '[N, K+1, h, w] (the part maps contract of the part heads)')
    maps = out['part_maps']
    visibility = out.get('visibility')
    if visibility is None or tuple(visibility.shape) != (maps.shape[0], maps.shape[1] - 1):
        visibility = part_visibility(maps.float(), 'threshold', VISIBILITY_THRESHOLD)
    images = [r['inputs'].permute(1, 2, 0).numpy()[..., ::-1].copy() for r in records]  # RGB
    return images, maps.float().cpu().numpy(), visibility.cpu().numpy()


def part_map_head(model: torch.nn.Module) -> torch.nn.Module:
    """``model.part_maps_head()`` (head or named aux head), else ``model.head``."""
    pick = getattr(model, 'part_maps_head', None)
    return pick() if callable(pick) else model.head


def part_scheme_of(cfg: Config, head: torch.nn.Module) -> Optional[str]:
    """The head's ``part_scheme``, else the scheme of the training labels (or None)."""
    scheme = getattr(head, 'part_scheme', None)
    if scheme:
        return scheme
    train = (cfg.get('train_dataloader') or {}).get('dataset', {})
    return (train.get('part_labels') or {}).get('scheme')


def part_names_of(head: torch.nn.Module, scheme: Optional[str], num_parts: int) -> List[str]:
    """The K part names: the head's, its scheme's, or ``part1..partK``."""
    names = getattr(head, 'part_names', None)
    if names is None and scheme is not None and get_part_scheme(scheme).num_parts == num_parts:
        names = get_part_scheme(scheme).names
    if names is None:
        names = [f'part{k}' for k in range(1, num_parts + 1)]
    return list(names)


def label_path(image_path: str, label_root: str, scheme: str) -> str:
    """``<label_root>/<scheme>/<folder of the image>/<image stem>.png``."""
    folder = osp.basename(osp.dirname(osp.abspath(image_path)))
    stem = osp.splitext(osp.basename(image_path))[0]
    return osp.join(label_root, scheme, folder, stem + '.png')


def load_labels(paths: Sequence[str], label_root: str, model_scheme: str,
                label_scheme: Optional[str], size: Tuple[int, int]) -> List[np.ndarray]:
    """Part labels ``[H, W]`` uint8 (ids of ``model_scheme``) of the images, at ``size``."""
    stored = label_scheme or model_scheme
    loader = LoadPartLabel()
    labels = []
    for path in paths:
        file = label_path(path, label_root, stored)
        if not osp.isfile(file):
            raise FileNotFoundError(f'part label of {path} not found: {file} (expected '
                                    '<label-root>/<label-scheme>/<split>/<stem>.png)')
        labels.append(loader(dict(img_path=path, img_shape=tuple(size), part_map_path=file,
                                  part_scheme=model_scheme,
                                  part_source_scheme=stored))['gt_seg_map'])
    return labels


def _color_overlay(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """RGB ``image`` with the part colours of ``labels`` blended in (ignored pixels bare)."""
    parts = np.where(labels == 255, 0, labels).astype(np.uint8)
    return overlay(image[..., ::-1], parts, alpha=0.6)[..., ::-1]  # overlay works in BGR


def draw_sheet(images: Sequence[np.ndarray], maps: np.ndarray, visibility: np.ndarray,
               part_names: Sequence[str], out_path: str, alpha: float = 0.5,
               titles: Optional[Sequence[str]] = None,
               labels: Optional[Sequence[np.ndarray]] = None) -> None:
    """Save a grid: per row an image, its foreground map and its K part maps.

    Args:
        images: N RGB uint8 images ``[H, W, 3]``.
        maps: ``[N, K+1, Hf, Wf]`` attention maps (channel 0 = background).
        visibility: ``[N, K]`` part visibility (bool or 0/1).
        part_names: the K part names.
        out_path: the image file to write.
        alpha: opacity of the maps over the images.
        titles: N row titles (default: 'image i').
        labels: N part label maps ``[H, W]`` (ids 0..K, 255 ignored) at the image size:
            adds the label and the predicted parsing after the image, and whether the
            label holds each part to the part titles.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    num, channels = maps.shape[:2]
    num_parts = channels - 1
    if len(images) != num or visibility.shape != (num, num_parts):
        raise ValueError(f'draw_sheet: {len(images)} images, maps {maps.shape} and '
                         f'visibility {visibility.shape} do not match')
    if len(part_names) != num_parts:
        raise ValueError(f'draw_sheet: {len(part_names)} part names for K={num_parts} maps')
    titles = list(titles) if titles is not None else [f'image {i}' for i in range(num)]
    if labels is not None and len(labels) != num:
        raise ValueError(f'draw_sheet: {len(labels)} label maps for {num} images')
    extra = 0 if labels is None else 2
    cols = num_parts + 2 + extra
    fig, axes = plt.subplots(num, cols, figsize=(1.6 * cols, 3.2 * num), squeeze=False)
    cmap = plt.get_cmap('jet')
    for i, image in enumerate(images):
        height, width = image.shape[:2]
        panels = [(None, titles[i])]
        present = None
        if labels is not None:
            label = labels[i]
            if label.shape != (height, width):
                raise ValueError(f'draw_sheet: label map {label.shape} of row {i} does not '
                                 f'match its image {(height, width)}')
            up = cv2.resize(maps[i].transpose(1, 2, 0).astype(np.float32), (width, height),
                            interpolation=cv2.INTER_LINEAR).reshape(height, width, -1)
            predicted = up.argmax(axis=2).astype(np.uint8)
            present = [bool((label == k + 1).any()) for k in range(num_parts)]
            panels.append((_color_overlay(image, label), 'labels'))
            panels.append((_color_overlay(image, predicted), 'prediction'))
        panels.append((maps[i, 1:].max(axis=0), 'foreground'))
        for k in range(num_parts):
            vis = int(bool(visibility[i, k]))
            title = f'{part_names[k]}\nv={vis} max={maps[i, k + 1].max():.2f}'
            if present is not None:
                title += f' lab={int(present[k])}'
            panels.append((maps[i, k + 1], title))
        for j, (heat, title) in enumerate(panels):
            ax = axes[i, j]
            part = j - 2 - extra
            if heat is None:
                ax.imshow(image)
            elif heat.ndim == 3:  # an image already coloured
                ax.imshow(heat)
            else:
                heat = cv2.resize(heat.astype(np.float32), (width, height),
                                  interpolation=cv2.INTER_LINEAR)
                color = (cmap(np.clip(heat, 0, 1))[..., :3] * 255).astype(np.float32)
                ax.imshow((image * (1 - alpha) + color * alpha).astype(np.uint8))
            ax.set_title(title, fontsize=7,
                         color='black' if part < 0 or visibility[i, part] else 'gray')
            ax.axis('off')
    fig.tight_layout()
    out_dir = osp.dirname(osp.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    fig.savefig(out_path, dpi=120)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Build the model, run it on the images and save the sheet."""
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = read_config(args.config, args.cfg_options)
    register_all_modules(init_default_scope=True)
    model = MODELS.build(cfg.model)
    load_reid_checkpoint(model, args.checkpoint)
    model.to(args.device).eval()
    pipeline = Compose(_test_pipeline(cfg))
    images, maps, visibility = part_attention(model, pipeline, args.images)
    head = part_map_head(model)
    scheme = part_scheme_of(cfg, head)
    part_names = part_names_of(head, scheme, maps.shape[1] - 1)
    labels = None
    if args.label_root is not None:
        if scheme is None:
            raise ValueError(f'{type(head).__name__} declares no part_scheme and the training '
                             'dataset has no part_labels: the scheme of the labels is unknown')
        labels = load_labels(args.images, args.label_root, scheme, args.label_scheme,
                             images[0].shape[:2])
    draw_sheet(images, maps, visibility, part_names, args.out, args.alpha,
               [osp.basename(p) for p in args.images], labels)
    print(f'saved {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
