#!/usr/bin/python3
"""Makes the image benchmark set: the real COCO JPEGs repeated to N images, each copy with one pixel changed
(so every file, and every resized output, is distinct), plus a COCO-layout captions file listing them.
Needs Debian's python3-pil (/usr/bin/python3). Usage: make_images.py OUT_DIR [N=2054]"""
import glob, json, os, sys
from PIL import Image

src = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures", "real", "coco-mini", "val2017", "*.jpg")))
out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2054
os.makedirs(os.path.join(out, "images"), exist_ok=True)
images, annotations = [], []
for i in range(n):
    name = "%06d.jpg" % i
    path = os.path.join(out, "images", name)
    if not os.path.exists(path):
        with Image.open(src[i % len(src)]) as im:
            im = im.convert("RGB")
            im.putpixel((0, 0), (i % 256, (i // 256) % 256, 7))
            im.save(path, "JPEG", quality=95)
    with Image.open(path) as im:
        w, h = im.size
    images.append({"id": i, "file_name": name, "width": w, "height": h})
    annotations.append({"id": i, "image_id": i, "caption": "Benchmark image number %d." % i})
json.dump({"images": images, "annotations": annotations}, open(os.path.join(out, "captions.json"), "w"))
print(n, "images in", out)
