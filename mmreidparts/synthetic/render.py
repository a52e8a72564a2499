"""Drawing of one synthetic image: person parts, background, occluders, camera effects.

Each body part is one or a few filled convex shapes (``cv2.fillConvexPoly``, ``cv2.circle``,
``cv2.ellipse``) drawn far to near into an atom label map and a material map; the image
colours come from the material map (skin, clothing patterns, hair) and the person's
identity. Occluders (objects or other people) overwrite the image and set the target's
labels to background.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from ..structures.part_schemes import ATOM_ID
from .appearance import PALETTE, Camera, Colour, Identity, sample_identity
from .body import COCO_KEYPOINTS, HEAD_RX, HEAD_RY, Pose, pose_body, project

SKIN, HEAD, HAIR, TOP, WAIST, BOTTOM, SHOES, BACKPACK, BAG = range(1, 10)
OCCLUDER_KINDS: Tuple[str, ...] = ('person', 'box', 'car', 'pole', 'side')
_OCCLUDER_P = (0.3, 0.25, 0.2, 0.15, 0.1)
_SHIFT = 2
_ONE = 1 << _SHIFT
_TOP_Y = 0.985  # top of the head, body heights

# keypoint -> (3-D joint, atoms that show it, torso atom that may show it when not behind)
_KP_SPEC: Dict[str, Tuple[str, Tuple[str, ...], Optional[str]]] = {
    'nose': ('nose', ('head',), None),
    'left_eye': ('l_eye', ('head',), None), 'right_eye': ('r_eye', ('head',), None),
    'left_ear': ('l_ear', ('head',), None), 'right_ear': ('r_ear', ('head',), None),
}
for _s, _side in (('l', 'left'), ('r', 'right')):
    _KP_SPEC.update({
        f'{_side}_shoulder': (f'{_s}_shoulder', (f'{_s}_upper_arm',), 'upper_torso'),
        f'{_side}_elbow': (f'{_s}_elbow', (f'{_s}_upper_arm', f'{_s}_lower_arm'), None),
        f'{_side}_wrist': (f'{_s}_wrist', (f'{_s}_lower_arm',), None),
        f'{_side}_hip': (f'{_s}_hip', (f'{_s}_upper_leg',), 'lower_torso'),
        f'{_side}_knee': (f'{_s}_knee', (f'{_s}_upper_leg', f'{_s}_lower_leg'), None),
        f'{_side}_ankle': (f'{_s}_ankle', (f'{_s}_lower_leg', f'{_s}_foot'), None),
    })


@dataclass(frozen=True)
class Placement:
    """Where the person stands in the crop: pixels per body height, axis column, sole row."""

    scale: float
    cx: float
    ground: float


@dataclass
class PersonLayer:
    """One drawn person: atom ids, drawn-pixel mask, shaded RGB colours, keypoints."""

    atoms: np.ndarray  # [H, W] uint8, 0 = not a body part
    mask: np.ndarray  # [H, W] bool, every pixel of the person (bags included)
    colour: np.ndarray  # [H, W, 3] float32 RGB
    keypoints: np.ndarray  # [17, 2] float pixel (x, y)
    toward: np.ndarray  # [17] depth towards the camera (body heights)
    head_toward: float


@dataclass
class SyntheticSample:
    """One rendered image with its annotations."""

    image: np.ndarray  # [H, W, 3] uint8 BGR
    atoms: np.ndarray  # [H, W] uint8 atom ids (ATOM_ID), occluders and others are 0
    keypoints: np.ndarray  # [17, 3] float (x, y, v), COCO visibility flags
    bbox: Tuple[float, float, float, float]  # visible-or-not person box (x, y, w, h)
    occluder: Optional[str]  # kind of occluder, None when not occluded
    jpeg_quality: int


def sample_pose(identity: Identity, camera: Camera, rng: np.random.Generator) -> Pose:
    """Draw a walking pose for ``identity`` seen by ``camera``."""
    yaw = camera.yaw if rng.random() < 0.65 else camera.yaw + np.pi
    stride = identity.stride * rng.uniform(0.75, 1.2)
    if rng.random() < 0.12:  # standing
        stride *= 0.15
    return Pose(yaw=float(yaw + rng.normal(0.0, 0.2)), phase=float(rng.uniform(0, 2 * np.pi)),
                stride=float(stride), arm_swing=float(stride * rng.uniform(0.8, 1.3)),
                lean_forward=float(rng.uniform(0.0, 0.1)), lean_side=float(rng.normal(0, 0.03)))


def sample_placement(camera: Camera, size: Tuple[int, int],
                     rng: np.random.Generator) -> Placement:
    """Draw a misaligned crop: random person scale and shift, sometimes cutting head or feet."""
    h, w = size
    height = camera.person_scale * h * rng.uniform(0.92, 1.08)
    if rng.random() < 0.15:  # a badly aligned detection
        height *= rng.uniform(1.0, 1.2)
        dy = rng.uniform(-0.15, 0.15) * h
    else:
        dy = rng.normal(0.0, 0.03) * h
    dx = float(np.clip(rng.normal(0.0, 0.07), -0.2, 0.2)) * w
    ground = h - (h - height) / 2 + dy
    return Placement(scale=height / _TOP_Y, cx=w / 2 + dx, ground=float(ground))


def _fixed(pts: np.ndarray) -> np.ndarray:
    """Pixel coordinates as the fixed-point integers of the cv2 drawing calls."""
    return np.round(np.asarray(pts, dtype=np.float64) * _ONE).astype(np.int32)


def _draw_hull(maps: List[np.ndarray], values: List[int], pts: np.ndarray) -> None:
    """Fill the convex hull of ``[N, 2]`` pixel points in every map."""
    hull = cv2.convexHull(_fixed(pts).reshape(-1, 1, 2))
    for m, v in zip(maps, values):
        cv2.fillConvexPoly(m, hull, int(v), cv2.LINE_8, _SHIFT)


def _draw_circle(maps: List[np.ndarray], values: List[int], c: np.ndarray, r: float) -> None:
    """Fill a disc of radius ``r`` pixels in every map."""
    cc = tuple(int(v) for v in _fixed(c))
    for m, v in zip(maps, values):
        cv2.circle(m, cc, max(int(round(r * _ONE)), 1), int(v), -1, cv2.LINE_8, _SHIFT)


def _draw_capsule(maps: List[np.ndarray], values: List[int], p0: np.ndarray, p1: np.ndarray,
                  r0: float, r1: float) -> None:
    """Fill a limb: a tapered quad from ``p0`` to ``p1`` with round ends."""
    d = p1 - p0
    n = np.linalg.norm(d)
    if n > 1e-6:
        perp = np.array([-d[1], d[0]]) / n
        quad = np.stack([p0 + perp * r0, p1 + perp * r1, p1 - perp * r1, p0 - perp * r0])
        _draw_hull(maps, values, quad)
    _draw_circle(maps, values, p0, r0)
    _draw_circle(maps, values, p1, r1)


def _jitter(c: Colour, rng: np.random.Generator, amount: float = 0.05) -> np.ndarray:
    """A colour with per-image per-channel and brightness jitter (float RGB)."""
    out = np.asarray(c, dtype=np.float32) * (1 + rng.normal(0, amount, 3)) \
        * (1 + rng.normal(0, amount * 1.4))
    return np.clip(out, 0, 255).astype(np.float32)


def _pattern(kind: str, c1: np.ndarray, c2: np.ndarray, period: float, phase: np.ndarray,
             u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per-pixel colours ``[N, 3]`` of a clothing pattern at body coordinates ``u, v``."""
    if kind == 'solid':
        return np.broadcast_to(c1, (u.size, 3))
    a = u / period + phase[0]
    b = v / period + phase[1]
    if kind == 'hstripes':
        m = (b % 1.0) < 0.5
    elif kind == 'vstripes':
        m = (a % 1.0) < 0.5
    elif kind == 'checks':
        m = (np.floor(a) + np.floor(b)) % 2 == 0
    elif kind == 'dots':
        m = ((a % 1.0) - 0.5) ** 2 + ((b % 1.0) - 0.5) ** 2 > 0.09
    else:
        raise ValueError(f'unknown pattern {kind!r}')
    return np.where(m[:, None], c1, c2)


