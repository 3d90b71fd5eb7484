// swift-tools-version:6.0
// SphereLab — a terminal workbench for hyperspherical convolutional networks.
import PackageDescription

let package = Package(
    name: "SphereLab",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "spherelab", targets: ["spherelab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, zlib1g-dev, libncurses-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CNcurses", providers: [.apt(["libncurses-dev"])]),
        // Vectorised element-wise maths with run-time AVX2/FMA dispatch.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // Every target names each module it imports directly. Engine knows no file formats and
        // no datasets: it takes batches through its BatchSource protocol, which DataLoaders implements.
        .target(name: "Engine", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "DataLoaders", dependencies: ["CZlib", "Engine"]),
        .target(name: "SessionStore", dependencies: []),
        .target(name: "TUI", dependencies: ["CNcurses"]),
        .target(name: "SphereLabApp", dependencies: ["Engine", "DataLoaders", "SessionStore", "TUI"]),
        // A child process the session-store kill test SIGKILLs in the middle of saves.
        .executableTarget(name: "snapshot-crashtest", dependencies: ["SessionStore"]),
        .executableTarget(name: "spherelab", dependencies: [
            "SphereLabApp", "Engine", "DataLoaders", "SessionStore", "TUI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "EngineTests", dependencies: ["Engine", "CKernels"]),
        .testTarget(name: "DataLoadersTests", dependencies: ["DataLoaders", "Engine", "CZlib"]),
        .testTarget(name: "SessionStoreTests", dependencies: ["SessionStore", "snapshot-crashtest"]),
        .testTarget(name: "TUITests", dependencies: ["TUI"]),
        .testTarget(name: "SphereLabAppTests", dependencies: ["SphereLabApp", "Engine", "DataLoaders", "SessionStore", "TUI"]),
    ],
    swiftLanguageModes: [.v6]
)
