"""Fixtures of the data-pipeline tests: tiny Market-1501 style folders in tmp_path."""
import os.path as osp
from pathlib import Path
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np
import pytest

# Split folder -> file names. pid -1 = junk, pid 0 = distractor, Thumbs.db is not an image.
MARKET_FILES: Dict[str, List[str]] = {
    'bounding_box_train': [
        '0002_c1s1_000451_03.jpg', '0002_c2s1_000551_01.jpg', '0007_c3s1_000100_01.jpg',
        '0010_c6s2_000200_02.jpg', 'Thumbs.db'
    ],
    'query': ['0002_c1s1_001000_01.jpg', '0007_c2s1_001001_01.jpg'],
    'bounding_box_test': [
        '0002_c3s1_002000_01.jpg', '0007_c4s1_002001_01.jpg', '0000_c1s1_002002_00.jpg',
        '-1_c5s1_002003_00.jpg'
    ],
}

# A 4 x 4 bpbreid8 label map: 1 head, 2 l_arm, 3 r_arm, 4 torso, 5 l_leg, 6 r_leg,
# 7 l_foot, 8 r_foot.
LABEL_4X4 = np.array([[1, 1, 0, 0],
                      [2, 4, 4, 3],
                      [5, 0, 0, 6],
                      [7, 0, 0, 8]], dtype=np.uint8)


def write_image(path: str, h: int = 8, w: int = 4, seed: int = 0) -> np.ndarray:
    """Write a small random BGR image and return it."""
    img = np.random.RandomState(seed).randint(0, 256, (h, w, 3), dtype=np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(path, img)
    return img


def write_label(path: str, label: np.ndarray) -> None:
    """Write a uint8 label map as a single-channel PNG (or .npy)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if path.endswith('.npy'):
        np.save(path, label)
    else:
        assert cv2.imwrite(path, label)


def make_market_tree(root: Path,
                     files: Optional[Dict[str, List[str]]] = None,
                     label_scheme: Optional[str] = None,
                     label_dir: str = 'masks',
                     skip_labels: tuple = ()) -> str:
    """Create a Market-layout folder (and label PNGs under ``masks/<scheme>/``)."""
    files = MARKET_FILES if files is None else files
    for i, (split, names) in enumerate(files.items()):
        (root / split).mkdir(parents=True, exist_ok=True)
        for j, name in enumerate(names):
            path = str(root / split / name)
            if not name.endswith('.jpg'):
                Path(path).write_bytes(b'not an image')
                continue
            write_image(path, seed=10 * i + j)
            stem = osp.splitext(name)[0]
            if label_scheme and stem not in skip_labels:
                write_label(str(root / label_dir / label_scheme / split / f'{stem}.png'),
                            np.kron(LABEL_4X4, np.ones((2, 1), np.uint8)))  # [8, 4]
    return str(root)


@pytest.fixture
def market_factory(tmp_path: Path) -> Callable[..., str]:
    """Factory building tiny Market-layout folders under tmp_path."""
    counter = [0]

    def factory(**kwargs) -> str:
        counter[0] += 1
        return make_market_tree(tmp_path / f'market{counter[0]}', **kwargs)

    return factory

