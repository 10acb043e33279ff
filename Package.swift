// swift-tools-version: 6.0
// htb: hepatic tumour burden from CT.
//
// Targets follow the architecture (see README, "Architecture"):
//   CDCMTK (C++ shim over DCMTK, the only code that sees DCMTK headers)
//   CZlib (system zlib, for .nii.gz)
//   VolumeModel (geometry and volumes) <- DicomIO, NIfTI <- Volumetry <- Analysis <- htb (CLI)
//   Phantom (synthetic studies with exact truth) <- htb
//   Overlay (PNG pictures over libpng, CPNG) <- Analysis
//   Guidelines (rules as data, ENETS typing, SIRT dosimetry) <- Analysis
//   Batch (many studies, shards, resume) <- htb
import PackageDescription

let package = Package(
    name: "htb",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "htb", targets: ["htb"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // The one target that includes DCMTK's C++ headers. Exposes a small C API (htb_dcm_*).
        .target(
            name: "CDCMTK",
            path: "Sources/CDCMTK",
            // OpenJPEG (Debian libopenjp2-7-dev) decodes JPEG 2000, which free DCMTK cannot.
            cxxSettings: [.unsafeFlags(["-std=c++17", "-I/usr/include/openjpeg-2.5"])],
            linkerSettings: [
                // Linked by name: `pkg-config dcmtk` fails on Debian 12 (its .pc requires sndfile).
                .linkedLibrary("dcmnet"), .linkedLibrary("cmr"), .linkedLibrary("dcmsr"), .linkedLibrary("dcmjpeg"),
                .linkedLibrary("dcmjpls"),
                .linkedLibrary("dcmimgle"),
                .linkedLibrary("dcmdata"), .linkedLibrary("oflog"), .linkedLibrary("ofstd"),
                .linkedLibrary("openjp2"), .linkedLibrary("stdc++"),
            ]
        ),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // libpng (Debian libpng-dev) through its simplified png_image_* API.
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .target(name: "VolumeModel"),
        .target(name: "DicomIO", dependencies: ["CDCMTK", "VolumeModel"]),
        .target(name: "NIfTI", dependencies: ["CZlib", "VolumeModel"]),
        .target(name: "Volumetry", dependencies: ["VolumeModel"]),
        // Guideline rule engine (rules as data in Resources/rules.json) and SIRT dosimetry.
        .target(name: "Guidelines", resources: [.copy("Resources/rules.json")]),
        // PNG overlays a radiologist checks at a glance.
        .target(name: "Overlay", dependencies: ["CPNG", "CZlib", "VolumeModel"]),
        .target(
            name: "Analysis",
            dependencies: [
                "AutoSegmentation", "DicomIO", "Evaluation", "Guidelines", "NIfTI", "Overlay", "Seeding", "Volumetry",
                "VolumeModel",
            ]),
        // How far a segmentation is from the truth: overlap, surface distances, lesion detection.
        .target(name: "Evaluation", dependencies: ["Volumetry", "VolumeModel"]),
        // Pure image functions for segmentation (smoothing, exact morphology, hole filling, modes).
        .target(name: "Filters", dependencies: ["Evaluation", "Volumetry", "VolumeModel"]),
        // Automatic liver and lesion segmentation: classical, adaptive to each study.
        .target(name: "AutoSegmentation", dependencies: ["Filters", "Volumetry", "VolumeModel"]),
        // One-click lesions: seeds (command line, CSV, 3D Slicer markups) grown into lesions; vetoes.
        .target(name: "Seeding", dependencies: ["Evaluation", "Filters", "Volumetry", "VolumeModel"]),
        // Batch runs for pipelines: discovery, sharding, resume, one row a study.
        .target(name: "Batch", dependencies: ["Analysis", "DicomIO", "Overlay", "VolumeModel"]),
        // Treatment response: two time points aligned, lesions matched, volumetric response.
        .target(
            name: "Response",
            dependencies: ["Analysis", "DicomIO", "NIfTI", "Overlay", "Phantom", "Volumetry", "VolumeModel"]),
        // A DICOM node: Storage SCP spooling studies durably, analysis per study, results sent on by C-STORE.
        .target(name: "Node", dependencies: ["CDCMTK", "DicomIO"]),
        // Synthetic CT phantoms with exact truth (SampleStudies, tests, users' own QA).
        .target(name: "Phantom", dependencies: ["DicomIO", "NIfTI", "Volumetry", "VolumeModel"]),
        .executableTarget(
            name: "htb",
            dependencies: [
                "Analysis", "AutoSegmentation", "Batch", "DicomIO", "Guidelines", "NIfTI", "Node", "Overlay", "Phantom",
                "Response", "Seeding", "Volumetry", "VolumeModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fuzz harnesses of the readers (libFuzzer with `make fuzz`; a replayer otherwise).
        .executableTarget(name: "htbfuzz", dependencies: ["DicomIO", "NIfTI", "VolumeModel"]),
        .testTarget(
            name: "htbTests",
            dependencies: [
                "Analysis", "AutoSegmentation", "Batch", "DicomIO", "Evaluation", "Filters", "Guidelines", "NIfTI",
                "Node", "Overlay", "Phantom", "Response", "Seeding", "Volumetry", "VolumeModel", "htb",
            ],
            // Golden overlay hashes are read by path (OverlayTests), not bundled.
            exclude: ["Golden"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
