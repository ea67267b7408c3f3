from setuptools import find_packages, setup

REQUIRED = ["torch>=1.7", "timm==0.3.2"]

setup(
    name="vit2021",
    version="0.1",
    packages=find_packages(),
    install_requires=REQUIRED,
    python_requires=">=3.6",
)
