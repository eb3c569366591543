"""What the page shows, worked out from what the uplink server returns.

The forms only copy these values onto components; every decision about wording, numbers and charts is
made here, in plain functions over plain data (dicts, lists, strings), so pytest can call them under
CPython. This module also runs in the browser (Anvil's Skulpt), so it imports nothing Anvil-specific and
nothing outside the small standard library Skulpt has; that is why its results are dicts rather than
dataclasses. Media objects (the server's preview PNGs, the user's uploads) are passed through untouched.
"""

COMPARE_BOTH = "compare"  # the model dropdown's value for "ask every model"
ONE_DIGIT = "digit"  # the read dropdown's values: each file is one digit ...
WHOLE_NUMBER = "number"  # ... or a whole number, read digit by digit
READ_ITEMS = [("One digit per file", ONE_DIGIT), ("Whole number", WHOLE_NUMBER)]
BOX_COLOR = "#D32F2F"  # the boxes drawn around each digit of a number

HIGHLIGHT_COLOR = "#1976D2"  # the predicted digit's bar
OTHER_COLOR = "#B0BEC5"  # every other bar
MODEL_COLORS = ("#1976D2", "#F57C00", "#388E3C")  # one per model when comparing

NOT_CONNECTED = ("The classifier is not connected. Start it with ANVIL_UPLINK_KEY=<this app's Uplink key> "
                 "digits serve (or run its container), then try again.")
TOO_SLOW = "The classifier took too long to answer. Try again, or try a smaller file."
UNREADABLE = "This file could not be read."
PREVIEW_CAPTION = "What the model saw (28 x 28)"

# Exception class names the Anvil client raises when no uplink is there to answer.
_CONNECTION_ERRORS = ("NoServerFunctionError", "UplinkDisconnectedError", "RuntimeUnavailableError")

# --- numbers and short texts -------------------------------------------------------------------------

def percent(fraction: float, decimals: int = 1) -> str:
    """0.9873 -> "98.7%". Never rounds up to 100%: a model is never quite certain."""
    template = "{:." + str(decimals) + "f}%"
    step = 10 ** -decimals
    if fraction * 100 >= 100 - step / 2:
        return ">" + template.format(100 - step)
    return template.format(fraction * 100)


def a_digit(digit: int) -> str:
    """7 -> "a 7", 8 -> "an 8"."""
    return ("an " if digit == 8 else "a ") + str(digit)


def plural(count, noun: str) -> str:
    """(1, "epoch") -> "1 epoch"; (15, "epoch") -> "15 epochs"."""
    return "{} {}{}".format(count, noun, "" if count == 1 else "s")


NO_DIGIT_TEXT = "No digit found"
NO_DIGIT_DETAIL = "The {} found nothing in it that looks like one handwritten digit."


def digit_text(result: dict) -> str:
    return NO_DIGIT_TEXT if result["digit"] is None else str(result["digit"])


def confidence_text(confidence) -> str:
    if confidence is None:  # no digit found: nothing to be sure of
        return ""
    """0.987 -> "98.7% sure"."""
    return percent(confidence) + " sure"


RUNNER_UP_FROM = 0.10  # a second choice this likely is a real contender: the answer is unsure, say so


def runner_up_text(probabilities: list, digit: int) -> str:
    """ "Most likely 4 — could be a 9 (23%)." when the second choice is a real contender, else ""."""
    others = [(p, d) for d, p in enumerate(probabilities) if d != digit]
    probability, runner_up = max(others)
    if probability < RUNNER_UP_FROM:
        return ""
    return "Most likely {} — could be {} ({}).".format(digit, a_digit(runner_up), percent(probability, 0))


def warnings_text(warnings: list) -> str:
    """The preprocessing's warnings, one per line, or "" when there are none."""
    return "\n".join("Note: " + warning for warning in warnings)


def error_text(error_type: str, message: str) -> str:
    """What to tell the user when a server call failed, from the exception's class name and message."""
    if error_type in _CONNECTION_ERRORS or "No server function matching" in message:
        return NOT_CONNECTED
    if error_type == "TimeoutError":
        return TOO_SLOW
    return message.strip() or UNREADABLE


def progress_text(index: int, total: int, file_name: str) -> str:
    """Status line while file number index (0-based) of total is being read."""
    if total == 1:
        return "Reading {}...".format(file_name)
    return "Reading {} ({} of {})...".format(file_name, index + 1, total)


REVEAL_MARGIN = 80  # px: a new card whose top is this close to the bottom of the screen is out of sight


