import ArgumentParser
import Foundation

/// `--datasets-dir` is searched before the system's dataset package, so a folder given by name
/// that is not there would silently fall through to other data: it is refused instead. The
/// default (`Datasets` in the working directory) may be missing, as on a fresh clone.
enum DatasetsFolder {
    static let defaultPath = "Datasets"

    static func check(_ path: String) throws {
        guard path != defaultPath else { return }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ValidationError("--datasets-dir \(path): no such folder; give the folder that holds fashion-mnist/, mnist/, cifar-10/ or cifar-100/, or leave the option out (Datasets/ here, then the system's Fashion-MNIST package)")
        }
        guard isFolder.boolValue else {
            throw ValidationError("--datasets-dir \(path): a file, not a folder; give the folder that holds the datasets' folders")
        }
    }
}
