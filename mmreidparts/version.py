"""Version of mmreidparts."""
__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Parse a version string like '0.1.0' or '0.1.0rc1' into a tuple."""
    parts = []
    for x in version_str.split('.'):
        if x.isdigit():
            parts.append(int(x))
        else:
            digits = ''.join(c for c in x if c.isdigit())
            parts.append(int(digits) if digits else 0)
    return tuple(parts)


version_info = parse_version_info(__version__)