def out_of_sight(card_top: float, screen_height: float) -> bool:
    """Whether a new result card, its top `card_top` px below the top of the screen, is out of sight and
    should be scrolled to: on a phone the cards land below the sketch pad."""
    return card_top > screen_height - REVEAL_MARGIN


def finished_text(total: int, failed: int) -> str:
    if failed == 0:
        return "Done: {} read.".format(plural(total, "file"))
    return "Done: {} of {} read; the red cards say what went wrong.".format(total - failed, plural(total, "file"))


NOT_SHOWN_BY_BROWSERS = ("image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence", "image/tiff")


def is_image(content_type) -> bool:
    """Whether the browser can show an upload as a picture (a CSV cannot, most browsers not HEIC or TIFF)."""
    return bool(content_type) and content_type.startswith("image/") and content_type not in NOT_SHOWN_BY_BROWSERS


# --- models ------------------------------------------------------------------------------------------

def model_names(models: list) -> dict:
    """list_models() -> {"cnn": "CNN", ...}, to name models on the cards."""
    return {model["id"]: model["name"] for model in models}


def model_label(model: dict) -> str:
    """One dropdown entry: "CNN (99.7% on the MNIST test set)"."""
    accuracy = model.get("test_accuracy")
    if accuracy is None:
        return model["name"]
    return "{} ({} on the MNIST test set)".format(model["name"], percent(accuracy))


def model_dropdown_items(models: list) -> list:
    """list_models() -> DropDown items [(label, value)]; "Compare both" once there are two models."""
    items = [(model_label(model), model["id"]) for model in models]
    if len(models) == 2:
        items.append(("Compare both", COMPARE_BOTH))
    elif len(models) > 2:
        items.append(("Compare all", COMPARE_BOTH))
    return items


# --- charts ------------------------------------------------------------------------------------------

DIGITS = [str(d) for d in range(10)]


def probability_trace(probabilities: list, digit: int, name: str = "", color: str = "") -> dict:
    """One plotly bar trace of the ten probabilities, in percent, the predicted digit highlighted.

    With one colour (comparing models) the highlight is full opacity against faded bars; without,
    the predicted bar takes HIGHLIGHT_COLOR and the rest OTHER_COLOR.
    """
    marker = {"color": [HIGHLIGHT_COLOR if d == digit else OTHER_COLOR for d in range(10)]}
    if color:
        marker = {"color": color, "opacity": [1.0 if d == digit else 0.35 for d in range(10)]}
    return {
        "type": "bar",
        "name": name,
        "x": DIGITS,
        "y": [round(p * 100, 2) for p in probabilities],
        "marker": marker,
        "hovertemplate": "%{x}: %{y:.1f}%<extra>" + name + "</extra>",
    }


def probability_layout(show_legend: bool = False) -> dict:
    return {
        "margin": {"l": 44, "r": 8, "t": 8, "b": 36},
        "xaxis": {"type": "category", "title": {"text": "digit"}, "fixedrange": True},
        "yaxis": {"range": [0, 100], "ticksuffix": "%", "fixedrange": True},
        "barmode": "group",
        "bargap": 0.2,
        "showlegend": show_legend,
        "legend": {"orientation": "h", "y": 1.12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }


# No toolbar; the Plot components are also set `interactive: false`, so on a phone the chart does not
# catch the finger that scrolls the page.
CHART_CONFIG = {"displayModeBar": False, "responsive": True}


def probability_chart(result: dict, name: str = "") -> dict:
    return {"data": [probability_trace(result["probabilities"], result["digit"], name)],
            "layout": probability_layout(), "config": CHART_CONFIG}


def comparison_chart(results: list, names: dict) -> dict:
    traces = [probability_trace(r["probabilities"], r["digit"], names.get(r["model"], r["model"]),
                                MODEL_COLORS[i % len(MODEL_COLORS)])
              for i, r in enumerate(results)]
    return {"data": traces, "layout": probability_layout(show_legend=True), "config": CHART_CONFIG}


def small_bars_chart(results: list, names: dict) -> dict:
    """The ten bars, small, beside the digit on a folded card: no axis but the digits (the full chart,
    on demand, has the percentages); a small legend when comparing, to tell the models' colours apart."""
    if len(results) == 1:
        data = [probability_trace(results[0]["probabilities"], results[0]["digit"],
                                  names.get(results[0]["model"], results[0]["model"]))]
    else:
        data = comparison_chart(results, names)["data"]
    compared = len(results) > 1
    layout = dict(probability_layout(), margin={"l": 4, "r": 4, "t": 18 if compared else 4, "b": 20},
                  showlegend=compared, legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom",
                                               "font": {"size": 10}},
                  bargap=0.15, yaxis={"range": [0, 100], "visible": False, "fixedrange": True},
                  xaxis={"type": "category", "fixedrange": True, "tickfont": {"size": 11}})
    return {"data": data, "layout": layout, "config": CHART_CONFIG}


