"""The analysis of one trained model, as files a person (or the app's report page) can read.

    digits report cnn                 # -> models/reports/cnn/

writes, from the model card's training history and one pass over the MNIST test set:
curves.png, confusion.png, per_class.png, confused_pairs.png, mistakes.png, correct.png,
summary.json (numbers and figure list for the app) and report.md (all of it, with findings worded
from the numbers).
"""

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import models
from digits.engine import UnknownModelError
from digits.reports import ReportError, load_report  # noqa: F401  (read where the server reads them)
from training.evaluate import (Evaluation, StyleShiftEvaluation, evaluate, evaluate_styles, load_test_images,
                               open_engine)
from training.style_shift import load_suite

DPI = 100
MOST_MISTAKES_SHOWN = 60  # all mistakes up to this many, else the most confident ones
CORRECT_SAMPLE_SIZE = 40
TOP_PAIRS = 10
ACCURACY_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999)


@dataclass(frozen=True)
class ClassScores:
    digit: int
    precision: float  # of the images the model called `digit`, the share that were
    recall: float  # of the images of `digit`, the share the model found
    correct: int  # test images of `digit` the model got right
    support: int  # test images of `digit`
    predicted: int  # test images the model called `digit`

    def to_dict(self) -> dict:
        return {"digit": self.digit, "precision": round(self.precision, 6), "recall": round(self.recall, 6),
                "support": self.support}


@dataclass(frozen=True)
class ConfusedPair:
    true: int
    predicted: int
    count: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReportFigure:
    file: str
    title: str
    caption: str

    def to_dict(self) -> dict:
        return asdict(self)


# ---- numbers -------------------------------------------------------------------------------------

def per_class_scores(confusion: np.ndarray) -> list[ClassScores]:
    """Precision and recall per digit from counts[true, predicted]; 0.0 where nothing is counted."""
    hits = np.diag(confusion)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    return [
        ClassScores(digit=digit, precision=_share(hits[digit], predicted[digit]),
                    recall=_share(hits[digit], support[digit]), correct=int(hits[digit]),
                    support=int(support[digit]), predicted=int(predicted[digit]))
        for digit in range(len(confusion))
    ]


def confused_pairs(confusion: np.ndarray, top: int = TOP_PAIRS) -> list[ConfusedPair]:
    """The commonest (true, predicted) mistakes, most frequent first."""
    pairs = [ConfusedPair(int(true), int(predicted), int(confusion[true, predicted]))
             for true, predicted in zip(*np.nonzero(confusion))
             if true != predicted]
    return sorted(pairs, key=lambda pair: (-pair.count, pair.true, pair.predicted))[:top]


def mistakes_to_show(evaluation: Evaluation, most: int = MOST_MISTAKES_SHOWN) -> np.ndarray:
    """Indices of the mistakes to draw: all of them if few, else the most confident; most confident first."""
    wrong = np.flatnonzero(~evaluation.correct)
    order = np.argsort(-evaluation.confidences[wrong], kind="stable")
    return wrong[order][:most]


def correct_sample(evaluation: Evaluation, size: int = CORRECT_SAMPLE_SIZE, seed: int = 0) -> np.ndarray:
    right = np.flatnonzero(evaluation.correct)
    chosen = np.random.default_rng(seed).choice(right, size=min(size, len(right)), replace=False)
    return np.sort(chosen)


