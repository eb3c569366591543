"""A second convnet for the ensemble, built to err where the CNN does not: a 5x5 first layer, max-pooling
instead of strided convolutions, and a dense head over the 7x7 grid, which keeps where each stroke lies
(the CNN averages its features over the grid, so a loop at the top and one at the bottom look alike to its head)."""

from dataclasses import dataclass

import keras
from keras import layers

from models.cnn import conv_bn_relu
from models.frame import IMAGE_SIZE


@dataclass(frozen=True)
class DenseHeadCNNConfig:
    stem_kernel: int = 5  # the first layer sees 5x5 pixels (the CNN's 3x3)
    widths: tuple[int, ...] = (32, 64)  # two convolutions per stage, each stage followed by a 2x2 max-pool
    last_width: int = 128  # one convolution at 7x7 before the head
    head_width: int = 128
    dropout: float = 0.4


def build_dense_head_cnn(config: DenseHeadCNNConfig = DenseHeadCNNConfig()) -> keras.Model:
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="image")
    x = conv_bn_relu(inputs, config.widths[0], kernel_size=config.stem_kernel)
    for stage, width in enumerate(config.widths):
        x = conv_bn_relu(x, width) if stage == 0 else conv_bn_relu(conv_bn_relu(x, width), width)
        x = layers.MaxPooling2D()(x)  # 28 -> 14 -> 7
    x = conv_bn_relu(x, config.last_width)
    x = layers.Flatten()(x)
    x = layers.Dropout(config.dropout)(x)
    x = layers.Dense(config.head_width, use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Dropout(config.dropout)(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="dense_head_cnn")
