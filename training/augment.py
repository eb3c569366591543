"""Random changes that handwriting and its uploads really have, applied to a whole batch at once.

Two kinds. Every image gets the geometry of handwriting: slant, rotation, size, position (one affine
warp per image, a single ImageProjectiveTransformV3 call) and stroke width. Some images also get one
of the styles MNIST rarely shows (a share of the batch each, see AugmentConfig): elastic distortion
(Simard et al. 2003), a stretch towards the square box some scanners normalise to, bold strokes, low
resolution, blur, binarisation and a small erased patch. All of it is TensorFlow ops on the batch, so
it costs little next to a training step.
"""

import math

import tensorflow as tf

from training.config import AugmentConfig

INK = 0.1  # a pixel at least this bright (0-1) is ink when measuring a digit's box


def uniform(shape, low=0.0, high=1.0) -> tf.Tensor:
    return tf.random.uniform(shape, low, high)


def chosen(batch: tf.Tensor, share: float) -> tf.Tensor:
    """(batch, 1, 1, 1) booleans: which images of the batch get a style, each with probability `share`."""
    return uniform([batch, 1, 1, 1]) < share


def ink_box_size(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(width, height) in pixels of each image's ink, at least 1."""
    def extent(profile):  # (batch, size) booleans -> count from first to last True
        size = tf.shape(profile)[1]
        index = tf.range(size, dtype=tf.float32)[None, :]
        first = tf.reduce_min(tf.where(profile, index, tf.cast(size, tf.float32)), axis=1)
        last = tf.reduce_max(tf.where(profile, index, -1.0), axis=1)
        return tf.maximum(last - first + 1.0, 1.0)

    ink = images[..., 0] > INK
    return extent(tf.reduce_any(ink, axis=1)), extent(tf.reduce_any(ink, axis=2))


def random_affine_transforms(images: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """(batch, 8) projective transforms mapping output pixels to input pixels, about the image centre.

    A share of the images (config.box_stretch_share) is stretched across towards a square box: a
    narrow digit (a 1, a 7) part of the way to as wide as it is tall, as scanners that fill the
    whole box make it.
    """
    batch, size = tf.shape(images)[0], images.shape[1]
    angle = uniform([batch], -1.0, 1.0) * math.radians(config.max_rotation_degrees)
    shear = uniform([batch], -1.0, 1.0) * math.radians(config.max_shear_degrees)
    scale = uniform([batch], *config.scale_range)
    shift_x = uniform([batch], -1.0, 1.0) * config.max_shift_pixels
    shift_y = uniform([batch], -1.0, 1.0) * config.max_shift_pixels

    width, height = ink_box_size(images)
    towards_square = tf.maximum(height / width, 1.0)  # how much wider the digit would be in a square box
    stretch = 1.0 + uniform([batch]) * (towards_square - 1.0)
    stretch = tf.where(uniform([batch]) < config.box_stretch_share, stretch, 1.0)
    scale_x = scale * stretch / tf.maximum(1.0, width * stretch / height)  # never wider than tall

    # Inverse map: input = A^-1 (output - centre - shift) + centre, with A = diag(scale_x, scale) * rotate * shear.
    cos, sin, tan = tf.cos(angle), tf.sin(angle), tf.tan(shear)
    a00, a01 = cos / scale_x, (sin + cos * tan) / scale
    a10, a11 = -sin / scale_x, (cos - sin * tan) / scale
    centre = (size - 1) / 2.0
    ox, oy = centre + shift_x, centre + shift_y
    b0 = centre - a00 * ox - a01 * oy
    b1 = centre - a10 * ox - a11 * oy
    zeros = tf.zeros([batch])
    return tf.stack([a00, a01, b0, a10, a11, b1, zeros, zeros], axis=1)


def warp(images: tf.Tensor, transforms: tf.Tensor) -> tf.Tensor:
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")


def dilate(images: tf.Tensor) -> tf.Tensor:
    return tf.nn.max_pool2d(images, 3, 1, "SAME")


def erode(images: tf.Tensor) -> tf.Tensor:
    return -tf.nn.max_pool2d(-images, 3, 1, "SAME")


def random_stroke_width(images: tf.Tensor, max_change: float, bold_share: float, boldest: float) -> tf.Tensor:
    """Changes each image's strokes by an amount in [-max_change, max_change], or for a share of the
    batch in [1, boldest] (a marker): -1 is a full 3x3 erosion, +1 a full 3x3 dilation, +2 two of
    them; fractions go part of the way."""
    batch = tf.shape(images)[0]
    amount = uniform([batch, 1, 1, 1], -max_change, max_change)
    amount = tf.where(chosen(batch, bold_share), uniform([batch, 1, 1, 1], 1.0, boldest), amount)
    eroded, dilated = erode(images), dilate(images)
    twice = dilate(dilated)
    thinner = images + tf.clip_by_value(-amount, 0.0, 1.0) * (eroded - images)
    bolder = images + tf.clip_by_value(amount, 0.0, 1.0) * (dilated - images)
    boldest_strokes = dilated + tf.clip_by_value(amount - 1.0, 0.0, 1.0) * (twice - dilated)
    return tf.where(amount < 0, thinner, tf.where(amount <= 1.0, bolder, boldest_strokes))


def gaussian_kernel(sigma: float, radius: int) -> tf.Tensor:
    offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
    weights = tf.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / tf.reduce_sum(weights)


def gaussian_blur(images: tf.Tensor, sigma: float | tf.Tensor, radius: int) -> tf.Tensor:
    """Separable Gaussian blur of (N, H, W, C) images, every channel on its own."""
    channels = images.shape[-1]
    kernel = gaussian_kernel(sigma, radius)
    across = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, channels, 1])
    down = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, channels, 1])
    images = tf.nn.depthwise_conv2d(images, across, [1, 1, 1, 1], "SAME")
    return tf.nn.depthwise_conv2d(images, down, [1, 1, 1, 1], "SAME")