def findings(name: str, card: dict, evaluation: Evaluation, scores: list[ClassScores],
             pairs: list[ConfusedPair]) -> list[str]:
    """A few sentences of analysis, each worded from the numbers it states."""
    sentences = [f"The {name} reads {evaluation.accuracy:.2%} of the {evaluation.n:,} test digits correctly "
                 f"({evaluation.errors:,} mistakes)."]
    validation = card["validation_accuracy"]
    gap = (evaluation.accuracy - validation) * 100
    sentences.append(f"Validation accuracy was {validation:.2%}; the test score is {abs(gap):.2f} points "
                     f"{'above' if gap >= 0 else 'below'} it.")
    sentences.append(_training_finding(card))
    if evaluation.errors == 0:
        return sentences
    hardest = min(scores, key=lambda s: (s.recall, s.digit))
    easiest = max(scores, key=lambda s: (s.recall, -s.digit))
    sentences.append(f"The hardest digit to recognise is {hardest.digit} (recall {hardest.recall:.2%}: "
                     f"{hardest.support - hardest.correct:,} of {hardest.support:,} missed); "
                     f"the easiest is {easiest.digit} (recall {easiest.recall:.2%}).")
    answered = [s for s in scores if s.predicted]  # precision means nothing for a digit never answered
    least_precise = min(answered, key=lambda s: (s.precision, s.digit))
    if least_precise.precision < 1:
        wrong = least_precise.predicted - least_precise.correct
        sentences.append(f"An answer of {least_precise.digit} is the least trustworthy: {wrong:,} of the "
                         f"{least_precise.predicted:,} times the model said {least_precise.digit} it was wrong "
                         f"(precision {least_precise.precision:.2%}).")
    top = pairs[:3]
    in_top = sum(pair.count for pair in top)
    sentences.append(f"The commonest mistake is reading a {pairs[0].true} as a {pairs[0].predicted} "
                     f"({_times(pairs[0].count)}); the top {len(top)} confusions make up {in_top:,} of the "
                     f"{evaluation.errors:,} mistakes ({in_top / evaluation.errors:.0%}).")
    sentences.append(_confidence_finding(evaluation))
    return sentences


def _training_finding(card: dict) -> str:
    history = card["history"]
    best = best_epoch(card) - 1
    train_accuracy, val_accuracy = history["accuracy"][best], history["val_accuracy"][best]
    chosen_on = ("validation + held-out typeface accuracy" if "typefaces_accuracy" in history else
                 "validation + style-shift accuracy" if "style_shift_accuracy" in history else "validation accuracy")
    sentence = (f"The weights of epoch {best + 1} of {len(history['val_accuracy'])}, the best on {chosen_on}, were "
                f"kept (validation {val_accuracy:.2%}).")
    gap = (train_accuracy - val_accuracy) * 100
    training = f" Training accuracy then was {train_accuracy:.2%}"
    if gap < 0:
        return (sentence + training + ", below validation accuracy, because it is measured on augmented "
                "training images and validation on clean ones.")
    if gap > 1:
        return sentence + training + f", {gap:.1f} points higher: some overfitting."
    return sentence + training + f", within {gap:.2f} points: no sign of overfitting."


def _confidence_finding(evaluation: Evaluation) -> str:
    """How well a low confidence flags a mistake, measured against the model's own correct answers
    (its confidences depend on training, label smoothing above all, so no fixed threshold fits every model)."""
    confidences, correct = evaluation.confidences, evaluation.correct
    if not correct.any():
        return "No answer was right, so confidence cannot be compared between right and wrong answers."
    usual = float(np.quantile(confidences[correct], 0.05))  # 95% of correct answers are at least this sure
    flagged = float(np.mean(confidences[~correct] < usual))
    at_least = math.floor(usual * 10_000) / 100  # rounded down, so "at least 99.99%" never says 100%
    sentence = (f"95% of the correct answers come with a confidence of at least {at_least:.2f}%; "
                f"{flagged:.0%} of the mistakes fall below that")
    if flagged >= 0.5:
        return sentence + ", so a low confidence is a useful warning that an answer may be wrong."
    return sentence + ", so confidence alone does not single out the mistakes."


def _share(part, whole) -> float:
    return float(part / whole) if whole else 0.0


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count:,} times"


# ---- figures -------------------------------------------------------------------------------------

def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure  # the object API: no pyplot state, renders with Agg

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(figure, path: Path) -> None:
    figure.savefig(path, dpi=DPI, metadata={"Software": None})  # no version stamp: same input, same bytes


