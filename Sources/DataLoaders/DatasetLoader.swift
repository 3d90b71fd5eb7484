/// Finds a dataset on disk and reads both splits, checking everything.
public enum DatasetLoader {
    /// Loads the training and test splits of `kind`.
    ///
    /// Search order: `<datasetsDirectory>/<kind.rawValue>/`, then
    /// `<systemDirectory>/<kind.rawValue>/` (Debian's `dataset-fashion-mnist` installs into
    /// `/usr/share/datasets/fashion-mnist/`). For CIFAR, each of those may instead hold the
    /// archive's own folder (`cifar-10-batches-bin/`, `cifar-100-binary/`). The first folder
    /// holding any of the dataset's files is used, and all files must then be there — files
    /// are never mixed across folders. An IDX file may be stored as `name` or `name.gz`
    /// (the raw one wins when both exist); compression is detected from the content.
    ///
    /// Throws `DataError` naming the file when a file is missing, truncated, or has a wrong
    /// magic number, dimension, size, count or label.
    public static func load(_ kind: DatasetKind, datasetsDirectory: String = "Datasets",
                            systemDirectory: String = "/usr/share/datasets") throws -> DatasetPair {
        let advice = kind.obtainAdvice(datasetsDirectory: datasetsDirectory)
        let folder = try locate(kind, datasetsDirectory: datasetsDirectory,
                                systemDirectory: systemDirectory, advice: advice)
        switch kind {
        case .mnist, .fashionMNIST:
            return try loadIDX(kind, folder: folder, advice: advice)
        case .cifar10:
            return try loadCIFAR(kind, folder: folder, variant: .cifar10, advice: advice,
                                 train: (1...5).map { ("data_batch_\($0).bin", 10_000) },
                                 test: ("test_batch.bin", 10_000))
        case .cifar100:
            return try loadCIFAR(kind, folder: folder, variant: .cifar100, advice: advice,
                                 train: [("train.bin", 50_000)], test: ("test.bin", 10_000))
        }
    }

    /// The folders `load` looks in for `kind`, in order.
    public static func searchFolders(for kind: DatasetKind, datasetsDirectory: String = "Datasets",
                                     systemDirectory: String = "/usr/share/datasets") -> [String] {
        [datasetsDirectory, systemDirectory].flatMap { root in
            kind.subfolders.map { join(root, kind.rawValue, $0) }
        }
    }

    /// The first search folder that holds at least one of the dataset's files.
    static func locate(_ kind: DatasetKind, datasetsDirectory: String, systemDirectory: String,
                       advice: String) throws -> String {
        let folders = searchFolders(for: kind, datasetsDirectory: datasetsDirectory,
                                    systemDirectory: systemDirectory)
        let compressible = kind == .mnist || kind == .fashionMNIST
        for folder in folders {
            for name in kind.fileNames {
                if isRegularFile(join(folder, name)) || (compressible && isRegularFile(join(folder, name + ".gz"))) {
                    return folder
                }
            }
        }
        throw DataError(file: join(datasetsDirectory, kind.rawValue),
                        expected: "the \(kind.rawValue) files (\(kind.fileNames.joined(separator: ", ")))",
                        found: "none in \(folders.joined(separator: ", "))", remedy: advice + ".")
    }

    // MARK: - IDX (MNIST, Fashion-MNIST)

    private static func loadIDX(_ kind: DatasetKind, folder: String, advice: String) throws -> DatasetPair {
        // All four paths are resolved before any is read, so a missing one is reported at once.
        let paths = try [IDXNames.trainImages, IDXNames.trainLabels, IDXNames.testImages, IDXNames.testLabels]
            .map { try idxPath(folder, $0, advice: advice) }
        func split(_ name: String, imagesPath: String, labelsPath: String) throws -> ImageSet {
            let remedy = "Replace it with an intact copy. " + advice + "."
            let images = try IDXFile.readImages(path: imagesPath, rows: kind.height, columns: kind.width, remedy: remedy)
            let labels = try IDXFile.readLabels(path: labelsPath, classes: kind.classes, remedy: remedy)
            guard labels.count == images.count else {
                throw DataError(file: labelsPath, offset: 4,
                                expected: "\(images.count) labels, one per image in \(imagesPath)",
                                found: "\(labels.count) labels; the two files do not belong together",
                                remedy: remedy)
            }
            return try ImageSet(name: "\(kind.rawValue)/\(name)", count: images.count, channels: 1,
                                height: images.rows, width: images.columns, classes: kind.classes,
                                pixels: images.pixels, labels: labels)
        }
        return DatasetPair(kind: kind,
                           train: try split("train", imagesPath: paths[0], labelsPath: paths[1]),
                           test: try split("test", imagesPath: paths[2], labelsPath: paths[3]))
    }

    /// `folder/name` when it exists, else `folder/name.gz`; else a "missing file" error.
    private static func idxPath(_ folder: String, _ name: String, advice: String) throws -> String {
        let raw = join(folder, name)
        if isRegularFile(raw) { return raw }
        if isRegularFile(raw + ".gz") { return raw + ".gz" }
        throw DataError(file: raw, expected: "\(name) or \(name).gz in \(folder)/",
                        found: "neither file", remedy: advice + ".")
    }

    // MARK: - CIFAR binary

    private static func loadCIFAR(_ kind: DatasetKind, folder: String, variant: CIFARFile.Variant,
                                  advice: String, train: [(String, Int)], test: (String, Int)) throws -> DatasetPair {
        // Every file is looked for before any is read, so a missing one is reported at once.
        for (file, _) in train + [test] where !isRegularFile(join(folder, file)) {
            throw DataError(file: join(folder, file), expected: "\(file) in \(folder)/", found: "no such file",
                            remedy: advice + ".")
        }
        func split(_ name: String, _ files: [(String, Int)]) throws -> ImageSet {
            let total = files.reduce(0) { $0 + $1.1 }
            var pixels: [UInt8] = []
            var labels: [UInt8] = []
            pixels.reserveCapacity(total * CIFARFile.imageBytes)
            labels.reserveCapacity(total)
            for (file, records) in files {
                let part = try CIFARFile.read(path: join(folder, file), variant: variant, records: records,
                                              remedy: "Replace it with an intact copy. " + advice + ".")
                pixels.append(contentsOf: part.pixels)
                labels.append(contentsOf: part.labels)
            }
            return try ImageSet(name: "\(kind.rawValue)/\(name)", count: total, channels: 3, height: 32,
                                width: 32, classes: variant.classes, pixels: pixels, labels: labels)
        }
        return DatasetPair(kind: kind, train: try split("train", train), test: try split("test", [test]))
    }

    // MARK: - Paths

    private static func join(_ parts: String...) -> String {
        var path = ""
        for part in parts where !part.isEmpty {
            if path.isEmpty || path.hasSuffix("/") { path += part } else { path += "/" + part }
        }
        return path
    }
}
