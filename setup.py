"""Packaging beyond what pyproject.toml can say: ship ``conf/`` inside the package as ``vqlab/conf``.

``conf/`` at the top of the repository stays the one source of truth; the wheel (and a
non-editable ``pip install .``) carries a copy under ``vqlab/conf`` so that an installed vqlab
finds its configs without the repository (``vqlab.config.location``).
"""

from pathlib import Path

from setuptools import find_packages, setup

CONF = Path(__file__).resolve().parent / "conf"
CONF_PACKAGES = ["vqlab.conf"] + [
    "vqlab.conf." + ".".join(path.relative_to(CONF).parts)
    for path in sorted(CONF.rglob("*"))
    if path.is_dir()
]

setup(
    packages=[*find_packages(include=["vqlab", "vqlab.*"]), *CONF_PACKAGES],
    package_dir={"vqlab.conf": "conf"},
    package_data={package: ["*.yaml"] for package in CONF_PACKAGES},
)
