/// The IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed).
///
/// Layout: a 4-byte magic `00 00 <type> <rank>` — type 0x08 means unsigned bytes — then
/// `rank` big-endian UInt32 dimension sizes, then the data, row-major. Image files are
/// rank 3 (count, rows, columns; magic 0x00000803), label files rank 1 (count; magic
/// 0x00000801).
public enum IDXFile {
    /// Magic of an unsigned-byte, rank-3 IDX file (images).
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// Magic of an unsigned-byte, rank-1 IDX file (labels).
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// Images read from one IDX file; `pixels` holds `count * rows * columns` bytes.
    public struct Images: Sendable {
        public let count: Int
        public let rows: Int
        public let columns: Int
        public let pixels: [UInt8]
    }

    /// Reads an image file whose images must be `rows`×`columns`.
    /// - Parameter remedy: what to tell the person when the file is bad.
    public static func readImages(path: String, rows: Int, columns: Int, remedy: String) throws -> Images {
        let reader = try ContentReader(path: path, remedy: remedy)
        let dims = try readHeader(reader, magic: imagesMagic, rank: 3, kind: "image")
        let (count, fileRows, fileColumns) = (dims[0], dims[1], dims[2])
        guard fileRows == rows, fileColumns == columns else {
            throw reader.error(at: 8, expected: "\(rows)×\(columns) images",
                               found: "\(fileRows)×\(fileColumns) images; this file belongs to another dataset")
        }
        guard count >= 1 else {
            throw reader.error(at: 4, expected: "at least 1 image", found: "a header claiming 0 images")
        }
        let claim = "the header claims \(count) images of \(rows)×\(columns)"
        let payload = checkedProduct([count, rows, columns])
        try reader.checkContentSize(payload.flatMap { checkedSum(16, $0) }, claim: claim)
        let pixels = try reader.read(payload ?? 0, what: "pixels (\(claim))")
        try reader.expectEnd(describedAs: claim)
        return Images(count: count, rows: rows, columns: columns, pixels: pixels)
    }

    /// Reads a label file; every label must be below `classes`.
    public static func readLabels(path: String, classes: Int, remedy: String) throws -> [UInt8] {
        let reader = try ContentReader(path: path, remedy: remedy)
        let count = try readHeader(reader, magic: labelsMagic, rank: 1, kind: "label")[0]
        guard count >= 1 else {
            throw reader.error(at: 4, expected: "at least 1 label", found: "a header claiming 0 labels")
        }
        let claim = "the header claims \(count) labels"
        try reader.checkContentSize(checkedSum(8, count), claim: claim)
        let labels = try reader.read(count, what: "labels (\(claim))")
        try reader.expectEnd(describedAs: claim)
        if let bad = firstLabel(in: labels, atLeast: classes) {
            throw reader.error(at: 8 + bad, expected: "labels below \(classes)",
                               found: "label \(labels[bad]) for example \(bad); the file is damaged or belongs to another dataset")
        }
        return labels
    }

    /// Reads and checks the magic number and the dimension sizes.
    private static func readHeader(_ reader: ContentReader, magic expected: UInt32, rank: Int,
                                   kind: String) throws -> [Int] {
        let magicBytes = try reader.read(4, what: "the IDX magic number")
        let magic = bigEndianWord(magicBytes, at: 0)
        guard magic == expected else {
            throw reader.error(at: 0, expected: "IDX \(kind) magic \(hex(expected)) (unsigned bytes, \(rank) dimension\(rank == 1 ? "" : "s"))",
                               found: describe(magic: magic))
        }
        let sizes = try reader.read(4 * rank, what: "\(rank) IDX dimension size\(rank == 1 ? "" : "s")")
        return (0..<rank).map { Int(bigEndianWord(sizes, at: 4 * $0)) }
    }

    /// Names what a wrong magic number most likely is, to make the mix-up obvious.
    private static func describe(magic: UInt32) -> String {
        switch magic {
        case labelsMagic: return "\(hex(magic)), the magic of an IDX label file; the image and label files are swapped"
        case imagesMagic: return "\(hex(magic)), the magic of an IDX image file; the image and label files are swapped"
        default:
            if magic >> 16 == 0 {
                return "\(hex(magic)) (IDX type 0x\(String(magic >> 8 & 0xff, radix: 16)), rank \(magic & 0xff)); only unsigned-byte images and labels are supported"
            }
            return "\(hex(magic)); this is not an IDX file"
        }
    }

    private static func bigEndianWord(_ bytes: [UInt8], at index: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[index + $1]) }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// Sum of two non-negative sizes, or nil when it overflows `Int`.
func checkedSum(_ a: Int, _ b: Int) -> Int? {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? nil : sum
}
