"""Body-part label maps from a 17-keypoint COCO skeleton (pure numpy).

Every pixel is given the atom (``mmreidparts.structures.part_schemes.ATOMS``) of the
nearest body *capsule*: a core (a segment, a point or a convex polygon) grown by a
radius proportional to the body scale. The score of a pixel for a capsule is its
distance to the core minus the radius (negative inside), and the pixel takes the atom of
the lowest score. With a person mask every mask pixel within ``max_mask_dist`` body
scales of a capsule is labelled; without a mask only pixels inside a capsule (limb-width
bands) are labelled.

Coordinates follow COCO: ``(x, y)`` in pixels, pixel ``(row i, column j)`` covering
``[j, j + 1) x [i, i + 1)``, so its centre is ``(j + 0.5, i + 0.5)`` and a horizontal
flip of an image of width ``W`` maps ``x`` to ``W - x``. Left and right are the person's
own (COCO keypoint names), as in the part schemes.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmreidparts.structures.coco_person import COCO_FLIP_PAIRS
from mmreidparts.structures.part_schemes import ATOM_ID

COCO_KEYPOINTS: Tuple[str, ...] = (
    'nose', 'l_eye', 'r_eye', 'l_ear', 'r_ear', 'l_shoulder', 'r_shoulder',
    'l_elbow', 'r_elbow', 'l_wrist', 'r_wrist', 'l_hip', 'r_hip',
    'l_knee', 'r_knee', 'l_ankle', 'r_ankle',
)
KP: Dict[str, int] = {name: i for i, name in enumerate(COCO_KEYPOINTS)}
FACE = (KP['nose'], KP['l_eye'], KP['r_eye'], KP['l_ear'], KP['r_ear'])


@dataclass(frozen=True)
class CapsuleWidths:
    """Capsule radii and extensions, in units of the body scale (the torso length).

    Attributes:
        head: radius of the head disc around the face centre.
        head_up, head_down: how far the head core extends from the face centre towards
            the crown and towards the neck.
        torso: margin grown around the shoulder-hip quadrilaterals.
        upper_arm, lower_arm, upper_leg, lower_leg, foot: limb radii.
        hand: hand extension beyond the wrist, as a fraction of the forearm length.
        foot_len: foot core length below the ankle.
    """
    head: float = 0.20
    head_up: float = 0.06
    head_down: float = 0.06
    torso: float = 0.06
    upper_arm: float = 0.12
    lower_arm: float = 0.09
    hand: float = 0.35
    upper_leg: float = 0.16
    lower_leg: float = 0.12
    foot: float = 0.11
    foot_len: float = 0.15


@dataclass
class Capsule:
    """A body region: ``points`` [n, 2] form a point (n=1), segment (n=2) or polygon.

    ``hidden`` regions (a defining keypoint has ``v == 1``: labelled but not visible) lie
    behind the visible ones: they only get pixels that no visible capsule contains.
    """
    atom: int
    points: np.ndarray  # [n, 2] float64 (x, y)
    radius: float
    hidden: bool = False


def _visible(kps: np.ndarray, idx: int) -> bool:
    return bool(kps[idx, 2] > 0)


def _mean_visible(kps: np.ndarray, ids: Sequence[int]) -> Optional[np.ndarray]:
    pts = [kps[i, :2] for i in ids if _visible(kps, i)]
    return np.mean(pts, axis=0) if pts else None


def body_scale(kps: np.ndarray, image_height: float) -> float:
    """Body scale (about the shoulder-to-hip length) of a skeleton ``kps`` [17, 3], in pixels.

    Falls back, in order, on the thigh length, the shoulder width, the face size and a
    third of the image height when the torso is not visible.
    """
    sho = _mean_visible(kps, (KP['l_shoulder'], KP['r_shoulder']))
    hip = _mean_visible(kps, (KP['l_hip'], KP['r_hip']))
    if sho is not None and hip is not None and np.linalg.norm(sho - hip) > 1e-6:
        return float(np.linalg.norm(sho - hip))
    for a, b in ((KP['l_hip'], KP['l_knee']), (KP['r_hip'], KP['r_knee'])):
        if _visible(kps, a) and _visible(kps, b):
            length = float(np.linalg.norm(kps[a, :2] - kps[b, :2]))
            if length > 1e-6:
                return 1.15 * length
    if _visible(kps, KP['l_shoulder']) and _visible(kps, KP['r_shoulder']):
        width = float(np.linalg.norm(kps[KP['l_shoulder'], :2] - kps[KP['r_shoulder'], :2]))
        if width > 1e-6:
            return 1.4 * width
    face = [kps[i, :2] for i in FACE if _visible(kps, i)]
    if len(face) >= 2:
        span = float(np.max(np.ptp(np.asarray(face), axis=0)))
        if span > 1e-6:
            return 2.5 * span
    return image_height / 3.0


def head_position(kps: np.ndarray) -> Optional[np.ndarray]:
    """Head centre ``[2]`` of a skeleton: mean of the visible face keypoints, else None."""
    return _mean_visible(kps, FACE)


def build_capsules(kps: np.ndarray, image_height: float,
                   widths: CapsuleWidths = CapsuleWidths()) -> List[Capsule]:
    """Capsules of the visible body regions of a skeleton ``kps`` [17, 3] (x, y, v).

    A region is absent when a keypoint that defines it has ``v == 0``. The torso needs
    one shoulder; missing hips are placed one body scale below the shoulders.
    """
    kps = np.asarray(kps, dtype=np.float64)
    if kps.shape != (17, 3):
        raise ValueError(f'expected 17 COCO keypoints as a [17, 3] array, got {kps.shape}')
    s = body_scale(kps, image_height)
    out: List[Capsule] = []
    down = np.array([0.0, 1.0])

    def vis(name: str) -> bool:
        return _visible(kps, KP[name])

    def pt(name: str) -> np.ndarray:
        return kps[KP[name], :2]

    def hidden(*names: str) -> bool:
        return any(kps[KP[n], 2] == 1 for n in names)

    def all_hidden(*names: str) -> bool:
        return all(kps[KP[n], 2] == 1 for n in names if kps[KP[n], 2] > 0)

    # Head: a short core from the face centre towards the crown (away from the shoulders).
    face = head_position(kps)
    sho_mid = _mean_visible(kps, (KP['l_shoulder'], KP['r_shoulder']))
    if face is not None:
        up = -down
        if sho_mid is not None and np.linalg.norm(face - sho_mid) > 1e-6:
            up = (face - sho_mid) / np.linalg.norm(face - sho_mid)
        core = np.stack([face - widths.head_down * s * up, face + widths.head_up * s * up])
        out.append(Capsule(ATOM_ID['head'], core, widths.head * s,
                           all(kps[i, 2] == 1 for i in FACE if kps[i, 2] > 0)))

    # Torso: shoulders and hips, split at the shoulder-hip midpoints.
    if vis('l_shoulder') or vis('r_shoulder'):
        sho: Dict[str, np.ndarray] = {}
        hip: Dict[str, np.ndarray] = {}
        for side in ('l', 'r'):
            other = 'r' if side == 'l' else 'l'
            sho[side] = pt(f'{side}_shoulder') if vis(f'{side}_shoulder') else \
                pt(f'{other}_shoulder')
        for side in ('l', 'r'):
            other = 'r' if side == 'l' else 'l'
            if vis(f'{side}_hip'):
                hip[side] = pt(f'{side}_hip')
            elif vis(f'{other}_hip'):
                hip[side] = pt(f'{other}_hip') + (sho[side] - sho[other])
            else:
                hip[side] = sho[side] + s * down
        mid = {side: 0.5 * (sho[side] + hip[side]) for side in ('l', 'r')}
        upper = np.stack([sho['l'], sho['r'], mid['r'], mid['l']])
        lower = np.stack([mid['l'], mid['r'], hip['r'], hip['l']])
        out.append(Capsule(ATOM_ID['upper_torso'], upper, widths.torso * s,
                           all_hidden('l_shoulder', 'r_shoulder')))
        out.append(Capsule(ATOM_ID['lower_torso'], lower, widths.torso * s,
                           all_hidden('l_shoulder', 'r_shoulder', 'l_hip', 'r_hip')))

    for side in ('l', 'r'):
        sh, el, wr = f'{side}_shoulder', f'{side}_elbow', f'{side}_wrist'
        hp, kn, an = f'{side}_hip', f'{side}_knee', f'{side}_ankle'
        if vis(sh) and vis(el):
            out.append(Capsule(ATOM_ID[f'{side}_upper_arm'], np.stack([pt(sh), pt(el)]),
                               widths.upper_arm * s, hidden(sh, el)))
        if vis(el) and vis(wr):
            hand = pt(wr) + widths.hand * (pt(wr) - pt(el))
            out.append(Capsule(ATOM_ID[f'{side}_lower_arm'], np.stack([pt(el), hand]),
                               widths.lower_arm * s, hidden(el, wr)))
        if vis(hp) and vis(kn):
            out.append(Capsule(ATOM_ID[f'{side}_upper_leg'], np.stack([pt(hp), pt(kn)]),
                               widths.upper_leg * s, hidden(hp, kn)))
        if vis(kn) and vis(an):
            out.append(Capsule(ATOM_ID[f'{side}_lower_leg'], np.stack([pt(kn), pt(an)]),
                               widths.lower_leg * s, hidden(kn, an)))
        if vis(an):
            toe = pt(an) + widths.foot_len * s * down
            out.append(Capsule(ATOM_ID[f'{side}_foot'], np.stack([pt(an), toe]),
                               widths.foot * s, hidden(an)))
    return out


def _segment_distance(px: np.ndarray, py: np.ndarray, a: np.ndarray,
                      b: np.ndarray) -> np.ndarray:
    """Distance of points (px, py) [N] to the segment a-b [2]."""
    d = b - a
    den = float(d @ d)
    if den < 1e-12:
        return np.hypot(px - a[0], py - a[1])
    t = np.clip(((px - a[0]) * d[0] + (py - a[1]) * d[1]) / den, 0.0, 1.0)
    return np.hypot(px - a[0] - t * d[0], py - a[1] - t * d[1])


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Convex hull ``[m, 2]`` of ``points`` [n, 2], counter-clockwise (monotone chain)."""
    pts = sorted({(float(x), float(y)) for x, y in points})
    if len(pts) <= 2:
        return np.asarray(pts, dtype=np.float64)

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1], dtype=np.float64)


