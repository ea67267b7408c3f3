import numpy
import PIL

print("numpy", numpy.__version__, "Pillow", PIL.__version__)
from PIL import Image  # noqa: E402,F401
