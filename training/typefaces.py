"""Digits in other people's hands, drawn from open-licensed handwriting, script and marker typefaces.

MNIST's writers are about 500 Americans. The typefaces in training/fonts/families.json (each family's
category and licence, as its package states it) were drawn by other people, in other schools: a 9
with a curled tail, a 1 with a long up-stroke, marker digits that fill their box. They are training
data, fetched by the training command (`npm ci` into the cache folder, like the browser tests' tools),
never shipped.

Each family is on one side only: `held_out_families()` (about 28% of each category, chosen by a fixed
seeded rule) are never trained on; the models are chosen on them (`digits evaluate MODEL --suite
typefaces`), the rest give training digits (`typeface_training_digits`). Families added later (school
handwriting of many countries: Playwrite, the Australian Edu fonts, ...) are split by a second rule of their
own, so the first held-out set, and every figure on it, stays as it was: `held_out_families(split=
SECOND_SPLIT)` is a second held-out set (`--suite typefaces-2`) of unrelated designs only, as each design
system (the Playwrite countries, the Edu states) trains whole. Every digit is rendered with
its own size, weight, pen width, slant, rotation, elastic wobble and position, saved as an image file
and read back through `prepare_upload`, exactly as an upload would be.
"""

import concurrent.futures
import hashlib
import inspect
import json
import multiprocessing
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from digits.preprocessing import prepare_upload
from training.style_shift import StyledSet, cache_dir, cache_key
from training.styles import Upload, encode, in_colour, on_paper, sheared, stroke_width

PACKAGE_DIR = Path(__file__).parent / "fonts"  # package.json, package-lock.json, families.json
FAMILIES_FILE = PACKAGE_DIR / "families.json"
FONTS_ENV = "DIGITS_FONTS"  # a folder holding node_modules/@fontsource/* (default: the cache folder's fonts/)
SUITE = "typefaces"
HELD_OUT_SHARE = 0.28  # of each category's families, never trained on
FIRST_SPLIT = "typefaces-1"  # the 68 families listed first (the rule's seed: families ordered by sha256(seed + name))
SECOND_SPLIT = "typefaces-2"  # the families added at issue 26's school-handwriting round
SUITE_PER_DIGIT = 20  # renders of each digit per held-out family
SUITE_SEED = 26
TRAINING_SEED = 27
HEAVY_SEED = 51  # the heavy training digits' own draws, so none repeats a training render's
VERSION = 1  # of the renderer: part of the cache key


@dataclass(frozen=True)
class Family:
    name: str  # the package's name after @fontsource/, e.g. "indie-flower"
    category: str  # handwriting, script or marker
    licence: str  # SPDX, from the package's package.json
    group: str = ""  # the family it derives from (Caveat Brush from Caveat): both go to one side
    split: str = FIRST_SPLIT  # which rule splits it (a family added later must not move the first split)

    @property
    def lead(self) -> str:
        return self.group or self.name


@dataclass(frozen=True)
class SplitRule:
    """How one split's families are shared out: HELD_OUT_SHARE of each category's leading families, the
    first in the order of sha256(seed + ":" + name)."""
    seed: str
    design_systems_train: bool  # a family others derive from trains, with them: a held-out set of unrelated designs


SPLITS = {FIRST_SPLIT: SplitRule(FIRST_SPLIT, design_systems_train=False),
          SECOND_SPLIT: SplitRule(SECOND_SPLIT, design_systems_train=True)}
SUITES = {"typefaces": FIRST_SPLIT, "typefaces-2": SECOND_SPLIT}  # `digits evaluate --suite` name: split


def families() -> list[Family]:
    """Every family the project trains or chooses on, in the committed list's order."""
    listed = json.loads(FAMILIES_FILE.read_text())
    return [Family(name, entry["category"], entry["licence"], entry.get("group", ""), entry.get("split", FIRST_SPLIT))
            for name, entry in listed.items()]


def held_out_families(all_families: list[Family] | None = None, split: str = FIRST_SPLIT) -> list[Family]:
    """Of the families `split` shares out: HELD_OUT_SHARE of each category's leading families (at least
    one), the first in the order of sha256(seed + name), each with the families derived from it: the split
    depends on the names listed, not on their order, and related designs never sit on both sides."""
    rule = SPLITS[split]
    members = [family for family in all_families or families() if family.split == split]
    leads_of_others = {family.group for family in members if family.group}
    held = set()
    for category in dict.fromkeys(family.category for family in members):
        leads = [family.name for family in members if family.category == category and not family.group
                 and not (rule.design_systems_train and family.name in leads_of_others)]
        leads.sort(key=lambda name: hashlib.sha256(f"{rule.seed}:{name}".encode()).hexdigest())
        held.update(leads[:max(1, round(HELD_OUT_SHARE * len(leads)))])
    return [family for family in members if family.lead in held]


