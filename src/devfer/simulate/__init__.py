"""The simulation stage: the embedded study's faces, drawn with a known answer.

A procedural renderer (:func:`render_face`) draws faces of any age with any of the seven
expressions; how an expression looks depends on age through the true curve
(:func:`expression_weight`, :func:`adult_share`, :func:`transition_age`).
:func:`simulate_dataset` writes such faces in a real dataset's own layout (TIF, AffectNet,
UTKFace) and returns the answer key; :func:`truth_curve` tabulates the true curve.

Modules: ``truth`` (the true curves), ``expressions`` (AU configurations), ``identity``
(people, pose, morphology), ``canvas`` / ``geometry`` / ``paint`` / ``render`` (drawing),
``datasets`` (planning and writing), ``settings`` (typed settings).
"""

from devfer.simulate.datasets import plan_images, simulate_dataset
from devfer.simulate.expressions import (
    ADULT_CONFIGS,
    AU_NAMES,
    INFANT_SPECIFIC,
    expression_config,
)
from devfer.simulate.identity import (
    HAIR_STYLES,
    Identity,
    Pose,
    morphology,
    sample_identity,
    sample_pose,
)
from devfer.simulate.render import Rendered, render_face
from devfer.simulate.settings import SimulatedDataset, SimulationSettings
from devfer.simulate.truth import adult_share, expression_weight, transition_age, truth_curve

__all__ = [
    "ADULT_CONFIGS",
    "AU_NAMES",
    "HAIR_STYLES",
    "INFANT_SPECIFIC",
    "Identity",
    "Pose",
    "Rendered",
    "SimulatedDataset",
    "SimulationSettings",
    "adult_share",
    "expression_config",
    "expression_weight",
    "morphology",
    "plan_images",
    "render_face",
    "sample_identity",
    "sample_pose",
    "simulate_dataset",
    "transition_age",
    "truth_curve",
]
