"""A Vision Transformer for 28x28 digits, with a small convolutional stem as its patch embedding.

The stem (the original ViT paper's "hybrid", shaped like Xiao et al.'s "early convolutions") turns
each 4x4 patch into a token through three 3x3 convolutions (two of them strided) and a 1x1
projection instead of one linear projection; it converges much faster on a CPU budget. Everything
after it is a standard pre-norm ViT: class token, learned position embedding, transformer blocks of
multi-head self-attention and an MLP, and a linear head on the class token.
"""

from dataclasses import dataclass

import keras
from keras import layers, ops

from models.frame import IMAGE_SIZE
from models.cnn import conv_bn_relu


@dataclass(frozen=True)
class ViTConfig:
    patch_size: int = 4  # the stem's total stride: 28x28 pixels -> 7x7 = 49 tokens
    stem_width: int = 32
    stem_depth: int = 3  # 3x3 convolutions in the stem: all but the last at 14x14, the last down to 7x7
    width: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: int = 2
    dropout: float = 0.0  # it underfits augmented MNIST (training accuracy below validation's)
    # Test-time views: at inference the ViT also reads the image moved by these (rows, columns), all in one
    # batch, and answers with the mean. Its 4x4 patches cut a moved digit differently, so the views err on
    # different digits. The ViT distilled from both CNNs (docs/typefaces.md, round six) reads validation +
    # held-out typefaces better with the image and the image a pixel up than the ViT before it did with
    # three views (a pixel up and down too), at two thirds of the cost. Training sees the image alone.
    test_time_shifts: tuple[tuple[int, int], ...] = ((0, 0), (-1, 0))


@keras.saving.register_keras_serializable(package="digits")
class ClassTokenAndPosition(layers.Layer):
    """Prepends a learned class token and adds a learned position embedding to every token."""

    def build(self, input_shape):
        _, num_tokens, width = input_shape
        self.class_token = self.add_weight(shape=(1, 1, width), initializer="zeros", name="class_token")
        self.position = self.add_weight(
            shape=(1, num_tokens + 1, width), initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="position",
        )

    def call(self, tokens):
        class_tokens = ops.repeat(self.class_token, ops.shape(tokens)[0], axis=0)
        return ops.concatenate([class_tokens, tokens], axis=1) + self.position


def moved(images, rows: int, cols: int):
    """(N, H, W, C) images moved by whole pixels (negative: up, left), the edge filled with background."""
    height, width = images.shape[1:3]
    cropped = images[:, max(-rows, 0):height - max(rows, 0), max(-cols, 0):width - max(cols, 0), :]
    return ops.pad(cropped, [[0, 0], [max(rows, 0), max(-rows, 0)], [max(cols, 0), max(-cols, 0)], [0, 0]])


@keras.saving.register_keras_serializable(package="digits")
class TestTimeViews(layers.Layer):
    """At inference, each image moved by every one of `shifts`, stacked along the batch (view by view); in
    training the image alone. MeanOfViews brings the views' answers back together."""

    def __init__(self, shifts, **kwargs):
        super().__init__(**kwargs)
        self.shifts = tuple(tuple(shift) for shift in shifts)

    def call(self, images, training=None):
        if training or len(self.shifts) == 1 and self.shifts[0] == (0, 0):
            return images
        return ops.concatenate([moved(images, rows, cols) for rows, cols in self.shifts], axis=0)

    def get_config(self):
        return {**super().get_config(), "shifts": [list(shift) for shift in self.shifts]}


@keras.saving.register_keras_serializable(package="digits")
class MeanOfViews(layers.Layer):
    """At inference, the mean of each image's answers over its `views` (TestTimeViews); in training, as is."""

    def __init__(self, views: int, **kwargs):
        super().__init__(**kwargs)
        self.views = views

    def call(self, probabilities, training=None):
        if training or self.views == 1:
            return probabilities
        return ops.mean(ops.reshape(probabilities, (self.views, -1, probabilities.shape[-1])), axis=0)

    def get_config(self):
        return {**super().get_config(), "views": self.views}


def transformer_block(x, config: ViTConfig):
    h = layers.LayerNormalization(epsilon=1e-6)(x)
    h = layers.MultiHeadAttention(config.heads, config.width // config.heads, dropout=config.dropout)(h, h)
    x = x + layers.Dropout(config.dropout)(h)
    h = layers.LayerNormalization(epsilon=1e-6)(x)
    h = layers.Dense(config.width * config.mlp_ratio, activation="gelu")(h)
    h = layers.Dense(config.width)(h)
    return x + layers.Dropout(config.dropout)(h)


def build_vit(config: ViTConfig = ViTConfig()) -> keras.Model:
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="image")
    x = TestTimeViews(config.test_time_shifts)(inputs)
    x = conv_bn_relu(x, config.stem_width, strides=2)
    for _ in range(config.stem_depth - 2):
        x = conv_bn_relu(x, config.stem_width)
    x = conv_bn_relu(x, config.width, strides=config.patch_size // 2)
    x = layers.Conv2D(config.width, 1)(x)  # the patch embedding proper: one linear map per token
    grid = IMAGE_SIZE // config.patch_size
    x = layers.Reshape((grid * grid, config.width))(x)
    x = ClassTokenAndPosition()(x)
    for _ in range(config.depth):
        x = transformer_block(x, config)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    x = layers.Dense(10, activation="softmax")(x[:, 0])
    outputs = MeanOfViews(len(config.test_time_shifts), name="probabilities")(x)
    return keras.Model(inputs, outputs, name="vit")
