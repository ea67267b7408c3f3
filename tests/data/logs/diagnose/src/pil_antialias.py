from PIL import Image

img = Image.new("RGB", (8, 8)).resize((4, 4), Image.ANTIALIAS)
