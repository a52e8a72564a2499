"""Identities (per-part clothing) and cameras (view, light, background) of the synthetic data."""
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

Colour = Tuple[int, int, int]  # RGB

PALETTE: Dict[str, Colour] = {
    'black': (28, 28, 32), 'white': (232, 232, 226), 'light_grey': (168, 168, 170),
    'dark_grey': (82, 82, 88), 'navy': (32, 42, 92), 'blue': (40, 92, 190),
    'light_blue': (122, 170, 220), 'red': (192, 32, 38), 'maroon': (112, 26, 42),
    'green': (42, 132, 62), 'olive': (102, 110, 52), 'beige': (206, 186, 146),
    'brown': (112, 72, 42), 'yellow': (232, 200, 44), 'pink': (232, 142, 172),
    'purple': (112, 62, 152), 'orange': (236, 122, 32), 'teal': (32, 132, 132),
}
_TOP_WEIGHTS = {
    'black': 4, 'white': 4, 'light_grey': 2, 'dark_grey': 3, 'navy': 3, 'blue': 2,
    'light_blue': 2, 'red': 2, 'maroon': 1, 'green': 2, 'olive': 1, 'beige': 2, 'brown': 1,
    'yellow': 1, 'pink': 1, 'purple': 1, 'orange': 1, 'teal': 1,
}
_BOTTOM_WEIGHTS = {
    'black': 5, 'dark_grey': 3, 'navy': 3, 'blue': 4, 'light_blue': 2, 'beige': 2,
    'brown': 1, 'olive': 1, 'light_grey': 1, 'white': 1, 'red': 1,
}
_SHOE_WEIGHTS = {'black': 5, 'white': 3, 'dark_grey': 2, 'brown': 2, 'red': 1, 'blue': 1}
SKIN_TONES: Tuple[Colour, ...] = (
    (238, 200, 172), (222, 178, 140), (190, 140, 102), (148, 102, 72), (100, 70, 52))
HAIR_COLOURS: Tuple[Colour, ...] = (
    (22, 18, 16), (60, 38, 24), (104, 66, 36), (196, 164, 96), (150, 150, 150), (132, 56, 28))
TOP_PATTERNS: Tuple[str, ...] = ('solid', 'hstripes', 'vstripes', 'checks', 'dots')
_TOP_PATTERN_P = (0.45, 0.2, 0.07, 0.14, 0.14)


@dataclass(frozen=True)
class Identity:
    """Appearance of one synthetic person: what makes them recognisable (RGB colours)."""

    pid: int
    skin: Colour
    hair: Colour
    long_hair: bool
    hat: Optional[Colour]
    top: Colour
    top_second: Colour
    top_pattern: str
    pattern_period: float  # body heights
    long_sleeves: bool
    bottom: Colour
    bottom_pattern: str
    shorts: bool
    waist: float  # height of the waistline (body heights), top above, bottom below
    shoes: Colour
    backpack: Optional[Colour]
    handbag: Optional[Colour]
    build: float
    stride: float

    def key(self) -> tuple:
        """The attributes that tell identities apart (used to avoid exact duplicates)."""
        return (self.top, self.top_second if self.top_pattern != 'solid' else None,
                self.top_pattern, self.long_sleeves, self.bottom, self.bottom_pattern,
                self.shorts, self.shoes, self.hair, self.hat, self.backpack, self.handbag)


@dataclass(frozen=True)
class Camera:
    """Appearance of one camera: typical view, light, background, optics (RGB colours)."""

    camid: int
    yaw: float  # dominant facing of the people walking past, radians
    gain: float
    cast: Tuple[float, float, float]
    wall: Colour
    floor: Colour
    horizon: float  # fraction of the image height
    texture: str  # 'bricks', 'tiles', 'stripes' or 'plain'
    texture_period: float  # fraction of the image height
    person_scale: float  # person height / image height, before misalignment
    blur: float  # Gaussian sigma in pixels at 128 rows
    noise: float  # pixel noise sigma (0-255 scale)
    jpeg_quality: Tuple[int, int]

    def to_dict(self) -> dict:
        """JSON-serialisable description."""
        return asdict(self)


