"""Tiny models, checkpoints and person images shared by the API, deployment and tool tests."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_BOT = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_bot.py')
TINY_BPBREID = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_bpbreid.py')


def tiny_model(config: str, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised model with random BN statistics and, for part heads, part
    maps that are not uniform (so that some parts are visible)."""
    from mmreidparts.apis import init_model
    torch.manual_seed(seed)
    model = init_model(config)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
        classifier = getattr(model.head, 'pixel_classifier', None)
        if classifier is not None:
            classifier.conv.weight.normal_(0, 0.5)
    return model.eval()


def save_checkpoint(model: torch.nn.Module, path: str) -> str:
    """A plain checkpoint of ``model``."""
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


@pytest.fixture(scope='session')
def person_dir(tmp_path_factory) -> str:
    """A folder of 6 synthetic 64x32 images, Market-named (pids 1, 1, 2, 2, 3, 3), one in a
    sub-folder, plus a text file that is not an image."""
    root = tmp_path_factory.mktemp('persons')
    (root / 'sub').mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        pid, cam = i // 2 + 1, i % 2 + 1
        img = rng.integers(0, 255, (64, 32, 3), dtype=np.uint8)
        folder = root / 'sub' if i == 5 else root
        cv2.imwrite(str(folder / f'{pid:04d}_c{cam}s1_{i:06d}_00.png'), img)
    (root / 'notes.txt').write_text('not an image')
    return str(root)


@pytest.fixture(scope='session')
def bot_checkpoint(tmp_path_factory) -> str:
    """A checkpoint of the tiny BoT model."""
    return save_checkpoint(tiny_model(TINY_BOT), str(tmp_path_factory.mktemp('ck') / 'bot.pth'))


@pytest.fixture(scope='session')
def bpbreid_checkpoint(tmp_path_factory) -> str:
    """A checkpoint of the tiny BPBreID model (flip test-time augmentation)."""
    return save_checkpoint(tiny_model(TINY_BPBREID),
                           str(tmp_path_factory.mktemp('ck') / 'bpbreid.pth'))
