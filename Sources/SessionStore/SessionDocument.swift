import Foundation

/// The generic part of session.json that the store understands: `format`, `version` and the
/// `summary` object used for listings. Everything else belongs to the app.
enum SessionDocument {
    static let formatName = "spherelab-session"
    /// session.json files larger than this are refused before reading (metrics histories are
    /// megabytes at most).
    static let maximumLength = 256 << 20

    /// Parses and checks `format` and `version`. `path` names the file in errors.
    @discardableResult
    static func validate(_ bytes: [UInt8], path: String) throws -> JSONValue {
        if let bad = bytes.withUnsafeBufferPointer(SafeTensors.firstInvalidUTF8Offset) {
            throw SessionStoreError(.sessionJSONInvalid, "session.json is not valid UTF-8", path: path, offset: bad,
                                    hint: "The file is damaged; restore the snapshot from a copy.")
        }
        let json: JSONValue
        do {
            json = try StrictJSON.parse(bytes)
        } catch {
            throw SessionStoreError(.sessionJSONInvalid, "session.json is not valid JSON: \(error.message)", path: path,
                                    offset: error.offset, hint: "The file is damaged; restore the snapshot from a copy.")
        }
        guard case .object = json else {
            throw SessionStoreError(.sessionJSONInvalid, "session.json holds \(json.kindName), not a JSON object", path: path,
                                    hint: "The file is damaged or not a SphereLab session.")
        }
        guard case .string(let format)? = json["format"], format == formatName else {
            throw SessionStoreError(.foreignSession, "session.json has no \"format\": \"\(formatName)\" field", path: path,
                                    hint: "This folder was not written by SphereLab; open a SphereLab snapshot instead.")
        }
        guard case .number(let versionNumber)? = json["version"], let version = versionNumber.int64 else {
            throw SessionStoreError(.sessionJSONInvalid, "session.json has no integer \"version\" field", path: path,
                                    hint: "The file is damaged; restore the snapshot from a copy.")
        }
        guard version <= Int64(SnapshotStore.formatVersion) else {
            throw SessionStoreError(.newerVersion,
                                    "snapshot was written by a newer SphereLab (format version \(version); this build reads up to \(SnapshotStore.formatVersion))",
                                    path: path, hint: "Update SphereLab to open this snapshot.")
        }
        guard version >= 1 else {
            throw SessionStoreError(.sessionJSONInvalid, "session.json has format version \(version); versions start at 1", path: path,
                                    hint: "The file is damaged; restore the snapshot from a copy.")
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
        var step: Int?
        if case .number(let number)? = summary?["step"] { step = number.int64.flatMap { Int(exactly: $0) } }
        var accuracy: Double?
        if case .number(let number)? = summary?["bestTestAccuracy"] { accuracy = number.double }
        return SnapshotSummary(name: name, path: path, runName: string("name"), savedAt: string("savedAt"), step: step,
                               dataset: string("dataset"), model: string("model"), variant: string("variant"),
                               bestTestAccuracy: accuracy, modified: modified)
    }

    /// Parses an ISO-8601 date with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
