"""Unit tests of the simulation's true curves and face renderer: numbers derivable by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from PIL import Image

from devfer import CLASSES
from devfer.simulate import (
    ADULT_CONFIGS,
    AU_NAMES,
    INFANT_SPECIFIC,
    Identity,
    Pose,
    adult_share,
    expression_config,
    expression_weight,
    morphology,
    render_face,
    sample_identity,
    sample_pose,
    transition_age,
    truth_curve,
)


@pytest.fixture(scope="module")
def identity() -> Identity:
    return sample_identity(np.random.default_rng(7))


# --- developmental weight and AU configurations --------------------------------------------


def test_expression_weight_is_one_half_at_the_midpoint() -> None:
    assert expression_weight(10.0) == 0.5
    assert expression_weight(4.0, midpoint=4.0, steepness=2.0) == 0.5


def test_transition_age_is_where_the_display_is_half_adult() -> None:
    # Nothing shared: the transition is w's own midpoint.
    assert transition_age(10.0, 0.8, 0.0) == pytest.approx(10.0)
    # s = 0.3: 0.3 + 0.7 w = 0.5 at w = 2/7, logit(2/7) = ln(0.4) -> 10 + ln(0.4) / 0.8.
    age = transition_age(10.0, 0.8, 0.3)
    assert age == pytest.approx(10.0 + math.log(0.4) / 0.8) and age == pytest.approx(8.8546, 1e-4)
    assert adult_share(age, 10.0, 0.8, 0.3) == pytest.approx(0.5)
    # An infant display that is already mostly adult never crosses one half.
    assert math.isnan(transition_age(10.0, 0.8, 0.6))


def test_truth_curve_tabulates_the_true_curve() -> None:
    curve = truth_curve(10.0, 0.8, 0.3)
    assert len(curve) == 701 and curve["age"].iloc[0] == 0.0 and curve["age"].iloc[-1] == 70.0
    np.testing.assert_array_equal(curve["w"], expression_weight(curve["age"].to_numpy()))
    np.testing.assert_allclose(curve["adult_share"], 0.3 + 0.7 * curve["w"], atol=1e-15)
    assert (curve["transition_age"] == transition_age(10.0, 0.8, 0.3)).all()
    assert curve[["midpoint", "steepness", "infant_similarity"]].iloc[0].tolist() == [10, 0.8, 0.3]


def test_expression_weight_known_value() -> None:
    # 1 / (1 + exp(-0.8 * (12 - 10))) = 1 / (1 + exp(-1.6))
    assert expression_weight(12.0) == pytest.approx(1.0 / (1.0 + math.exp(-1.6)), abs=1e-12)
    assert expression_weight(12.0) == pytest.approx(0.8320184, abs=1e-6)
    assert expression_weight(8.0) == pytest.approx(1.0 - 0.8320184, abs=1e-6)


def test_expression_weight_is_monotone_and_vectorised() -> None:
    ages = np.linspace(0.0, 25.0, 101)
    w = expression_weight(ages)
    assert isinstance(w, np.ndarray)
    assert w.shape == ages.shape
    assert np.all(np.diff(w) > 0)
    assert np.all((w > 0) & (w < 1))
    assert isinstance(expression_weight(3.0), float)


def test_au_vectors_have_one_entry_per_action_unit() -> None:
    assert len(set(AU_NAMES)) == len(AU_NAMES)
    assert set(ADULT_CONFIGS) == set(CLASSES) == set(INFANT_SPECIFIC)
    for table in (ADULT_CONFIGS, INFANT_SPECIFIC):
        for vec in table.values():
            assert vec.shape == (len(AU_NAMES),)
    assert np.all(ADULT_CONFIGS["neutral"] == 0.0)


def test_adult_prototypes_follow_facs_descriptions() -> None:
    au = {name: i for i, name in enumerate(AU_NAMES)}
    happy, sad, angry = ADULT_CONFIGS["happy"], ADULT_CONFIGS["sad"], ADULT_CONFIGS["angry"]
    surprise, disgust = ADULT_CONFIGS["surprise"], ADULT_CONFIGS["disgust"]
    assert happy[au["mouth_corner"]] > 0.5 and happy[au["cheek_raise"]] > 0.5
    assert sad[au["mouth_corner"]] < -0.5 and sad[au["brow_inner"]] > 0.5
    assert angry[au["brow_raise"]] < 0 and angry[au["brow_knit"]] > 0.5
    assert angry[au["lip_press"]] > 0.5
    assert surprise[au["brow_raise"]] > 0.5 and surprise[au["mouth_open"]] > 0.5
    assert disgust[au["nose_wrinkle"]] > 0.5


def test_infant_configurations_differ_from_adult_but_not_from_each_other() -> None:
    for name in CLASSES:
        assert np.linalg.norm(INFANT_SPECIFIC[name] - ADULT_CONFIGS[name]) > 0.5, name
    for a, b in itertools.combinations(CLASSES, 2):
        assert np.linalg.norm(INFANT_SPECIFIC[a] - INFANT_SPECIFIC[b]) > 0.5, (a, b)


@pytest.mark.parametrize("expression", CLASSES)
def test_expression_config_interpolates_with_the_exact_formula(expression: str) -> None:
    adult = ADULT_CONFIGS[expression]
    infant = 0.3 * adult + 0.7 * INFANT_SPECIFIC[expression]
    for age in (0.0, 5.0, 10.0, 14.0, 60.0):
        w = 1.0 / (1.0 + math.exp(-0.8 * (age - 10.0)))
        expected = (1.0 - w) * infant + w * adult
        np.testing.assert_allclose(expression_config(expression, age), expected, atol=1e-12)
    # Far below / above the midpoint the endpoints are reached.
    np.testing.assert_allclose(expression_config(expression, -40.0), infant, atol=1e-12)
    np.testing.assert_allclose(expression_config(expression, 70.0), adult, atol=1e-12)
    # infant_similarity = 1 makes the display age-invariant.
    np.testing.assert_allclose(
        expression_config(expression, 0.0, infant_similarity=1.0), adult, atol=1e-12
    )


def test_unknown_expression_raises_with_the_valid_names(identity: Identity) -> None:
    with pytest.raises(ValueError, match="contempt") as err:
        expression_config("contempt", 30.0)
    for name in CLASSES:
        assert name in str(err.value)
    with pytest.raises(ValueError, match="neutral"):
        render_face(30.0, "Happy", identity, np.random.default_rng(0))


# --- identity, pose, morphology ----------------------------------------------------------


def test_sample_identity_is_reproducible_and_in_range() -> None:
    a = sample_identity(np.random.default_rng(3))
    b = sample_identity(np.random.default_rng(3))
    assert a == b
    people = [sample_identity(np.random.default_rng(s)) for s in range(60)]
    assert {p.sex for p in people} == {"female", "male"}
    for p in people:
        assert all(0.0 <= c <= 1.0 for c in (*p.skin_tone, *p.hair_color, *p.eye_color))
    lightness = [sum(p.skin_tone) for p in people]
    assert max(lightness) - min(lightness) > 1.0  # light to dark palette


def test_sample_pose_respects_its_bounds() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        pose = sample_pose(rng, max_rotation=5.0, max_scale=0.1, max_shift=0.02)
        assert abs(pose.rotation_deg) <= 5.0
        assert abs(pose.scale - 1.0) <= 0.1
        assert all(abs(s) <= 0.02 for s in pose.shift)


def test_eye_to_face_ratio_decreases_with_age(identity: Identity) -> None:
    ages = np.arange(0.0, 70.01, 0.5)
    ratio = np.array([morphology(a, identity)["eye_ratio"] for a in ages])
    assert np.all(np.diff(ratio) < 0)
    assert ratio[0] > 1.2 * ratio[-1]


def test_growth_and_ageing_are_monotone(identity: Identity) -> None:
    ages = np.arange(0.0, 70.01, 0.5)
    m = [morphology(a, identity) for a in ages]

    def series(key: str) -> np.ndarray:
        return np.array([x[key] for x in m])

    for key in ("chin_y", "nose_y", "mouth_y", "mouth_hw", "senescence"):
        assert np.all(np.diff(series(key)) > 0), key
    for key in ("grey", "forehead_lines", "crows_feet", "nasolabial", "eye_bags", "jowls"):
        assert np.all(np.diff(series(key)) >= 0), key
    for key in ("baby_fat", "head_top"):
        assert np.all(np.diff(series(key)) < 0), key
    # Adult ages keep changing: the ageing markers differ between 40 and 70.
    old, mid = morphology(70.0, identity), morphology(40.0, identity)
    assert old["forehead_lines"] > mid["forehead_lines"] > 0
    assert old["jowls"] > mid["jowls"]


def test_growth_separates_every_childhood_group(identity: Identity) -> None:
    # Growth must still change between group centres up to the teens (not saturate by 10 y).
    growth = [morphology(a, identity)["growth"] for a in (2.0, 6.0, 10.5, 15.5)]
    assert np.all(np.diff(growth) >= 0.1), growth
    assert morphology(22.0, identity)["growth"] == pytest.approx(1.0)


# --- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [64, 128])
def test_render_is_rgb_uint8_of_the_requested_size(identity: Identity, size: int) -> None:
    out = render_face(25.0, "happy", identity, np.random.default_rng(1), size=size)
    assert isinstance(out.image, Image.Image)
    assert out.image.mode == "RGB"
    assert out.image.size == (size, size)
    arr = np.asarray(out.image)
    assert arr.dtype == np.uint8 and arr.shape == (size, size, 3)
    assert out.landmarks.shape == (5, 2)
    assert out.au.shape == (len(AU_NAMES),)


def test_same_seed_same_pixels_different_seed_different(identity: Identity) -> None:
    a = render_face(8.0, "fear", identity, np.random.default_rng(42))
    b = render_face(8.0, "fear", identity, np.random.default_rng(42))
    c = render_face(8.0, "fear", identity, np.random.default_rng(43))
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert np.array_equal(a.landmarks, b.landmarks)
    assert np.array_equal(a.au, b.au)
    assert not np.array_equal(np.asarray(a.image), np.asarray(c.image))


@pytest.mark.parametrize(("age", "expression"), [(0.5, "angry"), (6.0, "surprise"), (45.0, "sad")])
def test_landmarks_are_inside_and_ordered_when_upright(
    identity: Identity, age: float, expression: str
) -> None:
    size = 128
    out = render_face(age, expression, identity, np.random.default_rng(5), pose=Pose(), size=size)
    lm = out.landmarks
    assert np.all((lm > 0) & (lm < size))
    left_eye, right_eye, nose, mouth_l, mouth_r = lm
    assert left_eye[0] < nose[0] < right_eye[0]
    assert mouth_l[0] < mouth_r[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_l[1], mouth_r[1])
    assert left_eye[1] == pytest.approx(right_eye[1])  # symmetric face, no rotation
    # Face roughly centred: the eye midpoint lies in the middle third horizontally.
    assert size / 3 < (left_eye[0] + right_eye[0]) / 2 < 2 * size / 3


def test_pose_rotation_turns_the_landmarks(identity: Identity) -> None:
    out = render_face(30.0, "neutral", identity, np.random.default_rng(0), pose=Pose(10.0))
    (lx, ly), (rx, ry) = out.landmarks[0], out.landmarks[1]
    # Counter-clockwise as seen: the image-right eye moves up (smaller y).
    assert math.degrees(math.atan2(ly - ry, rx - lx)) == pytest.approx(10.0, abs=1e-6)


def test_pose_scale_and_shift_move_the_landmarks(identity: Identity) -> None:
    base = render_face(30.0, "neutral", identity, np.random.default_rng(0), pose=Pose()).landmarks
    big = render_face(
        30.0, "neutral", identity, np.random.default_rng(0), pose=Pose(scale=1.1)
    ).landmarks
    moved = render_face(
        30.0, "neutral", identity, np.random.default_rng(0), pose=Pose(shift=(0.05, 0.0))
    ).landmarks
    span = np.linalg.norm(base[1] - base[0])
    assert np.linalg.norm(big[1] - big[0]) == pytest.approx(1.1 * span)
    np.testing.assert_allclose(moved - base, np.tile([0.05 * 128, 0.0], (5, 1)), atol=1e-9)


def test_drawn_au_is_the_scaled_config_without_jitter(identity: Identity) -> None:
    cfg = expression_config("happy", 30.0)
    out = render_face(30.0, "happy", identity, np.random.default_rng(0), au_jitter=0.0)
    np.testing.assert_allclose(out.au, cfg, atol=1e-12)
    half = render_face(
        30.0, "happy", identity, np.random.default_rng(0), au_jitter=0.0, intensity=0.5
    )
    np.testing.assert_allclose(half.au, 0.5 * cfg, atol=1e-12)
    jittered = render_face(30.0, "happy", identity, np.random.default_rng(0), au_jitter=0.1)
    assert not np.allclose(jittered.au, cfg)


def test_expressiveness_scales_feature_displacement_not_the_recorded_au(
    identity: Identity,
) -> None:
    def happy(gain: float):
        return render_face(
            30.0,
            "happy",
            identity,
            np.random.default_rng(0),
            pose=Pose(),
            au_jitter=0.0,
            expressiveness=gain,
        )

    def neutral(gain: float):
        return render_face(
            30.0,
            "neutral",
            identity,
            np.random.default_rng(0),
            pose=Pose(),
            au_jitter=0.0,
            expressiveness=gain,
        )

    # The adult neutral face has every AU at 0: the gain has nothing to scale.
    np.testing.assert_array_equal(np.asarray(neutral(1.0).image), np.asarray(neutral(2.0).image))
    # A smile lifts the mouth corners (landmarks 3, 4) above their neutral height; doubling
    # the gain doubles the lift, while the AU vector on record stays the drawn one.
    rest = neutral(1.0).landmarks[3:, 1]
    lift1 = rest - happy(1.0).landmarks[3:, 1]
    lift2 = rest - happy(2.0).landmarks[3:, 1]
    assert np.all(lift1 > 0)
    np.testing.assert_allclose(lift2, 2.0 * lift1, rtol=1e-6)
    np.testing.assert_array_equal(happy(1.0).au, happy(2.0).au)


def test_expressions_change_the_face_region(identity: Identity) -> None:
    def face(expression: str) -> np.ndarray:
        out = render_face(
            30.0, expression, identity, np.random.default_rng(0), pose=Pose(), au_jitter=0.0
        )
        return np.asarray(out.image, dtype=float)[40:110, 30:98]

    neutral = face("neutral")
    for name in CLASSES[:-1]:
        assert np.abs(face(name) - neutral).mean() > 0.5, name


def test_infant_and_adult_faces_differ_in_eye_spacing_relative_to_face(
    identity: Identity,
) -> None:
    def inter_eye_over_eye_mouth(age: float) -> float:
        lm = render_face(age, "neutral", identity, np.random.default_rng(0), pose=Pose()).landmarks
        eyes = (lm[0] + lm[1]) / 2
        mouth = (lm[3] + lm[4]) / 2
        return float(np.linalg.norm(lm[1] - lm[0]) / np.linalg.norm(mouth - eyes))

    # Infants: short lower face, so the eyes are wide relative to the eye-mouth distance.
    assert inter_eye_over_eye_mouth(0.5) > inter_eye_over_eye_mouth(30.0) * 1.15


def test_ageing_shadows_darken_the_mid_face_on_dark_skin() -> None:
    # Thin wrinkle lines barely show on dark skin at 64 px; the broad ageing shadows must.
    rng = np.random.default_rng(11)
    person = sample_identity(rng)
    person = Identity(**{**person.__dict__, "skin_tone": (0.45, 0.30, 0.20)})

    young, old = (
        render_face(
            age,
            "neutral",
            person,
            np.random.default_rng(0),
            pose=Pose(),
            au_jitter=0.0,
            noise_sigma=0.0,
        )
        for age in (25.0, 60.0)
    )
    (lx, ly), (rx, _), _, _, (_, my) = young.landmarks
    box = (slice(int(ly) + 4, int(my)), slice(int(lx) - 10, int(rx) + 10))  # eyes to mouth
    darker = (np.asarray(young.image, float) - np.asarray(old.image, float)).mean(axis=2)[box]
    # Without the ageing shadows about 3 % of this box darkens by 5+ grey levels; with them 15 %.
    assert (darker > 5.0).mean() > 0.08


def test_valence_and_arousal_follow_the_displayed_configuration() -> None:
    from devfer.simulate.expressions import (
        ADULT_VALENCE_AROUSAL,
        INFANT_VALENCE_AROUSAL,
        displayed_valence_arousal,
    )

    # An adult display at intensity 0.5 sits halfway to its prototype's position; a display
    # one quarter adult-like mixes the two positions 1:3.
    v, a = displayed_valence_arousal(
        np.array(["happy", "angry"]), np.array([1.0, 0.25]), np.array([0.5, 1.0])
    )
    assert v[0] == pytest.approx(0.5 * ADULT_VALENCE_AROUSAL["happy"][0])
    mixed = 0.25 * np.array(ADULT_VALENCE_AROUSAL["angry"]) + 0.75 * np.array(
        INFANT_VALENCE_AROUSAL["angry"]
    )
    assert (v[1], a[1]) == pytest.approx(tuple(mixed))
