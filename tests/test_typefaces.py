"""The typeface digits: families split by family, every licence recorded, the renderer's digits readable.

The font packages are fetched by training (`npm ci` into the cache folder); these tests never fetch them.
The renderer is checked on DejaVu Sans, the font matplotlib ships; the held-out suite only where the
fonts are already installed.
"""

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from digits.preprocessing import prepare_upload
from training import typefaces
from training.config import TYPEFACE_PER_DIGIT
from training.evaluate import evaluate_styles
from training.styles import stroke_width

DEJAVU = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
OPEN_LICENCES = {"OFL-1.1", "Apache-2.0", "MIT"}


def installed_fonts() -> Path:
    folder = typefaces.fonts_dir()
    how = "training fetches them: `digits train cnn --init-from models/cnn.keras`, or npm ci in a copy of training/fonts/"
    if not (folder / "node_modules" / "@fontsource").is_dir():
        pytest.skip(f"the typeface packages are not installed in {folder} ({how})")
    installed = folder / "package-lock.json"
    if not installed.is_file() or installed.read_bytes() != (typefaces.PACKAGE_DIR / "package-lock.json").read_bytes():
        pytest.skip(f"the packages installed in {folder} are another list's, not training/fonts/'s ({how})")
    return folder


def test_no_family_is_on_both_sides_and_every_category_is_held_out_in_part():
    everything = typefaces.families()
    trained = {family.name for family in typefaces.training_families()}
    held_sets = [{family.name for family in typefaces.held_out_families(split=split)} for split in typefaces.SPLITS]
    assert not held_sets[0] & held_sets[1]
    assert set().union(*held_sets) | trained == {family.name for family in everything}
    for split, held in zip(typefaces.SPLITS, held_sets):
        assert not held & trained
        in_split = [family for family in everything if family.split == split]
        if split == typefaces.FIRST_SPLIT:  # the second holds out only designs apart from a design system
            assert 0.2 < len(held) / len(in_split) < 0.35
        for category in ("handwriting", "script", "marker"):
            members = {family.name for family in in_split if family.category == category}
            assert members & held and members & trained, (split, category)


def test_families_added_later_leave_the_first_held_out_set_as_it_was():
    """The first held-out set (the `typefaces` suite every card's figure was read on) is the 20 families of
    the first 68, whatever was added after them."""
    everything = typefaces.families()
    first = [family for family in everything if family.split == typefaces.FIRST_SPLIT]
    assert len(first) == 68
    held = typefaces.held_out_families(everything)
    assert held == typefaces.held_out_families(first) and len(held) == 20
    assert {"patrick-hand", "handlee", "satisfy", "rock-salt", "nanum-brush-script"} <= {family.name for family in held}


def test_a_design_system_trains_whole_and_the_second_set_holds_unrelated_designs():
    """The Playwrite countries and the Australian Edu states are each one design: all trained on, none held out."""
    everything = typefaces.families()
    trained = {family.name for family in typefaces.training_families()}
    systems = {family.group for family in everything if family.split == typefaces.SECOND_SPLIT and family.group}
    assert {"playwrite-us-trad", "edu-nsw-act-foundation"} <= systems
    for family in everything:
        if family.split == typefaces.SECOND_SPLIT and family.lead in systems:
            assert family.name in trained, family.name
    second = typefaces.held_out_families(split=typefaces.SECOND_SPLIT)
    assert len(second) >= 10 and not any(family.group for family in second)


def test_a_family_derived_from_another_is_on_its_side():
    held = {family.name for family in typefaces.held_out_families()}
    derived = [family for family in typefaces.families() if family.group]
    assert derived  # Caveat Brush from Caveat, the Nanum pair
    for family in derived:
        assert (family.name in held) == (family.group in held), family.name


def test_the_split_does_not_depend_on_the_order_families_are_listed_in():
    everything = typefaces.families()
    held = {family.name for family in typefaces.held_out_families(everything)}
    assert {family.name for family in typefaces.held_out_families(list(reversed(everything)))} == held


def test_every_family_has_an_open_licence_and_a_package_to_fetch():
    package = json.loads((typefaces.PACKAGE_DIR / "package.json").read_text())
    lock = (typefaces.PACKAGE_DIR / "package-lock.json").read_text()
    names = [family.name for family in typefaces.families()]
    assert sorted(package["dependencies"]) == sorted(f"@fontsource/{name}" for name in names)
    assert {family.licence for family in typefaces.families()} <= OPEN_LICENCES
    assert '"resolved"' not in lock  # the lock names versions and hashes, never a host
    card_list = typefaces.family_list()
    sides = card_list["training"] + card_list["held_out"] + card_list["held_out_2"]
    assert sorted(entry["name"] for entry in sides) == sorted(names)
    assert all(entry["licence"] in OPEN_LICENCES for entry in sides)


