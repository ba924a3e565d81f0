"""Shared code of the DDPG course: one small module per concept.

Importing the package is light: it only sets environment variables that must be in place before TensorFlow or
MuJoCo start. TensorFlow itself is imported by ``helpers.backend``, with its start-up chatter silenced, by the
first module that needs it; the modules that do not (``config``, ``records``, ``algorithms``, ``stats``,
``plots``, ``cli``) stay fast to import, so ``python -m helpers.train --help`` answers at once.

In a Jupyter kernel, importing the package also imports TensorFlow quietly, at once: every notebook uses it,
and its start-up lines would otherwise reach a cell's output when a notebook imports ``tensorflow`` itself.

``MUJOCO_GL=egl`` is set on Linux when ``MUJOCO_GL`` is unset: MuJoCo then renders frames headless (no display,
no Xvfb), in a terminal, on a server and on Colab. Set ``MUJOCO_GL`` yourself to choose another backend (``glfw``
with a display, ``osmesa`` for software rendering).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs after start-up
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if sys.platform.startswith("linux"):
    os.environ.setdefault("MUJOCO_GL", "egl")  # read by mujoco when it is first imported

if "ipykernel" in sys.modules:
    from . import backend as _backend  # noqa: F401  (TensorFlow, quietly, before a notebook imports it itself)