def chart_toggle_text(shown: bool) -> str:
    return "Hide chart" if shown else "Show chart"


def chart_description(results: list, names: dict) -> str:
    """The charts' text alternative: each model's probability for each digit, in words."""
    parts = []
    for r in (r for r in results if r["probabilities"] is not None):
        values = ", ".join("{}: {}".format(d, percent(p)) for d, p in enumerate(r["probabilities"]))
        parts.append("the {}'s probability for each digit: {}".format(names.get(r["model"], r["model"]), values))
    return "Bar chart of " + "; and ".join(parts) + "." if parts else ""


# --- result cards ------------------------------------------------------------------------------------
# A card is a dict with the same keys whatever happened, so the ResultCard form has one way to show it:
#   title, digit, confidence, detail, chart ({data, layout, config} or None), preview (Media or None),
#   preview_caption, upload (Media or None), upload_alt, chart_description (the chart's text alternative),
#   warnings, error ("" unless the file could not be read), result_ids, confirm_digit, feedback_note
#   (see feedback_fields), chart_over_upload (the chart is drawn over the upload, which is then not
#   shown on its own: see over_upload), bars (the small bars beside the digit, or None; the full chart
#   is then folded until asked for), explain_ids (the result ids a "Why?" asks explain() about),
#   model_names (to name each model's map)

def _card(title, upload=None, **shown) -> dict:
    card = {"title": title or "(unnamed file)", "digit": "", "confidence": "", "detail": "", "chart": None,
            "chart_description": "", "preview": None, "preview_caption": "", "upload": None, "upload_alt": "",
            "warnings": "", "error": "", "result_ids": [], "confirm_digit": None, "feedback_note": "",
            "chart_over_upload": False, "bars": None, "explain_ids": [], "model_names": {}}
    if upload is not None and is_image(getattr(upload, "content_type", None)):
        card["upload"] = upload
        card["upload_alt"] = "The file you uploaded, " + card["title"]
    card.update(shown)
    return card


def result_card(result: dict, names: dict, upload=None) -> dict:
    """classify_digit() -> the card for one file."""
    name = names.get(result["model"], result["model"])
    if result["digit"] is None:
        card = _card(result["file"], upload, digit=NO_DIGIT_TEXT, detail=NO_DIGIT_DETAIL.format(name),
                     warnings=warnings_text(result["warnings"]))
        card.update(feedback_fields([result]))
        return card
    card = _card(
        result["file"], upload,
        digit=digit_text(result),
        confidence=confidence_text(result["confidence"]),
        detail=" ".join(t for t in (runner_up_text(result["probabilities"], result["digit"]),
                                    "Read by the {}.".format(name)) if t),
        chart=probability_chart(result, name),
        bars=small_bars_chart([result], names),
        explain_ids=explain_ids([result]),
        model_names=names,
        chart_description=chart_description([result], names),
        preview=result.get("preview"),
        preview_caption=PREVIEW_CAPTION,
        warnings=warnings_text(result["warnings"]),
    )
    card.update(feedback_fields([result]))
    return card


def agreement_text(results: list, names: dict) -> str:
    """ "Both models say 7." or "The models disagree: CNN says 7, Vision Transformer says 1." """
    digits = set(r["digit"] for r in results)
    if len(digits) == 1:
        everyone = "Both models" if len(results) == 2 else "All {} models".format(len(results))
        if results[0]["digit"] is None:
            return "{} found nothing that looks like a handwritten digit.".format(everyone)
        return "{} say {}.".format(everyone, results[0]["digit"])
    verdicts = ", ".join("{} says {}".format(names.get(r["model"], r["model"]),
                                             "no digit" if r["digit"] is None else r["digit"]) for r in results)
    return "The models disagree: {}.".format(verdicts)