def render_person(identity: Identity, pose: Pose, place: Placement, size: Tuple[int, int],
                  rng: np.random.Generator) -> PersonLayer:
    """Draw one person (labels, colours, keypoints) on an empty ``size`` canvas."""
    h, w = size
    joints = pose_body(pose, identity.build)
    s = place.scale

    keys = list(joints)
    xy, toward = project(np.concatenate([joints[k] for k in keys]), pose.yaw)
    pix = np.stack([place.cx + s * xy[:, 0], place.ground - s * xy[:, 1]], 1)  # [N, 2]
    spans, start = {}, 0
    for k in keys:
        spans[k] = (start, start + joints[k].shape[0])
        start = spans[k][1]

    def px(key: str) -> Tuple[np.ndarray, np.ndarray]:
        a, b = spans[key]
        return pix[a:b], toward[a:b]

    # Parts as (depth key, atom id, [(shape, material, args)]).
    parts: List[Tuple[float, int, list]] = []
    lower_leg_mat = SKIN if identity.shorts else BOTTOM
    lower_arm_mat = TOP if identity.long_sleeves else SKIN
    b = identity.build
    for side in ('l', 'r'):
        hip, thip = px(f'{side}_hip')
        knee, tknee = px(f'{side}_knee')
        ankle, tankle = px(f'{side}_ankle')
        parts.append((float(thip[0] + tknee[0]) / 2, ATOM_ID[f'{side}_upper_leg'],
                      [('capsule', BOTTOM, (hip[0], knee[0], 0.052 * s * b, 0.04 * s * b))]))
        parts.append((float(tknee[0] + tankle[0]) / 2, ATOM_ID[f'{side}_lower_leg'],
                      [('capsule', lower_leg_mat, (knee[0], ankle[0], 0.037 * s * b,
                                                   0.027 * s * b))]))
        foot, tfoot = px(f'{side}_foot')
        parts.append((float(tfoot.mean()), ATOM_ID[f'{side}_foot'],
                      [('hull', SHOES, (foot,))]))
        sho, tsho = px(f'{side}_shoulder')
        elb, telb = px(f'{side}_elbow')
        wri, twri = px(f'{side}_wrist')
        hand, _ = px(f'{side}_hand')
        parts.append((float(tsho[0] + telb[0]) / 2 + 0.005, ATOM_ID[f'{side}_upper_arm'],
                      [('capsule', TOP, (sho[0], elb[0], 0.036 * s * b, 0.029 * s * b))]))
        parts.append((float(telb[0] + twri[0]) / 2 + 0.005, ATOM_ID[f'{side}_lower_arm'],
                      [('capsule', lower_arm_mat, (elb[0], wri[0], 0.028 * s * b,
                                                   0.023 * s * b)),
                       ('circle', SKIN, (hand[0], 0.024 * s))]))
        if identity.backpack is not None:
            strap, tstrap = px(f'{side}_strap')
            parts.append((float(tstrap.mean()) + 0.001, ATOM_ID['upper_torso'],
                          [('capsule', BACKPACK, (strap[0], strap[1], 0.012 * s,
                                                  0.012 * s))]))
    ut, tut = px('upper_torso')
    lt, tlt = px('lower_torso')
    parts.append((float(tut.mean()), ATOM_ID['upper_torso'], [('hull', TOP, (ut,))]))
    parts.append((float(tlt.mean()), ATOM_ID['lower_torso'], [('hull', WAIST, (lt,))]))
    if identity.backpack is not None:
        bp, tbp = px('backpack')
        parts.append((float(tbp.mean()), ATOM_ID['upper_torso'], [('hull', BACKPACK, (bp,))]))
    neck0, _ = px('neck_base')
    neck1, _ = px('neck_top')
    # The neck goes over the torso but under a near arm (side views show the shoulder).
    parts.append((0.002, ATOM_ID['head'], [('capsule', SKIN, (neck0[0], neck1[0], 0.028 * s,
                                                             0.026 * s))]))
    head_c, thead = px('head')
    if identity.long_hair:
        hb, thb = px('hair_back')
        parts.append((float(thb[0]), ATOM_ID['head'],
                      [('capsule', HAIR, (head_c[0], hb[0], HEAD_RX * 1.05 * s,
                                          HEAD_RX * 0.95 * s))]))
    parts.append((10.0, ATOM_ID['head'], [('ellipse', HEAD, (head_c[0], HEAD_RX * s,
                                                             HEAD_RY * s, pose.lean_side))]))
    if identity.handbag is not None:
        hand3 = joints['r_hand'][0]
        box = np.array([hand3 + np.array([-0.03 + dx, dy, dz]) for dx in (0.0, -0.03)
                        for dy in (-0.01, -0.13) for dz in (-0.05, 0.05)])
        bxy, btw = project(box, pose.yaw)
        bag = np.stack([place.cx + s * bxy[:, 0], place.ground - s * bxy[:, 1]], 1)
        parts.append((float(btw.mean()) + 0.02, 0, [('hull', BAG, (bag,))]))

    atoms = np.zeros((h, w), np.uint8)
    mat = np.zeros((h, w), np.uint8)
    for _, atom, shapes in sorted(parts, key=lambda p: p[0]):
        for shape, material, args in shapes:
            maps, vals = [atoms, mat], [atom, material]
            if shape == 'capsule':
                _draw_capsule(maps, vals, *args)
            elif shape == 'hull':
                _draw_hull(maps, vals, args[0])
            elif shape == 'circle':
                _draw_circle(maps, vals, *args)
            else:
                c, rx, ry, ang = args
                cc = tuple(int(v) for v in _fixed(c[:2]))
                axes = (max(int(round(rx * _ONE)), 1), max(int(round(ry * _ONE)), 1))
                for m, v in zip(maps, vals):
                    cv2.ellipse(m, cc, axes, float(np.degrees(-ang)), 0, 360, int(v), -1,
                                cv2.LINE_8, _SHIFT)

    colour = _colour_materials(mat, identity, pose, place, head_c[0], rng)
    mask = mat > 0
    # Shading: darker towards the silhouette and along part boundaries.
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(0.8, h / 110.0))
    shade = 0.6 + 0.45 * soft
    edge = np.zeros_like(mask)
    for m in (mat, atoms):
        edge[:, 1:] |= m[:, 1:] != m[:, :-1]
        edge[1:, :] |= m[1:, :] != m[:-1, :]
    shade *= np.where(edge, 0.82, 1.0).astype(np.float32)
    colour *= shade[..., None]
    # Eyes when the face is turned towards the camera.
    kps = np.zeros((len(COCO_KEYPOINTS), 2))
    tws = np.zeros(len(COCO_KEYPOINTS))
    for i, name in enumerate(COCO_KEYPOINTS):
        p, t = px(_KP_SPEC[name][0])
        kps[i], tws[i] = p[0], t[0]
    for i in (1, 2):
        if tws[i] - thead[0] > 0.3 * HEAD_RX and s > 60:
            x, y = int(kps[i, 0]), int(kps[i, 1])
            if 0 <= x < w and 0 <= y < h and mat[y, x] == HEAD:
                colour[y, x] = (30, 25, 25)
    return PersonLayer(atoms, mask, colour, kps, tws, float(thead[0]))


