"""Shared code of the DDPG course: one small module per concept.

Importing the package imports TensorFlow with its start-up chatter silenced
(CUDA probes and oneDNN notices on a CPU-only machine, and the one-time notice
of the first XLA compilation), so that notebook outputs show only what the
course prints. Real import errors still raise.

It also sets ``MUJOCO_GL=egl`` on Linux when ``MUJOCO_GL`` is unset: MuJoCo
then renders frames headless (no display, no Xvfb), in a terminal, on a
server and on Colab. Set ``MUJOCO_GL`` yourself to choose another backend
(``glfw`` with a display, ``osmesa`` for software rendering).
"""

import os
import sys


def _import_tensorflow_quietly() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ INFO/WARNING/ERROR logs after start-up
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return
    # The first lines are written to file descriptor 2 before TensorFlow's own
    # log settings apply, so the descriptor itself is pointed at /dev/null.
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow

        # The first XLA compilation logs "Compiled cluster using XLA!" once per process (TensorFlow 2.20,
        # Colab's version); a tiny one here sends that line to /dev/null instead of into a notebook.
        tensorflow.function(lambda x: x + 1.0, jit_compile=True)(tensorflow.constant(0.0))
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


if sys.platform.startswith("linux"):
    os.environ.setdefault("MUJOCO_GL", "egl")  # read by mujoco when it is first imported
_import_tensorflow_quietly()