def comparison_card(comparison: dict, names: dict, upload=None) -> dict:
    """compare_models() -> one card showing every model's answer for the file."""
    results = comparison["results"]
    digits = []
    for r in results:
        if digit_text(r) not in digits:
            digits.append(digit_text(r))
    read = [r for r in results if r["digit"] is not None]
    card = _card(
        comparison["file"], upload,
        digit=" or ".join(digits),
        confidence="\n".join("{}: {}".format(names.get(r["model"], r["model"]), confidence_text(r["confidence"]))
                              for r in read),
        detail=" ".join([agreement_text(results, names)] + [
            "{}: {}".format(names.get(r["model"], r["model"]), runner_up_text(r["probabilities"], r["digit"]).lower())
            for r in read if runner_up_text(r["probabilities"], r["digit"])]),
        chart=comparison_chart(read, names) if read else None,
        bars=small_bars_chart(read, names) if read else None,
        explain_ids=explain_ids(read),
        model_names=names,
        chart_description=chart_description(read, names),
        preview=comparison.get("preview") if read else None,
        preview_caption=PREVIEW_CAPTION if read else "",
        warnings=warnings_text(comparison["warnings"]),
    )
    card.update(feedback_fields(results))
    return card


def number_model(choice: str) -> str:
    """The model that reads a whole number: the one chosen, or the ensemble when every model was asked."""
    return "ensemble" if choice == COMPARE_BOTH else choice


def digits_detail_text(reading: dict, names: dict) -> str:
    """ "Read by the number reader, the CNN checking digits that stand apart or that the reader is unsure
    of: 2 (99.9%), 0 (98.7%)." """
    name = names.get(reading["model"], reading["model"])
    reader = ("the number reader, the {} checking digits that stand apart or that the reader is unsure of"
              .format(name) if reading.get("reader") else "the " + name)
    if not reading["digits"]:
        return "The {} found no digits.".format("number reader" if reading.get("reader") else name)
    return "Read by {}: {}.".format(reader, ", ".join(
        "{} ({})".format(d["digit"], percent(d["confidence"])) for d in reading["digits"]))


def boxes_chart(reading: dict) -> dict:
    """A plotly figure of the upload's frame with a box around each digit, labelled with the digit read.

    The y axis runs downwards as in the picture, so the boxes sit where the digits are in the upload.
    """
    width, height = reading["size"]
    shapes = [{"type": "rect", "xref": "x", "yref": "y", "x0": d["box"][0], "y0": d["box"][1], "x1": d["box"][2],
               "y1": d["box"][3], "line": {"color": BOX_COLOR, "width": 2}} for d in reading["digits"]]
    labels = [{"x": (d["box"][0] + d["box"][2]) / 2, "y": d["box"][1], "yanchor": "bottom", "showarrow": False,
               "text": str(d["digit"]), "font": {"color": BOX_COLOR, "size": 16}} for d in reading["digits"]]
    layout = {
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "xaxis": {"range": [0, width], "visible": False, "fixedrange": True},
        "yaxis": {"range": [height, 0], "visible": False, "fixedrange": True, "scaleanchor": "x"},
        "shapes": shapes, "annotations": labels, "showlegend": False,
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
    }
    return {"data": [], "layout": layout, "config": CHART_CONFIG}


def over_upload(chart: dict, image_url: str) -> dict:
    """A boxes_chart drawn over the upload itself (at image_url), which fills the chart's frame."""
    layout = dict(chart["layout"])
    width, height = layout["xaxis"]["range"][1], layout["yaxis"]["range"][0]
    layout["images"] = [{"source": image_url, "xref": "x", "yref": "y", "x": 0, "y": 0, "sizex": width,
                         "sizey": height, "xanchor": "left", "yanchor": "top", "sizing": "stretch", "layer": "below"}]
    return dict(chart, layout=layout)


def boxes_description(reading: dict, title: str) -> str:
    """The boxes chart's text alternative."""
    return "{}, with a box drawn around each digit read: {}.".format(
        title, ", ".join(str(d["digit"]) for d in reading["digits"]))


def number_card(reading: dict, names: dict, upload=None) -> dict:
    """read_number() -> the card for one file: the number in large type, the upload with each digit boxed."""
    card = _card(
        reading["file"], upload,
        digit=reading["number"] or "-",
        confidence=confidence_text(reading["confidence"]) if reading["digits"] else "",
        detail=digits_detail_text(reading, names),
        chart=boxes_chart(reading) if reading["digits"] else None,
        preview=reading["digits"][0]["preview"] if len(reading["digits"]) == 1 else None,
        preview_caption=PREVIEW_CAPTION if len(reading["digits"]) == 1 else "",
        warnings=warnings_text(reading["warnings"]),
    )
    if card["chart"] is not None:
        # The boxes go over the picture when the browser can show it, else on an empty frame of its size.
        card["chart_over_upload"] = card["upload"] is not None
        card["chart_description"] = boxes_description(
            reading, card["upload_alt"] or "The frame of " + card["title"])
    return card


# --- CSV files of many digits: one card per row -------------------------------------------------------