def training_families(all_families: list[Family] | None = None) -> list[Family]:
    """The families no split holds out."""
    all_families = all_families or families()
    held = {family.name for split in SPLITS for family in held_out_families(all_families, split)}
    return [family for family in all_families if family.name not in held]


# ---- the font files ----------------------------------------------------------------------------------

def fonts_dir() -> Path:
    return Path(os.environ[FONTS_ENV]).expanduser() if os.environ.get(FONTS_ENV) else cache_dir() / "fonts"


def install_fonts(folder: Path | None = None) -> Path:
    """The font packages, installed with `npm ci` from the committed lock file unless they are there."""
    folder = folder or fonts_dir()
    installed = folder / "package-lock.json"
    wanted = (PACKAGE_DIR / "package-lock.json").read_bytes()
    if installed.is_file() and installed.read_bytes() == wanted and (folder / "node_modules").is_dir():
        return folder
    if shutil.which("npm") is None:
        raise RuntimeError("The typeface digits need npm (Node.js) to fetch the font packages: install Node.js, "
                           f"or set {FONTS_ENV} to a folder where `npm ci` has run on training/fonts/.")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(PACKAGE_DIR / name, folder / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=folder, check=True,
                   stdin=subprocess.DEVNULL)
    return folder


def font_files(family: Family, folder: Path) -> list[Path]:
    """The family's Latin font files, one per weight and style (WOFF: Pillow's FreeType reads it)."""
    files = sorted((folder / "node_modules" / "@fontsource" / family.name / "files").glob(
        f"{family.name}-latin-[0-9]*.woff"))
    if not files:
        raise FileNotFoundError(f"No Latin font files for {family.name} under {folder}: run `npm ci` there.")
    return files


def package_licence(family: Family, folder: Path) -> str:
    """The licence the installed package states (tests check the committed list against it)."""
    package = folder / "node_modules" / "@fontsource" / family.name / "package.json"
    return json.loads(package.read_text())["license"]


# ---- one digit ---------------------------------------------------------------------------------------

GLYPH_HEIGHT = 96  # pixels: the work happens at this scale, where a pen is several pixels wide


def glyph_ink(font_file: Path, digit: int, rng) -> np.ndarray:
    """Float ink in [0, 1] of `digit` in this font, with a random pen: thinner, as drawn, or bolder."""
    font = ImageFont.truetype(str(font_file), size=int(GLYPH_HEIGHT * rng.uniform(0.9, 1.4)))
    left, top, right, bottom = font.getbbox(str(digit))
    pad = GLYPH_HEIGHT // 2
    canvas = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    pen = rng.choice([0, 0, 0, 1, 2, 3, 4, 6])  # extra pen width, pixels (marker-like when large)
    ImageDraw.Draw(canvas).text((pad - left, pad - top), str(digit), font=font, fill=255,
                                stroke_width=int(pen), stroke_fill=255)
    ink = np.asarray(canvas, np.float32) / 255.0
    if rng.random() < 0.25:  # a finer pen than the font's, where the strokes survive it
        thinner = ndimage.grey_erosion(ink, size=(3, 3) if rng.random() < 0.6 else (5, 5))
        if thinner.sum() > 0.4 * ink.sum():
            ink = thinner
    return ink


def elastic(ink: np.ndarray, rng, alpha: float, sigma: float) -> np.ndarray:
    """A smooth random displacement field (Simard et al. 2003): the wobble of a hand, not of a font."""
    dy = ndimage.gaussian_filter(rng.uniform(-1, 1, ink.shape), sigma) * alpha
    dx = ndimage.gaussian_filter(rng.uniform(-1, 1, ink.shape), sigma) * alpha
    rows, columns = np.meshgrid(np.arange(ink.shape[0]), np.arange(ink.shape[1]), indexing="ij")
    return ndimage.map_coordinates(ink, [rows + dy, columns + dx], order=1, mode="constant")