def test_the_installed_packages_state_the_licences_we_record():
    folder = installed_fonts()
    for family in typefaces.families():
        assert typefaces.package_licence(family, folder) == family.licence, family.name
        assert typefaces.font_files(family, folder)


def test_rendered_digits_come_through_the_upload_pipeline_and_the_cnn_reads_them(engine):
    rng = np.random.default_rng(0)
    images, labels = [], []
    for digit in range(10):
        for _ in range(3):
            upload = typefaces.render_digit(DEJAVU, digit, rng)
            prepared = prepare_upload(upload.data, upload.filename)
            assert prepared.pixels.shape == (28, 28) and prepared.pixels.max() > 128
            images.append(prepared.pixels)
            labels.append(digit)
    predictions = np.argmax(engine.predict_probabilities("cnn", np.stack(images)), axis=1)
    assert np.mean(predictions == np.array(labels)) >= 0.8  # wobbled, slanted, bold or thin, still digits


def test_the_same_seed_renders_the_same_file_and_another_seed_another():
    first = typefaces.render_digit(DEJAVU, 7, np.random.default_rng(5))
    again = typefaces.render_digit(DEJAVU, 7, np.random.default_rng(5))
    other = typefaces.render_digit(DEJAVU, 7, np.random.default_rng(6))
    assert first.data == again.data != other.data


def test_the_held_out_suite_reports_each_family(tmp_path, monkeypatch):
    monkeypatch.setenv(typefaces.FONTS_ENV, str(installed_fonts()))
    monkeypatch.setenv("DIGITS_CACHE", str(tmp_path))  # a fresh suite, not the cached one
    chosen = typefaces.held_out_families()[:3]
    suite = typefaces.load_typeface_suite(per_digit=1, chosen=chosen)
    assert suite.n == 30 and set(suite.styles) == {family.name for family in chosen}
    scored = evaluate_styles("cnn", "typefaces", styled=suite)
    assert set(scored.per_style()) == {family.name for family in chosen}
    assert scored.accuracy >= 0.7


def test_the_ensemble_share_follows_the_held_out_typefaces_where_validation_cannot_tell():
    from training.calibrate import fit_ensemble_shares

    def fit_ensemble_weight(first, second, labels, held_out):  # the first model's share
        return fit_ensemble_shares([first, second], labels, ([held_out[0], held_out[1]], held_out[2]))[0]

    labels = np.arange(100) % 10
    certain = np.eye(10)[labels] * 0.9 + 0.01  # both read validation perfectly
    typeface_labels = np.arange(50) % 10
    reads_them, misreads_some = np.eye(10)[typeface_labels] * 0.9 + 0.01, np.eye(10)[typeface_labels] * 0.9 + 0.01
    misreads_some[:20] = np.roll(misreads_some[:20], 1, axis=1)
    assert fit_ensemble_weight(certain, certain, labels, (misreads_some, reads_them, typeface_labels)) < 0.5
    assert fit_ensemble_weight(certain, certain, labels, (reads_them, misreads_some, typeface_labels)) > 0.5


def test_the_model_page_states_the_held_out_typeface_figure():
    from client_code import load_client_module

    presentation = load_client_module("presentation")
    facts = presentation.facts_text({"test_accuracy": 0.9974, "typefaces_accuracy": 0.9735, "epochs": 2,
                                     "training_minutes": 20, "fine_tuned": True})
    assert "97.35% of the digits in handwriting typefaces it never trained on read correctly." in facts.splitlines()
    assert "typefaces" not in presentation.facts_text({"test_accuracy": 0.9974})


def stroke_share(pixels: np.ndarray) -> float:
    """The strokes' width over the longer side of the digit's box, in the 28x28 the model reads."""
    ink = pixels > 127
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return stroke_width(ink) / max(rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1)


