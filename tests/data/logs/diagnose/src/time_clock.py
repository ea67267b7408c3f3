import time

start = time.clock()
print(time.clock() - start)
