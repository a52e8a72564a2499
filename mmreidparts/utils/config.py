"""Config helpers: reading configs with checked keys and files, and clear argument errors."""
import ast
import contextlib
import difflib
import functools
import inspect
import os
import os.path as osp
import re
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config

from .errors import ConfigFileError, ConfigKeyError, UnknownArgumentError


def strip_pretrained(cfg: Any) -> Any:
    """A copy of a nested (model) config with every ``init_cfg`` and ``pretrained`` set to None.

    Used when the weights come from a checkpoint, or must not be downloaded (tests,
    benchmarks): building the model then reads no pretrained file.
    """
    if isinstance(cfg, dict):
        return {k: (None if k in ('init_cfg', 'pretrained') else strip_pretrained(v))
                for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(strip_pretrained(v) for v in cfg)
    return cfg


# ---------------------------------------------------------------------- unknown arguments
_UNEXPECTED = re.compile(r"got an unexpected keyword argument '([^']+)'")


def accepted_arguments(cls: type) -> Tuple[List[str], bool]:
    """Keyword arguments a class accepts, and whether it also takes any other (``**kwargs``).

    Follows the ``__init__`` methods of the MRO while they pass ``**kwargs`` on, so a
    subclass also accepts the arguments of the parents it forwards them to.
    """
    names: List[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass is object:
            return names, False
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):  # a builtin without a signature
            return names, True
        names += [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                  and p.name not in names]
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names, False
    return names, True


def closest(name: str, candidates: Sequence[str]) -> Optional[str]:
    """The candidate most like ``name`` (difflib), or None when none is close."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_argument_message(cls: type, key: str) -> str:
    """``'Head got an unknown argument 'x'; did you mean 'y'?'`` with the valid arguments."""
    names, _ = accepted_arguments(cls)
    near = closest(key, names)
    hint = f"; did you mean '{near}'?" if near else '.'
    return (f"{cls.__name__} got an unknown argument '{key}'{hint} Its arguments: "
            f'{", ".join(names)}')


def report_unknown_arguments(cls: type) -> type:
    """Make ``cls(...)`` raise :class:`UnknownArgumentError` naming the closest argument.

    Wraps the class's own ``__init__``: on the ``TypeError`` of an unexpected keyword that
    the caller passed (raised by this ``__init__`` or by a parent it forwards ``**kwargs``
    to), the error names the key and the closest valid argument. Nothing else changes,
    and the successful path costs nothing but the call.
    """
    init = cls.__dict__.get('__init__')
    if init is None or getattr(init, '_reports_unknown_arguments', False):
        return cls

    @functools.wraps(init)
    def __init__(self, *args, **kwargs) -> None:
        try:
            init(self, *args, **kwargs)
        except UnknownArgumentError:
            raise
        except TypeError as err:
            match = _UNEXPECTED.search(str(err))
            if match is None or match.group(1) not in kwargs:
                raise
            key = match.group(1)
            if key in accepted_arguments(type(self))[0]:
                raise  # a valid argument of this class: the error comes from further in
            raise UnknownArgumentError(unknown_argument_message(type(self), key)) from None

    __init__._reports_unknown_arguments = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]
    return cls


# ---------------------------------------------------------------------- config files
_RUNNER_KEYS = ('find_unused_parameters', 'compile', 'efficient_conv_bn_eval',
                'activation_checkpointing', 'sync_bn', 'runner_type', 'test_ignore_prefixes')
_LOOP_KEYS = {'train_cfg': ('EpochBasedTrainLoop', 'IterBasedTrainLoop'),
              'val_cfg': ('ValLoop', ), 'test_cfg': ('TestLoop', )}


def check_base_files(path: str, _seen: Optional[set] = None) -> None:
    """Raise :class:`ConfigFileError` when ``path`` or a ``_base_`` file it inherits is missing.

    The message names the config that refers to the missing file and the closest file
    that exists. ``_base_`` values that are not literals, and ``pkg::`` paths, are left
    to mmengine.
    """
    if not osp.isfile(path):
        raise ConfigFileError(f'config file not found: {path}')
    seen = set() if _seen is None else _seen
    real = osp.realpath(path)
    if real in seen:
        return
    seen.add(real)
    try:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), filename=path)
    except (SyntaxError, UnicodeDecodeError):
        return  # mmengine reports it with the line
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and
                any(isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets)):
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            return
        for base in [value] if isinstance(value, str) else list(value):
            if not isinstance(base, str) or '::' in base:
                continue
            full = osp.normpath(osp.join(osp.dirname(osp.abspath(path)), base))
            if not osp.isfile(full):
                near = _closest_file(full, osp.dirname(osp.abspath(path)))
                hint = f"; did you mean '{near}'?" if near else ''
                raise ConfigFileError(f"{path}: the _base_ file '{base}' does not exist "
                                      f'(looked for {full}){hint}')
            check_base_files(full, seen)


def _closest_file(missing: str, start: str, limit: int = 5000) -> Optional[str]:
    """The existing ``.py`` file nearest to ``missing``, relative to ``start``."""
    folder = osp.dirname(missing)
    while folder and not osp.isdir(folder):
        folder = osp.dirname(folder)
    if not folder:
        return None
    files: List[str] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(('.', '__'))]
        files += [osp.join(root, n) for n in names if n.endswith('.py')]
        if len(files) > limit:
            break
    rel = {osp.relpath(f, start): f for f in files}
    return closest(osp.relpath(missing, start), sorted(rel))


def _resolve_type(type_value: Any) -> Optional[type]:
    """The class a config ``type`` names in mmreidparts' registries (and their parents)."""
    if inspect.isclass(type_value):
        return type_value
    if not isinstance(type_value, str):
        return None
    from mmreidparts import registry
    for name in registry.__all__:
        try:
            found = getattr(registry, name).get(type_value)
        except Exception:  # noqa: BLE001 - an unresolvable name just gives no schema
            found = None
        if inspect.isclass(found):
            return found
    return None


def _accepts(cls: Optional[type], key: str) -> bool:
    """Whether ``key`` is an argument of ``cls`` (True when the class cannot be told)."""
    if cls is None:
        return True
    names, open_kwargs = accepted_arguments(cls)
    return open_kwargs or key in names


def _new_leaf_ok(cfg: dict, trail: List[Any], key: str) -> bool:
    """Whether a key missing from the config may be added at ``trail + [key]``.

    It may when it is an argument of the component whose dict receives it, when that dict
    is an argument of a component (which checks its own dicts), a Runner argument at the
    top level, or an argument of the loop that ``train_cfg``/``val_cfg``/``test_cfg``
    configures.
    """
    from mmengine.runner import Runner
    nodes = [cfg]
    for part in trail:
        node = nodes[-1]
        nodes.append(node[int(part)] if isinstance(node, (list, tuple)) else node[part])
    parent = nodes[-1]
    if 'type' in parent:
        return _accepts(_resolve_type(parent['type']), key)
    if not trail:
        return key in accepted_arguments(Runner)[0] or key in _RUNNER_KEYS
    if len(trail) == 1 and trail[0] in _LOOP_KEYS:
        return any(_accepts(_resolve_type(t), key) for t in _LOOP_KEYS[trail[0]])
    return any(isinstance(n, dict) and 'type' in n for n in nodes[1:-1])


def check_option_key(cfg: dict, dotted: str) -> None:
    """Raise :class:`ConfigKeyError` unless ``--cfg-options`` key ``dotted`` can be set.

    Every part of the path must exist, except a new argument of the component it
    configures (see :func:`_new_leaf_ok`; the rest of the path then builds a dict for
    it). The message names the key and the closest valid one.
    """
    parts = dotted.split('.')
    node: Any = cfg
    for i, part in enumerate(parts):
        where = '.'.join(parts[:i])
        if isinstance(node, (list, tuple)):
            if part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            raise ConfigKeyError(f"--cfg-options: '{dotted}': {where} is a list of "
                                 f'{len(node)} entries; expected an index 0..{len(node) - 1}')
        if not isinstance(node, dict):
            raise ConfigKeyError(f"--cfg-options: '{dotted}': {where} is {node!r}, not a "
                                 f"dict; set '{where}' itself, or write '+{dotted}' to "
                                 'replace it by a new dict')
        if part in node:
            node = node[part]
            continue
        if (part == 'type' and i == len(parts) - 1) or _new_leaf_ok(cfg, parts[:i], part):
            return  # a new argument (a dict of them when the path goes on)
        candidates = [str(k) for k in node]
        if 'type' in node:
            candidates += accepted_arguments(_resolve_type(node['type']) or object)[0]
        near = closest(part, candidates)
        prefix = f'{where}.' if where else ''
        hint = f"; did you mean '{prefix}{near}'?" if near else '.'
        raise ConfigKeyError(f"--cfg-options: the key '{dotted}' does not exist in the config "
                             f"({where or 'the top level'} has no '{part}'){hint} Write "
                             f"'+{dotted}=...' to add a new key.")


def apply_options(cfg: Config, options: Optional[Dict[str, Any]]) -> Config:
    """Merge ``--cfg-options`` into ``cfg`` after checking that each key exists.

    A key written with a leading ``+`` is new on purpose and is not checked.
    """
    plain = {}
    for key, value in (options or {}).items():
        if key.startswith('+'):
            key = key[1:]
        else:
            check_option_key(cfg._cfg_dict, key)
        plain[key] = value
    if plain:
        cfg.merge_from_dict(plain)
    return cfg


def read_config(path: str, options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a config file with checked ``_base_`` files and checked ``--cfg-options``.

    The one way every tool reads its config: a missing file or ``_base_`` file raises
    :class:`ConfigFileError`, an option on a key that does not exist
    :class:`ConfigKeyError`, both naming the closest valid file or key.
    """
    from .setup_env import register_all_modules
    check_base_files(path)
    cfg = Config.fromfile(path)
    register_all_modules(init_default_scope=False)
    return apply_options(cfg, options)


def config_key_paths(cfg: Any, key: str, prefix: str = '') -> List[str]:
    """Dotted paths of every occurrence of ``key`` as a dict key in a nested config."""
    if isinstance(cfg, Config):
        cfg = cfg._cfg_dict
    out: List[str] = []
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            path = f'{prefix}{k}'
            if k == key:
                out.append(path)
            out += config_key_paths(v, key, path + '.')
    elif isinstance(cfg, (list, tuple)):
        for i, v in enumerate(cfg):
            out += config_key_paths(v, key, f'{prefix}{i}.')
    return out


@contextlib.contextmanager
def config_errors(cfg: Any) -> Iterator[None]:
    """Add the config path of the key to an :class:`UnknownArgumentError` raised inside."""
    try:
        yield
    except UnknownArgumentError as err:
        match = re.search(r"unknown argument '([^']+)'", str(err))
        paths = config_key_paths(cfg, match.group(1)) if match else []
        if not paths:
            raise
        raise UnknownArgumentError(f'{err} (in the config: {", ".join(paths)})') from None
