"""Installation of mmreidparts (``pip install -e .`` or ``pip install .``)."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    """Read ``__version__`` from mmreidparts/version.py without importing the package."""
    scope: dict = {}
    with open(osp.join(HERE, 'mmreidparts', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    """Requirement lines of ``requirements/<fname>`` without comments."""
    out = []
    with open(osp.join(HERE, 'requirements', fname), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                out.append(line)
    return out


with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='mmreidparts',
    version=get_version(),
    description='Part-based person re-identification on OpenMMLab 2.x',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'demo')),
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'mim': parse_requirements('mminstall.txt'),
        'tests': parse_requirements('tests.txt'),
        'labels': parse_requirements('optional.txt'),
        'deploy': parse_requirements('deploy.txt'),
        'demo': parse_requirements('demo.txt'),
        'all': (parse_requirements('mminstall.txt') + parse_requirements('optional.txt') +
                parse_requirements('deploy.txt') + parse_requirements('demo.txt')),
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
    zip_safe=False,
)
