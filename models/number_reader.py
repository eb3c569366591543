"""The number reader: a whole number's line of ink -> per column of the line, how likely each digit is.

A small convnet reads the line (32x256) down to 64 columns of features (one per 4 pixels of the line),
its height collapsed; dilated 1-D convolutions along the line let each column see about two digits
either side; one self-attention layer (`context_heads`; 0: none, the reader's first three runs) lets
every column look at the whole line, with a learned position for each column. A dense
layer gives each column 11 classes: the digits 0-9 and a blank (no digit begins or ends here).
Trained with CTC (training/number_reader.py), it needs no cuts between digits, so digits that touch
or overlap read like digits apart. Convolutions, matrix products and softmax only: it exports to
LiteRT builtins as is.

The attention sits beside the features, not across them: features + Dense(attention(norm(features +
position))), the Dense and the positions starting at zero, so a reader without it (trained first)
goes on training with it from exactly where it stood.
"""

from dataclasses import dataclass

import keras
from keras import layers

from models.frame import LINE_HEIGHT, LINE_WIDTH

BLANK = 10
CLASSES = 11


@dataclass(frozen=True)
class NumberReaderConfig:
    height: int = LINE_HEIGHT  # the line's frame, as digits/preprocessing/number_line.py fits it
    width: int = LINE_WIDTH
    widths: tuple[int, ...] = (24, 48, 72, 96)  # conv stages; the first two halve both sides, the rest the height
    temporal_width: int = 128
    dilations: tuple[int, ...] = (1, 2, 4)  # one residual conv1d (kernel 3) per dilation
    context_heads: int = 4  # self-attention over the 64 columns; 0: none (the reader's first three runs)
    dropout: float = 0.1


@keras.saving.register_keras_serializable(package="digits")
class ColumnPositions(layers.Layer):
    """Adds a learned vector to each column (zeros at first): attention alone cannot tell left from right."""

    def build(self, input_shape):
        self.positions = self.add_weight(shape=tuple(input_shape[1:]), initializer="zeros", name="positions")

    def call(self, x):
        return x + self.positions


def conv_bn_relu(x, filters: int, pool: tuple[int, int]):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    return layers.MaxPooling2D(pool)(x)


def line_context(x, heads: int):
    """x + what every column gathers from the whole line (zero until trained)."""
    width = x.shape[-1]
    y = ColumnPositions(name="context_positions")(layers.LayerNormalization(name="context_norm")(x))
    y = layers.MultiHeadAttention(heads, width // heads, name="context_attention")(y, y)
    y = layers.Dense(width, kernel_initializer="zeros", name="context_out")(y)
    return layers.Add(name="context_add")([x, y])


def build_number_reader(config: NumberReaderConfig = NumberReaderConfig()) -> keras.Model:
    """(N, 32, 256, 1) light ink in [0, 1] -> logits (N, 64, 11)."""
    inputs = keras.Input((config.height, config.width, 1), name="line")
    x = inputs
    for stage, width in enumerate(config.widths):
        x = conv_bn_relu(x, width, (2, 2) if stage < 2 else (2, 1))  # 32x256 -> 16x128 -> 8x64 -> 4x64 -> 2x64
    x = layers.Permute((2, 1, 3))(x)  # columns first
    x = layers.Reshape((x.shape[1], x.shape[2] * x.shape[3]))(x)
    x = layers.Dense(config.temporal_width, activation="relu")(x)
    for dilation in config.dilations:
        y = layers.Conv1D(config.temporal_width, 3, dilation_rate=dilation, padding="same", activation="relu")(x)
        x = layers.LayerNormalization()(layers.Add()([x, y]))
    if config.context_heads:
        x = line_context(x, config.context_heads)
    x = layers.Dropout(config.dropout)(x)
    outputs = layers.Dense(CLASSES, name="logits")(x)
    return keras.Model(inputs, outputs, name="number_reader")


def is_context(layer) -> bool:
    """The attention's layers: what a reader trained without them lacks."""
    return layer.name.startswith("context_")


def load_weights_from(model: keras.Model, trained: keras.Model) -> None:
    """`trained`'s weights into `model`, layer by layer in order; a trained reader without the attention
    leaves the attention's layers as built (adding nothing yet)."""
    skip_context = not any(is_context(layer) for layer in trained.layers)
    targets = [layer for layer in model.layers if layer.weights and not (skip_context and is_context(layer))]
    sources = [layer for layer in trained.layers if layer.weights]
    if len(targets) != len(sources):
        raise ValueError(f"{trained.name} has {len(sources)} layers with weights; this reader takes {len(targets)}")
    for target, source in zip(targets, sources):
        target.set_weights(source.get_weights())


def with_probabilities(model: keras.Model) -> keras.Model:
    """The model as served: softmax over the 11 classes at each column."""
    return keras.Model(model.inputs, layers.Softmax(name="probabilities")(model.outputs[0]), name="number_reader")