def best_epoch(card: dict) -> int:
    """The epoch whose weights were kept (counted from 1): as the card says, else the best on validation."""
    return card.get("best_epoch") or int(np.argmax(card["history"]["val_accuracy"])) + 1


@dataclass(frozen=True)
class TrainingRun:
    """One run of a model's training: from scratch, or a fine-tune of the run before it."""

    epochs: int
    history: dict | None  # per-epoch figures; None where that run's card was not kept
    validation_accuracy: float | None
    fine_tune: bool


def training_runs(card: dict) -> list[TrainingRun]:
    """The runs that made the model, oldest first: a fine-tuned card's `init_from` (and its own, in turn)
    carries the runs it started from."""
    runs, step = [], card
    while step is not None:
        history = step.get("history") or None
        runs.append(TrainingRun(epochs=step.get("epochs") or len((history or {}).get("val_accuracy", [])),
                                history=history, validation_accuracy=step.get("validation_accuracy"),
                                fine_tune="init_from" in step))
        step = step.get("init_from")
    return runs[::-1]


def whole_history(card: dict) -> tuple[dict, list[int], int]:
    """The runs' histories joined end to end: (history with None for epochs no card recorded, the epoch
    (from 1) each fine-tune started at, the kept epoch of the last run counted over the whole)."""
    runs = training_runs(card)
    metrics = list(card["history"])
    joined = {metric: [] for metric in metrics}
    starts = []
    for run in runs:
        if run.fine_tune:
            starts.append(len(joined[metrics[0]]) + 1)
        for metric in metrics:
            values = (run.history or {}).get(metric)
            joined[metric] += list(values) if values is not None and len(values) == run.epochs else [None] * run.epochs
        if run.history is None and run.validation_accuracy is not None:  # its final figure, at least
            joined["val_accuracy"][-1] = run.validation_accuracy
    return joined, starts, len(joined[metrics[0]]) - runs[-1].epochs + best_epoch(card)


def plot_whole_curves(card: dict, path: Path) -> None:
    """plot_curves over the model's whole training, each fine-tune's start marked."""
    history, starts, kept = whole_history(card)
    plot_curves(history, path, kept, fine_tune_starts=starts)


