"""P-DukeMTMC-reID (Zhuo et al., 2019): occluded and whole-body DukeMTMC-reID images."""
import os.path as osp
from typing import List

from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset
from .occluded_reid import list_id_folders, part_label_path_dropping_id_folder


@DATASETS.register_module()
class PDukeMTMC(BaseReIDDataset):
    """P-DukeMTMC-reID: 1299 identities with occluded and whole-body images.

    Layout (the authors' release, as read by BPBreID)::

        <data_root>/train/occluded_body_images/<pid>/*.jpg   (camid 0)
        <data_root>/train/whole_body_images/<pid>/*.jpg      (camid 1)
        <data_root>/test/occluded_body_images/<pid>/*.jpg    (query, camid 0)
        <data_root>/test/whole_body_images/<pid>/*.jpg       (gallery, camid 1)

    Expected counts: train 12927 images of 665 ids (both kinds), query 2163 occluded
    images of 634 ids, gallery 9053 whole-body images of 634 ids.

    Protocol ``'all'``: queries (camid 0) and gallery images (camid 1) never share a
    camera, so nothing is filtered. Part labels drop the per-identity folder:
    ``<data_root>/masks/<scheme>/<train|test>/<occluded|whole>_body_images/<stem>.png``.
    """

    DATASET_NAME = 'p_dukemtmc'
    EVAL_PROTOCOL = 'all'
    SPLIT_DIRS = dict(train='train', query=osp.join('test', 'occluded_body_images'),
                      gallery=osp.join('test', 'whole_body_images'))
    KIND_CAMIDS = dict(occluded_body_images=0, whole_body_images=1)
    EXPECTED_COUNTS = dict(train=(12927, 665), query=(2163, 634), gallery=(9053, 634))

    def list_split(self, split: str) -> List[dict]:
        """Records of a split; the training split reads both image kinds."""
        if split == 'train':
            return [r for kind, camid in self.KIND_CAMIDS.items()
                    for r in list_id_folders(osp.join(self.split_dir('train'), kind),
                                             self.DATASET_NAME, self.IMG_EXTS, camid)]
        kind = osp.basename(self.SPLIT_DIRS[split])
        return list_id_folders(self.split_dir(split), self.DATASET_NAME, self.IMG_EXTS,
                               self.KIND_CAMIDS[kind])

    def part_label_path(self, record: dict, split: str) -> str:
        """Label path without the per-identity folder (the release's convention)."""
        return part_label_path_dropping_id_folder(self, record)
