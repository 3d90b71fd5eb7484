"""Datasets from the folders SphereLab reads (Sources/DataLoaders, Datasets/README):
`<datasets-dir>/<name>/`, then `/usr/share/datasets/<name>/` (Debian's dataset-fashion-mnist).

* IDX (mnist, fashion-mnist), gzip or raw (the raw file wins when both exist);
* CIFAR-10 / CIFAR-100 binary (or the archive's own sub-folder);
* an ImageNet-style image folder `<root>/train/<class>/*`, `<root>/val/<class>/*` (needs
  Pillow, the only optional dependency).

Images are kept as uint8 (N, C, H, W) and normalised on the fly as (x − 127.5)/128, the
engine's input normalisation. Every header and size is checked; errors name the file, what
was expected and what to do.
"""
import gzip
import os
from dataclasses import dataclass

import numpy as np
import torch

SYSTEM_DIR = "/usr/share/datasets"
KINDS = {
    # name: (channels, size, classes)
    "mnist": (1, 28, 10),
    "fashion-mnist": (1, 28, 10),
    "cifar-10": (3, 32, 10),
    "cifar-100": (3, 32, 100),
}
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class DataError(Exception):
    pass


@dataclass
class ImageSet:
    name: str
    images: np.ndarray      # uint8 (N, C, H, W)
    labels: np.ndarray      # int64 (N,)
    classes: int

    def __len__(self):
        return len(self.labels)

    @property
    def shape(self):
        return self.images.shape[1:]

    def fingerprint(self):
        """FNV-1a 64 of (count, channels, height, width, classes as 8-byte little-endian words),
        pixels (CHW per image) and labels — ImageSet.swift's, so SphereLab recognises the data
        when it resumes a snapshot written here. Pure Python: a few seconds for 47 MB."""
        h, prime, mask = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1
        n, c, hh, ww = self.images.shape
        header = b"".join(int(v).to_bytes(8, "little") for v in (n, c, hh, ww, self.classes))
        for chunk in (header, self.images.tobytes(), self.labels.astype(np.uint8).tobytes()):
            for byte in chunk:
                h = ((h ^ byte) * prime) & mask
        return f"{h:016x}"


def normalise(images_uint8, device=None, dtype=torch.float32):
    """(x − 127.5)/128 on a uint8 batch (N, C, H, W) → float tensor."""
    a = np.asarray(images_uint8)
    t = torch.from_numpy(a if a.flags.writeable else a.copy()).to(device)
    return (t.to(dtype) - 127.5) * 0.0078125


def _read(path):
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == b"\x1f\x8b":     # gzip, detected from the content as the engine does
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: damaged gzip stream ({e}); replace it with an intact copy") from None
    return data


def _idx(path, dims, expect_shape, classes=None):
    data = _read(path)
    magic = 0x800 + dims
    if len(data) < 4 + 4 * dims:
        raise DataError(f"{path}: {len(data)} bytes, too short for an IDX header; replace it with an intact copy")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{path}: magic number {found:#x}, expected {magic:#x} (IDX unsigned bytes, {dims} dimensions); "
                        "this is not the right file")
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    if expect_shape and shape[1:] != list(expect_shape):
        raise DataError(f"{path}: images of {shape[1:]} pixels, expected {list(expect_shape)}")
    count = int(np.prod(shape))
    body = data[4 + 4 * dims:]
    if len(body) != count:
        raise DataError(f"{path}: {len(body)} data bytes, the header promises {count}; the file is truncated or damaged")
    arr = np.frombuffer(body, dtype=np.uint8).reshape(shape)
    if classes is not None and arr.size and arr.max() >= classes:
        raise DataError(f"{path}: label {arr.max()} at example {int(np.argmax(arr >= classes))}, expected labels below {classes}")
    return arr