def _colour_materials(mat: np.ndarray, identity: Identity, pose: Pose, place: Placement,
                      head_c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RGB float image of the person's materials (per-image colour jitter included)."""
    h, w = mat.shape
    out = np.zeros((h, w, 3), np.float32)
    top, top2 = _jitter(identity.top, rng), _jitter(identity.top_second, rng)
    bottom, skin = _jitter(identity.bottom, rng), _jitter(identity.skin, rng, 0.03)
    bottom2 = bottom * 0.6 + 40
    phase = rng.uniform(0, 1, 4)
    s = place.scale
    period = identity.pattern_period
    for m in np.unique(mat):
        if m == 0:
            continue
        ys, xs = np.nonzero(mat == m)
        u = (xs - place.cx) / s
        v = (place.ground - ys) / s
        if m == SKIN:
            c = np.broadcast_to(skin, (xs.size, 3))
        elif m == TOP:
            c = _pattern(identity.top_pattern, top, top2, period, phase[:2], u, v)
        elif m == BOTTOM:
            c = _pattern(identity.bottom_pattern, bottom, bottom2, 0.05, phase[2:], u, v)
        elif m == WAIST:
            ct = _pattern(identity.top_pattern, top, top2, period, phase[:2], u, v)
            cb = _pattern(identity.bottom_pattern, bottom, bottom2, 0.05, phase[2:], u, v)
            c = np.where((v > identity.waist)[:, None], ct, cb)
        elif m == SHOES:
            c = np.broadcast_to(_jitter(identity.shoes, rng), (xs.size, 3))
        elif m == HAIR:
            c = np.broadcast_to(_jitter(identity.hair, rng, 0.03), (xs.size, 3))
        elif m in (BACKPACK, BAG):
            col = identity.backpack if m == BACKPACK else identity.handbag
            c = np.broadcast_to(_jitter(col, rng) * 0.9, (xs.size, 3))
        else:  # HEAD: face, hair and hat from the position on the head
            c = _head_colours(xs, ys, head_c, identity, pose, s, skin, rng)
        out[ys, xs] = c
    return out


def _head_colours(xs: np.ndarray, ys: np.ndarray, centre: np.ndarray, identity: Identity,
                  pose: Pose, s: float, skin: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Face, hair and hat colours of head pixels, from the surface angle they show."""
    nx = (xs + 0.5 - centre[0]) / (HEAD_RX * s)
    ny = (ys + 0.5 - centre[1]) / (HEAD_RY * s)
    sin_a = np.clip(nx / np.sqrt(np.maximum(1 - ny ** 2, 1e-3)), -1, 1)
    beta = np.arcsin(sin_a) - pose.yaw  # body yaw of the visible surface point
    beta = (beta + np.pi) % (2 * np.pi) - np.pi
    face = (np.abs(beta) < 1.05) & (ny > -0.45)
    hair_mask = ~face & ((ny < 0.55) | identity.long_hair | (np.abs(beta) > 2.3))
    hair = _jitter(identity.hair, rng, 0.03)
    out = np.where(face[:, None], skin, np.where(hair_mask[:, None], hair, skin * 0.92))
    if identity.hat is not None:
        hat = _jitter(identity.hat, rng)
        brim = (np.abs(beta) < 1.3) & (ny < -0.3)
        out = np.where(((ny < -0.4) | brim)[:, None], hat, out)
    return out


def _background(camera: Camera, size: Tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Per-camera textured background (RGB float)."""
    h, w = size
    img = np.empty((h, w, 3), np.float32)
    horizon = int(np.clip(camera.horizon + rng.normal(0, 0.04), 0.3, 0.95) * h)
    img[:horizon] = _jitter(camera.wall, rng, 0.04)
    img[horizon:] = _jitter(camera.floor, rng, 0.04)
    rows = np.arange(h, dtype=np.float32)[:, None]
    cols = np.arange(w, dtype=np.float32)[None, :]
    period = max(camera.texture_period * h * rng.uniform(0.85, 1.15), 3.0)
    off = rng.uniform(0, period, 2)
    if camera.texture == 'bricks':
        row_i = np.floor((rows + off[1]) / period)
        line = ((rows + off[1]) % period < 1) | ((cols + off[0] + (row_i % 2) * period)
                                                  % (2 * period) < 1)
        img[:horizon] *= np.where(line[:horizon], 0.78, 1.0)[..., None]
    elif camera.texture == 'tiles':
        line = ((rows + off[1]) % period < 1) | ((cols + off[0]) % period < 1)
        img[horizon:] *= np.where(line[horizon:], 0.82, 1.0)[..., None]
    elif camera.texture == 'stripes':
        band = np.floor((cols + off[0]) / period) % 2 == 0
        img[:horizon] *= np.where(band, 0.9, 1.04)[..., None]
    # Things on the wall (windows, posters, doors).
    for _ in range(int(rng.integers(0, 4))):
        x0, y0 = rng.uniform(-0.2, 1.0) * w, rng.uniform(0.0, 0.8) * horizon
        bw, bh = rng.uniform(0.15, 0.5) * w, rng.uniform(0.1, 0.35) * h
        col = np.asarray(list(PALETTE.values())[int(rng.integers(len(PALETTE)))], np.float32)
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + bw), int(min(y0 + bh, horizon))),
                      tuple(float(v) for v in col * 0.55 + 50), -1)
    # Low-frequency light variation and a floor gradient.
    low = cv2.resize(rng.normal(0, 1, (3, 2)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    img *= (1 + 0.1 * low)[..., None]
    if horizon < h:
        img[horizon:] *= (0.92 + 0.16 * (rows[horizon:] - horizon) / (h - horizon))[..., None]
    return img


def _occluder(kind: str, target: PersonLayer, place: Placement, camera: Camera,
              size: Tuple[int, int], seed: int,
              rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Mask ``[H, W]`` bool and RGB colours ``[H, W, 3]`` of one occluder in front."""
    h, w = size
    mask = np.zeros((h, w), np.uint8)
    col = np.zeros((h, w, 3), np.float32)
    base = np.asarray(list(PALETTE.values())[int(rng.integers(len(PALETTE)))], np.float32)
    ys, xs = np.nonzero(target.mask)
    x_lo, x_hi = (xs.min(), xs.max()) if xs.size else (0, w - 1)
    if kind == 'person':
        other = sample_identity(int(rng.integers(10 ** 6, 2 * 10 ** 6)), seed)
        pose = Pose(yaw=float(rng.uniform(-np.pi, np.pi)), phase=float(rng.uniform(0, 6.3)),
                    stride=0.3, arm_swing=0.3, lean_forward=0.05, lean_side=0.0)
        side = 1 if rng.random() < 0.5 else -1
        op = Placement(scale=place.scale * rng.uniform(0.95, 1.25),
                       cx=place.cx + side * rng.uniform(0.3, 0.65) * w,
                       ground=place.ground + rng.uniform(0.0, 0.12) * h)
        layer = render_person(other, pose, op, size, rng)
        return layer.mask, layer.colour
    if kind == 'box':
        x0 = rng.uniform(-0.3, 0.6) * w
        bw = rng.uniform(0.5, 1.1) * w
        y0 = rng.uniform(0.45, 0.75) * h
        cv2.rectangle(mask, (int(x0), int(y0)), (int(x0 + bw), h), 1, -1)
        rows = np.arange(h, dtype=np.float32)[:, None, None]
        col[:] = base * 0.8 * (1 - 0.25 * ((rows - y0) % (0.12 * h) < 1.5))
    elif kind == 'car':
        cxc = rng.uniform(-0.2, 1.2) * w
        body_top = rng.uniform(0.55, 0.75) * h
        axes = (int(rng.uniform(0.9, 1.4) * w), int(h - body_top))
        cv2.ellipse(mask, (int(cxc), h), axes, 0, 180, 360, 1, -1)
        roof = (int(axes[0] * 0.6), int(axes[1] * 0.6))
        cv2.ellipse(mask, (int(cxc), int(body_top + axes[1] * 0.4)), roof, 0, 180, 360, 1, -1)
        paint = np.asarray((PALETTE['white'], PALETTE['black'], PALETTE['light_grey'],
                            PALETTE['red'], PALETTE['blue'], PALETTE['dark_grey'])
                           [int(rng.integers(6))], np.float32)
        col[:] = paint
        win = np.zeros((h, w), np.uint8)
        cv2.ellipse(win, (int(cxc), int(body_top + axes[1] * 0.45)),
                    (int(roof[0] * 0.8), int(roof[1] * 0.6)), 0, 180, 360, 1, -1)
        col[win > 0] = (50, 60, 70)
        for dx in (-0.6, 0.6):
            cv2.circle(col, (int(cxc + dx * axes[0]), h), int(0.12 * h), (20, 20, 20), -1)
    elif kind == 'pole':
        pw = rng.uniform(0.08, 0.2) * w
        x0 = rng.uniform(x_lo, max(x_lo + 1, x_hi)) - pw / 2
        cv2.rectangle(mask, (int(x0), 0), (int(x0 + pw), h), 1, -1)
        cols = np.arange(w, dtype=np.float32)[None, :, None]
        col[:] = base * 0.5 + 60
        col *= 0.75 + 0.5 * np.clip((cols - x0) / max(pw, 1), 0, 1)
    else:  # 'side': a wall edge or a column from one side
        bw = rng.uniform(0.3, 0.55) * w
        left = rng.random() < 0.5
        x0, x1 = (0, int(bw)) if left else (int(w - bw), w)
        cv2.rectangle(mask, (x0, int(rng.uniform(0.0, 0.4) * h)), (x1, h), 1, -1)
        col[:] = _jitter(camera.wall, rng) * 0.7
    return mask > 0, col


def render_sample(identity: Identity, camera: Camera, seed: int, index: int,
                  size: Tuple[int, int] = (128, 64), occluded: bool = False,
                  pose: Optional[Pose] = None, occluder: Optional[str] = None,
                  placement: Optional[Placement] = None) -> SyntheticSample:
    """Render image ``index`` of ``identity`` in ``camera``; deterministic in its arguments.

    Independent random streams (seed, pid, index, stream) draw the person/pose, the
    camera effects and the occluder, so the same image with and without occlusion shows
    the same person in the same pose. ``pose``, ``occluder`` (one of ``OCCLUDER_KINDS``)
    and ``placement`` override the draws.
    """
    h, w = size
    rng_person = np.random.default_rng([seed, identity.pid, index, 1])
    rng_cam = np.random.default_rng([seed, identity.pid, index, 2])
    rng_occ = np.random.default_rng([seed, identity.pid, index, 3])
    drawn_pose = sample_pose(identity, camera, rng_person)
    pose = pose or drawn_pose
    drawn_place = sample_placement(camera, size, rng_cam)
    place = placement or drawn_place
    img = _background(camera, size, rng_cam)
    shadow = np.zeros((h, w), np.float32)
    cv2.ellipse(shadow, (int(place.cx), int(place.ground)),
                (int(0.14 * place.scale), max(int(0.025 * place.scale), 1)), 0, 0, 360, 1.0, -1)
    img *= (1 - 0.3 * shadow)[..., None]
    layer = render_person(identity, pose, place, size, rng_person)
    img = np.where(layer.mask[..., None], layer.colour, img)
    atoms = layer.atoms.copy()
    kind = None
    if occluded:
        drawn_kind = OCCLUDER_KINDS[int(rng_occ.choice(len(OCCLUDER_KINDS), p=_OCCLUDER_P))]
        kind = occluder or drawn_kind
        if kind not in OCCLUDER_KINDS:
            raise ValueError(f'unknown occluder {kind!r}; known: {OCCLUDER_KINDS}')
        fg = max(int((atoms > 0).sum()), 1)
        for _ in range(6):
            occ_mask, occ_col = _occluder(kind, layer, place, camera, size, seed, rng_occ)
            hidden = int((occ_mask & (atoms > 0)).sum()) / fg
            if 0.12 <= hidden <= 0.75:
                break
        else:
            if hidden == 0.0:  # fall back on a low box, which always covers the legs
                kind = 'box'
                occ_mask = np.zeros((h, w), bool)
                occ_mask[int(0.55 * h):] = True
                occ_col = np.broadcast_to(_jitter(camera.floor, rng_occ) * 0.6,
                                          (h, w, 3)).astype(np.float32)
        img = np.where(occ_mask[..., None], occ_col, img)
        atoms[occ_mask] = 0
    # Camera: light level and colour cast, blur, noise.
    gain = camera.gain * rng_cam.uniform(0.9, 1.1)
    img *= gain * np.asarray(camera.cast, np.float32)
    sigma = camera.blur * rng_cam.uniform(0.7, 1.3) * h / 128.0
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img += rng_cam.normal(0, camera.noise, img.shape).astype(np.float32)
    image = np.clip(img, 0, 255).astype(np.uint8)[..., ::-1].copy()  # RGB -> BGR
    quality = int(rng_cam.integers(camera.jpeg_quality[0], camera.jpeg_quality[1] + 1))
    keypoints = _keypoint_visibility(layer, atoms)
    ys, xs = np.nonzero(layer.mask)
    bbox = ((float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
             float(ys.max() - ys.min() + 1)) if xs.size else (0.0, 0.0, 0.0, 0.0))
    return SyntheticSample(image, atoms, keypoints, bbox, kind, quality)


def _keypoint_visibility(layer: PersonLayer, atoms: np.ndarray) -> np.ndarray:
    """COCO ``[17, 3]`` keypoints: v=2 visible, 1 hidden but inside the crop, 0 outside."""
    h, w = atoms.shape
    out = np.zeros((len(COCO_KEYPOINTS), 3), np.float64)
    for i, name in enumerate(COCO_KEYPOINTS):
        x, y = layer.keypoints[i]
        out[i, :2] = (round(float(x), 2), round(float(y), 2))
        if not (0 <= x < w and 0 <= y < h):
            continue
        _, own, torso = _KP_SPEC[name]
        xi, yi = int(x), int(y)
        near = atoms[max(yi - 1, 0):yi + 2, max(xi - 1, 0):xi + 2]
        ok = np.zeros(len(ATOM_ID) + 1, bool)
        ok[[ATOM_ID[a] for a in own]] = True
        if torso is not None and layer.toward[i] >= -0.03:
            ok[ATOM_ID[torso]] = True
        seen = bool(ok[near].any())
        rel = layer.toward[i] - layer.head_toward
        if name in ('nose', 'left_eye', 'right_eye'):
            seen &= rel > 0.2 * HEAD_RX
        elif name in ('left_ear', 'right_ear'):
            seen &= rel > -0.5 * HEAD_RX
        out[i, 2] = 2 if seen else 1
    return out


__all__ = ['OCCLUDER_KINDS', 'Placement', 'PersonLayer', 'SyntheticSample', 'sample_pose',
           'sample_placement', 'render_person', 'render_sample']
