"""Packaging for llave: everything is read from settings.ini (the nbdev 2 convention)."""
from configparser import ConfigParser

import setuptools

config = ConfigParser(delimiters=["="])
config.read("settings.ini", encoding="utf-8")
settings = config["DEFAULT"]


def _requirements(key):
    return settings.get(key, "").split()


setuptools.setup(
    name=settings["lib_name"],
    version=settings["version"],
    description=settings["description"],
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    author=settings["author"],
    author_email=settings["author_email"],
    license="Apache-2.0",
    url=settings["git_url"],
    keywords=settings["keywords"].split(),
    python_requires=">=" + settings["min_python"],
    packages=setuptools.find_packages(include=["llave", "llave.*"]),
    include_package_data=True,
    package_data={"llave": ["configs/*.toml", "reference/*.json", "pretrained/*/*"]},
    install_requires=_requirements("requirements"),
    extras_require={"dev": _requirements("dev_requirements"),
                    "ecosystem": _requirements("ecosystem_requirements"),    # mteb and sentence-transformers
                    "tracking": _requirements("tracking_requirements")},     # TensorBoard (wandb: pip install wandb)
    entry_points={
        "console_scripts": _requirements("console_scripts"),
        "nbdev": [f"{settings['lib_path']}={settings['lib_path']}._modidx:d"],
    },
    zip_safe=False,
)
