"""The ReID inferencer: embeddings, visibility and names of images, for any model of the zoo."""
import math
import os
import os.path as osp
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.logging import print_log
from mmengine.structures import PixelData
from torch import nn

from mmreidparts.structures import ReIDDataSample
from mmreidparts.utils import load_reid_checkpoint, register_all_modules

from .inference import init_model, test_pipeline_cfg
from .model_zoo import get_model, list_models, load_model_index

ImageType = Union[str, np.ndarray]
InputsType = Union[ImageType, Sequence[ImageType]]
IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
ON_ERROR = ('raise', 'skip')


def list_images(folder: str) -> List[str]:
    """Image files under ``folder`` (recursively, sorted), by extension."""
    if not osp.isdir(folder):
        raise NotADirectoryError(f'not a folder: {folder}')
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        out.extend(osp.join(root, f) for f in sorted(files) if f.lower().endswith(IMG_EXTS))
    return out


def default_device() -> str:
    """'cuda' when a GPU is there, else 'cpu'."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _record(img_path: str = '') -> dict:
    """The fields a test pipeline expects of a record, for an image outside any dataset."""
    return dict(img_path=img_path, pid=-1, camid=-1, gt_label=-1, is_query=False,
                part_map_path=None, part_scheme=None)


class ReIDInferencer(BaseInferencer):
    """Embeddings ``[P, D]``, visibility ``[P]`` and embedding names of person images.

    The same for every method of the zoo (the output contract of docs/design.md):

    >>> inferencer = ReIDInferencer('bpbreid_r50_1xb64_market1501')      # a zoo name
    >>> inferencer = ReIDInferencer('configs/.../x.py', 'epoch_120.pth')  # or config + weights
    >>> out = inferencer(['a.jpg', 'gallery/'], batch_size=32)
    >>> out[0]['embeddings'].shape, out[0]['visibility'], out[0]['embedding_names']

    Inputs are image paths, folders (their images, recursively, sorted), H x W x 3 uint8
    BGR arrays, or lists of those. Images go through the config's test pipeline and the
    model's ``test_step``, exactly as in ``tools/test.py``, in batches of ``batch_size``;
    a progress bar is shown when there is more than one batch (``show_progress``).

    Args:
        model: a zoo name (``list_models()``), a config file or :class:`Config`, or a
            built model (with its config as ``model.cfg``, as :func:`init_model` gives).
        weights: checkpoint file (``.pth``, or an exported ``.onnx`` run by
            onnxruntime). For a zoo name None means its published weights; for a config
            None means a randomly initialised model.
        device: torch device; None = the GPU when there is one, else the CPU.
        cfg_options: overrides of the config (``key=value`` as in ``--cfg-options``).
        show_progress: show a progress bar on inputs of more than one batch.
    """

    preprocess_kwargs: set = {'on_error'}
    forward_kwargs: set = {'return_part_maps'}
    visualize_kwargs: set = {'show_dir'}
    postprocess_kwargs: set = set()

    def __init__(self,
                 model: Union[str, Config, nn.Module],
                 weights: Optional[Union[str, bool]] = None,
                 device: Optional[str] = None,
                 cfg_options: Optional[dict] = None,
                 show_progress: bool = True) -> None:
        register_all_modules(init_default_scope=False)
        self.scope = 'mmreidparts'
        device = device or default_device()
        if isinstance(model, nn.Module):
            if isinstance(weights, str):
                load_reid_checkpoint(model, weights)
            built = model.to(device)
        elif isinstance(model, Config) or (isinstance(model, str) and osp.isfile(model)):
            built = init_model(model, weights or None, device=device, cfg_options=cfg_options)
        elif isinstance(model, str) and model in load_model_index():
            pretrained = True if weights is None else weights
            built = get_model(model, pretrained=pretrained, device=device,
                              cfg_options=cfg_options)
        else:
            raise ValueError(f'ReIDInferencer: {model!r} is neither a config file nor a model '
                             f'of the zoo (list_models() gives e.g. {list_models()[:3]})')
        cfg = getattr(built, 'cfg', None)
        if cfg is None:
            raise ValueError('ReIDInferencer: the model has no config (model.cfg) to take the '
                             'test pipeline from; build it with init_model or get_model')
        self.cfg = cfg
        self.model = built.eval()
        self.device = device
        self.pipeline = self._init_pipeline(cfg)
        self.array_pipeline = Compose(test_pipeline_cfg(cfg, from_array=True))
        self.collate_fn = pseudo_collate
        self.visualizer = None
        self.show_progress = show_progress
        self.skipped: List[Tuple[str, str]] = []  # (input, reason) of the last call
        self.skipped_index: set = set()  # their positions in the flattened inputs

    def _init_pipeline(self, cfg: Config) -> Callable:
        """The config's test pipeline, from an image path."""
        return Compose(test_pipeline_cfg(cfg, from_array=False))

    def _inputs_to_list(self, inputs: InputsType) -> list:
        """A flat list of paths and arrays; a folder stands for its images."""
        if isinstance(inputs, (str, np.ndarray)):
            inputs = [inputs]
        out: list = []
        for item in inputs:
            if isinstance(item, str) and osp.isdir(item):
                out.extend(list_images(item))
            elif isinstance(item, (str, np.ndarray)):
                out.append(item)
            else:
                raise TypeError(f'ReIDInferencer: inputs are image paths, folders or H x W x '
                                f'3 uint8 arrays, got {type(item).__name__}')
        return out

    def _load(self, item: ImageType) -> dict:
        """Run the test pipeline on one path or array."""
        if isinstance(item, np.ndarray):
            if item.ndim != 3 or item.shape[2] != 3 or item.dtype != np.uint8:
                raise ValueError(f'ReIDInferencer: an array input must be H x W x 3 uint8 '
                                 f'(BGR), got {item.shape} {item.dtype}')
            h, w = item.shape[:2]
            return self.array_pipeline(dict(_record(), img=item, img_shape=(h, w),
                                            ori_shape=(h, w)))
        return self.pipeline(_record(osp.abspath(item)))

    def preprocess(self, inputs: list, batch_size: int = 1,
                   on_error: str = 'raise') -> Iterable[dict]:
        """Batches of pipeline outputs, collated for ``test_step``.

        With ``on_error='skip'`` an image that cannot be read is reported by name (a
        warning) and left out, and ``self.skipped`` lists ``(path, reason)``.
        """
        if on_error not in ON_ERROR:
            raise ValueError(f'ReIDInferencer: on_error must be one of {ON_ERROR}, '
                             f'got {on_error!r}')

        def loaded() -> Iterable[dict]:
            for index, item in enumerate(inputs):
                try:
                    yield self._load(item)
                except (OSError, ValueError) as err:
                    if on_error == 'raise':
                        raise
                    name = item if isinstance(item, str) else f'array {item.shape}'
                    self.skipped.append((name, str(err)))
                    self.skipped_index.add(index)
                    print_log(f'ReIDInferencer: skipped {name}: {err}', logger='current',
                              level=30)

        yield from map(self.collate_fn, self._get_chunk_data(loaded(), batch_size))

    @torch.no_grad()
    def forward(self, inputs: dict, return_part_maps: bool = False) -> List[ReIDDataSample]:
        """``test_step`` of a batch; with ``return_part_maps`` also the part maps, if any."""
        samples = self.model.test_step(inputs)
        if return_part_maps:
            self._attach_part_maps(inputs, samples)
        return samples

    def _attach_part_maps(self, inputs: dict, samples: List[ReIDDataSample]) -> None:
        """Set ``pred_part_map [K+1, h, w]`` from ``head(feats)['part_maps']`` when the head has
        part maps and the prediction did not already store them."""
        head = getattr(self.model, 'head', None)
        if head is None or all('pred_part_map' in s for s in samples):
            return
        data = self.model.data_preprocessor(inputs, False)
        out = head(self.model.extract_feat(data['inputs']))
        if not isinstance(out, dict) or 'part_maps' not in out:
            return
        for sample, maps in zip(samples, out['part_maps'].float().cpu()):  # [K+1, h, w]
            sample.pred_part_map = PixelData(data=maps)

    def __call__(self,
                 inputs: InputsType,
                 return_datasamples: bool = False,
                 batch_size: int = 32,
                 **kwargs) -> List[Union[dict, ReIDDataSample]]:
        """Embed the inputs; one result per image read (in input order).

        Args:
            inputs: paths, folders, arrays, or a list of them.
            return_datasamples: return :class:`ReIDDataSample` objects instead of dicts.
            batch_size: images per forward pass.
            on_error: 'raise' (default) or 'skip' unreadable images (``self.skipped``).
            return_part_maps: also give the part maps ``[K+1, h, w]`` of part models.
            show_dir: save each image with its part overlay and visibility there.

        Returns:
            per image a dict with ``img_path`` (None for arrays), ``embeddings [P, D]``,
            ``visibility [P]`` (numpy float32), ``embedding_names`` and, when asked and
            available, ``part_map``; or the data samples.
        """
        if kwargs.get('show_dir'):
            kwargs.setdefault('return_part_maps', True)
        pre, fwd, vis, post = self._dispatch_kwargs(**kwargs)
        self.skipped, self.skipped_index = [], set()
        items = self._inputs_to_list(inputs)
        batches = self.preprocess(items, batch_size=batch_size, **pre)
        total = math.ceil(len(items) / max(batch_size, 1))
        if self.show_progress and total > 1:
            from tqdm import tqdm
            batches = tqdm(batches, total=total, desc='embedding', unit='batch')
        preds: List[ReIDDataSample] = []
        for data in batches:
            preds.extend(self.forward(data, **fwd))
        visualization = self.visualize(items, preds, **vis)
        return self.postprocess(preds, visualization, return_datasamples, **post)

    def visualize(self, inputs: list, preds: List[ReIDDataSample],
                  show_dir: Optional[str] = None) -> Optional[List[np.ndarray]]:
        """With ``show_dir``: save each image with its part overlay and visibility strip."""
        if not show_dir:
            return None
        import cv2

        from mmreidparts.visualization import draw_reid_tile, visible_parts
        os.makedirs(show_dir, exist_ok=True)
        kept = [x for i, x in enumerate(inputs) if i not in self.skipped_index]
        tiles = []
        for i, (item, sample) in enumerate(zip(kept, preds)):
            path = item if isinstance(item, str) else ''
            img = cv2.imread(path) if path else item
            part_map = part_map_of(sample)
            vis = sample.visibility.float().cpu().numpy()
            tile = draw_reid_tile(img, part_map=part_map, visibility=vis,
                                  names=sample.embedding_names,
                                  part_visible=visible_parts(part_map, vis,
                                                             sample.embedding_names))
            name = osp.splitext(osp.basename(path))[0] if path else f'array_{i}'
            cv2.imwrite(osp.join(show_dir, f'{i:05d}_{name}.png'), tile)
            tiles.append(tile)
        return tiles

    def postprocess(self, preds: List[ReIDDataSample], visualization: Any = None,
                    return_datasample: bool = False) -> List[Union[dict, ReIDDataSample]]:
        """Data samples, or per image a dict of numpy arrays and names."""
        if return_datasample:
            return preds
        out = []
        for sample in preds:
            item = dict(img_path=sample.metainfo.get('img_path') or None,
                        embeddings=sample.embeddings.float().cpu().numpy(),
                        visibility=sample.visibility.float().cpu().numpy(),
                        embedding_names=tuple(sample.embedding_names))
            part_map = part_map_of(sample)
            if part_map is not None:
                item['part_map'] = part_map
            out.append(item)
        return out

    @staticmethod
    def list_models(pattern: Optional[str] = None) -> List[str]:
        """Names of the zoo's models matching a shell-style pattern."""
        return list_models(pattern or '*')


def part_map_of(sample: ReIDDataSample) -> Optional[np.ndarray]:
    """The predicted part maps ``[K+1, h, w]`` of a sample as numpy, or None."""
    if 'pred_part_map' not in sample:
        return None
    return sample.pred_part_map.data.float().cpu().numpy()


def stack_predictions(preds: Sequence[Union[dict, ReIDDataSample]]) -> Dict[str, Any]:
    """``embeddings [N, P, D]``, ``visibility [N, P]`` tensors and the names of results."""
    if not preds:
        raise ValueError('no predictions to stack (every input was skipped?)')

    def field(p: Any, key: str) -> torch.Tensor:
        value = p[key] if isinstance(p, dict) else getattr(p, key)
        return torch.as_tensor(value).float().cpu()

    first = preds[0]
    names = first['embedding_names'] if isinstance(first, dict) else first.embedding_names
    return dict(embeddings=torch.stack([field(p, 'embeddings') for p in preds]),
                visibility=torch.stack([field(p, 'visibility') for p in preds]),
                embedding_names=tuple(names))


__all__ = ['ReIDInferencer', 'list_images', 'default_device', 'stack_predictions',
           'part_map_of']
