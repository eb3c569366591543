"""A small modern convnet for 28x28 digits: conv-BN-ReLU blocks, early downsampling, global pooling."""

from dataclasses import dataclass

import keras
from keras import layers

from models.frame import IMAGE_SIZE


@dataclass(frozen=True)
class CNNConfig:
    widths: tuple[int, ...] = (32, 64, 96)  # one stage per width; each stage after the first halves the grid
    convs_per_stage: int = 3
    dropout: float = 0.3


def conv_bn_relu(x, filters: int, strides: int = 1, kernel_size: int = 3):
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build_cnn(config: CNNConfig = CNNConfig()) -> keras.Model:
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="image")
    x = conv_bn_relu(inputs, config.widths[0])
    for width in config.widths[1:]:
        x = conv_bn_relu(x, width, strides=2)  # 28 -> 14 -> 7
        for _ in range(config.convs_per_stage - 1):
            x = conv_bn_relu(x, width)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(config.dropout)(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn")