def core_distance(px: np.ndarray, py: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance of points (px, py) [N] to a point, segment or convex polygon ``points``."""
    hull = _convex_hull(points)
    if len(hull) == 1:
        return np.hypot(px - hull[0, 0], py - hull[0, 1])
    if len(hull) == 2:
        return _segment_distance(px, py, hull[0], hull[1])
    dist = np.full(px.shape, np.inf)
    inside = np.ones(px.shape, dtype=bool)
    for k in range(len(hull)):
        a, b = hull[k], hull[(k + 1) % len(hull)]
        dist = np.minimum(dist, _segment_distance(px, py, a, b))
        # counter-clockwise hull in (x, y): interior is on the left of every edge
        inside &= (b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0]) >= 0
    dist[inside] = 0.0
    return dist


def assign_atoms(kps: np.ndarray, shape: Tuple[int, int], mask: Optional[np.ndarray] = None,
                 widths: CapsuleWidths = CapsuleWidths(),
                 max_mask_dist: float = 0.6) -> np.ndarray:
    """Atom label map ``[H, W]`` uint8 (0 = background, 1..13 atoms) of one skeleton.

    Args:
        kps: [17, 3] COCO keypoints (x, y, v) in pixels; ``v == 0`` means missing,
            ``v == 1`` present but hidden (its regions lie behind the visible ones).
        shape: (H, W) of the label map.
        mask: optional [H, W] person mask (non-zero = person). When given, exactly the
            mask pixels within ``max_mask_dist`` body scales of a capsule are labelled.
        widths: capsule radii in body scales.
        max_mask_dist: with a mask, how far (in body scales) outside every capsule a mask
            pixel may lie and still be labelled.
    """
    h, w = int(shape[0]), int(shape[1])
    if mask is not None and mask.shape[:2] != (h, w):
        raise ValueError(f'mask shape {mask.shape} does not match the label map {(h, w)}')
    labels = np.zeros((h, w), dtype=np.uint8)
    capsules = build_capsules(kps, h, widths)
    if not capsules:
        return labels
    if mask is not None:
        rows, cols = np.nonzero(mask)  # [N] pixel indices of the person
    else:
        rows, cols = np.indices((h, w)).reshape(2, -1)
    if rows.size == 0:
        return labels
    px, py = cols + 0.5, rows + 0.5  # [N] pixel centres
    scores = np.stack([core_distance(px, py, c.points) - c.radius for c in capsules])  # [C, N]
    hidden = np.array([c.hidden for c in capsules])  # [C]
    if hidden.any() and not hidden.all():
        in_visible = scores[~hidden].min(axis=0) <= 0  # [N] inside a visible capsule
        scores[np.ix_(hidden, in_visible)] = np.inf
    best = np.argmin(scores, axis=0)  # [N]
    best_score = scores[best, np.arange(best.size)]
    atoms = np.array([c.atom for c in capsules], dtype=np.uint8)[best]
    limit = max_mask_dist * body_scale(np.asarray(kps, np.float64), h) if mask is not None \
        else 0.0
    keep = best_score <= limit
    labels[rows[keep], cols[keep]] = atoms[keep]
    return labels


def flip_keypoints(kps: np.ndarray, width: int) -> np.ndarray:
    """Skeleton ``[17, 3]`` of the horizontally flipped image (x -> W - x, left <-> right)."""
    out = np.asarray(kps, dtype=np.float64).copy()
    out[:, 0] = width - out[:, 0]
    for a, b in COCO_FLIP_PAIRS:
        out[[a, b]] = out[[b, a]]
    out[out[:, 2] <= 0, :2] = 0.0
    return out


def select_target(people: Sequence[np.ndarray], width: int, height: int) -> Optional[int]:
    """Index of the person whose head is nearest the top centre ``(W / 2, 0)`` of the box.

    ``people`` holds [17, 3] skeletons. Without visible face keypoints the head is taken
    one third of the body scale above the shoulders, else at the top-most visible
    keypoint. Returns None when no skeleton has a visible keypoint.
    """
    best, best_dist = None, np.inf
    for i, kps in enumerate(people):
        kps = np.asarray(kps, dtype=np.float64)
        head = head_position(kps)
        if head is None:
            sho = _mean_visible(kps, (KP['l_shoulder'], KP['r_shoulder']))
            if sho is not None:
                head = sho - np.array([0.0, body_scale(kps, height) / 3.0])
            elif np.any(kps[:, 2] > 0):
                vis = kps[kps[:, 2] > 0]
                head = vis[np.argmin(vis[:, 1]), :2]
            else:
                continue
        dist = float(np.hypot(head[0] - width / 2.0, head[1]))
        if dist < best_dist:
            best, best_dist = i, dist
    return best
