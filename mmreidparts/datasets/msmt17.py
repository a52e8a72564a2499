"""MSMT17 (Wei et al., CVPR 2018), versions V1 and V2, read from the official list files."""
import os.path as osp
from typing import List, Optional

from mmreidparts.registry import DATASETS

from .base_reid_dataset import BaseReIDDataset

VERSION_DIRS = dict(V1=dict(train='train', test='test'),
                    V2=dict(train='mask_train_v2', test='mask_test_v2'))


@DATASETS.register_module()
class MSMT17(BaseReIDDataset):
    """MSMT17: 4101 identities, 15 cameras, Faster R-CNN boxes.

    Layout (the authors' release; V2 has the faces masked)::

        <data_root>/train/<pid>/<name>.jpg         (V2: mask_train_v2/)
        <data_root>/test/<pid>/<name>.jpg          (V2: mask_test_v2/)
        <data_root>/list_train.txt  list_val.txt   (lines "<pid>/<name>.jpg <pid>",
        <data_root>/list_query.txt  list_gallery.txt   relative to train/ or test/)

    Names ``PPPP_III_CC_<date><time>_<frame>_<n>.jpg``; camera ``CC`` 1..15 gives camid
    0..14. ``version`` None detects V1/V2 from the folders. The training split is
    ``list_train`` + ``list_val`` (``combine_train_val=True``, the standard 32621 images
    of 1041 ids) or ``list_train`` alone (30248 images). Query 11659 images / 3060 ids,
    gallery 82161 / 3060. Protocol ``'market'`` (same id and camera ignored).
    """

    DATASET_NAME = 'msmt17'
    EVAL_PROTOCOL = 'market'
    LIST_FILES = dict(train=('list_train.txt', 'list_val.txt'), query=('list_query.txt', ),
                      gallery=('list_gallery.txt', ))

    def __init__(self,
                 data_root: str,
                 version: Optional[str] = None,
                 combine_train_val: bool = True,
                 **kwargs) -> None:
        if version is None:
            version = 'V2' if osp.isdir(osp.join(data_root, 'mask_train_v2')) else 'V1'
        if version not in VERSION_DIRS:
            raise ValueError(f"MSMT17: version must be 'V1', 'V2' or None, got {version!r}")
        self.version = version
        self.combine_train_val = combine_train_val
        dirs = VERSION_DIRS[version]
        self.SPLIT_DIRS = dict(train=dirs['train'], query=dirs['test'], gallery=dirs['test'])
        self.LIST_FILES = dict(self.LIST_FILES)
        if not combine_train_val:
            self.LIST_FILES['train'] = ('list_train.txt', )
        self.EXPECTED_COUNTS = dict(train=(32621 if combine_train_val else 30248, 1041),
                                    query=(11659, 3060), gallery=(82161, 3060))
        self.DATASET_NAME = f'msmt17_{version.lower()}'
        super().__init__(data_root, **kwargs)

    def expected_layout(self) -> str:
        """Folders and list files this dataset expects."""
        files = sorted({f for fs in self.LIST_FILES.values() for f in fs})
        dirs = sorted(set(self.SPLIT_DIRS.values()))
        return '\n'.join([f'{self.data_root}/'] + [f'    {d}/<pid>/<name>.jpg' for d in dirs] +
                         [f'    {f}' for f in files])

    def parse_camid(self, name: str, where: str) -> int:
        """camid (0-based) from the third ``_`` field of an image name."""
        fields = osp.basename(name).split('_')
        if len(fields) < 3 or not fields[2].isdigit():
            raise ValueError(f'{self.DATASET_NAME}: cannot read the camera of {name!r} '
                             f'({where}); expected PPPP_III_CC_... names')
        return int(fields[2]) - 1

    def list_split(self, split: str) -> List[dict]:
        """Records of a split, read from its list file(s); every listed image must exist."""
        folder = self.split_dir(split)
        records = []
        for list_name in self.LIST_FILES[split]:
            list_path = osp.join(self.data_root, list_name)
            if not osp.isfile(list_path):
                raise FileNotFoundError(f'{self.DATASET_NAME}: list file {list_path} does not '
                                        f'exist; expected layout:\n{self.expected_layout()}')
            with open(list_path) as f:
                for lineno, line in enumerate(f, start=1):
                    parts = line.split()
                    if not parts:
                        continue
                    where = f'{list_path}:{lineno}'
                    if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                        raise ValueError(f'{self.DATASET_NAME}: malformed line {where}: '
                                         f'{line.strip()!r}; expected "<relative path> <pid>"')
                    records.append(dict(img_path=osp.join(folder, parts[0]),
                                        pid=int(parts[1]),
                                        camid=self.parse_camid(parts[0], where)))
        missing = [r['img_path'] for r in records if not osp.isfile(r['img_path'])]
        if missing:
            raise FileNotFoundError(f'{self.DATASET_NAME}: {len(missing)} images listed for '
                                    f'the {split} split do not exist, e.g. {missing[0]}; '
                                    f'expected layout:\n{self.expected_layout()}')
        return records
