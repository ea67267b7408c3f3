import numpy as np

labels = np.zeros(4).astype(np.float)
