"""Articulated body of the synthetic pedestrians: a walking pose in 3-D, projected to 2-D.

Body frame (units: body heights, soles at ``y = 0``): ``x`` points to the person's own left,
``y`` up, ``z`` forward. The camera looks at the person from a yaw angle: yaw 0 means the
person faces the camera (their left appears on the image right), yaw pi shows their back
(their left on the image left), yaw +pi/2 has them walk towards the image right.
"""
from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

from ..structures.coco_person import COCO_KEYPOINTS, COCO_SKELETON

# Proportions in body heights.
HIP_Y, SHOULDER_Y, NECK_Y = 0.51, 0.805, 0.86
HIP_HALF_WIDTH, SHOULDER_HALF_WIDTH = 0.055, 0.115
UPPER_LEG, LOWER_LEG, ANKLE_Y = 0.235, 0.23, 0.045
UPPER_ARM, LOWER_ARM = 0.16, 0.145
HEAD_Y, HEAD_RX, HEAD_RY = 0.915, 0.052, 0.068
WAIST_Y, CROTCH_Y = 0.64, 0.465


@dataclass(frozen=True)
class Pose:
    """Pose of one image: viewing yaw, walking phase and amplitudes, lean (radians)."""

    yaw: float
    phase: float
    stride: float
    arm_swing: float
    lean_forward: float
    lean_side: float


def _lean_matrix(forward: float, side: float) -> np.ndarray:
    """Rotation about x (positive tips forward) followed by z (positive tips to the left)."""
    c, s = np.cos(forward), np.sin(forward)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    c, s = np.cos(side), np.sin(side)
    rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return rz @ rx


def _ring(y: float, a: float, b: float, n: int = 12) -> np.ndarray:
    """``[n, 3]`` points of a horizontal ellipse (half-width ``a``, half-depth ``b``) at ``y``."""
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([a * np.cos(t), np.full(n, y), b * np.sin(t)], axis=1)


