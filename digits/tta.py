"""Test-time augmentation: each digit is read as it is and shifted one pixel each way, and the five
answers are averaged. A model trained on shifted digits still has favourite positions; averaging over
them smooths that out (measured on the validation split and the style-shift suite: README, test-time
augmentation). The engine applies it to every model call, and calibration fits the temperature to it.
"""

import numpy as np

SHIFTS = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0))  # (down, right) in pixels; the first is the digit itself


def shifted_copies(images: np.ndarray, shifts=SHIFTS) -> np.ndarray:
    """(N, 28, 28, ...) -> (N * len(shifts), 28, 28, ...): each image's copies together, in `shifts` order.
    What a shift pushes off one edge is dropped; the other edge is filled with background (0)."""
    copies = np.zeros((len(images), len(shifts), *images.shape[1:]), images.dtype)
    height, width = images.shape[1:3]
    for index, (down, right) in enumerate(shifts):
        target = np.s_[:, index, max(down, 0):height + min(down, 0), max(right, 0):width + min(right, 0)]
        source = np.s_[:, max(-down, 0):height + min(-down, 0), max(-right, 0):width + min(-right, 0)]
        copies[target] = images[source]
    return copies.reshape(-1, *images.shape[1:])


def averaged(probabilities: np.ndarray, copies: int = len(SHIFTS)) -> np.ndarray:
    """(N * copies, 10) -> (N, 10): the mean over each image's copies."""
    return probabilities.reshape(-1, copies, probabilities.shape[-1]).mean(axis=1)


def predict_with_shifts(predict, images: np.ndarray, shifts=SHIFTS) -> np.ndarray:
    """`predict` ((M, 28, 28, 1) -> (M, 10)) applied to every shifted copy, averaged per image."""
    return averaged(predict(shifted_copies(images, shifts)), len(shifts))
