/// A dataset problem, told the way a person can act on it: which file (or which
/// in-memory value), where in it, what was expected, what was found, and what to do.
///
/// Every failure of the loaders, of `ImageSet` validation, of RNG-state and of
/// iterator-position restoring is one of these; nothing in this module crashes on
/// bad input data or returns half-parsed data.
public struct DataError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file path, or for in-memory values a short name of the value
    /// (e.g. "image set 'fashion-mnist/train'", "RNG state").
    public let file: String
    /// Byte offset inside the file's (decompressed) content, when the problem has one.
    public let offset: Int?
    /// What the format requires at that place.
    public let expected: String
    /// What is actually there.
    public let found: String
    /// What the person should do about it.
    public let remedy: String

    public init(file: String, offset: Int? = nil, expected: String, found: String, remedy: String) {
        self.file = file
        self.offset = offset
        self.expected = expected
        self.found = found
        self.remedy = remedy
    }

    public var description: String {
        let place = offset.map { "\(file) (byte \($0))" } ?? file
        return "\(place): expected \(expected), found \(found). \(remedy)"
    }
}
