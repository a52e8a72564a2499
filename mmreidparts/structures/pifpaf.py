"""PifPaf confidence fields and their grouping into body parts (BPBreID part labels).

BPBreID's released part labels store, per image, 36 PifPaf confidence fields in [0, 1]
(``[36, h, w]``): the 17 COCO keypoint fields (PIF) followed by 19 limb association fields
(PAF), in the order of :data:`PIFPAF_FIELDS`. A part scheme with K parts groups the fields
into K sets; the pixel-wise maximum over a set is that part's soft map, and the label map
is ``0`` where every part is below the threshold and ``1 + argmax`` elsewhere.

Groupings follow BPBreID (bpbreid.md, section 2.2.7) and are expressed for the schemes of
:mod:`mmreidparts.structures.part_schemes`, in their part order. Fields may belong to
several groups (the hips are in the torso and the legs of K=5, as in the release); where a
pixel's maximum is shared, the first part in scheme order wins.

K = 11 (``bpbreid11``) splits what K = 8 calls the torso and the arms:

- upper torso: the shoulder-hip and shoulder-shoulder connections; lower torso: both hip
  keypoints and the hip-hip connection.
- upper arm: shoulder and elbow keypoints and the shoulder-elbow connection; lower arm:
  wrist keypoint and the elbow-wrist connection.
- legs and feet as in K = 8 (the ankle-knee connection is the shin, part of the leg; the
  ankle keypoint is the foot).

``bpbreid5v`` is the release's ``five_v`` grouping used by its Market-1501 and
DukeMTMC-reID configs (head, upper arms + torso, lower arms + torso, legs, feet); it is
registered as a part scheme here. Its lower group holds only the right shoulder-hip
connection and no group holds the hip-hip and left shoulder-hip connections: asymmetries
of the release, kept so that released models see the labels they were trained with.
"""
from typing import Dict, Sequence, Tuple, Union

import numpy as np

from .part_schemes import PART_SCHEMES, PartScheme, get_part_scheme, register_part_scheme

PIFPAF_KEYPOINTS: Tuple[str, ...] = (
    'nose', 'l_eye', 'r_eye', 'l_ear', 'r_ear', 'l_shoulder', 'r_shoulder', 'l_elbow',
    'r_elbow', 'l_wrist', 'r_wrist', 'l_hip', 'r_hip', 'l_knee', 'r_knee', 'l_ankle',
    'r_ankle')
PIFPAF_CONNECTIONS: Tuple[str, ...] = (
    'l_ankle-l_knee', 'l_knee-l_hip', 'r_ankle-r_knee', 'r_knee-r_hip', 'l_hip-r_hip',
    'l_shoulder-l_hip', 'r_shoulder-r_hip', 'l_shoulder-r_shoulder', 'l_shoulder-l_elbow',
    'r_shoulder-r_elbow', 'l_elbow-l_wrist', 'r_elbow-r_wrist', 'l_eye-r_eye', 'nose-l_eye',
    'nose-r_eye', 'l_eye-l_ear', 'r_eye-r_ear', 'l_ear-l_shoulder', 'r_ear-r_shoulder')
PIFPAF_FIELDS: Tuple[str, ...] = PIFPAF_KEYPOINTS + PIFPAF_CONNECTIONS
PIFPAF_FIELD_ID: Dict[str, int] = {name: i for i, name in enumerate(PIFPAF_FIELDS)}
NUM_PIFPAF_FIELDS = len(PIFPAF_FIELDS)  # 36

# Base groups of bpbreid.md 2.2.7.
HEAD = ('nose', 'l_eye', 'r_eye', 'l_ear', 'r_ear', 'l_eye-r_eye', 'nose-l_eye', 'nose-r_eye',
        'l_eye-l_ear', 'r_eye-r_ear', 'l_ear-l_shoulder', 'r_ear-r_shoulder')
L_ARM = ('l_shoulder', 'l_elbow', 'l_wrist', 'l_shoulder-l_elbow', 'l_elbow-l_wrist')
R_ARM = ('r_shoulder', 'r_elbow', 'r_wrist', 'r_shoulder-r_elbow', 'r_elbow-r_wrist')
TORSO = ('l_hip', 'r_hip', 'l_hip-r_hip', 'l_shoulder-l_hip', 'r_shoulder-r_hip',
         'l_shoulder-r_shoulder')
