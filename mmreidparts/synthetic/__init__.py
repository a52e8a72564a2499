"""Synthetic pedestrians for running every tool without a download.

Identities live in per-part appearance (clothing colours and patterns, hair, shoes, bags);
cameras differ in view, light, background and optics; part label maps of every scheme
and COCO keypoints come with each image. Only numpy and OpenCV are needed.
"""
from .appearance import Camera, Identity, sample_cameras, sample_identities, sample_identity
from .body import COCO_KEYPOINTS, COCO_SKELETON, Pose, pose_body, project
from .generate import (
    DEFAULT_SCHEMES,
    SPLIT_DIRS,
    generate_synthetic_dataset,
    image_name,
    parse_image_name,
    plan_dataset,
)
from .render import (
    OCCLUDER_KINDS,
    Placement,
    SyntheticSample,
    render_person,
    render_sample,
    sample_placement,
    sample_pose,
)

__all__ = ['Camera', 'Identity', 'sample_cameras', 'sample_identities', 'sample_identity',
           'COCO_KEYPOINTS', 'COCO_SKELETON', 'Pose', 'pose_body', 'project',
           'DEFAULT_SCHEMES', 'SPLIT_DIRS', 'generate_synthetic_dataset', 'image_name',
           'parse_image_name', 'plan_dataset', 'OCCLUDER_KINDS', 'Placement', 'SyntheticSample',
           'render_person', 'render_sample', 'sample_placement', 'sample_pose']