ROW_CARDS_SHOWN = 50  # a CSV may hold thousands of rows; the page draws the first ones, and counts them all
CSV_TYPES = ("text/csv", "application/csv", "application/vnd.ms-excel")


def is_csv(file_name, content_type) -> bool:
    """Whether an upload is a CSV file (read with classify_digits, one result per row)."""
    return (file_name or "").lower().endswith(".csv") or content_type in CSV_TYPES


def row_title(result: dict) -> str:
    """ "digits.csv, row 2 (label 7)"; the file's name alone for a file of one digit."""
    if "row" not in result:
        return result["file"]
    title = "{}, row {}".format(result["file"], result["row"])
    return title + (" (label {})".format(result["label"]) if "label" in result else "")


def _row_card(results: list, names: dict) -> dict:
    """One row (one digit) as read by each model asked: its card."""
    first = results[0]
    if "error" in first:
        return _card(row_title(first), error=first["error"])
    if len(results) == 1:
        card = result_card(first, names)
    else:
        card = comparison_card({"file": first["file"], "preview": first.get("preview"),
                                "warnings": first["warnings"], "results": results}, names)
    card["title"] = row_title(first)
    return card


def rows_summary(results: list, shown: int = ROW_CARDS_SHOWN) -> str:
    """ "2,000 digits read, one per row; 1,994 of the 2,000 labelled rows read as labelled (99.7%).
    The first 50 rows are shown; every row is counted here." """
    read = [r for r in results if "error" not in r]
    text = "{:,} digits read, one per row.".format(len(read))
    if len(read) < len(results):
        text = "{:,} of {:,} rows read; the red cards say why.".format(len(read), len(results))
    labelled = [r for r in read if "label" in r]
    if labelled:
        right = sum(1 for r in labelled if r["digit"] == r["label"])
        text += " {:,} of the {:,} labelled rows read as labelled ({:.1f}%).".format(
            right, len(labelled), 100.0 * right / len(labelled))
    if len(results) > shown:
        text += " The first {} rows are shown; every row is counted here.".format(shown)
    return text


def table_cards(answers: list, names: dict, file_name, shown: int = ROW_CARDS_SHOWN) -> list:
    """classify_digits([csv], model) for each model asked (one list of results per model) -> the cards:
    for a CSV of many digits a summary card, then one card per row (the first `shown`); for a CSV of
    one digit, its card as for any file."""
    rows = [list(per_model) for per_model in zip(*answers)]
    if len(rows) == 1 and "row" not in rows[0][0]:
        return [_row_card(rows[0], names)]
    summary = _card(file_name, detail=rows_summary(answers[0], shown))
    return [summary] + [_row_card(row, names) for row in rows[:shown]]


def error_card(file_name, error_type: str, message: str) -> dict:
    """The card for a file the server could not read (or could not be asked about)."""
    return _card(file_name, error=error_text(error_type, message))


# --- "Why?": the evidence map over the image the model saw (explain() on the server) --------------------
# explain(result_id) -> {model, digit, seen: 28 rows of 28 ints (light ink on dark), explanation: 28 rows
# of 28 floats, positive where the ink supports the answer, negative where it points to another digit}

WHY = "Why?"
HIDE_WHY = "Hide why"
SUPPORT_COLOR = "rgba(230, 97, 0, 0.9)"  # orange: ink that supports the answer
AGAINST_COLOR = "rgba(30, 136, 229, 0.9)"  # blue: ink that points elsewhere (the pair reads in colour blindness)
WHY_KEY = "Orange: ink that supports the answer. Blue: ink that points to another digit."
WORKING_OUT = "Working out why..."
INK = 64  # of 255: a pixel this bright is ink; the rest is the ground a loop can enclose
SHOWN_FROM = 0.08  # evidence under this share of the strongest is not coloured: it would only be noise
MOSTLY = 0.5  # a part that holds this share of the supporting evidence is "mostly" where it lies
AGAINST_WORTH_SAYING = 0.25  # opposing evidence this large next to the supporting is worth a clause


def explain_ids(results: list) -> list:
    """The result ids a card's "Why?" explains: each model's that found a digit."""
    return [r["result_id"] for r in results if r.get("result_id") and r.get("digit") is not None]


