"""Convert torchvision-layout MobileNetV2 / ResNet weights to mmpretrain's key names.

Example:
    python tools/model_converters/torchvision_to_mmpretrain.py \\
        mobilenet_v2_torchvision.pth mobilenet_v2_mmpretrain.pth --arch mobilenet_v2

The output is a plain ``state_dict`` (tensors only), loadable with
``torch.load(path, weights_only=True)`` and usable as ``init_cfg=dict(type='Pretrained',
checkpoint=OUT)`` of ``ResNetReID`` / ``MobileNetV2ReID`` or of mmpretrain's backbones.
"""
import argparse
import os
from typing import List, Optional

import torch

from mmreidparts.models.utils import (
    extract_state_dict,
    load_checkpoint_file,
    torchvision_to_mmpretrain,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Convert torchvision backbone weights to mmpretrain key names')
    parser.add_argument('src', help='input checkpoint (torchvision layout), path or URL')
    parser.add_argument('dst', help='output file (a plain state_dict)')
    parser.add_argument('--arch', choices=('mobilenet_v2', 'resnet'), default='mobilenet_v2',
                        help='the network of the weights (default: mobilenet_v2)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Read ``src`` with weights_only=True, convert its keys and write ``dst``."""
    args = parse_args(argv)
    state = extract_state_dict(load_checkpoint_file(args.src), args.src)
    converted = torchvision_to_mmpretrain(state, args.arch, args.src)
    out_dir = os.path.dirname(os.path.abspath(args.dst))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(converted, args.dst)
    print(f'{len(converted)} tensors of {args.arch} written to {args.dst}')


if __name__ == '__main__':
    main()
