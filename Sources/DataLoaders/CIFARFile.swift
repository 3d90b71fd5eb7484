/// The "binary version" files of CIFAR-10 and CIFAR-100.
///
/// There is no header: a file is a run of fixed-size records. A CIFAR-10 record is one
/// label byte (< 10) then 3072 pixel bytes; a CIFAR-100 record is a coarse label (< 20),
/// a fine label (< 100), then 3072 pixel bytes. The pixels are already channel planes
/// (1024 red, 1024 green, 1024 blue; each 32 rows of 32), i.e. CHW.
public enum CIFARFile {
    public static let imageBytes = 3 * 32 * 32

    /// Which label bytes a record starts with.
    public enum Variant: Sendable {
        /// CIFAR-10: one label byte, 10 classes.
        case cifar10
        /// CIFAR-100: coarse label (20 superclasses), then fine label (100 classes); the
        /// fine label is the class.
        case cifar100

        var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        var recordBytes: Int { labelBytes + CIFARFile.imageBytes }
        var classes: Int { self == .cifar10 ? 10 : 100 }
    }

    /// Records read from one file: `count * 3072` CHW pixel bytes and `count` labels.
    public struct Records: Sendable {
        public let count: Int
        public let pixels: [UInt8]
        public let labels: [UInt8]
    }

    /// Reads a file that must hold exactly `records` records.
    /// - Parameter remedy: what to tell the person when the file is bad.
    public static func read(path: String, variant: Variant, records: Int, remedy: String) throws -> Records {
        precondition(records >= 1, "a CIFAR file holds at least one record")
        let reader = try ContentReader(path: path, remedy: remedy)
        let recordBytes = variant.recordBytes
        let claim = "\(records) records of \(recordBytes) bytes"
        try reader.checkContentSize(checkedProduct([records, recordBytes]), claim: claim)
        let content = try reader.read(records * recordBytes, what: claim)
        try reader.expectEnd(describedAs: claim)

        var labels = [UInt8](repeating: 0, count: records)
        var pixels = [UInt8](repeating: 0, count: records * imageBytes)
        var badRecord: Int?
        content.withUnsafeBufferPointer { source in
            labels.withUnsafeMutableBufferPointer { labelOut in
                pixels.withUnsafeMutableBufferPointer { pixelOut in
                    guard let from = source.baseAddress, let to = pixelOut.baseAddress else { return }
                    for record in 0..<records {
                        let base = record * recordBytes
                        let fine = source[base + variant.labelBytes - 1]
                        let coarseOK = variant == .cifar10 || source[base] < 20
                        if (fine >= variant.classes || !coarseOK) && badRecord == nil { badRecord = record }
                        labelOut[record] = fine
                        (to + record * imageBytes).update(from: from + base + variant.labelBytes, count: imageBytes)
                    }
                }
            }
        }
        if let record = badRecord {
            let base = record * recordBytes
            let found = variant == .cifar10
                ? "label \(content[base])"
                : "coarse label \(content[base]), fine label \(content[base + 1])"
            let expected = variant == .cifar10 ? "a label below 10" : "a coarse label below 20 and a fine label below 100"
            throw reader.error(at: base, expected: "\(expected) at the start of record \(record)",
                               found: "\(found); the file is damaged or belongs to the other CIFAR dataset")
        }
        return Records(count: records, pixels: pixels, labels: labels)
    }
}