def handled(ink: np.ndarray, rng) -> np.ndarray:
    """The glyph as a hand might have drawn it: narrower or wider, slanted, turned, wobbled."""
    image = Image.fromarray(np.uint8(ink * 255))
    image = image.resize((max(int(image.width * rng.uniform(0.6, 1.4)), 1), image.height), Image.BICUBIC)
    ink = sheared(np.asarray(image, np.float32) / 255.0, rng.uniform(-20, 30))
    ink = np.asarray(Image.fromarray(np.uint8(ink * 255)).rotate(rng.uniform(-15, 15), Image.BICUBIC, expand=True),
                     np.float32) / 255.0
    if rng.random() < 0.8:
        ink = elastic(ink, rng, alpha=rng.uniform(30, 90), sigma=rng.uniform(6, 10))
    return ink


def on_a_page(ink: np.ndarray, rng) -> np.ndarray:
    """The glyph on a canvas with a margin of 10-60% of its size on each side, chosen per side."""
    rows, columns = np.flatnonzero(ink.max(axis=1) > 0.2), np.flatnonzero(ink.max(axis=0) > 0.2)
    ink = ink[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    size = max(ink.shape)
    top, bottom, left, right = (int(size * rng.uniform(0.1, 0.6)) for _ in range(4))
    return np.pad(ink, ((top, bottom), (left, right)))


def scaled_to(ink: np.ndarray, side: int) -> np.ndarray:
    """Ink (0-1) resized so that its longer side is `side` pixels, as a file of that size would hold it."""
    scale = side / max(ink.shape)
    image = Image.fromarray(np.uint8(np.clip(ink, 0, 1) * 255))
    return np.asarray(image.resize((max(int(ink.shape[1] * scale), 1), max(int(ink.shape[0] * scale), 1)),
                                   Image.LANCZOS), np.float32) / 255.0


def handed_over(ink: np.ndarray, rng) -> Upload:
    """The ink as a file: a grey PNG scan, a colour JPEG, light on dark, or plain."""
    delivery = rng.random()
    if delivery < 0.45:
        return encode(on_paper(ink, rng, paper=rng.uniform(215, 250), ink_level=rng.uniform(10, 80)), "PNG", "digit.png")
    if delivery < 0.8:
        colour = [(20, 20, 20), (25, 45, 150), (40, 40, 90), (120, 20, 20)][rng.integers(4)]
        return encode(in_colour(ink, rng, colour=colour), "JPEG", "digit.jpg", quality=int(rng.integers(60, 95)))
    if delivery < 0.9:
        return encode(np.uint8(np.clip(ink * rng.uniform(180, 255), 0, 255)), "PNG", "digit.png")  # light on dark
    return encode(on_paper(ink, rng), "PNG", "digit.png")


def render_digit(font_file: Path, digit: int, rng) -> Upload:
    """`digit` in this font, drawn by a hand and handed to us as a file: a grey or colour scan (PNG or
    JPEG) at a random size, sometimes light on dark."""
    ink = on_a_page(handled(glyph_ink(font_file, digit, rng), rng), rng)
    return handed_over(scaled_to(ink, int(rng.integers(40, 160))), rng)


# ---- sets of digits ------------------------------------------------------------------------------------

def render_family(family: Family, per_digit: int, seed: int, folder: Path) -> np.ndarray:
    """uint8 (10 * per_digit, 28, 28): per_digit renders of each digit 0-9 (its weights in turn), read
    back through prepare_upload; seeded by the family's name, so the same whichever others are drawn."""
    files = font_files(family, folder)
    rng = np.random.default_rng([seed, int(hashlib.sha256(family.name.encode()).hexdigest()[:8], 16)])
    images = []
    for digit in range(10):
        for count in range(per_digit):
            upload = render_digit(files[count % len(files)], digit, rng)
            images.append(prepare_upload(upload.data, upload.filename).pixels)
    return np.stack(images)


# The renderer's source, read once at import (a file edited later must not change a running key)
RENDERER_SOURCE = "".join(inspect.getsource(function)
                          for function in (glyph_ink, elastic, handled, on_a_page, scaled_to, handed_over, render_digit,
                                           render_family))


# ---- heavy digits: bold faces made bolder until their strokes touch (issue 26, stop 51) -----------------

HEAVY_SUITE = "typefaces-heavy"  # the cache folder and key of the heavy training digits
# The pen's whole width against the glyph's height. The nineteenth round's misread bold uploads were faces
# already bold (their own stroke 0.141 of their size) made bolder, located at a stroke share of 0.261 (those
# read right 0.227; MNIST validation's 99th percentile 0.179): from MNIST's boldest to past the misread ones,
# where a 2's tail meets its bowl and a 5's gap closes (docs/typefaces.md, the twenty-first round).
HEAVY_STROKE_SHARE = (0.22, 0.42)


def font_weight(file: Path) -> int:
    """A font file's weight: the number in `name-latin-700-normal.woff`."""
    return int(file.stem.split("-")[-2])


def heaviest_font(files: list[Path]) -> Path:
    """The family's boldest weight, upright before italic."""
    return max(files, key=lambda file: (font_weight(file), file.stem.endswith("normal")))


def heavy_glyph_ink(font_file: Path, digit: int, rng) -> np.ndarray:
    """Float ink in [0, 1] of `digit` in this font with a pen widened until its strokes are a share
    HEAVY_STROKE_SHARE of the glyph's height: the font's own stroke measured, the rest added around it."""
    font = ImageFont.truetype(str(font_file), size=int(GLYPH_HEIGHT * rng.uniform(0.9, 1.4)))
    left, top, right, bottom = font.getbbox(str(digit))
    pad = GLYPH_HEIGHT
    canvas = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(canvas).text((pad - left, pad - top), str(digit), font=font, fill=255)
    own = np.asarray(canvas) > 127
    rows = np.flatnonzero(own.any(axis=1))
    height = rows[-1] - rows[0] + 1
    pen = max(0, round((rng.uniform(*HEAVY_STROKE_SHARE) * height - stroke_width(own)) / 2))  # on each side
    ImageDraw.Draw(canvas).text((pad - left, pad - top), str(digit), font=font, fill=255,
                                stroke_width=int(pen), stroke_fill=255)
    return np.asarray(canvas, np.float32) / 255.0


def render_heavy_digit(font_file: Path, digit: int, rng) -> Upload:
    """`digit` in this font with a heavy pen, then the hand, page, size and delivery of render_digit."""
    ink = on_a_page(handled(heavy_glyph_ink(font_file, digit, rng), rng), rng)
    return handed_over(scaled_to(ink, int(rng.integers(40, 160))), rng)


def render_heavy_family(family: Family, per_digit: int, seed: int, folder: Path) -> np.ndarray:
    """uint8 (10 * per_digit, 28, 28): per_digit heavy renders of each digit 0-9 in the family's boldest
    weight, read back through prepare_upload; seeded by the family's name."""
    font_file = heaviest_font(font_files(family, folder))
    rng = np.random.default_rng([seed, int(hashlib.sha256(family.name.encode()).hexdigest()[:8], 16)])
    uploads = [render_heavy_digit(font_file, digit, rng) for digit in range(10) for _ in range(per_digit)]
    return np.stack([prepare_upload(upload.data, upload.filename).pixels for upload in uploads])


HEAVY_RENDERER_SOURCE = RENDERER_SOURCE + "".join(inspect.getsource(function) for function in (
    heavy_glyph_ink, render_heavy_digit, render_heavy_family, heaviest_font, font_weight))


def family_cache_file(family: Family, per_digit: int, seed: int, heavy: bool = False) -> Path:
    """Where one family's renders are cached: keyed by the family, sample, renderer, its own package (the
    lock file's version and hash of it) and upload pipeline, so a change of split or of the other families
    (one added to the list) re-renders nothing. `heavy`: its heavy digits (render_heavy_family)."""
    suite, renderer = (HEAVY_SUITE, HEAVY_RENDERER_SOURCE) if heavy else (SUITE, RENDERER_SOURCE)
    lock = json.loads((PACKAGE_DIR / "package-lock.json").read_text())
    package = json.dumps(lock["packages"][f"node_modules/@fontsource/{family.name}"], sort_keys=True)
    key = cache_key(suite, family.name, per_digit, seed, VERSION, hashlib.sha256(renderer.encode()).hexdigest(),
                    hashlib.sha256(package.encode()).hexdigest())
    return cache_dir() / suite / f"{family.name}-{key}.npy"


def render_families(chosen: list[Family], per_digit: int, seed: int, cache: bool = True,
                    heavy: bool = False) -> StyledSet:
    """render_family (with `heavy`, render_heavy_family) for each family (from the cache where there, the
    rest on every core, fetching the fonts the first time); `styles` holds each image's family."""
    files = {family.name: family_cache_file(family, per_digit, seed, heavy) for family in chosen}
    missing = [family for family in chosen if not (cache and files[family.name].is_file())]
    rendered = {}
    if missing:
        folder = install_fonts()
        renderer = render_heavy_family if heavy else render_family
        # spawned, not forked: the caller may have TensorFlow's threads running
        with concurrent.futures.ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context("spawn")) as pool:
            arguments = zip(*[(family, per_digit, seed, folder) for family in missing])
            rendered = {family.name: images for family, images in zip(missing, pool.map(renderer, *arguments))}
    for name, images in rendered.items() if cache else ():
        files[name].parent.mkdir(parents=True, exist_ok=True)
        partial = files[name].with_suffix(f".{os.getpid()}.npy")
        np.save(partial, images)
        partial.replace(files[name])
    images = [rendered[family.name] if family.name in rendered else np.load(files[family.name]) for family in chosen]
    labels = np.tile(np.repeat(np.arange(10), per_digit), len(chosen))
    styles = np.repeat([family.name for family in chosen], 10 * per_digit)
    return StyledSet(np.concatenate(images), labels.astype(np.int64), styles, np.arange(len(labels)), "")


