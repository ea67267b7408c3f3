open("EXECUTED_MARKER_2", "w").write("imported")
import numpy as np  # noqa
