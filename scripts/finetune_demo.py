"""The accept-or-refuse rule at work, on a few hundred synthetic corrections, in a scratch folder.

    python scripts/finetune_demo.py --data ../shared/data/mnist.npz --out /tmp/finetune-demo

1. People whose handwriting slants far more than MNIST's: MNIST training digits (never the validation
   split) turned by 25-40 degrees, drawn as dark ink on paper and uploaded as PNG files.
2. Each goes through the real path: the engine classifies the upload, the uplink layer signs its
   result id, and the person's digit is saved with record_feedback's desk into a scratch SQLite store.
3. `digits feedback export` writes the store out; `digits finetune cnn` fine-tunes the shipped CNN on
   it, once on the honest corrections and once on the same images labelled by a vandal (every digit
   shifted by one), writing only into the scratch folder. It prints both verdicts.

The shipped models are never touched.
"""

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from digits.engine import Engine  # noqa: E402
from digits.feedback_store import FeedbackStore  # noqa: E402
from training.config import DEFAULTS  # noqa: E402
from training.data import load_mnist, validation_split  # noqa: E402
from uplink_server.feedback import FeedbackDesk, model_checksums  # noqa: E402
from uplink_server.result_tokens import ResultSigner  # noqa: E402


def slanted_upload(pixels: np.ndarray, degrees: float) -> bytes:
    """A digit turned by `degrees`, as dark ink on white paper, 112 x 112, PNG."""
    turned = ndimage.rotate(pixels.astype(np.float32), degrees, reshape=True, order=1)
    image = Image.fromarray(255 - np.clip(turned, 0, 255).astype(np.uint8)).resize((112, 112))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def collect_feedback(store: FeedbackStore, data: str | None, count: int, seed: int) -> dict:
    mnist = load_mnist(data)
    (x_train, y_train), _ = validation_split(mnist.x_train, mnist.y_train, DEFAULTS["cnn"].validation_size,
                                             DEFAULTS["cnn"].seed)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(x_train), count, replace=False)
    desk = FeedbackDesk(ResultSigner("finetune-demo"), store, model_checksums(REPO / "models", ("cnn",)))
    wrong = 0
    with Engine(("cnn",)) as engine:
        for index in chosen:
            degrees = rng.choice([-1, 1]) * rng.uniform(25, 40)
            result = engine.classify(slanted_upload(x_train[index], degrees), "cnn", "slanted.png")
            recorded = desk.record(desk.result_id(result), int(y_train[index]))
            wrong += not recorded.confirmed
    return {"answers": count, "model_wrong": wrong}


def digits(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "digits.cli", *args], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz (default: $DIGITS_MNIST_NPZ)")
    parser.add_argument("--out", required=True, help="a scratch folder")
    parser.add_argument("--count", type=int, default=400, help="synthetic answers to collect")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    url = f"sqlite:///{out / 'feedback.sqlite3'}"
    store = FeedbackStore(url)
    collected = collect_feedback(store, args.data, args.count, args.seed)
    store.close()
    print(json.dumps({"collected": collected}))
    honest = out / "feedback.npz"
    digits("feedback", "--database", url, "export", "--out", str(honest))
    print(digits("feedback", "--database", url, "stats").rstrip())

    with np.load(honest) as exported:
        arrays = {name: exported[name] for name in exported.files}
    vandalised = out / "vandalised.npz"
    np.savez_compressed(vandalised, **{**arrays, "y": ((arrays["y"] + 1) % 10).astype(np.uint8)})

    data = ["--data", args.data] if args.data else []
    for name, path in (("honest corrections", honest), ("a vandal's labels", vandalised)):
        verdict = json.loads(digits("finetune", "cnn", "--feedback", str(path), "--out", str(out / path.stem),
                                    "--json", *data))
        print(json.dumps({"run": name, **verdict}))


if __name__ == "__main__":
    main()