def _holes(seen: list) -> list:
    """The ground the ink closes in (a loop's inside), as lists of (row, col): ground not reachable from
    the picture's edge. Holes of one or two pixels are gaps between strokes, not loops."""
    size = len(seen)
    outside = [[False] * size for _ in range(size)]
    stack = [(r, c) for r in range(size) for c in (0, size - 1)] + [(r, c) for c in range(size) for r in (0, size - 1)]
    while stack:
        r, c = stack.pop()
        if 0 <= r < size and 0 <= c < size and not outside[r][c] and seen[r][c] < INK:
            outside[r][c] = True
            stack.extend([(r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)])
    holes, claimed = [], [[False] * size for _ in range(size)]
    for r0 in range(size):
        for c0 in range(size):
            if seen[r0][c0] >= INK or outside[r0][c0] or claimed[r0][c0]:
                continue
            hole, stack = [], [(r0, c0)]
            while stack:
                r, c = stack.pop()
                if 0 <= r < size and 0 <= c < size and not claimed[r][c] and not outside[r][c] and seen[r][c] < INK:
                    claimed[r][c] = True
                    hole.append((r, c))
                    stack.extend([(r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)])
            if len(hole) >= 3:
                holes.append(hole)
    return holes


def _ink_box(seen: list) -> tuple:
    rows = [r for r in range(len(seen)) if max(seen[r]) >= INK]
    cols = [c for c in range(len(seen)) if max(row[c] for row in seen) >= INK]
    if not rows:
        return 0, 0, len(seen) - 1, len(seen) - 1
    return rows[0], cols[0], rows[-1], cols[-1]


def _place(row: float, col: float, box: tuple) -> str:
    """Where a point lies in the digit's ink box, in words: "top", "bottom left", "middle"..."""
    top, left, bottom, right = box
    def third(value, low, high, names):
        span = max(high - low, 1)
        return names[min(2, max(0, int(3 * (value - low) / (span + 1))))]
    vertical = third(row, top, bottom, ("top", "middle", "bottom"))
    horizontal = third(col, left, right, ("left", "", "right"))
    if vertical == "middle" and horizontal:
        return horizontal + " side"
    return (vertical + " " + horizontal).strip()


def _centre(weights: dict) -> tuple:
    total = sum(weights.values())
    return (sum(r * w for (r, c), w in weights.items()) / total, sum(c * w for (r, c), w in weights.items()) / total)


def explanation_text(explained: dict, name: str = "") -> str:
    """One line of words for a map: where the evidence for the answer lies in the digit, e.g. "The CNN
    says 9 mostly because of the closed loop at the top; the ink at the bottom left points elsewhere." """
    seen, evidence = explained["seen"], explained["explanation"]
    size = len(seen)
    support = dict(((r, c), evidence[r][c]) for r in range(size) for c in range(size) if evidence[r][c] > 0)
    against = dict(((r, c), -evidence[r][c]) for r in range(size) for c in range(size) if evidence[r][c] < 0)
    says = "{} says {}".format("The " + name if name else "The model", explained["digit"])
    total = sum(support.values())
    if total <= 0:
        return "{}, but no one part of the ink carries it: blacking out any piece changes little.".format(says)
    box = _ink_box(seen)
    reason = ""
    for hole in _holes(seen):  # the loop whose ink (around its hole) holds most of the support, if any does
        ring = set((r + dr, c + dc) for r, c in hole for dr in (-2, -1, 0, 1, 2) for dc in (-2, -1, 0, 1, 2))
        share = sum(w for point, w in support.items() if point in ring) / total
        if share >= MOSTLY:
            centre = _centre(dict((point, 1.0) for point in hole))
            reason = "mostly because of the closed loop {}".format(
                "in the middle" if _place(centre[0], centre[1], box) == "middle" else
                "at the " + _place(centre[0], centre[1], box))
            break
    if not reason:
        parts = {}
        for (r, c), w in support.items():
            part = _place(r, c, box)
            parts[part] = parts.get(part, 0) + w
        ranked = sorted(parts.items(), key=lambda item: -item[1])
        if ranked[0][1] / total >= MOSTLY:
            reason = "mostly because of the ink {}".format(_in_part(ranked[0][0]))
        else:
            reason = "because of the ink {} and {}".format(_in_part(ranked[0][0]), "the " + ranked[1][0])
    text = "{} {}".format(says, reason)
    if against and sum(against.values()) >= AGAINST_WORTH_SAYING * total:
        centre = _centre(against)
        text += "; the ink {} points to another digit".format(_in_part(_place(centre[0], centre[1], box)))
    return text + "."


def _in_part(part: str) -> str:
    if part == "middle":
        return "in the middle"
    if part.endswith("side"):
        return "on the " + part
    return "at the " + part


