# If this file were executed it would write a marker file next to itself.
import os

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "EXECUTED_MARKER"), "w") as f:
    f.write("setup.py was executed\n")

os.system("touch EXECUTED_MARKER_SHELL")

from setuptools import setup  # noqa: E402

setup(name="evil", install_requires=["torch==1.4.0", "numpy<1.20"], python_requires=">=3.6,<3.9")
