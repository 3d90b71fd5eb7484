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
    def test_generator_is_spherelabs(self):
        # A SphereLab snapshot of seed 1 without augmentation stores the untouched augmentation
        # generator: mix64(1 ^ stream) expanded by SplitMix64.
        g = data.SeededGenerator(data.mix64(1 ^ data._AUGMENTATION_STREAM))
        self.assertEqual(g.state, [11105479874173677569, 15574692833535882802, 4972197746909147001, 6439330795622286402])
        values = [g.next_int(10) for _ in range(2000)]
        self.assertEqual(set(values), set(range(10)))
        with self.assertRaises(ValueError):
            data.SeededGenerator(state=[0, 0, 0, 0])

    def test_order_is_a_fresh_permutation_each_epoch(self):
        a, b = data.engine_order(1000, 1, 0), data.engine_order(1000, 1, 1)
        self.assertEqual(sorted(a.tolist()), list(range(1000)))
        self.assertFalse(np.array_equal(a, b))
        self.assertTrue(np.array_equal(a, data.engine_order(1000, 1, 0)))

    def test_ranks_split_the_global_batch_and_resume_exactly(self):
        aug = (True, 2, False)
        whole = data.EngineBatches(10, 4, 0, 1, 3, aug)
        ranks = [data.EngineBatches(10, 4, r, 2, 3, aug) for r in range(2)]
        for _ in range(5):   # 20 examples: two epochs, batches crossing the epoch end
            full = whole.next_batch()
            parts = [r.next_batch() for r in ranks]
            for k in range(4):
                self.assertEqual(np.concatenate([p[k] for p in parts]).tolist(), full[k].tolist())
        self.assertEqual(whole.epoch, 2)
        pos = whole.position
        again = data.EngineBatches(10, 4, 0, 1, 3, aug, pos["epoch"], pos["index"], pos["rng"])
        nxt = whole.next_batch()
        self.assertTrue(all(np.array_equal(x, y) for x, y in zip(again.next_batch(), nxt)))
        with self.assertRaises(ValueError):
            data.EngineBatches(10, 5, 0, 2, 1, aug)

    def test_shift_and_flip_follow_batch_geometry(self):
        img = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
        z = np.zeros(1, np.int64)
        flipped = data.shift_flip(img, z, z, np.array([True]), False)
        self.assertEqual(flipped[0, 0, 0].tolist(), [3, 2, 1, 0])
        down = data.shift_flip(img, np.array([1]), z, np.array([False]), False)
        self.assertEqual(down[0, 0, :, 0].tolist(), [4, 8, 12, 0])       # black below
        mirrored = data.shift_flip(img, np.array([-2]), z, np.array([False]), True)
        self.assertEqual(mirrored[0, 0, :, 0].tolist(), [8, 4, 0, 4])    # reflect without the edge
        shifted = data.shift_flip(img, z, np.array([1]), np.array([True]), False)
        self.assertEqual(shifted[0, 0, 0].tolist(), [0, 3, 2, 1])        # flip, then shift


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
