/// Random training-time changes to each image: a shift by padding then cropping, and a
/// left–right mirror. Applied in that order (crop, then flip).
public struct Augmentation: Sendable, Codable, Equatable {
    /// Mirror the image left–right with probability 1/2.
    public var horizontalFlip: Bool
    /// Pad each side by this many pixels, then crop a random `height`×`width` window,
    /// i.e. shift by −padCrop…+padCrop in each direction. 0 turns it off; CIFAR uses 4.
    public var padCrop: Int
    /// Fill the padding by mirroring the image at its border (reflection without
    /// repeating the edge pixel) instead of with black pixels (value 0, which normalises
    /// to −0.99609375, matching "pad with zeros, then normalise").
    public var mirrorPad: Bool

    /// Largest accepted `padCrop`; more would mostly show padding.
    public static let maximumPadCrop = 16

    public init(horizontalFlip: Bool, padCrop: Int, mirrorPad: Bool) {
        self.horizontalFlip = horizontalFlip
        self.padCrop = padCrop
        self.mirrorPad = mirrorPad
    }

    /// No augmentation: images pass through unchanged.
    public static let none = Augmentation(horizontalFlip: false, padCrop: 0, mirrorPad: false)

    /// The usual choice: none for the 28×28 grey sets (digits and clothes have a
    /// handedness and are centred), flip plus 4-pixel zero-pad crop for CIFAR.
    public static func defaults(for kind: DatasetKind) -> Augmentation {
        switch kind {
        case .mnist, .fashionMNIST: .none
        case .cifar10, .cifar100: Augmentation(horizontalFlip: true, padCrop: 4, mirrorPad: false)
        }
    }

    /// True when every field is in range; `BatchIterator` requires it.
    public var isValid: Bool { (0...Self.maximumPadCrop).contains(padCrop) }

    /// Decoding checks the range, so an augmentation read from a session file is usable.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let value = Augmentation(horizontalFlip: try container.decode(Bool.self, forKey: .horizontalFlip),
                                 padCrop: try container.decode(Int.self, forKey: .padCrop),
                                 mirrorPad: try container.decode(Bool.self, forKey: .mirrorPad))
        guard value.isValid else {
            throw DecodingError.dataCorruptedError(
                forKey: .padCrop, in: container,
                debugDescription: "padCrop must be in 0...\(Self.maximumPadCrop), found \(value.padCrop)")
        }
        self = value
    }

    private enum CodingKeys: String, CodingKey { case horizontalFlip, padCrop, mirrorPad }
}
