"""Packaging details that pyproject.toml cannot express (the metadata is in pyproject.toml).

The Streamlit entry script (``streamlit_app.py``) and ``pages/`` stay at the top of the repository
(``streamlit run streamlit_app.py`` is the documented way to start the app), and are also shipped
inside the package as ``viz_app._app`` so that ``embedding-lens serve`` finds them after
``pip install .``.
"""

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class _BuildPy(build_py):
    """From the repository's top folder, ship only the entry script (not this file)."""

    def find_package_modules(self, package, package_dir):
        found = super().find_package_modules(package, package_dir)
        return [m for m in found if package != "viz_app._app" or m[1] == "streamlit_app"]


setup(
    packages=[*find_packages(include=["viz_app", "viz_app.*"]), "viz_app._app", "viz_app._app.pages"],
    package_dir={"viz_app._app": ".", "viz_app._app.pages": "pages"},
    package_data={"viz_app.ui.map": ["assets/*"], "viz_app.ui": ["assets/*"], "viz_app._app": [".streamlit/config.toml"]},
    include_package_data=False,
    cmdclass={"build_py": _BuildPy},
)
