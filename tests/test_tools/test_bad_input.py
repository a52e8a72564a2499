"""Bad input stops the tools with a message that names the file or key."""
import os.path as osp
import shutil

import pytest
from _tool_utils import TINY_CFG, data_root_options, run_tool

pytestmark = pytest.mark.slow


def _train(cfg: str, root: str, tmp_path, *extra: str):
    """Run tools/train.py for the tiny config on ``root``; return the finished process."""
    return run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w'), '--cfg-options'] +
                    data_root_options(root) + list(extra), check=False)


def test_missing_data_root(tmp_path):
    missing = str(tmp_path / 'no_such_dataset')
    proc = _train(TINY_CFG, missing, tmp_path)
    assert proc.returncode != 0
    assert missing in proc.stderr and 'does not exist' in proc.stderr


def test_wrong_layout_names_the_missing_folder(tmp_path):
    root = tmp_path / 'flat'
    (root / 'images').mkdir(parents=True)
    proc = _train(TINY_CFG, str(root), tmp_path)
    assert proc.returncode != 0
    assert osp.join(str(root), 'bounding_box_train') in proc.stderr
    assert 'query' in proc.stderr and 'bounding_box_test' in proc.stderr  # expected layout


def test_corrupt_image_names_the_file(tiny_synthetic, tmp_path):
    root = tmp_path / 'corrupt'
    shutil.copytree(tiny_synthetic, root)
    victim = sorted((root / 'bounding_box_train').iterdir())[0]
    victim.write_bytes(b'this is not a jpeg')
    proc = _train(TINY_CFG, str(root), tmp_path)
    assert proc.returncode != 0
    assert str(victim) in proc.stderr


def test_unknown_component_names_the_key(tiny_synthetic, tmp_path):
    proc = _train(TINY_CFG, tiny_synthetic, tmp_path, 'model.head.type=NoSuchHead')
    assert proc.returncode != 0
    assert 'NoSuchHead' in proc.stderr


def test_checkpoint_of_another_model_is_refused(tiny_synthetic, tmp_path):
    work = tmp_path / 'w'
    run_tool(['tools/train.py', TINY_CFG, '--work-dir', str(work), '--cfg-options'] +
             data_root_options(tiny_synthetic) + ['train_cfg.max_epochs=1',
                                                  'train_cfg.val_interval=1'])
    # the same config with another number of training identities
    proc = run_tool(['tools/test.py', TINY_CFG, str(work / 'epoch_1.pth'), '--work-dir',
                     str(tmp_path / 't'), '--cfg-options'] + data_root_options(tiny_synthetic) +
                    ['model.head.num_classes=9'], check=False)
    assert proc.returncode != 0
    assert 'epoch_1.pth' in proc.stderr and 'head.classifier.weight' in proc.stderr


def test_typo_in_a_component_key_names_the_closest_argument(tiny_synthetic, tmp_path):
    # '+' passes the option check: the key reaches the head, as a typo in a config file would
    proc = _train(TINY_CFG, tiny_synthetic, tmp_path, '+model.head.num_clases=3')
    assert proc.returncode != 0
    assert ("UnknownArgumentError: BNNeckHead got an unknown argument 'num_clases'; did you "
            "mean 'num_classes'?") in proc.stderr
    assert '(in the config: model.head.num_clases)' in proc.stderr


def test_cfg_option_on_a_missing_key_names_the_closest_key(tiny_synthetic, tmp_path):
    proc = _train(TINY_CFG, tiny_synthetic, tmp_path, 'train_cfg.max_epoch=1')
    assert proc.returncode != 0
    assert ("the key 'train_cfg.max_epoch' does not exist in the config (train_cfg has no "
            "'max_epoch'); did you mean 'train_cfg.max_epochs'?") in proc.stderr


def test_missing_base_file_names_the_config_and_the_closest_file(tmp_path):
    cfg = tmp_path / 'typo_cfg.py'
    missing = TINY_CFG.replace('tiny_bot.py', 'tiny_bto.py')
    cfg.write_text(f"_base_ = ['{missing}']\n")
    proc = run_tool(['tools/test.py', str(cfg), 'none.pth'], check=False)
    assert proc.returncode != 0
    assert f"ConfigFileError: {cfg}: the _base_ file '{missing}' does not exist" in proc.stderr
    assert 'tiny_bot.py' in proc.stderr.splitlines()[-1]  # the closest file that exists