def pose_body(pose: Pose, build: float = 1.0) -> Dict[str, np.ndarray]:
    """3-D joints and surface point sets of a posed body, in the body frame.

    Returns a dict of ``[N, 3]`` arrays: single joints (``'l_hip'``, ``'nose'``, ...) have
    ``N = 1``; ``'upper_torso'``, ``'lower_torso'``, ``'l_foot'``, ``'r_foot'`` and
    ``'backpack'`` hold the points whose projected convex hull is the part, ``'l_strap'``
    and ``'r_strap'`` the two ends of a backpack strap.
    """
    j: Dict[str, np.ndarray] = {}
    t = pose.phase
    for side, sgn, ph in (('l', 1.0, t), ('r', -1.0, t + np.pi)):
        hip_angle = pose.stride * np.sin(ph)  # positive: thigh forward
        knee_flex = 0.12 + 1.1 * pose.stride * max(0.0, np.cos(ph))
        hip = np.array([sgn * HIP_HALF_WIDTH * build, HIP_Y, 0.0])
        d1 = np.array([0.0, -np.cos(hip_angle), np.sin(hip_angle)])
        knee = hip + UPPER_LEG * d1
        shin = hip_angle - knee_flex
        d2 = np.array([0.0, -np.cos(shin), np.sin(shin)])
        ankle = knee + LOWER_LEG * d2
        j[f'{side}_hip'], j[f'{side}_knee'], j[f'{side}_ankle'] = hip, knee, ankle
        # Arm swings opposite to the leg of the same side.
        arm_angle = -pose.arm_swing * np.sin(ph)
        spread = 0.1
        shoulder = np.array([sgn * SHOULDER_HALF_WIDTH * build, SHOULDER_Y, 0.0])
        u1 = np.array([sgn * np.sin(spread), -np.cos(arm_angle), np.sin(arm_angle)])
        elbow = shoulder + UPPER_ARM * u1 / np.linalg.norm(u1)
        fore = arm_angle + 0.25 + 0.6 * max(0.0, arm_angle)
        u2 = np.array([sgn * 0.5 * np.sin(spread), -np.cos(fore), np.sin(fore)])
        wrist = elbow + LOWER_ARM * u2 / np.linalg.norm(u2)
        j[f'{side}_shoulder'], j[f'{side}_elbow'], j[f'{side}_wrist'] = shoulder, elbow, wrist
        j[f'{side}_hand'] = wrist + 0.035 * u2 / np.linalg.norm(u2)
    w = build
    j['upper_torso'] = np.concatenate([
        _ring(NECK_Y - 0.03, 0.055 * w, 0.045), _ring(SHOULDER_Y, 0.125 * w, 0.065),
        _ring(WAIST_Y, 0.095 * w, 0.06)])
    j['lower_torso'] = np.concatenate([
        _ring(WAIST_Y, 0.095 * w, 0.06), _ring(CROTCH_Y + 0.03, 0.108 * w, 0.065),
        _ring(CROTCH_Y, 0.07 * w, 0.05)])
    j['neck_base'] = np.array([0.0, SHOULDER_Y + 0.015, 0.0])
    j['neck_top'] = np.array([0.0, NECK_Y + 0.02, 0.0])
    head = np.array([0.0, HEAD_Y, 0.0])
    j['head'] = head
    j['nose'] = head + np.array([0.0, -0.012, HEAD_RX * 1.05])
    for side, sgn in (('l', 1.0), ('r', -1.0)):
        j[f'{side}_eye'] = head + np.array([sgn * 0.4 * HEAD_RX, 0.01, 0.85 * HEAD_RX])
        j[f'{side}_ear'] = head + np.array([sgn * HEAD_RX, 0.0, -0.05 * HEAD_RX])
    j['hair_back'] = np.array([0.0, SHOULDER_Y - 0.02, -0.045])
    # Backpack (a box on the back) and its straps (over the chest, seen from the front).
    j['backpack'] = np.array([[x * w, y, z] for x in (-0.085, 0.085) for y in (0.59, 0.8)
                              for z in (-0.06, -0.135)])
    for side, sgn in (('l', 1.0), ('r', -1.0)):
        j[f'{side}_strap'] = np.array([[sgn * 0.07 * w, SHOULDER_Y + 0.005, 0.068],
                                       [sgn * 0.075 * w, WAIST_Y + 0.01, 0.066]])
    # Lean the upper body about the pelvis.
    pivot = np.array([0.0, HIP_Y, 0.0])
    upper = [k for k in j if not any(p in k for p in ('hip', 'knee', 'ankle', 'lower_torso'))]
    pts = np.concatenate([np.atleast_2d(j[k]) for k in upper])
    pts = (pts - pivot) @ _lean_matrix(pose.lean_forward, pose.lean_side).T + pivot
    start = 0
    for k in upper:
        n = np.atleast_2d(j[k]).shape[0]
        j[k] = pts[start:start + n]
        start += n
    # Feet: a box from heel to toe, pointing forward, under each ankle.
    for side, sgn in (('l', 1.0), ('r', -1.0)):
        a = np.asarray(j[f'{side}_ankle'], dtype=np.float64).reshape(3)
        corners = [a + np.array([dx, dy, dz]) for dx in (-0.024, 0.024)
                   for dy in (0.012, -ANKLE_Y) for dz in (-0.03, 0.085)]
        j[f'{side}_foot'] = np.stack(corners)
    # Put the lower foot on the ground.
    lowest = min(j['l_foot'][:, 1].min(), j['r_foot'][:, 1].min())
    return {k: np.atleast_2d(v) - np.array([0.0, lowest, 0.0]) for k, v in j.items()}


def project(points: np.ndarray, yaw: float) -> Tuple[np.ndarray, np.ndarray]:
    """Orthographic view of ``[N, 3]`` body points: ``([N, 2] (x right, y up), [N] toward)``.

    ``toward`` grows towards the camera (larger values are drawn on top).
    """
    c, s = np.cos(yaw), np.sin(yaw)
    x = points[:, 0] * c + points[:, 2] * s
    toward = -points[:, 0] * s + points[:, 2] * c
    return np.stack([x, points[:, 1]], axis=1), toward


__all__ = ['COCO_KEYPOINTS', 'COCO_SKELETON', 'Pose', 'pose_body', 'project']
