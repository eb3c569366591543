"""Random changes that handwriting really has: slant, rotation, size, position and stroke width.

Works on a whole batch at once with one affine warp per image (a single ImageProjectiveTransformV3
call), so augmentation costs little next to a training step.
"""

import math

import tensorflow as tf

from training.config import AugmentConfig


def random_affine_transforms(batch: int, size: int, config: AugmentConfig) -> tf.Tensor:
    """(batch, 8) projective transforms mapping output pixels to input pixels, about the image centre."""
    def uniform(low, high):
        return tf.random.uniform([batch], low, high)

    angle = uniform(-1.0, 1.0) * math.radians(config.max_rotation_degrees)
    shear = uniform(-1.0, 1.0) * math.radians(config.max_shear_degrees)
    scale = uniform(*config.scale_range)
    shift_x = uniform(-1.0, 1.0) * config.max_shift_pixels
    shift_y = uniform(-1.0, 1.0) * config.max_shift_pixels

    # Inverse map: input = A^-1 (output - centre - shift) + centre, with A = scale * rotate * shear.
    cos, sin, tan = tf.cos(angle), tf.sin(angle), tf.tan(shear)
    a00, a01 = cos / scale, (sin + cos * tan) / scale
    a10, a11 = -sin / scale, (cos - sin * tan) / scale
    centre = (size - 1) / 2.0
    ox, oy = centre + shift_x, centre + shift_y
    b0 = centre - a00 * ox - a01 * oy
    b1 = centre - a10 * ox - a11 * oy
    zeros = tf.zeros([batch])
    return tf.stack([a00, a01, b0, a10, a11, b1, zeros, zeros], axis=1)


def random_stroke_width(images: tf.Tensor, max_change: float) -> tf.Tensor:
    """Moves each image part of the way towards its 3x3 dilation (thicker) or erosion (thinner)."""
    dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    amount = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], -max_change, max_change)
    target = tf.where(amount > 0, dilated, eroded)
    return images + tf.abs(amount) * (target - images)


def augment_batch(images: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """float32 (N, H, W, 1) in [0, 1] -> the same, randomly warped and re-stroked."""
    batch, size = tf.shape(images)[0], images.shape[1]
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=random_affine_transforms(batch, size, config),
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.clip_by_value(random_stroke_width(images, config.max_stroke_change), 0.0, 1.0)