def _locate(kind, datasets_dir, system_dir):
    sub = {"cifar-10": ["", "cifar-10-batches-bin"], "cifar-100": ["", "cifar-100-binary"]}.get(kind, [""])
    names = {"cifar-10": [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"],
             "cifar-100": ["train.bin", "test.bin"]}.get(kind, list(IDX_FILES))
    folders = [os.path.join(root, kind, s) for root in (datasets_dir, system_dir) for s in sub]
    for folder in folders:
        for n in names:
            if os.path.isfile(os.path.join(folder, n)) or os.path.isfile(os.path.join(folder, n + ".gz")):
                return folder
    advice = ("install dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or put the four IDX files"
              if kind == "fashion-mnist" else "put the dataset's files")
    raise DataError(f"{kind}: none of its files ({', '.join(names)}) in {', '.join(folders)}; {advice} in "
                    f"{os.path.join(datasets_dir, kind)}/")


def _idx_path(folder, name):
    raw = os.path.join(folder, name)
    if os.path.isfile(raw):
        return raw
    if os.path.isfile(raw + ".gz"):
        return raw + ".gz"
    raise DataError(f"{raw}: neither {name} nor {name}.gz in {folder}/")


def _cifar(path, records, label_bytes, classes):
    data = _read(path)
    size = label_bytes + 3 * 32 * 32
    if len(data) != records * size:
        raise DataError(f"{path}: {len(data)} bytes, expected {records} records of {size} bytes; the file is truncated or damaged")
    rec = np.frombuffer(data, dtype=np.uint8).reshape(records, size)
    labels = rec[:, label_bytes - 1].astype(np.int64)     # CIFAR-100: fine label is the second byte
    if labels.max() >= classes:
        raise DataError(f"{path}: label {labels.max()} outside 0..<{classes}")
    return rec[:, label_bytes:].reshape(records, 3, 32, 32), labels


def load(kind, datasets_dir="Datasets", system_dir=SYSTEM_DIR):
    """(train, test) ImageSets of a named dataset."""
    if kind not in KINDS:
        raise DataError(f"unknown dataset '{kind}': use {', '.join(KINDS)} or an image folder path (--dataset folder:PATH)")
    channels, size, classes = KINDS[kind]
    folder = _locate(kind, datasets_dir, system_dir)
    if kind in ("mnist", "fashion-mnist"):
        paths = [_idx_path(folder, n) for n in IDX_FILES]

        def split(name, ip, lp):
            images = _idx(ip, 3, (size, size))
            labels = _idx(lp, 1, None, classes)
            if len(labels) != len(images):
                raise DataError(f"{lp}: {len(labels)} labels for {len(images)} images in {ip}; the files do not belong together")
            return ImageSet(f"{kind}/{name}", images.reshape(-1, 1, size, size), labels.astype(np.int64), classes)
        return split("train", paths[0], paths[1]), split("test", paths[2], paths[3])
    if kind == "cifar-10":
        parts = [_cifar(os.path.join(folder, f"data_batch_{i}.bin"), 10000, 1, 10) for i in range(1, 6)]
        test = _cifar(os.path.join(folder, "test_batch.bin"), 10000, 1, 10)
    else:
        parts = [_cifar(os.path.join(folder, "train.bin"), 50000, 2, 100)]
        test = _cifar(os.path.join(folder, "test.bin"), 10000, 2, 100)
    train = ImageSet(f"{kind}/train", np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), classes)
    return train, ImageSet(f"{kind}/test", test[0], test[1], classes)


class ImageFolder:
    """An ImageNet-style folder: `<root>/<split>/<class>/<image>`. Images are decoded on
    demand (Pillow), resized so the shorter side is `resize`, and cropped to `size`×`size`
    (random crop + flip for training, centre crop otherwise)."""

    EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".JPEG")

    def __init__(self, root, split, size=224, resize=256):
        folder = os.path.join(root, split)
        if not os.path.isdir(folder):
            raise DataError(f"{folder}: no such folder; an image folder dataset needs {root}/train/<class>/ and {root}/val/<class>/")
        self.classes_names = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
        if len(self.classes_names) < 2:
            raise DataError(f"{folder}: {len(self.classes_names)} class folders, need at least 2")
        self.items = []
        for label, cls in enumerate(self.classes_names):
            for fname in sorted(os.listdir(os.path.join(folder, cls))):
                if fname.endswith(self.EXTENSIONS):
                    self.items.append((os.path.join(folder, cls, fname), label))
        if not self.items:
            raise DataError(f"{folder}: no images ({', '.join(self.EXTENSIONS)}) in its class folders")
        self.name, self.size, self.resize = f"{root}/{split}", size, resize
        self.classes = len(self.classes_names)
        self.labels = np.array([lab for _, lab in self.items], dtype=np.int64)
        try:
            from PIL import Image  # noqa: F401
        except ImportError:
            raise DataError("image folders need Pillow: pip install pillow (or pip install './PyTorch[images]')") from None

    def __len__(self):
        return len(self.items)

    @property
    def shape(self):
        return (3, self.size, self.size)

    def load(self, index, train, rng):
        from PIL import Image
        path, _ = self.items[index]
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            scale = self.resize / min(w, h)
            im = im.resize((max(self.size, round(w * scale)), max(self.size, round(h * scale))), Image.BILINEAR)
            w, h = im.size
            if train:
                x0, y0 = int(rng.integers(0, w - self.size + 1)), int(rng.integers(0, h - self.size + 1))
            else:
                x0, y0 = (w - self.size) // 2, (h - self.size) // 2
            arr = np.asarray(im.crop((x0, y0, x0 + self.size, y0 + self.size)), dtype=np.uint8).transpose(2, 0, 1)
            if train and rng.integers(0, 2):
                arr = arr[:, :, ::-1]
            return np.ascontiguousarray(arr)

    def fingerprint(self):
        return "imagefolder-" + f"{len(self.items):x}"


def default_augmentation(kind):
    """(flip, pad_crop, mirror_pad) as Augmentation.defaults(for:)."""
    if kind in ("cifar-10", "cifar-100"):
        return True, 4, False
    return False, 0, False


_M64 = (1 << 64) - 1
_ORDER_STREAM = 0x6F726465725F7374
_AUGMENTATION_STREAM = 0x6175676D656E7421


