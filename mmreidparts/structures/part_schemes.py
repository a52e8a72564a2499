"""Body-part label schemes shared by the data pipeline, the label generators and the heads.

Every scheme is a grouping of 13 *atoms*: the finest body regions any tool of the
package distinguishes (the synthetic renderer draws exactly these, the label
generators assign pixels to them). A label map of a scheme with K parts holds
``0`` for background and ``1..K`` for the parts in the order of ``names``.

Left and right are the person's own left and right (for a person facing the camera,
their left side appears on the right of the image). A horizontal flip of the image
therefore swaps the ids listed in ``flip_pairs``.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np

ATOMS: Tuple[str, ...] = (
    'head', 'upper_torso', 'lower_torso',
    'l_upper_arm', 'l_lower_arm', 'r_upper_arm', 'r_lower_arm',
    'l_upper_leg', 'l_lower_leg', 'r_upper_leg', 'r_lower_leg',
    'l_foot', 'r_foot',
)
ATOM_ID: Dict[str, int] = {name: i + 1 for i, name in enumerate(ATOMS)}  # 0 = background


@dataclass(frozen=True)
class PartScheme:
    """A set of K body parts, each a union of atoms.

    Attributes:
        name: registry name of the scheme (used in label folder names).
        names: the K part names, in label-id order (id = index + 1).
        parts: for each part, the atoms it contains.
        flip_pairs: pairs of label ids (1-based) swapped by a horizontal flip.
    """
    name: str
    names: Tuple[str, ...]
    parts: Tuple[Tuple[str, ...], ...]
    flip_pairs: Tuple[Tuple[int, int], ...] = field(default=())

    @property
    def num_parts(self) -> int:
        """Number of parts K (background excluded)."""
        return len(self.names)

    def atom_lut(self) -> np.ndarray:
        """Lookup table ``[len(ATOMS) + 1]`` mapping an atom id to this scheme's part id."""
        lut = np.zeros(len(ATOMS) + 1, dtype=np.uint8)
        for pid, atoms in enumerate(self.parts, start=1):
            for atom in atoms:
                lut[ATOM_ID[atom]] = pid
        return lut

    def from_atoms(self, atom_map: np.ndarray) -> np.ndarray:
        """Convert an atom label map (ids 0..13) into this scheme's label map (ids 0..K)."""
        return self.atom_lut()[atom_map]

    def flip_lut(self) -> np.ndarray:
        """Lookup table ``[K + 1]`` giving each label id its mirror id."""
        lut = np.arange(self.num_parts + 1, dtype=np.uint8)
        for a, b in self.flip_pairs:
            lut[a], lut[b] = b, a
        return lut


def _pairs(names: Sequence[str]) -> Tuple[Tuple[int, int], ...]:
    """Label-id pairs of parts whose names differ only by an ``l_``/``r_`` prefix."""
    index = {n: i + 1 for i, n in enumerate(names)}
    out = []
    for n, i in index.items():
        if n.startswith('l_') and 'r_' + n[2:] in index:
            out.append((i, index['r_' + n[2:]]))
    return tuple(out)


def _scheme(name: str, spec: Sequence[Tuple[str, Sequence[str]]]) -> PartScheme:
    names = tuple(n for n, _ in spec)
    parts = tuple(tuple(a) for _, a in spec)
    covered = [a for p in parts for a in p]
    assert sorted(covered) == sorted(ATOMS), f'scheme {name} must cover every atom once'
    return PartScheme(name, names, parts, _pairs(names))


_ARMS_L = ('l_upper_arm', 'l_lower_arm')
_ARMS_R = ('r_upper_arm', 'r_lower_arm')
_TORSO = ('upper_torso', 'lower_torso')
_LEG_L = ('l_upper_leg', 'l_lower_leg')
_LEG_R = ('r_upper_leg', 'r_lower_leg')
_FEET = ('l_foot', 'r_foot')

PART_SCHEMES: Dict[str, PartScheme] = {}


def register_part_scheme(scheme: PartScheme, force: bool = False) -> PartScheme:
    """Add a scheme to the table used by ``get_part_scheme`` (e.g. from a plugin)."""
    if scheme.name in PART_SCHEMES and not force:
        raise KeyError(f'part scheme {scheme.name!r} is already registered')
    PART_SCHEMES[scheme.name] = scheme
    return scheme


