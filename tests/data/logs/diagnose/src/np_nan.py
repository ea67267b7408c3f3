import numpy as np

fill = np.NaN
