"""Occluded-REID (Zhuo et al., ICME 2018): occluded queries against whole-body galleries."""
import os
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np

from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset, is_image_file


def list_id_folders(folder: str, dataset: str, img_exts: Tuple[str, ...],
                    camid: int) -> List[dict]:
    """Records of a folder with one sub-folder per identity (``<folder>/<pid>/<image>``).

    The identity is the sub-folder name (an integer). Images lying directly in ``folder``
    are accepted too, their identity being the file-name prefix before the first ``_``.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{dataset}: the folder {folder} does not exist')
    records = []
    for entry in sorted(os.listdir(folder)):
        path = osp.join(folder, entry)
        if entry.startswith('.'):
            continue  # hidden files and folders
        if osp.isdir(path):
            if not entry.isdigit():
                raise ValueError(f'{dataset}: the identity folder {path} is not named by an '
                                 'integer person id (expected <split folder>/<pid>/<image>)')
            pid = int(entry)
            names = sorted(n for n in os.listdir(path) if is_image_file(path, n, img_exts))
            records += [dict(img_path=osp.join(path, n), pid=pid, camid=camid) for n in names]
        elif entry.lower().endswith(img_exts):
            prefix = entry.split('_')[0]
            if not prefix.isdigit():
                raise ValueError(f'{dataset}: cannot read a person id from the image name '
                                 f'{path}; expected <pid>_<number>.<ext> or a <pid>/ folder')
            records.append(dict(img_path=path, pid=int(prefix), camid=camid))
    return records


def part_label_path_dropping_id_folder(dataset: BaseReIDDataset, record: dict) -> str:
    """Label path ``<root>/<label_dir>/<scheme>/<image folder minus the id folder>/<stem>``.

    The release's convention for datasets with one sub-folder per identity.
    """
    cfg = dataset.part_labels
    scheme = cfg['source_scheme'] or cfg['scheme']
    img_dir = osp.dirname(record['img_path'])
    if osp.basename(img_dir).isdigit():  # per-identity folder
        img_dir = osp.dirname(img_dir)
    rel = osp.relpath(img_dir, dataset.data_root)
    stem = osp.splitext(osp.basename(record['img_path']))[0]
    return osp.join(dataset.data_root, cfg['label_dir'], scheme, rel, stem + cfg['suffix'])


@DATASETS.register_module()
class OccludedREID(BaseReIDDataset):
    """Occluded-REID: 200 identities, 5 occluded and 5 whole-body images each.

    Layout (the authors' release)::

        <data_root>/occluded_body_images/<pid>/<pid>_<nn>.tif   (1000 images, 200 ids)
        <data_root>/whole_body_images/<pid>/<pid>_<nn>.tif      (1000 images, 200 ids)

    ``split='all'`` (default; BPBreID's protocol): test only, query = all occluded images
    (camid 0), gallery = all whole-body images (camid 1); models are trained on
    Market-1501. ``split='half'`` (DROP's protocol): the 200 ids are shuffled with
    ``split_seed``; the first 100 are the training ids (their occluded and whole-body
    images, camids 0 and 1), the other 100 the test ids.

    Protocol ``'all'``: query and gallery cameras differ by construction, so no gallery
    image is filtered. Part labels follow the release: the per-identity folder is dropped,
    ``<data_root>/masks/<scheme>/occluded_body_images/<stem>.png``.
    """

    DATASET_NAME = 'occluded_reid'
    EVAL_PROTOCOL = 'all'
    SPLIT_DIRS = dict(query='occluded_body_images', gallery='whole_body_images')
    SPLIT_CAMIDS = dict(query=0, gallery=1)
    IMG_EXTS = ('.tif', '.tiff', '.jpg', '.jpeg', '.png', '.bmp')
    FULL_COUNTS = dict(query=(1000, 200), gallery=(1000, 200))
    HALF_COUNTS = dict(train=(1000, 100), query=(500, 100), gallery=(500, 100))

    def __init__(self,
                 data_root: str,
                 mode: str = 'test',
                 split: str = 'all',
                 split_seed: int = 0,
                 **kwargs) -> None:
        if split not in ('all', 'half'):
            raise ValueError(f"OccludedREID: split must be 'all' or 'half', got {split!r}")
        if split == 'all' and mode == 'train':
            raise ValueError("OccludedREID with split='all' is a test-only dataset (mode "
                             "'query', 'gallery' or 'test'); use split='half' to train on "
                             'half of its identities')
        self.split = split
        self.split_seed = split_seed
        self.EXPECTED_COUNTS = self.HALF_COUNTS if split == 'half' else self.FULL_COUNTS
        self._id_split: Optional[Tuple[set, set]] = None
        super().__init__(data_root, mode=mode, **kwargs)

    def split_dir(self, split: str) -> str:
        """Folder of a split; the training split reads both folders of ``data_root``."""
        return self.data_root if split == 'train' else super().split_dir(split)

    def id_split(self) -> Tuple[set, set]:
        """``(train ids, test ids)`` of the ``'half'`` split, drawn with ``split_seed``."""
        if self._id_split is None:
            pids = sorted({r['pid'] for s in ('query', 'gallery') for r in self._list_all(s)})
            order = np.random.default_rng(self.split_seed).permutation(len(pids))
            half = len(pids) // 2
            self._id_split = ({pids[i] for i in order[:half]}, {pids[i] for i in order[half:]})
        return self._id_split

    def _list_all(self, split: str) -> List[dict]:
        """All records of the occluded (query) or whole-body (gallery) folder."""
        return list_id_folders(super().split_dir(split), self.DATASET_NAME, self.IMG_EXTS,
                               self.SPLIT_CAMIDS[split])

    def list_split(self, split: str) -> List[dict]:
        """Records of one split (``train`` only with ``split='half'``)."""
        if self.split == 'all':
            return self._list_all(split)
        train_ids, test_ids = self.id_split()
        if split == 'train':
            records = self._list_all('query') + self._list_all('gallery')
            return [r for r in records if r['pid'] in train_ids]
        return [r for r in self._list_all(split) if r['pid'] in test_ids]

    def part_label_path(self, record: dict, split: str) -> str:
        """Label path without the per-identity folder (the release's convention)."""
        return part_label_path_dropping_id_folder(self, record)