def mix64(z):
    """SplitMix64's finaliser (SeededGenerator.swift)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


class SeededGenerator:
    """SphereLab's generator, word for word: xoshiro256** seeded by SplitMix64, Lemire's
    unbiased `nextInt(below:)`. Its four state words are what a snapshot stores."""

    def __init__(self, seed=None, state=None):
        if state is not None:
            if len(state) != 4 or not any(state):
                raise ValueError("a generator state is four words, not all zero")
            self.s = [int(w) & _M64 for w in state]
        else:
            x, self.s = seed & _M64, []
            for _ in range(4):
                x = (x + 0x9E3779B97F4A7C15) & _M64
                self.s.append(mix64(x))

    @property
    def state(self):
        return list(self.s)

    def next(self):
        s0, s1, s2, s3 = self.s
        r = (((s1 * 5) & _M64) << 7 | ((s1 * 5) & _M64) >> 57) & _M64
        result = (r * 9) & _M64
        t = (s1 << 17) & _M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & _M64
        self.s = [s0, s1, s2, s3]
        return result

    def next_int(self, n):
        product = self.next() * n
        if (product & _M64) < n:
            threshold = ((1 << 64) - n) % n
            while (product & _M64) < threshold:
                product = self.next() * n
        return product >> 64


def engine_order(count, seed, epoch):
    """BatchIterator.shuffle: epoch `epoch`'s Fisher–Yates permutation for `seed`."""
    g = SeededGenerator(mix64((seed + mix64((epoch & _M64) ^ _ORDER_STREAM)) & _M64))
    order = list(range(count))
    for i in range(count - 1, 0, -1):
        j = g.next_int(i + 1)
        order[i], order[j] = order[j], order[i]
    return np.array(order, dtype=np.int64)


class EngineBatches:
    """The training stream of SphereLab's BatchIterator, exactly: the same permutation per
    epoch, the same full batches across epoch ends, the same augmentation draws (row shift,
    column shift, flip, per example, from a generator whose state a snapshot carries). Every
    rank draws the whole global batch (cheap) and keeps its own slice, so ranks agree without
    communicating and a snapshot's `dataPosition` means the same on both sides."""

    def __init__(self, count, global_batch, rank, world, seed, augmentation, epoch=0, index=0, rng=None):
        if global_batch % world:
            raise ValueError(f"--batch {global_batch} must be a multiple of the {world} processes")
        if not 0 <= index < count:
            raise ValueError(f"data position index {index} is outside 0..<{count}")
        self.count, self.global_batch, self.rank, self.world, self.seed = count, global_batch, rank, world, seed
        self.flip, self.pad, self.mirror = augmentation
        self.epoch, self.index = epoch, index
        self.generator = SeededGenerator(state=rng) if rng else SeededGenerator(mix64(seed ^ _AUGMENTATION_STREAM))
        self._order = engine_order(count, seed, epoch)

    @property
    def position(self):
        return {"seed": self.seed, "epoch": self.epoch, "index": self.index, "rng": self.generator.state}

    def next_batch(self):
        """(indices, row shifts, column shifts, flips) of this rank's slice of the next batch."""
        n = self.global_batch
        idx = np.empty(n, dtype=np.int64)
        dy, dx, fl = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, bool)
        g = self.generator
        for i in range(n):
            idx[i] = self._order[self.index]
            if self.pad > 0:
                dy[i] = g.next_int(2 * self.pad + 1) - self.pad
                dx[i] = g.next_int(2 * self.pad + 1) - self.pad
            if self.flip:
                fl[i] = g.next_int(2) == 1
            self.index += 1
            if self.index == self.count:
                self.epoch += 1
                self.index = 0
                self._order = engine_order(self.count, self.seed, self.epoch)
        per = n // self.world
        sl = slice(self.rank * per, (self.rank + 1) * per)
        return idx[sl], dy[sl], dx[sl], fl[sl]


def _reflect(i, size):
    """Mirror an index into 0..<size without repeating the edge (BatchLayout.swift's reflect)."""
    if size <= 1:
        return np.zeros_like(i)
    period = 2 * (size - 1)
    m = np.mod(i, period)
    return np.where(m < size, m, period - m)


def shift_flip(images, dy, dx, flip, mirror):
    """Output (y, x) takes source (y + dy, x′ + dx), x′ = W−1−x when flipped; outside the image
    black (byte 0) or mirrored — BatchGeometry.write, per image."""
    if not flip.any() and not dy.any() and not dx.any():
        return images
    n, c, h, w = images.shape
    out = np.empty_like(images)
    ys, xs = np.arange(h), np.arange(w)
    for i in range(n):
        sy = ys + dy[i]
        sx = (w - 1 - xs if flip[i] else xs) + dx[i]
        if mirror:
            out[i] = images[i][:, _reflect(sy, h)][:, :, _reflect(sx, w)]
        else:
            vy, vx = (sy >= 0) & (sy < h), (sx >= 0) & (sx < w)
            block = images[i][:, np.clip(sy, 0, h - 1)][:, :, np.clip(sx, 0, w - 1)]
            out[i] = np.where(vy[None, :, None] & vx[None, None, :], block, 0)
    return out
