#!/usr/bin/python3
"""The Pillow baseline: what a Python script does to prepare images, one process: open, apply the EXIF
orientation, fit within 336 px keeping the ratio, save as JPEG quality 90. Usage: pillow_resize.py IN_DIR OUT_DIR"""
import glob, os, sys, time
from PIL import Image, ImageOps

files = sorted(glob.glob(os.path.join(sys.argv[1], "*.jpg")))
os.makedirs(sys.argv[2], exist_ok=True)
t = time.time()
for f in files:
    with Image.open(f) as im:
        im = ImageOps.exif_transpose(im)
        im.thumbnail((336, 336))
        im.convert("RGB").save(os.path.join(sys.argv[2], os.path.basename(f)), "JPEG", quality=90)
print("%d images in %.2f s: %.1f images/s" % (len(files), time.time() - t, len(files) / (time.time() - t)))