def test_heavy_digits_reach_the_model_far_bolder_than_the_ordinary_renders_and_stay_digits(engine):
    rng = np.random.default_rng(0)
    heavy, ordinary, labels = [], [], []
    for digit in range(10):
        for _ in range(3):
            for rendered, renderer in ((heavy, typefaces.render_heavy_digit), (ordinary, typefaces.render_digit)):
                upload = renderer(DEJAVU, digit, rng)
                rendered.append(prepare_upload(upload.data, upload.filename).pixels)
            labels.append(digit)
    heavy, ordinary = np.stack(heavy), np.stack(ordinary)
    # The ordinary renders' pen is MNIST's (a tenth of the box); the heavy ones' more than twice it
    assert np.median([stroke_share(pixels) for pixels in heavy]) >= 0.2 > np.median([stroke_share(pixels) for pixels in ordinary])
    assert heavy.mean() >= 1.4 * ordinary.mean()
    predictions = np.argmax(engine.predict_probabilities("cnn", heavy), axis=1)
    assert np.mean(predictions == np.array(labels)) >= 0.8  # strokes run together, still digits


def test_heavy_digits_are_drawn_in_the_family_s_boldest_upright_weight():
    files = [Path(f"caveat-latin-{weight}-{style}.woff") for weight in (400, 700, 500) for style in ("italic", "normal")]
    assert typefaces.heaviest_font(files).name == "caveat-latin-700-normal.woff"


def test_heavy_digits_are_cached_apart_so_the_ordinary_training_renders_stay_as_they_were():
    family = typefaces.training_families()[0]
    ordinary = typefaces.family_cache_file(family, TYPEFACE_PER_DIGIT, typefaces.TRAINING_SEED)
    heavy = typefaces.family_cache_file(family, TYPEFACE_PER_DIGIT, typefaces.TRAINING_SEED, heavy=True)
    assert ordinary.parent.name == typefaces.SUITE and heavy.parent.name == typefaces.HEAVY_SUITE
    assert ordinary.name != heavy.name


def fake_fonts(folder: Path, weights: dict[str, list[int]]) -> Path:
    """Font files named as the packages name them (only the names are read to choose a family's weight)."""
    for name, family_weights in weights.items():
        files = folder / "node_modules" / "@fontsource" / name / "files"
        files.mkdir(parents=True)
        for weight in family_weights:
            (files / f"{name}-latin-{weight}-normal.woff").write_bytes(b"")
    return folder


def test_fewer_heavy_digits_come_from_the_bold_and_marker_faces_alone(tmp_path, monkeypatch):
    chosen_families = [typefaces.Family("thin-hand", "handwriting", "OFL-1.1"),
                       typefaces.Family("bold-hand", "handwriting", "OFL-1.1"),
                       typefaces.Family("thin-marker", "marker", "OFL-1.1"),
                       typefaces.Family("semi-bold-script", "script", "OFL-1.1")]
    folder = fake_fonts(tmp_path, {"thin-hand": [300, 400], "bold-hand": [400, 700], "thin-marker": [400],
                                   "semi-bold-script": [400, 600]})
    drawn = []

    def render_families(chosen, per_digit, seed, cache=True, heavy=False):
        drawn.append([family.name for family in chosen])
        labels = np.tile(np.repeat(np.arange(10), per_digit), len(chosen))
        return typefaces.StyledSet(np.full((len(labels), 28, 28), 255, np.uint8), labels, np.repeat(
            [family.name for family in chosen], 10 * per_digit), np.arange(len(labels)), "")

    monkeypatch.setattr(typefaces, "training_families", lambda: chosen_families)
    monkeypatch.setattr(typefaces, "install_fonts", lambda: folder)
    monkeypatch.setattr(typefaces, "render_families", render_families)
    every = typefaces.heavy_typeface_training_digits(2)
    fewer = typefaces.heavy_typeface_training_digits(2, bold_and_marker_only=True)
    assert drawn == [["thin-hand", "bold-hand", "thin-marker", "semi-bold-script"], ["bold-hand", "thin-marker"]]
    assert len(every.labels) == 80 and len(fewer.labels) == 40
    assert set(fewer.styles) == {"bold-hand", "thin-marker"}


def test_the_training_families_bold_and_marker_faces_are_about_a_quarter_of_them():
    folder = installed_fonts()
    trained = typefaces.training_families()
    bold_or_marker = [family for family in trained if typefaces.bold_or_marker(family, folder)]
    assert {family.name for family in trained if family.category == "marker"} <= {family.name for family in bold_or_marker}
    assert 25 <= len(bold_or_marker) <= 35 < len(trained)  # 30 of 107: the twenty-second round's ~600 heavy digits
