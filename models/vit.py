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
    x = conv_bn_relu(inputs, config.stem_width, strides=2)
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
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x[:, 0])
    return keras.Model(inputs, outputs, name="vit")