def elastic_distortion(images: tf.Tensor, alpha: float, sigma: float) -> tf.Tensor:
    """Simard et al. (2003): every pixel moved by a smooth random field (Gaussian-smoothed noise of
    width `sigma`, scaled to `alpha` pixels), read back with bilinear interpolation."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    field = gaussian_blur(uniform([batch, height, width, 2], -1.0, 1.0), sigma, int(2 * sigma))
    field = field / (tf.reduce_max(tf.abs(field), axis=[1, 2, 3], keepdims=True) + 1e-6) * alpha
    rows, columns = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    y = rows[None] + field[..., 0]
    x = columns[None] + field[..., 1]
    return bilinear_sample(images, y, x)


def bilinear_sample(images: tf.Tensor, y: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    """images (N, H, W, 1) read at (N, H, W) positions y, x; outside the frame is background."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    padded = tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]])  # one pixel of background all round
    y = tf.clip_by_value(y + 1.0, 0.0, tf.cast(height, tf.float32) + 0.999)
    x = tf.clip_by_value(x + 1.0, 0.0, tf.cast(width, tf.float32) + 0.999)
    y0, x0 = tf.floor(y), tf.floor(x)
    dy, dx = y - y0, x - x0
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    y1 = tf.minimum(y0 + 1, height + 1)
    x1 = tf.minimum(x0 + 1, width + 1)

    def at(yy, xx):
        return tf.gather_nd(padded, tf.stack([yy, xx], axis=-1), batch_dims=1)

    top = at(y0, x0) * (1 - dx) + at(y0, x1) * dx
    bottom = at(y1, x0) * (1 - dx) + at(y1, x1) * dx
    return (top * (1 - dy) + bottom * dy)[..., None]


def low_resolution(images: tf.Tensor, smallest: int, largest: int) -> tf.Tensor:
    """The whole batch shrunk to one random side in [smallest, largest] and scaled back up."""
    side = tf.random.uniform([], smallest, largest + 1, dtype=tf.int32)
    size = tf.shape(images)[1:3]
    small = tf.image.resize(images, [side, side], method="area")
    return tf.image.resize(small, size, method="bilinear")


def binarise(images: tf.Tensor) -> tf.Tensor:
    """Ink at full strength and nothing else, at a random threshold per image (a scanner's 1-bit mode)."""
    threshold = uniform([tf.shape(images)[0], 1, 1, 1], 0.25, 0.6)
    return tf.cast(images > threshold, images.dtype)


def erase_patch(images: tf.Tensor, largest: int) -> tf.Tensor:
    """A random square of background, up to `largest` pixels a side, laid over each image (a gap in the pen)."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    side = uniform([batch, 1, 1], 2.0, largest + 1.0)
    top = uniform([batch, 1, 1]) * (tf.cast(height, tf.float32) - side)
    left = uniform([batch, 1, 1]) * (tf.cast(width, tf.float32) - side)
    rows = tf.range(height, dtype=tf.float32)[None, :, None]
    columns = tf.range(width, dtype=tf.float32)[None, None, :]
    inside = (rows >= top) & (rows < top + side) & (columns >= left) & (columns < left + side)
    return tf.where(inside[..., None], 0.0, images)


def augment_batch(images: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """float32 (N, H, W, 1) in [0, 1] -> the same, randomly warped, re-stroked and restyled."""
    batch = tf.shape(images)[0]

    def some(styled: tf.Tensor, share: float, current: tf.Tensor) -> tf.Tensor:
        return tf.where(chosen(batch, share), styled, current) if share > 0 else current

    images = some(elastic_distortion(images, config.elastic_alpha, config.elastic_sigma), config.elastic_share, images)
    images = warp(images, random_affine_transforms(images, config))
    images = random_stroke_width(images, config.max_stroke_change, config.bold_share, config.boldest_stroke)
    images = some(low_resolution(images, *config.low_resolution_sides), config.low_resolution_share, images)
    images = some(gaussian_blur(images, config.blur_sigma, 2), config.blur_share, images)
    images = some(binarise(stretch_contrast(images)), config.binarise_share, images)
    images = some(erase_patch(images, config.erase_side), config.erase_share, images)
    return stretch_contrast(images)


def stretch_contrast(images: tf.Tensor) -> tf.Tensor:
    """Brightest pixel to 1, as the upload pipeline leaves every image (blur and low resolution dim it)."""
    brightest = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True)
    return tf.clip_by_value(images / tf.maximum(brightest, 0.2), 0.0, 1.0)
