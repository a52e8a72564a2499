"""DROP's pedestrian position encoder (PPE): a learned embedding of the pixel coordinates."""
import torch
from torch import Tensor, nn

POSITION_MODES = ('1d', '2d')


def pixel_coordinates(height: int, width: int, mode: str = '1d',
                      device=None, dtype=torch.float32) -> Tensor:
    """Normalised coordinates ``[1, 1 or 2, height, width]`` in [0, 1].

    '1d': the row ``y = h / (H - 1)`` (0 for a single row); '2d' adds the column
    ``x = w / (W - 1)``. The same for every image.
    """
    if mode not in POSITION_MODES:
        raise ValueError(f'position mode must be one of {POSITION_MODES}, got {mode!r}')
    ys = torch.linspace(0.0, 1.0, height, device=device, dtype=dtype) if height > 1 else \
        torch.zeros(1, device=device, dtype=dtype)
    rows = ys.view(1, 1, height, 1).expand(1, 1, height, width)
    if mode == '1d':
        return rows
    xs = torch.linspace(0.0, 1.0, width, device=device, dtype=dtype) if width > 1 else \
        torch.zeros(1, device=device, dtype=dtype)
    cols = xs.view(1, 1, 1, width).expand(1, 1, height, width)
    return torch.cat([rows, cols], dim=1)


class PedestrianPositionEncoder(nn.Module):
    """``PPE(pos) = BN(Conv1x1(ReLU(BN(Conv1x1(pos)))))`` of the pixel coordinates.

    The 1x1 kernels keep a 1D ('1d', rows only) embedding constant along the width. The
    output depends only on the map size: it is computed once per call for one image and
    broadcast to the batch.

    Args:
        channels: embedding channels C_hp (the parsing map's).
        mode: '1d' (DROP's default) or '2d' (rows and columns, Table 9).
    """

    def __init__(self, channels: int = 256, mode: str = '1d') -> None:
        super().__init__()
        if mode not in POSITION_MODES:
            raise ValueError(f'PedestrianPositionEncoder mode must be one of {POSITION_MODES}, '
                             f'got {mode!r}')
        self.mode = mode
        in_channels = 1 if mode == '1d' else 2
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels))

    def forward(self, height: int, width: int, batch_size: int = 1) -> Tensor:
        """The embedding ``[batch_size, C_hp, height, width]`` (the same for every sample)."""
        weight = self.encoder[0].weight
        pos = pixel_coordinates(height, width, self.mode, weight.device, weight.dtype)
        emb = self.encoder(pos.contiguous())  # [1, C_hp, H, W]
        return emb.expand(batch_size, -1, -1, -1)
