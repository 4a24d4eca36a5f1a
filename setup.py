"""Packaging for llave: everything is read from settings.ini (the nbdev 2 convention)."""
import shutil
from configparser import ConfigParser
from pathlib import Path

import setuptools
from setuptools.command.build_py import build_py

config = ConfigParser(delimiters=["="])
config.read("settings.ini", encoding="utf-8")
settings = config["DEFAULT"]


def _requirements(key):
    return settings.get(key, "").split()


class BuildWithDemoResults(build_py):
    "Also copy the committed demo results (data/demo) into the wheel, as llave/mini/demo_results."

    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / "data" / "demo"
        if source.is_dir():
            shutil.copytree(source, Path(self.build_lib) / "llave" / "mini" / "demo_results", dirs_exist_ok=True)


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
    cmdclass={"build_py": BuildWithDemoResults},
    zip_safe=False,
)
