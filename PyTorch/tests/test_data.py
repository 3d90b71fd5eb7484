"""Dataset readers: IDX and CIFAR headers and sizes, the engine's fingerprint, augmentation,
sharded batches, and an ImageNet-style folder (needs Pillow)."""
import gzip
import os
import shutil
import tempfile
import unittest

import numpy as np

from spherelab_torch import data

try:
    import PIL  # noqa: F401
    HAVE_PIL = True
except ImportError:
    HAVE_PIL = False


def idx_bytes(array, dims):
    header = (0x800 + dims).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


class Readers(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        self.rng = np.random.default_rng(0)

    def write_idx(self, kind, n_train=6, n_test=4, gz=True, corrupt=None):
        folder = os.path.join(self.root, kind)
        os.makedirs(folder, exist_ok=True)
        parts = {"train-images-idx3-ubyte": idx_bytes(self.rng.integers(0, 256, (n_train, 28, 28)), 3),
                 "train-labels-idx1-ubyte": idx_bytes(self.rng.integers(0, 10, n_train), 1),
                 "t10k-images-idx3-ubyte": idx_bytes(self.rng.integers(0, 256, (n_test, 28, 28)), 3),
                 "t10k-labels-idx1-ubyte": idx_bytes(self.rng.integers(0, 10, n_test), 1)}
        if corrupt:
            name, blob = corrupt
            parts[name] = blob(parts[name])
        for name, blob in parts.items():
            path = os.path.join(folder, name + (".gz" if gz else ""))
            with open(path, "wb") as fh:
                fh.write(gzip.compress(blob) if gz else blob)

    def test_idx_gzip_and_raw(self):
        for gz in (True, False):
            self.write_idx("mnist", gz=gz)
            train, test = data.load("mnist", self.root, "/nonexistent")
            self.assertEqual(train.images.shape, (6, 1, 28, 28))
            self.assertEqual(len(test), 4)
            shutil.rmtree(os.path.join(self.root, "mnist"))

    def test_bad_files_are_named(self):
        cases = [("train-images-idx3-ubyte", lambda b: b[:-5], "truncated"),
                 ("t10k-labels-idx1-ubyte", lambda b: b"\x00\x00\x09\x99" + b[4:], "magic"),
                 ("train-labels-idx1-ubyte", lambda b: b[:8] + b"\x0b" + b[9:], "label 11")]
        for name, damage, words in cases:
            self.write_idx("fashion-mnist", corrupt=(name, damage))
            with self.assertRaises(data.DataError) as ctx:
                data.load("fashion-mnist", self.root, "/nonexistent")
            self.assertIn(name, str(ctx.exception))
            self.assertIn(words, str(ctx.exception))
            shutil.rmtree(os.path.join(self.root, "fashion-mnist"))
        with self.assertRaises(data.DataError) as ctx:
            data.load("cifar-10", self.root, "/nonexistent")
        self.assertIn("cifar-10", str(ctx.exception))

    def test_cifar_binary(self):
        folder = os.path.join(self.root, "cifar-100", "cifar-100-binary")
        os.makedirs(folder)
        for name, n in (("train.bin", 50000), ("test.bin", 10000)):
            rec = np.zeros((n, 2 + 3072), dtype=np.uint8)
            rec[:, 1] = np.arange(n) % 100
            rec[:, 2] = 7
            rec.tofile(os.path.join(folder, name))
        train, test = data.load("cifar-100", self.root, "/nonexistent")
        self.assertEqual(train.images.shape, (50000, 3, 32, 32))
        self.assertEqual(int(test.labels[99]), 99)
        self.assertEqual(int(train.images[0, 0, 0, 0]), 7)

    def test_fingerprint_is_the_engines(self):
        # FNV-1a 64 of (1,1,1,1,2 as 8-byte words), pixel 5, label 1 — computed independently.
        s = data.ImageSet("t", np.array([[[[5]]]], dtype=np.uint8), np.array([1]), 2)
        h = 0xcbf29ce484222325
        for b in b"".join(v.to_bytes(8, "little") for v in (1, 1, 1, 1, 2)) + bytes([5, 1]):
            h = ((h ^ b) * 0x100000001b3) % (1 << 64)
        self.assertEqual(s.fingerprint(), f"{h:016x}")

    @unittest.skipUnless(os.path.exists("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"),
                         "dataset-fashion-mnist is not installed")
    def test_real_fashion_mnist_fingerprint_matches_spherelab(self):
        # The fingerprint SphereLab wrote into a snapshot of this machine's Fashion-MNIST.
        train, _ = data.load("fashion-mnist", "/nonexistent")
        self.assertEqual(train.fingerprint(), "a7c3398234f8c363")

    def test_normalisation_is_the_engines(self):
        x = data.normalise(np.array([0, 127, 128, 255], dtype=np.uint8))
        self.assertEqual(x.tolist(), [-0.99609375, -0.00390625, 0.00390625, 0.99609375])


class Batches(unittest.TestCase):
    def test_shards_cover_the_global_batch_and_epochs(self):
        world = 2
        samplers = [data.ShardedBatches(10, 4, r, world, seed=3) for r in range(world)]
        seen = []
        for _ in range(5):      # 20 examples = 2 epochs
            seen.append(np.concatenate([s.next_indices() for s in samplers]))
        first_epoch = np.concatenate(seen)[:10]
        self.assertEqual(sorted(first_epoch.tolist()), list(range(10)))
        self.assertEqual(samplers[0].epoch, 2)
        resumed = data.ShardedBatches(10, 4, 0, world, seed=3, epoch=1, index=2)
        self.assertEqual(resumed.next_indices().tolist(), seen[3][:2].tolist())
        with self.assertRaises(ValueError):
            data.ShardedBatches(10, 5, 0, 2, seed=1)

    def test_augmentation_shifts_and_flips(self):
        rng = np.random.default_rng(1)
        img = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
        self.assertIs(data.augment(img, rng, False, 0, False), img)
        flips = {data.augment(img, rng, True, 0, False).tobytes() for _ in range(20)}
        self.assertEqual(flips, {img.tobytes(), img[:, :, :, ::-1].copy().tobytes()})
        shifted = data.augment(np.full((3, 1, 4, 4), 9, np.uint8), rng, False, 2, False)
        self.assertTrue(set(np.unique(shifted).tolist()) <= {0, 9})


@unittest.skipUnless(HAVE_PIL, "Pillow is not installed (pip install pillow): image folders not tested")
class ImageFolders(unittest.TestCase):
    def test_train_and_val_folders(self):
        from PIL import Image
        root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root)
        for split in ("train", "val"):
            for c, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
                os.makedirs(os.path.join(root, split, c))
                Image.new("RGB", (40, 30), colour).save(os.path.join(root, split, c, "a.png"))
        s = data.ImageFolder(root, "train", size=16, resize=20)
        self.assertEqual((len(s), s.classes, s.shape), (2, 2, (3, 16, 16)))
        img = s.load(1, False, np.random.default_rng(0))
        self.assertEqual(img.shape, (3, 16, 16))
        self.assertEqual(img[:, 0, 0].tolist(), [0, 0, 255])
        with self.assertRaises(data.DataError):
            data.ImageFolder(root, "test")


if __name__ == "__main__":
    unittest.main()
