"""Dataset folders as users have them: duplicate names, extra files, broken images in workers."""
import os
import time

import cv2
import numpy as np
import pytest
from torch.utils.data import DataLoader

from mmreidparts.datasets import MarketFormatDataset
from mmreidparts.utils.errors import CorruptFileError

PIPELINE = [dict(type='LoadReIDImage'), dict(type='LoadPartLabel')]


def _write(path, array: np.ndarray) -> np.ndarray:
    """Write an image or a label map (creating its folder); return the array."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return array


def write_image(path, h: int = 8, w: int = 4, seed: int = 0) -> np.ndarray:
    """A small random BGR image."""
    return _write(path, np.random.RandomState(seed).randint(0, 256, (h, w, 3), np.uint8))
NAME = '0003_c1s1_000100_00.jpg'


def test_duplicate_file_names_across_splits_load_their_own_image_and_label(tmp_path):
    root = tmp_path / 'dup'
    images, labels = {}, {}
    for i, split in enumerate(('bounding_box_train', 'query', 'bounding_box_test')):
        # a flat grey and another label per split
        images[split] = _write(root / split / NAME, np.full((8, 4, 3), 40 + 80 * i, np.uint8))
        labels[split] = _write(root / 'masks' / 'bpbreid8' / split / NAME.replace('.jpg', '.png'),
                               np.full((8, 4), i + 1, np.uint8))
    data = MarketFormatDataset(str(root), mode='test', pipeline=PIPELINE,
                               part_labels=dict(scheme='bpbreid8'))
    assert len(data) == 2
    for index, split in ((0, 'query'), (1, 'bounding_box_test')):
        out = data[index]
        assert out['img_path'] == str(root / split / NAME)
        assert out['is_query'] == (split == 'query')
        # the decoded pixels are those of this split's file, not of the other one
        assert np.abs(out['img'].astype(int) - images[split]).max() <= 2  # jpeg
        np.testing.assert_array_equal(out['gt_seg_map'], labels[split])
    train = MarketFormatDataset(str(root), mode='train', pipeline=PIPELINE,
                                part_labels=dict(scheme='bpbreid8'))
    np.testing.assert_array_equal(train[0]['gt_seg_map'], labels['bounding_box_train'])


def test_extra_files_in_a_split_folder_are_ignored(tmp_path):
    root = tmp_path / 'extra'
    for split in ('bounding_box_train', 'query', 'bounding_box_test'):
        write_image(root / split / NAME)
    train = root / 'bounding_box_train'
    for junk in ('Thumbs.db', '.DS_Store', 'README.txt', 'list.csv'):
        (train / junk).write_bytes(b'not an image')
    (train / ('._' + NAME)).write_bytes(b'\x00\x05\x16\x07 macOS resource fork')
    (train / 'folder.jpg').mkdir()
    (train / '.ipynb_checkpoints').mkdir()
    data = MarketFormatDataset(str(root), mode='train')
    assert [data.get_data_info(i)['img_path'] for i in range(len(data))] == [str(train / NAME)]
    # an image whose name carries no identity stops with its name and the expected form
    write_image(train / 'holiday.jpg')
    with pytest.raises(ValueError, match="cannot parse the file name 'holiday.jpg'; "
                                         'expected <pid>_c<camera>'):
        MarketFormatDataset(str(root), mode='train')


def test_a_broken_image_in_a_worker_reaches_the_main_process_by_name(tmp_path):
    root = tmp_path / 'workers'
    names = [f'00{pid:02d}_c1s1_0001{j}0_00.jpg' for pid in range(1, 5) for j in range(2)]
    for split in ('bounding_box_train', 'query', 'bounding_box_test'):
        for k, name in enumerate(names):
            write_image(root / split / name, h=64, w=32, seed=k)
    victim = root / 'bounding_box_train' / names[5]
    victim.write_bytes(victim.read_bytes()[:300])  # a truncated JPEG
    data = MarketFormatDataset(str(root), mode='train', pipeline=[dict(type='LoadReIDImage')])
    loader = DataLoader(data, batch_size=2, num_workers=2, timeout=60,
                        collate_fn=lambda batch: batch)
    tic = time.perf_counter()
    with pytest.raises(CorruptFileError) as err:
        for _ in loader:
            pass
    assert str(victim) in str(err.value) and 'DataLoader worker' in str(err.value)
    assert time.perf_counter() - tic < 60  # the workers neither hang nor wait for a timeout
    assert os.path.isfile(victim)
