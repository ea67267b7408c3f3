import numpy as np
import scipy.ndimage
