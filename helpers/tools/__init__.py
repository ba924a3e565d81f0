"""Maintainer commands, apart from the course modules: Colab sync, video gallery, benchmark, notebook runner."""