def _evidence_traces(explained: dict, axis: str) -> list:
    """The image the model saw (grey) and, over it, its evidence (orange for, blue against)."""
    evidence = explained["explanation"]
    strongest = max(max(abs(v) for v in row) for row in evidence) or 1.0
    # The square root keeps weaker evidence in sight next to the strongest (the colours show ranks of
    # strength, the hover the value); what is under SHOWN_FROM of the strongest is left uncoloured.
    shown = [[(1 if v > 0 else -1) * (abs(v) / strongest) ** 0.5 if abs(v) >= SHOWN_FROM * strongest else None
              for v in row] for row in evidence]
    return [
        {"type": "heatmap", "z": explained["seen"], "zmin": 0, "zmax": 255, "showscale": False,
         "colorscale": [[0, "#000000"], [1, "#9E9E9E"]], "hoverinfo": "skip", "xaxis": "x" + axis, "yaxis": "y" + axis},
        {"type": "heatmap", "z": shown, "zmin": -1, "zmax": 1, "showscale": False, "hoverongaps": False,
         "colorscale": [[0, AGAINST_COLOR], [0.5, "rgba(0, 0, 0, 0)"], [1, SUPPORT_COLOR]],
         "hovertemplate": "evidence %{z:.2f}<extra></extra>", "xaxis": "x" + axis, "yaxis": "y" + axis},
    ]


def why_figure(explanations: list, names: dict) -> dict:
    """The evidence maps side by side (one per model asked), each over the 28 x 28 image its model saw."""
    data, layout = [], {"margin": {"l": 0, "r": 0, "t": 22 if len(explanations) > 1 else 0, "b": 0},
                        "showlegend": False, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                        "annotations": []}
    count, gap = len(explanations), 0.06
    width = (1.0 - gap * (count - 1)) / count
    for index, explained in enumerate(explanations):
        axis = "" if index == 0 else str(index + 1)
        data += _evidence_traces(explained, axis)
        start = index * (width + gap)
        layout["xaxis" + axis] = {"domain": [start, start + width], "visible": False, "fixedrange": True,
                                  "constrain": "domain"}
        layout["yaxis" + axis] = {"autorange": "reversed", "visible": False, "fixedrange": True,
                                  "scaleanchor": "x" + axis, "constrain": "domain"}
        if count > 1:
            layout["annotations"].append({"text": names.get(explained["model"], explained["model"]),
                                          "x": start + width / 2, "y": 1.0, "xref": "paper", "yref": "paper",
                                          "yanchor": "bottom", "showarrow": False, "font": {"size": 13}})
    return {"data": data, "layout": layout, "config": CHART_CONFIG}


def why_view(explanations: list, names: dict) -> dict:
    """explain() for each result on a card -> what its "Why?" shows: figure, text (one line per model),
    key (what the colours mean), description (the figure's text alternative)."""
    texts = [explanation_text(e, names.get(e["model"], e["model"])) for e in explanations]
    return {"figure": why_figure(explanations, names), "text": "\n".join(texts), "key": WHY_KEY,
            "description": " ".join(["The 28 x 28 image the model saw, coloured by the evidence for its answer."] + texts)}


# --- the model page ----------------------------------------------------------------------------------

def facts_text(report: dict) -> str:
    """The headline numbers of a model_report(), one fact per line."""
    facts = []
    if report.get("test_accuracy") is not None:
        facts.append("{} of the MNIST test digits read correctly (digits it never saw in training).".format(
            percent(report["test_accuracy"], 2)))
    if report.get("validation_accuracy") is not None:
        facts.append("{} of the validation digits, held out from training, read correctly.".format(
            percent(report["validation_accuracy"], 2)))
    if report.get("typefaces_accuracy") is not None:
        facts.append("{} of the digits in handwriting typefaces it never trained on read correctly.".format(
            percent(report["typefaces_accuracy"], 2)))
    if report.get("parameters"):
        facts.append("{:,} parameters (the numbers it learned).".format(report["parameters"]))
    if report.get("epochs"):
        minutes = report.get("training_minutes")
        took = ""
        if minutes is not None:
            took = " in under a minute" if minutes < 1 else " in " + plural(int(round(minutes)), "minute")
        fine_tuned = report.get("fine_tuned")
        facts.append("{} for {}{}{}.".format("Fine-tuned" if fine_tuned else "Trained", plural(report["epochs"], "epoch"),
                                             took, ", from a model trained before" if fine_tuned else ""))
    return "\n".join(facts)


def mistakes_text(confused_pairs: list, shown: int = 5) -> str:
    """The most frequent confusions as a sentence, or "" if there are none."""
    if not confused_pairs:
        return ""
    pairs = sorted(confused_pairs, key=lambda p: -p["count"])[:shown]
    parts = ["{} read as {} ({})".format(a_digit(p["true"]), p["predicted"], plural(p["count"], "time"))
             for p in pairs]
    return "Its most frequent mistakes on the test set: " + ", ".join(parts) + "."


