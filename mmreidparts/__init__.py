"""mmreidparts: part-based person re-identification on OpenMMLab 2.x."""
from importlib import metadata as _metadata

from .version import __version__, version_info

# (distribution name, import name, minimum inclusive, maximum exclusive)
_REQUIRED = (
    ('mmengine', 'mmengine', '0.10.0', '0.11.0'),
    ('mmcv', 'mmcv', '2.0.0', '2.2.0'),
    ('mmpretrain', 'mmpretrain', '1.2.0', '1.3.0'),
    ('mmsegmentation', 'mmseg', '1.2.0', '1.3.0'),
)


def _digits(version: str) -> tuple:
    out = []
    for piece in version.split('+')[0].split('.')[:3]:
        num = ''.join(c for c in piece if c.isdigit())
        out.append(int(num) if num else 0)
    return tuple(out + [0] * (3 - len(out)))


def _check_versions() -> None:
    """Fail early, with the command to run, when a dependency is missing or out of range."""
    problems = []
    for dist, mod, low, high in _REQUIRED:
        try:
            found = _metadata.version(dist)
        except _metadata.PackageNotFoundError:
            problems.append(f'{dist} is not installed (need >={low},<{high})')
            continue
        if not _digits(low) <= _digits(found) < _digits(high):
            problems.append(f'{dist}=={found} is installed, but mmreidparts needs '
                            f'{dist}>={low},<{high}')
    if problems:
        raise ImportError(
            'mmreidparts cannot run with the installed OpenMMLab packages:\n  - ' +
            '\n  - '.join(problems) +
            '\nRun `bash tools/setup_env.sh` (see README, Installation), or install '
            'the pins in requirements/constraints.txt; mmcv must be built with ops '
            '(MMCV_WITH_OPS=1 pip install --no-build-isolation mmcv==2.1.0).')


_check_versions()

__all__ = ['__version__', 'version_info']