L_LEG = ('l_knee', 'l_ankle-l_knee', 'l_knee-l_hip', 'l_hip-r_hip')
R_LEG = ('r_knee', 'r_ankle-r_knee', 'r_knee-r_hip')
LEGS = ('l_hip', 'r_hip', 'l_knee', 'r_knee', 'l_hip-r_hip', 'l_ankle-l_knee', 'l_knee-l_hip',
        'r_ankle-r_knee', 'r_knee-r_hip')
L_FOOT = ('l_ankle', )
R_FOOT = ('r_ankle', )
FEET = L_FOOT + R_FOOT
# K = 11 split (see the module docstring).
UPPER_TORSO = ('l_shoulder-l_hip', 'r_shoulder-r_hip', 'l_shoulder-r_shoulder')
LOWER_TORSO = ('l_hip', 'r_hip', 'l_hip-r_hip')
L_UPPER_ARM = ('l_shoulder', 'l_elbow', 'l_shoulder-l_elbow')
L_LOWER_ARM = ('l_wrist', 'l_elbow-l_wrist')
R_UPPER_ARM = ('r_shoulder', 'r_elbow', 'r_shoulder-r_elbow')
R_LOWER_ARM = ('r_wrist', 'r_elbow-r_wrist')
# The release's five_v groups.
FIVE_V_UPPER = ('l_elbow', 'r_elbow', 'l_shoulder-l_elbow', 'r_shoulder-r_elbow', 'l_shoulder',
                'r_shoulder', 'l_shoulder-r_shoulder')
FIVE_V_LOWER = ('l_wrist', 'r_wrist', 'l_elbow-l_wrist', 'r_elbow-r_wrist', 'l_hip', 'r_hip',
                'r_shoulder-r_hip')
FIVE_V_LEGS = ('l_hip', 'r_hip', 'l_knee', 'r_knee', 'l_ankle-l_knee', 'l_knee-l_hip',
               'r_ankle-r_knee', 'r_knee-r_hip')


def _union(*groups: Sequence[str]) -> Tuple[str, ...]:
    """Fields of several groups, each once, in first-seen order."""
    out: list = []
    for group in groups:
        out += [f for f in group if f not in out]
    return tuple(out)


# The release's five_v as a part scheme of the 13 atoms.
FIVE_V_SCHEME = PartScheme(
    name='bpbreid5v',
    names=('head', 'upper_arms_torso', 'lower_arms_torso', 'legs', 'feet'),
    parts=(('head', ), ('upper_torso', 'l_upper_arm', 'r_upper_arm'),
           ('lower_torso', 'l_lower_arm', 'r_lower_arm'),
           ('l_upper_leg', 'l_lower_leg', 'r_upper_leg', 'r_lower_leg'), ('l_foot', 'r_foot')))
if FIVE_V_SCHEME.name not in PART_SCHEMES:
    register_part_scheme(FIVE_V_SCHEME)

# scheme name -> {part name: PifPaf fields}, parts in the scheme's order.
PIFPAF_GROUPINGS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    'bpbreid1': dict(foreground=PIFPAF_FIELDS),
    'bpbreid2': dict(upper_body=_union(HEAD, TORSO, L_ARM, R_ARM), lower_body=_union(LEGS, FEET)),
    'bpbreid3': dict(head=HEAD, torso_arms=_union(TORSO, L_ARM, R_ARM),
                     legs_feet=_union(LEGS, FEET)),
    'bpbreid4': dict(head=HEAD, torso=TORSO, arms=_union(L_ARM, R_ARM),
                     legs_feet=_union(LEGS, FEET)),
    'bpbreid5': dict(head=HEAD, arms=_union(L_ARM, R_ARM), torso=TORSO, legs=LEGS, feet=FEET),
    'bpbreid5v': dict(head=HEAD, upper_arms_torso=FIVE_V_UPPER, lower_arms_torso=FIVE_V_LOWER,
                      legs=FIVE_V_LEGS, feet=FEET),
    'bpbreid6': dict(head=HEAD, torso=TORSO, r_arm=R_ARM, l_arm=L_ARM, legs=LEGS, feet=FEET),
    'bpbreid8': dict(head=HEAD, l_arm=L_ARM, r_arm=R_ARM, torso=TORSO, l_leg=L_LEG, r_leg=R_LEG,
                     l_foot=L_FOOT, r_foot=R_FOOT),
    'bpbreid11': dict(head=HEAD, upper_torso=UPPER_TORSO, lower_torso=LOWER_TORSO,
                      r_upper_arm=R_UPPER_ARM, r_lower_arm=R_LOWER_ARM, l_upper_arm=L_UPPER_ARM,
                      l_lower_arm=L_LOWER_ARM, r_leg=R_LEG, l_leg=L_LEG, r_foot=R_FOOT,
                      l_foot=L_FOOT),
}
# Names of the release's ``masks.preprocess`` presets -> our scheme names.
RELEASE_PRESETS: Dict[str, str] = dict(
    one='bpbreid1', full='bpbreid1', two_v='bpbreid2', three_v='bpbreid3', four='bpbreid4',
    five='bpbreid5', five_v='bpbreid5v', six='bpbreid6', eight='bpbreid8',
    eleven='bpbreid11')

