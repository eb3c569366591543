"""What the models see, in one place: digits/preprocessing makes every upload this frame."""

IMAGE_SIZE = 28  # MNIST's 28x28 grey frame, ink 255 on 0
LINE_HEIGHT, LINE_WIDTH = 32, 256  # the number reader's frame: a whole number's line of ink (number_line.py)
