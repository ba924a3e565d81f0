"""TensorFlow and Keras, imported once with their start-up chatter silenced.

Every module of the course that needs them imports them from here (``from helpers.backend import keras, tf``), so
CUDA probes and oneDNN notices on a CPU-only machine, and the one-time notice of the first XLA compilation, never
reach a terminal or a notebook. Real import errors still raise.
"""

import os
import sys

import helpers  # noqa: F401  (sets TF_CPP_MIN_LOG_LEVEL and KERAS_BACKEND first)


def _import_quietly():
    if "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    # The first lines are written to file descriptor 2 before TensorFlow's own log settings apply, so the
    # descriptor itself is pointed at /dev/null while TensorFlow starts.
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow

        # The first XLA compilation logs "Compiled cluster using XLA!" once per process (TensorFlow 2.20, Colab's
        # version); a tiny one here sends that line to /dev/null instead of into a notebook.
        tensorflow.function(lambda x: x + 1.0, jit_compile=True)(tensorflow.constant(0.0))
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow


tf = _import_quietly()
import keras  # noqa: E402  (after TensorFlow, which it runs on)

__all__ = ["keras", "tf"]
