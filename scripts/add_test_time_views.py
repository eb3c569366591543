"""Give a trained ViT the test-time views of today's architecture (models/vit.py, ViTConfig.test_time_shifts):
its weights loaded into `build_vit(ViTConfig())` and saved over it. Then export and calibrate it again:

    python scripts/add_test_time_views.py [models/vit.keras]
    digits export vit && digits calibrate vit

(issue 26, round five: how the ViT shipped then got its three views; a ViT trained with today's code has its views,
two since round six.)
"""

import sys
from pathlib import Path

import models
from models.vit import ViTConfig, build_vit


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else models.model_path("vit")
    model = build_vit(ViTConfig())
    model.set_weights(models.load_keras_file(path).get_weights())  # the views add no weights
    model.save(path)
    print(f"{path}: reads {len(ViTConfig().test_time_shifts)} views {ViTConfig().test_time_shifts}")


if __name__ == "__main__":
    main()