def per_class_text(per_class: list) -> str:
    """The spread of recall over the ten digits as a sentence, or "" without numbers."""
    if not per_class:
        return ""
    hardest = min(per_class, key=lambda row: (row["recall"], row["digit"]))
    easiest = max(per_class, key=lambda row: (row["recall"], -row["digit"]))
    return "Its hardest digit is {0} ({1} of the test {0}s named correctly), its easiest {2} ({3}).".format(
        hardest["digit"], percent(hardest["recall"], 2), easiest["digit"], percent(easiest["recall"], 2))


def model_section(report: dict, description: str = "", feedback=None) -> dict:
    """model_report() -> what the model page shows for that model: name, description, facts,
    figures [{title, caption, image, alt}], mistakes (sentences from the numbers), corrections (from
    feedback_summary(), or "" without it), error ("").
    """
    name = report.get("name") or report["model"]
    return {
        "name": name,
        "description": description,
        "facts": facts_text(report),
        "figures": [{"title": f.get("title", ""), "caption": f.get("caption", ""), "image": f["image"],
                     "alt": "{} of the {}".format(f.get("title") or "Figure", name)}
                    for f in report.get("figures") or []],
        "mistakes": " ".join(t for t in (per_class_text(report.get("per_class") or []),
                                          mistakes_text(report.get("confused_pairs") or [])) if t),
        "corrections": "" if feedback is None else corrections_text(feedback),
        "error": "",
    }


def model_error_section(model: dict, error_type: str, message: str) -> dict:
    """The model page's section for a model (from list_models()) whose report could not be fetched."""
    return {"name": model["name"], "description": model.get("description", ""), "facts": "", "figures": [],
            "mistakes": "", "corrections": "", "error": error_text(error_type, message)}


# --- feedback: "Right" / "Wrong? It's a [0-9]" on the cards, "What people corrected" on the model page --

FEEDBACK_NOTE = ("Telling us keeps only the 28 x 28 image the model saw (never your upload), the model's "
                 "answer and yours, so the models can learn from their mistakes.")
WRONG_PLACEHOLDER = "Wrong? It's a ..."
SAVING = "Saving..."
RESTARTING = "The server is restarting"  # the start of the uplink server's "try again" message


def feedback_digit_items() -> list:
    """The "Wrong? It's a [0-9]" dropdown's items: (label, digit)."""
    return [(str(d), d) for d in range(10)]


WRONG_DIGIT_NAME = "Wrong? Choose the digit it really is"


def feedback_fields(results: list) -> dict:
    """What a card needs to take feedback on `results` (one result, or every model's when comparing):
    result_ids (empty: no feedback), confirm_digit (the digit "Right" confirms, or None: no "Right"
    button, because the model saw no digit or the models disagree), feedback_note."""
    ids = [r["result_id"] for r in results if r.get("result_id")]
    digits = set(r.get("digit") for r in results)
    confirm = results[0].get("digit") if ids and len(digits) == 1 else None
    return {"result_ids": ids, "confirm_digit": confirm, "feedback_note": FEEDBACK_NOTE if ids else ""}


def feedback_thanks(answer: dict) -> str:
    """record_feedback()'s answer -> the thank-you shown in place of the buttons."""
    if answer.get("confirmed"):
        return "Thank you! Noted that {} was right.".format(answer["digit"])
    return "Thank you! Noted that it is {}; the models will learn from it.".format(a_digit(answer["digit"]))


def worth_retrying(error_type: str, message: str) -> bool:
    """Whether a failed call should be sent once more: the uplink that had it went away (another
    server process takes the retry), or it was restarting."""
    return error_type == "UplinkDisconnectedError" or message.startswith(RESTARTING)


def corrections_text(summary: dict) -> str:
    """feedback_summary() -> the model page's "What people corrected" paragraph."""
    confirmed, corrected = summary.get("confirmed", 0), summary.get("corrected", 0)
    if confirmed + corrected == 0:
        return "Nobody has told us yet whether its answers were right. Each result card asks."
    text = "People confirmed {} and corrected {}.".format(plural(confirmed, "answer"), corrected)
    mistakes = summary.get("common_mistakes") or []
    if mistakes:
        parts = ["{} it read as {} ({})".format(a_digit(m["true"]),
                                                 "no digit" if m["predicted"] is None else m["predicted"],
                                                 plural(m["count"], "time")) for m in mistakes]
        text += " The most common mistakes: " + ", ".join(parts) + "."
    return text