SchemeLike = Union[str, PartScheme]


def resolve_pifpaf_scheme(scheme: SchemeLike) -> str:
    """Our scheme name of a scheme, a scheme name or a release preset name (``'five_v'``)."""
    name = scheme.name if isinstance(scheme, PartScheme) else RELEASE_PRESETS.get(scheme, scheme)
    if name not in PIFPAF_GROUPINGS:
        raise KeyError(f'no PifPaf grouping for part scheme {name!r}; groupings exist for '
                       f'{sorted(PIFPAF_GROUPINGS)} and the release presets '
                       f'{sorted(RELEASE_PRESETS)}')
    return name


def pifpaf_grouping(scheme: SchemeLike) -> Tuple[Tuple[int, ...], ...]:
    """Field indices (0..35) of each of the K parts of ``scheme``, in the scheme's part order."""
    name = resolve_pifpaf_scheme(scheme)
    groups = PIFPAF_GROUPINGS[name]
    part_names = get_part_scheme(name).names
    if tuple(groups) != part_names:
        raise AssertionError(f'PifPaf grouping of {name!r} lists parts {tuple(groups)}, the '
                             f'scheme has {part_names}')
    return tuple(tuple(PIFPAF_FIELD_ID[f] for f in groups[p]) for p in part_names)


def _check_fields(fields: np.ndarray) -> np.ndarray:
    """Validate a ``[36, h, w]`` field array and return it as float32."""
    fields = np.asarray(fields)
    if fields.ndim != 3 or fields.shape[0] != NUM_PIFPAF_FIELDS:
        raise ValueError(f'PifPaf fields must have shape [{NUM_PIFPAF_FIELDS}, h, w], got '
                         f'{list(fields.shape)}')
    return fields.astype(np.float32, copy=False)


def group_fields(fields: np.ndarray, scheme: SchemeLike) -> np.ndarray:
    """Group ``[36, h, w]`` PifPaf fields into ``[K, h, w]`` part maps (pixel-wise max)."""
    fields = _check_fields(fields)
    groups = pifpaf_grouping(scheme)
    return np.stack([fields[list(g)].max(axis=0) for g in groups])  # [K, h, w]


def part_maps_to_label_map(part_maps: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``[K, h, w]`` part maps -> ``[h, w]`` uint8 labels: 0 if max < threshold else 1 + argmax."""
    part_maps = np.asarray(part_maps)
    if part_maps.ndim != 3 or part_maps.shape[0] == 0:
        raise ValueError(f'part maps must have shape [K, h, w], got {list(part_maps.shape)}')
    if part_maps.shape[0] > 254:
        raise ValueError(f'{part_maps.shape[0]} parts do not fit a uint8 label map')
    labels = part_maps.argmax(axis=0).astype(np.uint8) + 1  # [h, w]
    labels[part_maps.max(axis=0) < threshold] = 0
    return labels


def fields_to_label_map(fields: np.ndarray,
                        scheme: SchemeLike,
                        threshold: float = 0.5) -> np.ndarray:
    """``[36, h, w]`` PifPaf fields -> ``[h, w]`` uint8 labels of ``scheme`` (0 = background)."""
    return part_maps_to_label_map(group_fields(fields, scheme), threshold)


__all__ = [
    'PIFPAF_KEYPOINTS', 'PIFPAF_CONNECTIONS', 'PIFPAF_FIELDS', 'PIFPAF_FIELD_ID',
    'PIFPAF_GROUPINGS', 'RELEASE_PRESETS', 'FIVE_V_SCHEME', 'resolve_pifpaf_scheme',
    'pifpaf_grouping', 'group_fields', 'part_maps_to_label_map', 'fields_to_label_map'
]
