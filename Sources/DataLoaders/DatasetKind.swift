/// The image-classification datasets SphereLab reads. The raw value is the folder name
/// under `Datasets/` (and under the system dataset folder).
public enum DatasetKind: String, CaseIterable, Sendable, Codable {
    case mnist
    case fashionMNIST = "fashion-mnist"
    case cifar10 = "cifar-10"
    case cifar100 = "cifar-100"

    /// Image geometry and class count every file of this dataset must have.
    public var channels: Int {
        switch self {
        case .mnist, .fashionMNIST: 1
        case .cifar10, .cifar100: 3
        }
    }

    public var height: Int {
        switch self {
        case .mnist, .fashionMNIST: 28
        case .cifar10, .cifar100: 32
        }
    }

    public var width: Int { height }

    public var classes: Int {
        switch self {
        case .mnist, .fashionMNIST, .cifar10: 10
        case .cifar100: 100
        }
    }

    /// Class names in label order: Fashion-MNIST's garments, MNIST's digits, CIFAR-10's names,
    /// CIFAR-100's label indices (its fine names are not in the binary files' header).
    public var classNames: [String] {
        switch self {
        case .mnist: (0..<10).map(String.init)
        case .fashionMNIST: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        case .cifar10: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        case .cifar100: (0..<100).map(String.init)
        }
    }

    /// Number of examples in the standard training and test splits.
    public var trainCount: Int {
        switch self {
        case .mnist, .fashionMNIST: 60_000
        case .cifar10, .cifar100: 50_000
        }
    }

    public var testCount: Int { 10_000 }

    /// Sub-folders (relative to `<root>/<rawValue>/`) that may hold the files, in search
    /// order. CIFAR archives extract into a folder of their own; accepting it saves a move.
    var subfolders: [String] {
        switch self {
        case .mnist, .fashionMNIST: [""]
        case .cifar10: ["", "cifar-10-batches-bin"]
        case .cifar100: ["", "cifar-100-binary"]
        }
    }

    /// Base names of the files this dataset needs; IDX names may also carry `.gz`.
    var fileNames: [String] {
        switch self {
        case .mnist, .fashionMNIST:
            [IDXNames.trainImages, IDXNames.trainLabels, IDXNames.testImages, IDXNames.testLabels]
        case .cifar10:
            (1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"]
        case .cifar100:
            ["train.bin", "test.bin"]
        }
    }

    /// What to do when files are missing: where to get them and where to put them.
    func obtainAdvice(datasetsDirectory: String) -> String {
        let folder = "\(datasetsDirectory)/\(rawValue)/"
        switch self {
        case .fashionMNIST:
            return "Install `dataset-fashion-mnist` (apt-get install dataset-fashion-mnist) "
                + "or put \(IDXNames.trainImages)[.gz], \(IDXNames.trainLabels)[.gz], "
                + "\(IDXNames.testImages)[.gz] and \(IDXNames.testLabels)[.gz] in \(folder)"
        case .mnist:
            return "Download the four MNIST IDX files (\(IDXNames.trainImages)[.gz], "
                + "\(IDXNames.trainLabels)[.gz], \(IDXNames.testImages)[.gz], "
                + "\(IDXNames.testLabels)[.gz]) and put them in \(folder)"
        case .cifar10:
            return "Download the CIFAR-10 binary version (cifar-10-binary.tar.gz, "
                + "https://www.cs.toronto.edu/~kriz/cifar.html) and extract it into \(folder) "
                + "(data_batch_1.bin … data_batch_5.bin, test_batch.bin; the "
                + "cifar-10-batches-bin/ folder it creates is accepted)"
        case .cifar100:
            return "Download the CIFAR-100 binary version (cifar-100-binary.tar.gz, "
                + "https://www.cs.toronto.edu/~kriz/cifar.html) and extract it into \(folder) "
                + "(train.bin, test.bin; the cifar-100-binary/ folder it creates is accepted)"
        }
    }
}

/// The four IDX file names shared by MNIST and Fashion-MNIST.
enum IDXNames {
    static let trainImages = "train-images-idx3-ubyte"
    static let trainLabels = "train-labels-idx1-ubyte"
    static let testImages = "t10k-images-idx3-ubyte"
    static let testLabels = "t10k-labels-idx1-ubyte"
}