def plot_curves(history: dict, path: Path, best_epoch: int, fine_tune_starts: tuple[int, ...] = ()) -> None:
    """Accuracy (logit scale, so 99% and 99.5% are apart) and loss per epoch, training and validation
    (and the style-shift suite, where the card has it); a dotted line where each fine-tune started.
    None in a history is an epoch no card recorded: the line breaks there."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    history = {metric: np.array([np.nan if v is None else v for v in values], float)
               for metric, values in history.items()}
    figure = _new_figure(8, 3.2)
    accuracy_axes, loss_axes = figure.subplots(1, 2)
    epochs = np.arange(1, len(history["val_accuracy"]) + 1)
    for axes, metric, label in ((accuracy_axes, "accuracy", "Accuracy"), (loss_axes, "loss", "Loss")):
        axes.plot(epochs, history[metric], "o-", markersize=3, label="training (augmented)")
        axes.plot(epochs, history[f"val_{metric}"], "s-", markersize=3, label="validation")
        for number, start in enumerate(fine_tune_starts):
            axes.axvline(start - 0.5, color="tab:purple", linestyle=":", linewidth=1,
                         label="fine-tune starts" if number == 0 else None)
        axes.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label=f"best epoch ({best_epoch})")
        axes.set(title=label, xlabel="epoch")
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    if "style_shift_accuracy" in history:
        accuracy_axes.plot(epochs, history["style_shift_accuracy"], "^-", markersize=3, label="style-shift suite")
    if "typefaces_accuracy" in history:
        accuracy_axes.plot(epochs, history["typefaces_accuracy"], "v-", markersize=3, label="held-out typefaces")
    accuracies = np.clip([*history["accuracy"], *history["val_accuracy"], *history.get("style_shift_accuracy", []),
                          *history.get("typefaces_accuracy", [])], 1e-4, 1 - 1e-4)
    accuracies = accuracies[~np.isnan(accuracies)]
    accuracy_axes.set_yscale("logit")
    accuracy_axes.set_ylim(accuracies.min() * 0.9, 1 - (1 - accuracies.max()) * 0.7)
    accuracy_axes.yaxis.set_major_locator(FixedLocator(ACCURACY_TICKS))
    accuracy_axes.yaxis.set_major_formatter(FuncFormatter(_percent_label))
    accuracy_axes.yaxis.set_minor_formatter(NullFormatter())
    accuracy_axes.legend(fontsize=8)
    _save(figure, path)


def _percent_label(value: float, _position=None) -> str:
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


def plot_confusion(confusion: np.ndarray, path: Path) -> None:
    """Counts, the mistakes coloured on a log scale and the (much larger) diagonal in grey."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    figure = _new_figure(5.6, 4.8)
    axes = figure.subplots()
    mistakes = confusion.astype(float)
    np.fill_diagonal(mistakes, 0)
    colours = axes.imshow(np.ma.masked_equal(mistakes, 0), cmap=colormaps["Reds"].with_extremes(bad="white"),
                          norm=LogNorm(vmin=1, vmax=max(mistakes.max(), 2)))
    for digit in range(10):
        axes.add_patch(Rectangle((digit - 0.5, digit - 0.5), 1, 1, color="0.88"))
    threshold = np.sqrt(max(mistakes.max(), 2))  # past the middle of the log scale: white text reads better
    for true, predicted in zip(*np.nonzero(confusion)):
        count = confusion[true, predicted]
        colour = "0.35" if true == predicted else ("white" if count > threshold else "black")
        axes.text(predicted, true, f"{count:,}", ha="center", va="center", fontsize=7, color=colour)
    axes.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit")
    axes.set_title("Confusion matrix (test set)")
    colour_bar = figure.colorbar(colours, ax=axes, shrink=0.8, label="mistakes (log scale)")
    ticks = [tick for tick in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if tick <= mistakes.max()]
    colour_bar.set_ticks(ticks, labels=[f"{tick:,}" for tick in ticks])
    colour_bar.minorticks_off()
    _save(figure, path)


def plot_per_class(scores: list[ClassScores], path: Path) -> None:
    from matplotlib.ticker import PercentFormatter

    figure = _new_figure(6.4, 3.2)
    axes = figure.subplots()
    digits = np.array([s.digit for s in scores])
    precision = np.array([s.precision for s in scores])
    recall = np.array([s.recall for s in scores])
    axes.plot(digits - 0.12, precision, "o", label="precision")
    axes.plot(digits + 0.12, recall, "s", label="recall")
    lowest = min(precision.min(), recall.min())
    axes.set_ylim(max(0.0, lowest - (1 - lowest) * 0.25 - 0.001), 1 + (1 - lowest) * 0.08 + 0.0005)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    axes.set(xticks=range(10), xlabel="digit", title="Precision and recall per digit")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    _save(figure, path)