def load_typeface_suite(per_digit: int = SUITE_PER_DIGIT, seed: int = SUITE_SEED, cache: bool = True,
                        chosen: list[Family] | None = None, split: str = FIRST_SPLIT) -> StyledSet:
    """The held-out families' digits (of `split`'s held-out set): SUITE_PER_DIGIT renders of each digit in
    each family."""
    return render_families(chosen or held_out_families(split=split), per_digit, seed, cache)


def typeface_training_digits(per_digit: int, limit_families: int | None = None) -> StyledSet:
    """The training families' digits: per_digit renders of each digit in each, less any the upload
    pipeline lost (a blank 28x28 teaches nothing)."""
    chosen = training_families()[:limit_families] if limit_families else training_families()
    rendered = render_families(chosen, per_digit, TRAINING_SEED)
    kept = rendered.images.reshape(len(rendered.labels), -1).max(axis=1) > 0
    return StyledSet(rendered.images[kept], rendered.labels[kept], rendered.styles[kept], rendered.sources[kept],
                     rendered.data_sha256)


# A weight the heavy faces reach (`name-latin-700-normal.woff`): CSS's bold. The nineteenth round's misread
# bold uploads were bold faces made bolder; 30 of the 107 training families are bold or marker faces.
BOLD_WEIGHT = 700


