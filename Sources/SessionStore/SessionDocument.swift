import Foundation

/// The generic part of session.json that the store understands: `format`, `version` and the
/// `summary` object used for listings. Everything else belongs to the app.
enum SessionDocument {
    static let formatName = "spherelab-session"
    /// session.json files larger than this are refused before reading (metrics histories are
    /// megabytes at most).
    static let maximumLength = 256 << 20
    /// Values (numbers, strings, arrays, objects) allowed in one session.json: room for millions
    /// of metric points, while the parsed tree stays well under a gigabyte whatever the file holds.
    static let maximumValues = 16_000_000
    /// Format versions above this are not "newer" but damage: versions grow by one per format
    /// change, so a version in the millions is a corrupt number, not a future SphereLab.
    static let maximumPlausibleVersion: Int64 = 1_000_000

    /// Parses and checks `format` and `version`. `path` names the file in errors.
    @discardableResult
    static func validate(_ bytes: [UInt8], path: String) throws -> JSONValue {
        if let bad = bytes.withUnsafeBufferPointer(SafeTensors.firstInvalidUTF8Offset) {
            throw SessionStoreError(.sessionJSONInvalid, "session.json is not valid UTF-8", path: path, offset: bad,
                                    hint: "The file is damaged; restore the snapshot from a copy.")
        }
        let json: JSONValue
        do {
            json = try StrictJSON.parse(bytes, maximumValues: maximumValues)
        } catch {
            throw SessionStoreError(.sessionJSONInvalid, "session.json is not valid JSON: \(error.message)", path: path,
                                    offset: error.offset, hint: "The file is damaged; restore the snapshot from a copy.")
        }
        guard case .object = json else {
            throw SessionStoreError(.sessionJSONInvalid, "session.json holds \(json.kindName), not a JSON object", path: path,
                                    hint: "The file is damaged or not a SphereLab session.")
        }
        // Two values for one key would leave it to each reader which one counts; the store and the
        // app must read the same document, so a repeated key anywhere is refused.
        if let duplicate = firstDuplicateKey(in: json) {
            throw SessionStoreError(.duplicateKey, "session.json names the key \(duplicate.path) twice", path: path,
                                    offset: duplicate.offset,
                                    hint: "The file was edited by hand or damaged; remove one of the two entries, or restore the snapshot from a copy.")
        }
        guard case .string(let format)? = json["format"], format == formatName else {
            throw SessionStoreError(.foreignSession, "session.json has no \"format\": \"\(formatName)\" field", path: path,
                                    hint: "This folder was not written by SphereLab; open a SphereLab snapshot instead.")
        }
        guard let versionValue = json["version"] else {
            throw SessionStoreError(.sessionJSONInvalid, "session.json has no \"version\" field", path: path,
                                    hint: "The file is damaged; restore the snapshot from a copy.")
        }
        guard case .number(let versionNumber) = versionValue, versionNumber.isIntegerLiteral else {
            let found = if case .number(let n) = versionValue { "the number \(shortened(n.text))" } else { versionValue.kindName }
            throw SessionStoreError(.sessionJSONInvalid, "session.json has \(found) as \"version\", not an integer", path: path,
                                    hint: "The file is damaged; restore the snapshot from a copy.")
        }
        guard let version = versionNumber.int64, (Int64(1)...maximumPlausibleVersion).contains(version) else {
            if versionNumber.isNegative || versionNumber.int64 == 0 {
                throw SessionStoreError(.sessionJSONInvalid,
                                        "session.json has format version \(shortened(versionNumber.text)); versions start at 1", path: path,
                                        hint: "The file is damaged; restore the snapshot from a copy.")
            }
            throw SessionStoreError(.sessionJSONInvalid,
                                    "session.json has format version \(shortened(versionNumber.text)), which no SphereLab writes", path: path,
                                    hint: "The file is damaged; restore the snapshot from a copy.")
        }
        guard version <= Int64(SnapshotStore.formatVersion) else {
            throw SessionStoreError(.newerVersion,
                                    "snapshot was written by a newer SphereLab (format version \(version); this build reads up to \(SnapshotStore.formatVersion))",
                                    path: path, hint: "Update SphereLab to open this snapshot.")
        }
        return json
    }

    /// Listing fields from the top-level "summary" object. Missing or mistyped fields become nil:
    /// a listing shows what it can rather than hiding a loadable snapshot.
    static func summary(of json: JSONValue, name: String, path: String, modified: Date) -> SnapshotSummary {
        let summary = json["summary"]
        func string(_ key: String) -> String? {
            if case .string(let text)? = summary?[key] { return text }
            return nil
        }
        // Numbers outside what a real run produces are shown as unknown rather than trusted.
        var step: Int?
        if case .number(let number)? = summary?["step"], let value = number.int64, value >= 0 { step = Int(exactly: value) }
        var accuracy: Double?
        if case .number(let number)? = summary?["bestTestAccuracy"], let value = number.double, value.isFinite,
           (0...1).contains(value) {
            accuracy = value
        }
        return SnapshotSummary(name: name, path: path, runName: string("name"), savedAt: string("savedAt"), step: step,
                               dataset: string("dataset"), model: string("model"), variant: string("variant"),
                               bestTestAccuracy: accuracy, modified: modified)
    }

    /// The first key that appears twice in one object, depth first in file order: its path
    /// (`summary.step`, `events[3].text`, `metrics["a b"]`) and the byte offset of the second one.
    static func firstDuplicateKey(in value: JSONValue) -> (path: String, offset: Int)? {
        var trail: [PathComponent] = []
        return firstDuplicateKey(in: value, trail: &trail)
    }

    enum PathComponent {
        case key(String)
        case index(Int)
    }

    private static func firstDuplicateKey(in value: JSONValue, trail: inout [PathComponent]) -> (path: String, offset: Int)? {
        switch value {
        case .object(let members):
            var seen = Set<String>()
            for member in members where !seen.insert(member.key).inserted {
                return (render(trail + [.key(member.key)]), member.offset)
            }
            for member in members {
                trail.append(.key(member.key))
                defer { trail.removeLast() }
                if let found = firstDuplicateKey(in: member.value, trail: &trail) { return found }
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                trail.append(.index(index))
                defer { trail.removeLast() }
                if let found = firstDuplicateKey(in: element, trail: &trail) { return found }
            }
        default:
            break
        }
        return nil
    }

    /// A JSON path as people write it: dotted identifiers, `[n]` for array elements and
    /// `["…"]` for keys that are not plain identifiers.
    static func render(_ trail: [PathComponent]) -> String {
        var out = ""
        for component in trail {
            switch component {
            case .index(let index):
                out += "[\(index)]"
            case .key(let key):
                let plain = !key.isEmpty && key.utf8.count <= 64 && key.utf8.allSatisfy { byte in
                    byte == UInt8(ascii: "_") || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                        || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                } && !(key.utf8.first.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false)
                if plain {
                    out += out.isEmpty ? key : "." + key
                } else {
                    var quoted: [UInt8] = []
                    appendJSONString(shortened(key), to: &quoted)
                    out += "[" + String(decoding: quoted, as: UTF8.self) + "]"
                }
            }
        }
        if out.isEmpty { return "(top level)" }
        // A path 128 levels deep is kept readable: its end says the most.
        return out.count <= 200 ? out : "…" + String(out.suffix(200))
    }

    static func shortened(_ text: String) -> String { abbreviated(text) }

    /// Parses an ISO-8601 date with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