def plot_confused_pairs(pairs: list[ConfusedPair], path: Path) -> None:
    figure = _new_figure(5.2, 0.3 * max(len(pairs), 3) + 1.0)
    axes = figure.subplots()
    axes.set_title("Most frequent mistakes (true → predicted)")
    if not pairs:
        axes.text(0.5, 0.5, "No mistakes", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
    else:
        positions = np.arange(len(pairs))[::-1]
        bars = axes.barh(positions, [pair.count for pair in pairs], color="tab:red", alpha=0.8)
        axes.bar_label(bars, padding=3, fontsize=8)
        axes.set_yticks(positions, [f"{pair.true} → {pair.predicted}" for pair in pairs])
        axes.set_xlabel("test images")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.margins(x=0.12)
    _save(figure, path)


def plot_digit_grid(images: np.ndarray, titles: list[str], title: str, path: Path, columns: int = 10,
                    title_colour: str = "black") -> None:
    """Digits drawn as a person sees them (dark ink on white), each with a short caption above.

    The tiles are pasted into one image drawn once: a hundred small subplots would take seconds.
    """
    from matplotlib.figure import Figure

    size = images.shape[1] if len(images) else 28
    cell_width, cell_height, caption_height = size + 6, size + 15, 13  # in image pixels
    rows = max(1, -(-len(images) // columns))
    mosaic = np.zeros((rows * cell_height, columns * cell_width), np.uint8)  # 0: background, drawn white
    inches_per_pixel = 0.78 / cell_width
    grid_height = rows * cell_height * inches_per_pixel
    figure = Figure(figsize=(columns * cell_width * inches_per_pixel, grid_height + 0.35), dpi=DPI)
    figure.suptitle(title, fontsize=10, y=1 - 0.08 / (grid_height + 0.35), va="top")
    axes = figure.add_axes((0, 0, 1, grid_height / (grid_height + 0.35)))
    for cell, (image, caption) in enumerate(zip(images, titles)):
        top, left = (cell // columns) * cell_height + caption_height, (cell % columns) * cell_width + 3
        mosaic[top:top + size, left:left + size] = image
        axes.text(left + size / 2, top - 1, caption, ha="center", va="bottom", fontsize=7, color=title_colour)
    if len(images) == 0:
        axes.text(columns * cell_width / 2, cell_height / 2, "None", ha="center", va="center", fontsize=10)
    axes.imshow(mosaic, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest", aspect="auto")
    axes.set_axis_off()
    _save(figure, path)


# ---- the report ----------------------------------------------------------------------------------

def write_report(model: str, out_dir: str | os.PathLike | None = None, data=None,
                 models_dir: str | os.PathLike = models.MODELS_DIR, limit: int | None = None,
                 style_shift_per_style: int | None = None, typefaces: bool = True) -> Path:
    """Writes the report of `model` ("cnn" or "vit") into `out_dir` (default models/reports/<model>) and
    returns that folder. `data`: an MNIST path, a loaded Mnist or None; `limit`: only the first N test
    images; `style_shift_per_style`: digits per style of the style-shift suite (default: all of it);
    `typefaces=False` leaves out the held-out typefaces (no fonts to fetch: smoke tests).
    """
    if model not in models.MODEL_IDS:
        raise UnknownModelError(f"Reports are made for {' and '.join(models.MODEL_IDS)}, not {model!r}.")
    card_file = models.card_path(model, Path(models_dir))
    if not card_file.is_file():
        raise FileNotFoundError(f"No model card at {card_file}; train the model with `digits train {model}`.")
    card = json.loads(card_file.read_text())
    name = card.get("display_name", models.DISPLAY_NAMES[model])
    out = Path(out_dir) if out_dir is not None else models.REPORTS_DIR / model
    out.mkdir(parents=True, exist_ok=True)

    mnist, images, _ = load_test_images(data, limit)
    suite = load_suite(mnist, per_style=style_shift_per_style)
    with open_engine(model, models_dir) as engine:  # loaded once for the three scores
        evaluation = evaluate(model, mnist, limit=limit, engine=engine)
        shifted = evaluate_styles(model, "style-shift", engine=engine, styled=suite)
        typefaces = evaluate_styles(model, "typefaces", engine=engine) if typefaces else None
    confusion = evaluation.confusion_matrix()
    scores = per_class_scores(confusion)
    pairs = confused_pairs(confusion)
    figures = _draw_figures(out, card, evaluation, images, confusion, scores, pairs)
    figures += _draw_style_shift_figures(out, shifted, suite.images)
    figures += _draw_typeface_figures(out, typefaces) if typefaces else []

    summary = {
        "model": model,
        "name": name,
        "test_accuracy": round(evaluation.accuracy, 6),
        "test_size": evaluation.n,
        "errors": evaluation.errors,
        "validation_accuracy": round(card["validation_accuracy"], 6),
        "parameters": card["parameters"],
        "epochs": card["epochs"],
        "best_epoch": best_epoch(card),
        "training_minutes": round(card["training_seconds"] / 60, 1),
        "fine_tuned": "init_from" in card,  # the epochs and minutes above are the last fine-tune's only
        "data_sha256": evaluation.data_sha256,
        "figures": [figure.to_dict() for figure in figures],
        "confused_pairs": [pair.to_dict() for pair in pairs],
        "per_class": [score.to_dict() for score in scores],
        "confusion_matrix": confusion.tolist(),
        "findings": findings(name, card, evaluation, scores, pairs) + [
            _style_suite_finding(scored) for scored in (shifted, typefaces) if scored],
        "style_shift": shifted.figures(),
        **({"typefaces": typefaces.figures(), "typefaces_accuracy": round(typefaces.accuracy, 6)} if typefaces else {}),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(report_markdown(summary, card))
    return out


def _draw_figures(out: Path, card: dict, evaluation: Evaluation, images: np.ndarray, confusion: np.ndarray,
                  scores: list[ClassScores], pairs: list[ConfusedPair]) -> list[ReportFigure]:
    history = card["history"]
    best = best_epoch(card) - 1
    labels, predictions, confidences = evaluation.labels, evaluation.predictions, evaluation.confidences
    n, errors = evaluation.n, evaluation.errors
    worst = min(scores, key=lambda s: (min(s.precision, s.recall), s.digit))
    worst_measure = "recall" if worst.recall <= worst.precision else "precision"

    plot_whole_curves(card, out / "curves.png")
    runs = training_runs(card)
    plot_confusion(confusion, out / "confusion.png")
    plot_per_class(scores, out / "per_class.png")
    plot_confused_pairs(pairs, out / "confused_pairs.png")
    shown = mistakes_to_show(evaluation)
    plot_digit_grid(images[shown], [f"{labels[i]} → {predictions[i]}\n{confidences[i]:.0%}" for i in shown],
                    "Misclassified: true → predicted, confidence", out / "mistakes.png", title_colour="tab:red")
    sample = correct_sample(evaluation)
    plot_digit_grid(images[sample], [f"{predictions[i]}  {confidences[i]:.0%}" for i in sample],
                    "Correctly classified: predicted, confidence", out / "correct.png")

    which_mistakes = (f"All {errors:,} misclassified test digits" if len(shown) == errors
                      else f"The {len(shown)} most confident of the {errors:,} mistakes")
    pairs_caption = (f"The mistakes that happen most often; the commonest is {pairs[0].true} read as "
                     f"{pairs[0].predicted} ({_times(pairs[0].count)})." if pairs else "The model made no mistakes.")
    return [
        ReportFigure("curves.png", "Training curves", _curves_caption(runs, best, history)),
        ReportFigure("confusion.png", "Confusion matrix",
                     f"How often each true digit (row) was read as each digit (column) on {n:,} test images: "
                     f"the grey diagonal holds the {n - errors:,} correct answers, the red cells the "
                     f"{errors:,} mistakes."),
        ReportFigure("per_class.png", "Precision and recall per digit",
                     f"Recall is how many of a digit's images the model recognised, precision how often its answer "
                     f"of that digit was right; the weakest is the {worst_measure} of {worst.digit} "
                     f"({min(worst.precision, worst.recall):.2%})."),
        ReportFigure("confused_pairs.png", "Most confused pairs", pairs_caption),
        ReportFigure("mistakes.png", "Misclassified digits",
                     f"{which_mistakes}, each with its true digit, the model's answer and its confidence."),
        ReportFigure("correct.png", "Correctly classified digits",
                     f"A random sample of {len(sample)} of the {n - errors:,} test digits the model read correctly, "
                     "with its confidence, for comparison with the mistakes."),
    ]


def _curves_caption(runs: list[TrainingRun], best: int, history: dict) -> str:
    kept = f"(validation {history['val_accuracy'][best]:.2%}), whose weights were kept."
    total = sum(run.epochs for run in runs)
    if len(runs) == 1:
        return (f"Accuracy and loss after each of the {total} training epochs, on the (augmented) training "
                f"images and on held-out validation images; the dashed line marks epoch {best + 1} {kept}")
    tunes = [run.epochs for run in runs[1:]]
    unrecorded = sum(run.epochs for run in runs if run.history is None)
    gap = (f" The {unrecorded} epochs of a fine-tune whose card was not kept show only its final validation "
           "accuracy." if unrecorded else "")
    return (f"The whole training, {total} epochs: {runs[0].epochs} from scratch, then {len(tunes)} fine-tunes "
            f"of {' + '.join(map(str, tunes))} epochs (dotted lines), accuracy and loss on the (augmented) "
            f"training images and on held-out validation images; the dashed line marks epoch "
            f"{total - runs[-1].epochs + best + 1} overall, epoch {best + 1} of the last fine-tune {kept}{gap}")


# How a finding names each style suite ({n} images, {k} styles) and one of its styles.
SUITE_IN_WORDS = {
    "style-shift": ("the style-shift suite ({n:,} validation digits drawn in {k} styles MNIST rarely has, read "
                    "through the upload pipeline)", "style"),
    "typefaces": ("{n:,} digits in {k} handwriting, script and marker typefaces it never trained on (held-out "
                  "families, read through the upload pipeline)", "family"),
}


def _style_suite_finding(scored: StyleShiftEvaluation) -> str:
    """One sentence on a style suite: the accuracy overall and the hardest style."""
    suite, style = SUITE_IN_WORDS[scored.suite]
    per_style = scored.per_style()
    worst = scored.worst_style()
    return (f"On {suite.format(n=scored.n, k=len(per_style))} it reads {scored.accuracy:.2%}; its hardest {style} "
            f"is {worst.replace('_', ' ')} ({per_style[worst]['accuracy']:.2%}).")


def _draw_typeface_figures(out: Path, typefaces: StyleShiftEvaluation) -> list[ReportFigure]:
    plot_style_accuracy(typefaces.per_style(), out / "typefaces.png",
                        title="Held-out typefaces: accuracy per family")
    return [ReportFigure("typefaces.png", "Held-out typefaces: accuracy per family",
                         f"Accuracy on {typefaces.n:,} digits in {len(typefaces.per_style())} open-licensed "
                         f"handwriting, script and marker typefaces held out from training (training/typefaces.py), "
                         f"each drawn with its own pen, slant and wobble, saved as a file and read through the "
                         f"upload pipeline: {typefaces.accuracy:.2%} overall.")]


def plot_style_accuracy(per_style: dict[str, dict], path: Path, title: str = "Style-shift suite: accuracy per style") -> None:
    """Horizontal bars: accuracy per style, worst at the top."""
    ordered = sorted(per_style.items(), key=lambda item: item[1]["accuracy"])
    figure = _new_figure(6.4, 0.22 * len(ordered) + 1.0)
    axes = figure.subplots()
    values = [scores["accuracy"] for _, scores in ordered]
    axes.barh([name.replace("_", " ") for name, _ in ordered], values, color="tab:blue")
    for row, value in enumerate(values):
        axes.text(value, row, f" {value:.1%}", va="center", fontsize=7)
    axes.set_xlim(min(0.5, min(values) - 0.05), 1.04)
    axes.set_xlabel("accuracy")
    axes.tick_params(axis="y", labelsize=7)
    axes.invert_yaxis()
    axes.set_title(title, fontsize=10)
    _save(figure, path)


def _draw_style_shift_figures(out: Path, shifted: StyleShiftEvaluation, images: np.ndarray) -> list[ReportFigure]:
    plot_style_accuracy(shifted.per_style(), out / "style_shift.png")
    shown = mistakes_to_show(shifted, most=40)
    labels, predictions, confidences = shifted.labels, shifted.predictions, shifted.confidences
    plot_digit_grid(images[shown], [f"{labels[i]} → {predictions[i]} {confidences[i]:.0%}\n{shifted.styles[i][:12]}"
                                    for i in shown],
                    "Style shift, worst mistakes: true → predicted, confidence, style",
                    out / "style_shift_mistakes.png",
                    title_colour="tab:red")
    return [
        ReportFigure("style_shift.png", "Style shift: accuracy per style",
                     f"Accuracy on {shifted.n:,} MNIST validation digits rendered in styles MNIST rarely has (other "
                     f"schools' glyphs, pens, scans, photos), each saved as a file and read through the upload "
                     f"pipeline as the page reads it: {shifted.accuracy:.2%} overall."),
        ReportFigure("style_shift_mistakes.png", "Style shift: worst mistakes",
                     f"The {len(shown)} most confident of the {shifted.errors:,} mistakes on the style-shift suite, "
                     f"each as the model saw it (after the upload pipeline), with its style."),
    ]


def _style_table(style_shift: dict, heading: str = "Style") -> list[str]:
    rows = [f"| {name.replace('_', ' ')} | {scores['accuracy']:.2%} | {scores['n']:,} |"
            for name, scores in style_shift["per_style"].items()]
    return [f"| {heading} | Accuracy | Digits |", "|---|---:|---:|", *rows,
            f"| **all** | **{style_shift['accuracy']:.2%}** | {style_shift['n']:,} |", ""]


def report_markdown(summary: dict, card: dict) -> str:
    machine = f" on {card['machine']}" if card.get("machine") else ""
    fine_tune = ", a fine-tune of a model trained before" if summary.get("fine_tuned") else ""
    lines = [
        f"# {summary['name']} ({summary['model']}): analysis report",
        "",
        f"Generated by `digits report {summary['model']}` from the model card and one pass of the trained model "
        f"over {summary['test_size']:,} MNIST test images (data file sha256 `{summary['data_sha256'][:12]}…`).",
        "",
        "| | |",
        "|---|---|",
        f"| Test accuracy | {summary['test_accuracy']:.2%} ({summary['errors']:,} of {summary['test_size']:,} wrong) |",
        f"| Validation accuracy | {summary['validation_accuracy']:.2%} |",
        f"| Parameters | {summary['parameters']:,} |",
        f"| Epochs | {summary['epochs']} (kept: {summary['best_epoch']}){fine_tune} |",
        f"| Training time | {summary['training_minutes']} min{machine} |",
        "",
        "## Findings",
        "",
        *[f"- {sentence}" for sentence in summary["findings"]],
        "",
    ]
    tables = {"confused_pairs.png": _pairs_table(summary["confused_pairs"]),
              "per_class.png": _per_class_table(summary["per_class"]),
              "style_shift.png": _style_table(summary["style_shift"]),
              **({"typefaces.png": _style_table(summary["typefaces"], "Family")} if "typefaces" in summary else {})}
    for figure in summary["figures"]:
        lines += [f"## {figure['title']}", "", f"![{figure['title']}]({figure['file']})", "",
                  f"*{figure['caption']}*", "", *tables.get(figure["file"], [])]
    return "\n".join(lines) + "\n"


def _pairs_table(pairs: list[dict]) -> list[str]:
    rows = [f"| {p['true']} | {p['predicted']} | {p['count']:,} |" for p in pairs]
    return ["| True digit | Read as | Test images |", "|---:|---:|---:|", *rows, ""] if rows else []


def _per_class_table(per_class: list[dict]) -> list[str]:
    rows = [f"| {c['digit']} | {c['precision']:.2%} | {c['recall']:.2%} | {c['support']:,} |" for c in per_class]
    return ["| Digit | Precision | Recall | Test images |", "|---:|---:|---:|---:|", *rows, ""]
