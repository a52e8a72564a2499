"""Layouts of the authors' released checkpoints, so that a converter refuses another release.

Each :class:`ReleaseLayout` says which top-level keys a release's checkpoint has, where its
model weights are, and a few weight names that only it has (``module.`` prefixes are
ignored). :func:`check_release` raises an error that names what differs from the expected
release and which known release the file looks like instead. A converter for a new release
registers its layout here with :func:`register_release_layout`.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple


@dataclass(frozen=True)
class ReleaseLayout:
    """What a released checkpoint looks like.

    Args:
        name: the release, e.g. ``'BPBreID'``.
        top_keys: keys the loaded checkpoint (a dict) must have.
        weights_at: the path of keys to the model weights inside the checkpoint.
        markers: weight names only this release has; one ending with ``.`` is a prefix.
        converter: the script that converts it (``tools/model_converters/...``).
    """

    name: str
    top_keys: Tuple[str, ...]
    weights_at: Tuple[str, ...]
    markers: Tuple[str, ...]
    converter: Optional[str] = None


RELEASE_LAYOUTS: Dict[str, ReleaseLayout] = {}


def register_release_layout(layout: ReleaseLayout) -> ReleaseLayout:
    """Add a release to the known layouts (its name must be new)."""
    if layout.name in RELEASE_LAYOUTS:
        raise KeyError(f'release layout {layout.name!r} is already registered')
    RELEASE_LAYOUTS[layout.name] = layout
    return layout


def _weights(ckpt: Mapping, path: Tuple[str, ...]) -> Optional[Mapping]:
    """The mapping at ``path`` inside ``ckpt``, or None."""
    node: Any = ckpt
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, Mapping) else None


def _has(keys: List[str], marker: str) -> bool:
    """Whether one of ``keys`` is ``marker`` (or starts with it, for a prefix)."""
    return any(k.startswith(marker) if marker.endswith('.') else k == marker for k in keys)


def layout_problems(ckpt: Any, layout: ReleaseLayout) -> List[str]:
    """How a loaded checkpoint differs from ``layout`` (empty when it matches)."""
    if not isinstance(ckpt, Mapping):
        return [f'it holds a {type(ckpt).__name__}, not a dict']
    problems = []
    missing = [k for k in layout.top_keys if k not in ckpt]
    if missing:
        problems.append(f'top-level keys {missing} are missing (it has '
                        f'{sorted(map(str, ckpt))[:8]})')
    weights = _weights(ckpt, layout.weights_at)
    if weights is None:
        problems.append(f'no weights at {"/".join(layout.weights_at)}')
        return problems
    keys = [str(k)[len('module.'):] if str(k).startswith('module.') else str(k)
            for k in weights]
    absent = [m for m in layout.markers if not _has(keys, m)]
    if absent:
        problems.append(f'no weights named {absent} (e.g. it has {keys[:4]})')
    return problems


def identify_release(ckpt: Any) -> Optional[str]:
    """The name of the known release whose layout ``ckpt`` has, or None."""
    for name, layout in RELEASE_LAYOUTS.items():
        if not layout_problems(ckpt, layout):
            return name
    return None


def check_release(ckpt: Any, expected: str, source: str) -> None:
    """Raise a ValueError unless ``ckpt`` has the layout of the release ``expected``."""
    problems = layout_problems(ckpt, RELEASE_LAYOUTS[expected])
    if not problems:
        return
    other = identify_release(ckpt)
    hint = ''
    if other is not None:
        conv = RELEASE_LAYOUTS[other].converter
        hint = f'; it has the layout of the {other} release' + (
            f' (converter: {conv})' if conv else ' (no converter yet)')
    raise ValueError(f'{source}: not a {expected} release checkpoint: ' +
                     '; '.join(problems) + hint)


register_release_layout(ReleaseLayout(
    name='BPBreID', top_keys=('state_dict', ), weights_at=('state_dict', ),
    markers=('pixel_classifier.classifier.weight', 'backbone_appearance_feature_extractor.'),
    converter='tools/model_converters/bpbreid_to_mmreidparts.py'))
register_release_layout(ReleaseLayout(
    name='EANet / PAL', top_keys=('state_dicts', ), weights_at=('state_dicts', 'model'),
    markers=('backbone.', 'em_list.', 'cls_list.')))
register_release_layout(ReleaseLayout(
    name='part-aligned bilinear', top_keys=('app_state_dict', 'part_state_dict'),
    weights_at=('app_state_dict', ), markers=('input_feat.', )))