for _s in (
    # BPBreID groupings (bpbreid.md section 2.2), part order as in the paper.
    _scheme('bpbreid1', [('foreground', ATOMS)]),
    _scheme('bpbreid2', [('upper_body', ('head',) + _TORSO + _ARMS_L + _ARMS_R),
                         ('lower_body', _LEG_L + _LEG_R + _FEET)]),
    _scheme('bpbreid3', [('head', ('head',)), ('torso_arms', _TORSO + _ARMS_L + _ARMS_R),
                         ('legs_feet', _LEG_L + _LEG_R + _FEET)]),
    _scheme('bpbreid4', [('head', ('head',)), ('torso', _TORSO), ('arms', _ARMS_L + _ARMS_R),
                         ('legs_feet', _LEG_L + _LEG_R + _FEET)]),
    _scheme('bpbreid5', [('head', ('head',)), ('arms', _ARMS_L + _ARMS_R), ('torso', _TORSO),
                         ('legs', _LEG_L + _LEG_R), ('feet', _FEET)]),
    _scheme('bpbreid6', [('head', ('head',)), ('torso', _TORSO), ('r_arm', _ARMS_R),
                         ('l_arm', _ARMS_L), ('legs', _LEG_L + _LEG_R), ('feet', _FEET)]),
    # K=7 (DROP's Table 8 ablation; the groupings are unstated): bpbreid8 with one feet part
    _scheme('bpbreid7', [('head', ('head',)), ('l_arm', _ARMS_L), ('r_arm', _ARMS_R),
                         ('torso', _TORSO), ('l_leg', _LEG_L), ('r_leg', _LEG_R),
                         ('feet', _FEET)]),
    _scheme('bpbreid8', [('head', ('head',)), ('l_arm', _ARMS_L), ('r_arm', _ARMS_R),
                         ('torso', _TORSO), ('l_leg', _LEG_L), ('r_leg', _LEG_R),
                         ('l_foot', ('l_foot',)), ('r_foot', ('r_foot',))]),
    _scheme('bpbreid11', [('head', ('head',)), ('upper_torso', ('upper_torso',)),
                          ('lower_torso', ('lower_torso',)),
                          ('r_upper_arm', ('r_upper_arm',)), ('r_lower_arm', ('r_lower_arm',)),
                          ('l_upper_arm', ('l_upper_arm',)), ('l_lower_arm', ('l_lower_arm',)),
                          ('r_leg', _LEG_R), ('l_leg', _LEG_L),
                          ('r_foot', ('r_foot',)), ('l_foot', ('l_foot',))]),
    # Part awareness learning (pal.md section 2.2): EANet 7-part ids, no left/right.
    _scheme('pal7', [('head', ('head',)), ('torso', _TORSO),
                     ('upper_arm', ('l_upper_arm', 'r_upper_arm')),
                     ('lower_arm', ('l_lower_arm', 'r_lower_arm')),
                     ('upper_leg', ('l_upper_leg', 'r_upper_leg')),
                     ('lower_leg', ('l_lower_leg', 'r_lower_leg')), ('foot', _FEET)]),
    # Its label granularities (pal.md 2.2, Table VI), coarsenings of pal7: foreground,
    # upper/lower body ({head, torso, arms} / {legs, feet}), and four parts.
    _scheme('pal1', [('foreground', ATOMS)]),
    _scheme('pal2', [('upper_body', ('head',) + _TORSO + _ARMS_L + _ARMS_R),
                     ('lower_body', _LEG_L + _LEG_R + _FEET)]),
    _scheme('pal4', [('head', ('head',)), ('torso_arms', _TORSO + _ARMS_L + _ARMS_R),
                     ('upper_leg', ('l_upper_leg', 'r_upper_leg')),
                     ('lower_leg_foot', ('l_lower_leg', 'r_lower_leg') + _FEET)]),
    # The atoms themselves, for lossless storage of generated labels.
    _scheme('atoms13', [(a, (a,)) for a in ATOMS]),
):
    register_part_scheme(_s)


def get_part_scheme(name: str) -> PartScheme:
    """Return the registered scheme ``name`` or raise a KeyError listing the known ones."""
    try:
        return PART_SCHEMES[name]
    except KeyError:
        raise KeyError(f'unknown part scheme {name!r}; known schemes: '
                       f'{sorted(PART_SCHEMES)}') from None


def regroup_lut(src: str, dst: str) -> np.ndarray:
    """Lookup table mapping label ids of scheme ``src`` to ids of scheme ``dst``.

    Valid only when every part of ``src`` lies inside a single part of ``dst`` (the
    source is at least as fine); otherwise a ValueError names the part that is split.
    """
    s, d = get_part_scheme(src), get_part_scheme(dst)
    d_atom = d.atom_lut()
    lut = np.zeros(s.num_parts + 1, dtype=np.uint8)
    for pid, atoms in enumerate(s.parts, start=1):
        targets = {int(d_atom[ATOM_ID[a]]) for a in atoms}
        if len(targets) != 1:
            raise ValueError(f'cannot regroup {src!r} into {dst!r}: part {s.names[pid - 1]!r} '
                             f'is split between several {dst!r} parts')
        lut[pid] = targets.pop()
    return lut


__all__: List[str] = ['ATOMS', 'ATOM_ID', 'PartScheme', 'PART_SCHEMES', 'get_part_scheme',
                      'register_part_scheme', 'regroup_lut']