def _pick(rng: np.random.Generator, weights: Dict[str, int],
          exclude: Sequence[str] = ()) -> str:
    """Draw a palette name with the given weights, skipping ``exclude``."""
    names = [n for n in weights if n not in exclude]
    p = np.array([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def sample_identity(pid: int, seed: int, attempt: int = 0) -> Identity:
    """Draw the appearance of person ``pid``; deterministic in ``(seed, pid, attempt)``."""
    rng = np.random.default_rng([seed, pid, attempt, 7331])
    top = _pick(rng, _TOP_WEIGHTS)
    pattern = TOP_PATTERNS[int(rng.choice(len(TOP_PATTERNS), p=_TOP_PATTERN_P))]
    second = _pick(rng, _TOP_WEIGHTS, exclude=(top,))
    bottom = _pick(rng, _BOTTOM_WEIGHTS)
    if top in ('black', 'white', 'dark_grey') and bottom == top and pattern == 'solid':
        bottom = _pick(rng, _BOTTOM_WEIGHTS, exclude=(top,))
    shoes = _pick(rng, _SHOE_WEIGHTS)
    female_ish = rng.random() < 0.45
    hat = PALETTE[_pick(rng, _TOP_WEIGHTS)] if rng.random() < 0.18 else None
    backpack = PALETTE[_pick(rng, _TOP_WEIGHTS)] if rng.random() < 0.22 else None
    handbag = (PALETTE[_pick(rng, _TOP_WEIGHTS)]
               if backpack is None and rng.random() < 0.15 else None)
    return Identity(
        pid=pid,
        skin=SKIN_TONES[int(rng.integers(len(SKIN_TONES)))],
        hair=HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))],
        long_hair=bool(female_ish and rng.random() < 0.7),
        hat=hat,
        top=PALETTE[top],
        top_second=PALETTE[second],
        top_pattern=pattern,
        pattern_period=float(rng.uniform(0.035, 0.07)),
        long_sleeves=bool(rng.random() < 0.55),
        bottom=PALETTE[bottom],
        bottom_pattern='checks' if rng.random() < 0.06 else 'solid',
        shorts=bool(rng.random() < 0.2),
        waist=float(rng.uniform(0.47, 0.57)),
        shoes=PALETTE[shoes],
        backpack=backpack,
        handbag=handbag,
        build=float(rng.uniform(0.88, 1.15)),
        stride=float(rng.uniform(0.22, 0.42)),
    )


def sample_identities(num: int, seed: int, first_pid: int = 1) -> List[Identity]:
    """Identities ``first_pid .. first_pid + num - 1``, no two with the same ``key()``."""
    seen = set()
    out = []
    for pid in range(first_pid, first_pid + num):
        attempt = 0
        ident = sample_identity(pid, seed, attempt)
        while ident.key() in seen and attempt < 100:
            attempt += 1
            ident = sample_identity(pid, seed, attempt)
        seen.add(ident.key())
        out.append(ident)
    return out


_BG_COLOURS: Tuple[Colour, ...] = (
    (150, 140, 128), (120, 122, 118), (176, 160, 130), (98, 104, 96), (140, 120, 100),
    (160, 168, 176), (110, 96, 84), (130, 140, 120), (186, 180, 170), (90, 88, 92))
_CAMERA_YAWS = (0.0, np.pi, np.pi / 2, -np.pi / 2, np.pi / 4, -3 * np.pi / 4)


def sample_cameras(num: int, seed: int) -> List[Camera]:
    """Cameras ``1 .. num``; deterministic in ``seed``; neighbouring ids look different."""
    out = []
    for c in range(num):
        rng = np.random.default_rng([seed, c, 4242])
        cols = rng.choice(len(_BG_COLOURS), 2, replace=False)
        lo = int(rng.integers(55, 80))
        out.append(Camera(
            camid=c + 1,
            yaw=float(_CAMERA_YAWS[c % len(_CAMERA_YAWS)] + rng.normal(0, 0.15)),
            gain=float(rng.uniform(0.7, 1.2)),
            cast=tuple(float(v) for v in rng.uniform(0.86, 1.14, 3)),
            wall=_BG_COLOURS[int(cols[0])],
            floor=_BG_COLOURS[int(cols[1])],
            horizon=float(rng.uniform(0.5, 0.8)),
            texture=('bricks', 'tiles', 'stripes', 'plain')[c % 4],
            texture_period=float(rng.uniform(0.05, 0.12)),
            person_scale=float(rng.uniform(0.8, 0.9)),
            blur=float(rng.uniform(0.3, 1.0)),
            noise=float(rng.uniform(2.0, 7.0)),
            jpeg_quality=(lo, lo + 20),
        ))
    return out


__all__ = ['PALETTE', 'Identity', 'Camera', 'sample_identity', 'sample_identities',
           'sample_cameras']
