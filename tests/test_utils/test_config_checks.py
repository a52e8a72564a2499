"""Config typos: unknown component arguments, missing _base_ files, unknown --cfg-options keys."""
import inspect

import pytest
from mmengine.config import Config

from mmreidparts import registry
from mmreidparts.registry import DATASETS, MODELS, TRANSFORMS, Registry
from mmreidparts.utils import register_all_modules
from mmreidparts.utils.config import (
    apply_options,
    check_base_files,
    config_errors,
    read_config,
)
from mmreidparts.utils.errors import ConfigFileError, ConfigKeyError, UnknownArgumentError

TOY = Registry('toy')


@TOY.register_module()
class ToyParent:
    """Takes ``alpha`` and ``beta``."""

    def __init__(self, alpha: int = 0, beta: int = 0) -> None:
        self.alpha, self.beta = alpha, beta


@TOY.register_module()
class ToyChild(ToyParent):
    """Takes ``gamma`` and forwards the rest to its parent."""

    def __init__(self, gamma: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gamma = gamma


@TOY.register_module()
class ToyCallsAFunctionBadly:
    """Its own body calls a function with a keyword that function does not take."""

    def __init__(self, width: int = 1) -> None:
        def helper(size: int) -> int:
            return size

        helper(width=width)


def test_unknown_keyword_names_the_closest_argument():
    with pytest.raises(UnknownArgumentError) as err:
        TOY.build(dict(type='ToyParent', alpah=1))
    assert str(err.value).startswith("ToyParent got an unknown argument 'alpah'; did you "
                                     "mean 'alpha'? Its arguments: alpha, beta")
    assert isinstance(err.value, TypeError)  # what callers caught before
    # forwarded through **kwargs to the parent: still named for the class that was built
    with pytest.raises(UnknownArgumentError, match="ToyChild got an unknown argument 'bta'; "
                                                   "did you mean 'beta'\\? Its arguments: "
                                                   'gamma, alpha, beta'):
        ToyChild(gamma=1, bta=2)
    # nothing close: the valid arguments only
    with pytest.raises(UnknownArgumentError, match=r"'zzz'\. Its arguments: gamma, alpha"):
        ToyChild(zzz=1)
    # valid calls are untouched
    child = TOY.build(dict(type='ToyChild', gamma=3, beta=2))
    assert (child.alpha, child.beta, child.gamma) == (0, 2, 3)
    assert list(inspect.signature(ToyParent).parameters) == ['alpha', 'beta']


def test_a_type_error_from_inside_the_constructor_is_left_as_it_is():
    with pytest.raises(TypeError, match="unexpected keyword argument 'width'") as err:
        ToyCallsAFunctionBadly(width=2)  # the key was given, but it is a valid argument
    assert not isinstance(err.value, UnknownArgumentError)


def test_project_components_name_the_key_of_a_typo():
    register_all_modules()
    with pytest.raises(UnknownArgumentError, match="BPBreIDHead got an unknown argument "
                                                   "'num_part'; did you mean 'num_parts'"):
        MODELS.build(dict(type='BPBreIDHead', in_channels=8, num_classes=3, num_part=5))
    with pytest.raises(UnknownArgumentError, match="'ignore_idx'; did you mean 'ignore_index'"):
        TRANSFORMS.build(dict(type='LoadPartLabel', ignore_idx=3))
    # a dataset forwards **kwargs to mmengine's BaseDataset: its arguments count too
    with pytest.raises(UnknownArgumentError, match="MarketFormatDataset got an unknown "
                                                   "argument 'pipline'; did you mean "
                                                   "'pipeline'"):
        DATASETS.build(dict(type='MarketFormatDataset', data_root='/nowhere', pipline=[],
                            lazy_init=True))


def test_every_registered_project_class_reports_unknown_arguments():
    register_all_modules()
    own = []
    for name in registry.__all__:
        for cls in getattr(registry, name).module_dict.values():
            if inspect.isclass(cls) and cls.__module__.startswith('mmreidparts'):
                own.append(cls)
                if '__init__' in cls.__dict__:
                    assert getattr(cls.__init__, '_reports_unknown_arguments', False), cls
    assert len(own) > 30


def _tree(tmp_path, base_line: str):
    """configs/_base_/datasets/market1501.py and configs/m/cfg.py with ``base_line``."""
    (tmp_path / 'configs' / '_base_' / 'datasets').mkdir(parents=True)
    (tmp_path / 'configs' / '_base_' / 'datasets' / 'market1501.py').write_text('a = 1\n')
    (tmp_path / 'configs' / 'm').mkdir()
    cfg = tmp_path / 'configs' / 'm' / 'cfg.py'
    cfg.write_text(base_line + 'b = 2\n')
    return cfg


def test_missing_base_file_names_the_config_and_the_closest_file(tmp_path):
    cfg = _tree(tmp_path, "_base_ = ['../_base_/datasets/market150.py']\n")
    with pytest.raises(ConfigFileError) as err:
        read_config(str(cfg))
    msg = str(err.value)
    assert msg.startswith(f"{cfg}: the _base_ file '../_base_/datasets/market150.py' does not "
                          'exist')
    assert "did you mean '../_base_/datasets/market1501.py'?" in msg
    assert isinstance(err.value, FileNotFoundError)
    # in a base file of a base file, the message names that file
    good = _tree(tmp_path / 'nested', "_base_ = '../_base_/datasets/market1501.py'\n")
    inner = good.parent.parent / '_base_' / 'datasets' / 'market1501.py'
    inner.write_text("_base_ = ['./common.py']\n")
    with pytest.raises(ConfigFileError, match=f"{inner}: the _base_ file './common.py'"):
        check_base_files(str(good))
    with pytest.raises(ConfigFileError, match='config file not found'):
        read_config(str(tmp_path / 'none.py'))


def _cfg() -> Config:
    register_all_modules()
    return Config(dict(
        model=dict(type='ReIDModel', head=dict(type='BNNeckHead', in_channels=8,
                                               num_classes=3)),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        pipeline=[dict(type='LoadReIDImage')]))


def test_cfg_options_on_a_missing_key_name_the_closest_one():
    with pytest.raises(ConfigKeyError) as err:
        apply_options(_cfg(), {'train_cfg.max_epoch': 5})
    msg = str(err.value)
    assert "the key 'train_cfg.max_epoch' does not exist" in msg
    assert "did you mean 'train_cfg.max_epochs'?" in msg and "'+train_cfg.max_epoch=...'" in msg
    assert isinstance(err.value, KeyError) and not msg.startswith('"')
    with pytest.raises(ConfigKeyError, match="did you mean 'model.head.num_classes'"):
        apply_options(_cfg(), {'model.head.num_clases': 5})
    with pytest.raises(ConfigKeyError, match='pipeline is a list of 1 entries'):
        apply_options(_cfg(), {'pipeline.3.scale': 5})
    with pytest.raises(ConfigKeyError, match="did you mean 'model'"):
        apply_options(_cfg(), {'modle.head.num_classes': 5})


def test_cfg_options_that_are_valid_or_marked_new_are_merged():
    cfg = apply_options(_cfg(), {
        'model.head.num_classes': 5,  # exists
        'model.head.test_feature': 'before_bn',  # an argument of BNNeckHead left at default
        'model.test_cfg.return_part_maps': True,  # a new dict argument of ReIDModel
        'train_cfg.val_begin': 2,  # an argument of the training loop
        'pipeline.0.to_float32': True,
        '+my_note': 'hello',  # marked new
    })
    assert cfg.model.head.num_classes == 5 and cfg.model.head.test_feature == 'before_bn'
    assert cfg.model.test_cfg == dict(return_part_maps=True)
    assert cfg.train_cfg.val_begin == 2 and cfg.pipeline[0].to_float32 is True
    assert cfg.my_note == 'hello' and '+my_note' not in cfg


def test_config_errors_add_the_config_path_of_the_key():
    cfg = _cfg()
    cfg.model.head.num_part = 3
    with pytest.raises(UnknownArgumentError) as err:
        with config_errors(cfg):
            MODELS.build(cfg.model.head)
    assert str(err.value).endswith('(in the config: model.head.num_part)')
