"""Small array helpers the stages share: an image's border, subsamples, fast medians and percentiles, Otsu."""

import math

import numpy as np

ROBUST_SIGMA = 1.4826  # a normal distribution's standard deviation over its median absolute deviation
SAMPLE_PIXELS = 65536  # measures of a whole picture's levels look at about this many of its pixels


def subsampled(array: np.ndarray, most: int = SAMPLE_PIXELS) -> np.ndarray:
    """Every n-th row and column of a 2-D array, n chosen to leave about `most` pixels (all of a smaller one)."""
    step = max(1, round(math.sqrt(array.size / most)))
    return array[::step, ::step]


def zero_padded(array: np.ndarray, width: int) -> np.ndarray:
    """A 2-D array in a frame of `width` zeros: `np.pad(array, width)`, without its overhead (about 0.1 ms
    a call on this machine, and a photo's reading pads a dozen small masks)."""
    padded = np.zeros((array.shape[0] + 2 * width, array.shape[1] + 2 * width), array.dtype)
    padded[width:width + array.shape[0], width:width + array.shape[1]] = array
    return padded


def border_band(height: int, width: int) -> int:
    """How many pixels deep the band along an image's edges is that stands for its border."""
    return 1 + min(height, width) // 64


def border_regions(height: int, width: int) -> list[tuple[slice, slice]]:
    """(rows, columns) of the four bands along an image's edges, subsampled to a few thousand pixels."""
    band, step = border_band(height, width), _border_step(height, width)
    return [(slice(0, band, 1), slice(0, width, step)), (slice(height - band, height, 1), slice(0, width, step)),
            (slice(0, height, step), slice(0, band, 1)), (slice(0, height, step), slice(width - band, width, 1))]


def _border_step(height: int, width: int) -> int:
    """Every how many pixels along the border's bands `border_regions` takes one."""
    return max(1, (height + width) // 1024)


def border(array: np.ndarray) -> np.ndarray:
    """The pixels of a band along the image's edges, (N, ...), subsampled to a few thousand."""
    height, width = array.shape[:2]
    if border_band(height, width) == 1 and _border_step(height, width) == 1:  # every pixel of a one-pixel band
        # (a small picture, a 28x28 upload): the same four sides in the same order, taken as rows and columns,
        # in 2.5 us rather than the regions' 10
        return np.concatenate((array[0], array[-1], array[:, 0], array[:, -1]))
    regions = border_regions(height, width)
    return np.concatenate([array[rows, cols].reshape(-1, *array.shape[2:]) for rows, cols in regions])


def median(values: np.ndarray) -> np.ndarray:
    """The (upper) median along the first axis; much faster than np.median on small arrays."""
    middle = len(values) // 2
    return np.partition(values, middle, axis=0)[middle]


def median_is_below(values: np.ndarray, level: float) -> bool:
    """Whether `median(values)` lies below `level`: more than half of them do (no partition needed, which
    costs a photo's whole-picture sample about a millisecond)."""
    return int(np.count_nonzero(values < level)) > len(values) // 2


def kth_smallest(values: np.ndarray, k: int) -> float:
    """`np.partition(values, k)[k]` of a 1-D array for a small `k`, partitioning only a few of them: cut
    into blocks (about the square root of their count, of as many each), each of the k + 1 smallest
    blocks' minima is a value no larger than the (k + 1)-th smallest of those minima, so every one of the
    k + 1 smallest values lies at or below it."""
    block = max(1, math.isqrt(values.size))
    whole = values.size // block * block
    if whole // block <= k:
        return float(np.partition(values, k)[k])
    bound = np.partition(values[:whole].reshape(-1, block).min(axis=1), k)[k]
    return float(np.partition(values[values <= bound], k)[k])


def a_tenth_in(count: int) -> int:
    """The index a tenth of the way into `count` sorted values: where the 10th percentile lies, an end's
    level with its outliers (a few specks, the soft edges of strokes) left out."""
    return count // 10


def low_percentile(values: np.ndarray) -> np.ndarray:
    """The 10th percentile along the first axis."""
    tenth = a_tenth_in(len(values))
    return np.partition(values, tenth, axis=0)[tenth]


def otsu_threshold(values: np.ndarray) -> float:
    """The level that best splits the values (0-255) into two classes (Otsu, on a subsample)."""
    sample = np.clip(subsampled(values, 4096), 0, 255).astype(np.uint8)
    counts = np.bincount(sample.ravel()).astype(np.float64)  # up to the highest level there: none above can split
    levels = np.arange(counts.size)
    below = np.cumsum(counts)
    mass_below = np.cumsum(counts * levels)
    above = below[-1] - below
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_below = mass_below / below
        mean_above = (mass_below[-1] - mass_below) / above
        between = below * above * (mean_below - mean_above) ** 2
    return float(np.argmax(np.nan_to_num(between)))
