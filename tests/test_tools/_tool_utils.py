"""Helpers of the tools' integration tests: run a tool the way a user does."""
import contextlib
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import List

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_bot.py')




def data_root_options(root: str) -> List[str]:
    """``--cfg-options`` pointing every dataloader at ``root``."""
    return [f'{k}.dataset.data_root={root}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def free_port() -> int:
    """A TCP port that is free now (for the rendezvous of a distributed run)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def run_tool(args: List[str], timeout: int = 300, extra_pythonpath: str = '',
             check: bool = True) -> subprocess.CompletedProcess:
    """Run a command from the repository root with the test interpreter; return the result.

    Distributed launches get a free ``PORT``, so that a port left in use by another run
    does not make them fail.
    """
    env = dict(os.environ)
    env['OMP_NUM_THREADS'] = '1'
    env['PYTHON'] = sys.executable
    env.setdefault('PORT', str(free_port()))
    paths = [ROOT] + ([extra_pythonpath] if extra_pythonpath else [])
    env['PYTHONPATH'] = os.pathsep.join(paths + [env.get('PYTHONPATH', '')])
    if args[0].endswith('.py'):
        args = [sys.executable] + args
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(args)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


@contextlib.contextmanager
def cli_threads():
    """Evaluate in this process with the thread count of :func:`run_tool`'s tools (one).

    Another thread count sums in another order, which can swap the nearly tied distances of
    the tests' tiny models and so move a figure that is compared with a tool's.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