def bold_or_marker(family: Family, folder: Path) -> bool:
    """Whether the family is a marker face or has a bold weight: the faces the misread bold uploads resemble."""
    return family.category == "marker" or font_weight(heaviest_font(font_files(family, folder))) >= BOLD_WEIGHT


def heavy_typeface_training_digits(per_digit: int, limit_families: int | None = None,
                                   bold_and_marker_only: bool = False) -> StyledSet:
    """The training families' heavy digits (render_heavy_family): per_digit of each digit in each, drawn
    with their own seed (HEAVY_SEED), less any the upload pipeline lost. `bold_and_marker_only`: of the bold
    and marker faces alone (bold_or_marker), so fewer heavy digits teach the misread bold uploads' shapes."""
    chosen = training_families()[:limit_families] if limit_families else training_families()
    if bold_and_marker_only:
        folder = install_fonts()
        chosen = [family for family in chosen if bold_or_marker(family, folder)]
    rendered = render_families(chosen, per_digit, HEAVY_SEED, heavy=True)
    kept = rendered.images.reshape(len(rendered.labels), -1).max(axis=1) > 0
    return StyledSet(rendered.images[kept], rendered.labels[kept], rendered.styles[kept], rendered.sources[kept],
                     rendered.data_sha256)


def family_list() -> dict:
    """What a model card records: each family's category and licence, by side: training, the first
    held-out set (`held_out`, the `typefaces` suite), the second (`held_out_2`, the `typefaces-2` suite)."""
    def entries(chosen: list[Family]) -> list[dict]:
        return [{"name": family.name, "category": family.category, "licence": family.licence} for family in chosen]

    return {"training": entries(training_families()), "held_out": entries(held_out_families()),
            "held_out_2": entries(held_out_families(split=SECOND_SPLIT))}
