"""Where a lone 28x28 upload's time goes, step by step: each step of `Engine.classify` timed on its own,
the steps in turns upload by upload (so a busy machine slows them alike), in the thread's CPU time.

    python -m benchmarks.upload_steps --data ../shared/data/mnist.npz [--uploads 500] [--rounds 4]

Per model: the whole call (`classify` then `to_dict`), the decode, the reading pipeline after it
(`pipeline.read`), both together (`prepare_upload`), the model call through the engine (`predict_one`:
the batching runner, the temperature) and the interpreter alone (set_tensor, invoke, get_tensor),
and building the answer (`Classification.of`, `to_dict`); p50 in ms and as a share of the whole.
"""

import argparse
import json
import os
import time

import numpy as np

from digits.bench import png_bytes
from digits.engine import Classification, Engine
from digits.preprocessing import prepare_upload, to_model_input
from digits.preprocessing.decode import decode
from digits.preprocessing.pipeline import read
from training.data import load_mnist


def steps_of(engine: Engine, model: str, uploads: list[bytes]) -> dict:
    prepared = [prepare_upload(data) for data in uploads]
    decoded = [decode(data) for data in uploads]
    inputs = [to_model_input(image.pixels[np.newaxis]) for image in prepared]
    probabilities = [engine.predict_one(model, image.pixels) for image in prepared]
    interpreter, image_index, output_index = engine._runners[model]._free[0]._interpreters[1]

    def invoke(k: int) -> None:
        interpreter.set_tensor(image_index, inputs[k])
        interpreter.invoke()
        interpreter.get_tensor(output_index)

    return {
        "classify + to_dict": lambda k: engine.classify(uploads[k], model).to_dict(),
        "decode": lambda k: decode(uploads[k]),
        "reading pipeline after the decode": lambda k: read(decoded[k].pixels, decoded[k].lossy),
        "prepare_upload (both)": lambda k: prepare_upload(uploads[k]),
        "predict_one (runner, temperature)": lambda k: engine.predict_one(model, prepared[k].pixels),
        "interpreter alone": invoke,
        "Classification.of + to_dict": lambda k: Classification.of(None, model, probabilities[k], prepared[k],
                                                                     1.0).to_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--uploads", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    uploads = [png_bytes(pixels) for pixels in load_mnist(args.data).x_test[:args.uploads]]
    summary = {}
    with Engine(processes=0) as engine:
        for model in engine.model_ids:
            steps = steps_of(engine, model, uploads)
            times = {name: [] for name in steps}
            for _ in range(args.rounds):
                for k in range(len(uploads)):
                    for name, step in steps.items():
                        started = time.thread_time()
                        step(k)
                        times[name].append(time.thread_time() - started)
            p50 = {name: 1000 * float(np.median(values)) for name, values in times.items()}
            whole = p50["classify + to_dict"]
            summary[model] = {name: f"{ms:.3f} ms ({100 * ms / whole:.0f}%)" for name, ms in p50.items()}
    summary["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
