import DicomIO
import Foundation
import NIfTI
import VolumeModel

/// A mask given on the command line: `PATH` or `PATH:SELECTOR`.
/// - a folder: a DICOM mask series, one image per slice (SELECTOR: a stored value; default non-zero);
/// - `.nii` / `.nii.gz`: a NIfTI-1 label map (SELECTOR: the label value, or its name when the file
///   names its labels as TotalSegmentator's multi-label output does; default non-zero);
/// - `.nrrd` / `.seg.nrrd`: an NRRD label map (SELECTOR: the value, or a 3D Slicer segment's name);
/// - any other file: a DICOM Segmentation (SELECTOR: segment labels or numbers, comma-separated).
public struct MaskSpec: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case dicomSeries = "dicom_mask_series", segmentation = "dicom_seg", nifti, nrrd
    }
    public var path: String
    public var selector: String?
    public var kind: Kind

    /// Splits off a selector only when the whole text is not an existing path.
    public init(_ text: String) {
        var path = text, selector: String? = nil
        if !FileManager.default.fileExists(atPath: text), let colon = text.lastIndex(of: ":") {
            path = String(text[..<colon])
            selector = String(text[text.index(after: colon)...])
        }
        self.path = path
        self.selector = selector
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            kind = .dicomSeries
        } else if path.hasSuffix(".nii") || path.hasSuffix(".nii.gz") {
            kind = .nifti
        } else if path.lowercased().hasSuffix(".nrrd") {
            kind = .nrrd
        } else {
            kind = .segmentation
        }
    }

    public var description: String { selector.map { "\(path):\($0)" } ?? path }
}

/// A mask read from disk, before it meets the CT.
public enum LoadedMask: Sendable {
    case series(Mask, frameOfReferenceUID: String?, seriesUIDs: Set<String>, warnings: [LoadWarning])
    case segmentation(Segmentation, segments: Set<Int>)
    case nifti(Mask)

    public static func load(_ spec: MaskSpec) throws -> LoadedMask {
        switch spec.kind {
        case .dicomSeries:
            let inv = try Inventory.scan(spec.path)
            let series = inv.imageSeries(anyModality: true)
            guard series.count == 1 else {
                throw MaskError.unreadable(
                    mask: spec.path,
                    reason: series.isEmpty
                        ? "no DICOM image series in this folder (\(inv.skippedNonDicom.count) non-DICOM files)"
                        : "holds \(series.count) series; a mask folder must hold exactly one: \(series.map(\.label).joined(separator: "; "))"
                )
            }
            let label: Int?
            if let s = spec.selector {
                guard let v = Int(s) else {
                    throw MaskError.segmentNotFound(
                        mask: spec.path, selector: s, available: ["a stored pixel value (integer)"])
                }
                label = v
            } else {
                label = nil
            }
            let (mask, warnings) = try SeriesLoader.loadMaskSeries(series[0], label: label)
            return .series(
                mask, frameOfReferenceUID: series[0].first.frameOfReferenceUID,
                seriesUIDs: Set(inv.series.map(\.seriesUID)), warnings: warnings)
        case .segmentation:
            guard FileManager.default.fileExists(atPath: spec.path) else { throw DicomError.pathNotFound(spec.path) }
            let seg = try Segmentation.read(path: spec.path)
            return .segmentation(seg, segments: try seg.segmentNumbers(selector: spec.selector))
        case .nifti, .nrrd:
            let image: NIfTIImage
            do {
                image = try spec.kind == .nrrd ? NIfTIImage.readNRRD(path: spec.path) : NIfTIImage.read(path: spec.path)
            } catch let e as NIfTIError {
                throw MaskError.unreadable(mask: spec.path, reason: "\(e)")
            }
            let label: Int?
            if let s = spec.selector {
                // A value, or a label's name (case-insensitive); an unknown name lists those present.
                guard let v = Int(s) ?? image.label(named: s) else {
                    throw MaskError.segmentNotFound(
                        mask: spec.path, selector: s,
                        available: image.labelNames.isEmpty
                            ? ["an integer label value (the file names no labels)"]
                            : image.labelNames.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" })
                }
                label = v
            } else {
                label = nil
            }
            return .nifti(image.mask(label: label))
        }
    }

    /// Series this mask names as its source (a SEG's Referenced Series Sequence).
    public var referencedSeriesUIDs: [String] {
        if case .segmentation(let s, _) = self { return s.referencedSeriesUIDs }
        return []
    }

    /// Lays the mask on the CT grid, refusing another grid or frame of reference with the measured mismatch.
    public func place(onto geometry: Geometry, frameOfReferenceUID: String?, name: String) throws -> Mask {
        switch self {
        case .series(let m, let foR, _, _):
            if let a = foR, let b = frameOfReferenceUID, a != b {
                throw MaskError.frameOfReferenceMismatch(mask: name, maskUID: a, imageUID: b)
            }
            return try m.aligned(onto: geometry, name: name)
        case .segmentation(let s, let segments):
            return try s.mask(segments: segments, onto: geometry, frameOfReferenceUID: frameOfReferenceUID)
        case .nifti(let m):
            return try m.aligned(onto: geometry, name: name)
        }
    }

    public var warnings: [LoadWarning] {
        if case .series(_, _, _, let w) = self { return w }
        return []
    }

    /// Series UIDs found in a DICOM mask folder (so the CT choice never picks the mask itself).
    public var ownSeriesUIDs: Set<String> {
        if case .series(_, _, let uids, _) = self { return uids }
        return []
    }

    /// Segment labels used, for the report.
    public var segmentLabels: [String]? {
        if case .segmentation(let s, let chosen) = self {
            return s.segments.filter { chosen.contains($0.number) }.map(\.description)
        }
        return nil
    }
}
