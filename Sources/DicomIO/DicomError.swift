/// Everything that can go wrong while reading DICOM, with the file and tag involved.
public enum DicomError: Error, Sendable, Equatable, CustomStringConvertible {
    case pathNotFound(String)
    case unreadable(file: String, reason: String)
    case notDicom(file: String, reason: String)
    case corrupt(file: String, reason: String)
    case missingTag(Tag, file: String)
    case invalidTag(Tag, file: String, value: String, expected: String)
    case pixelDecode(file: String, reason: String)
    case pixelDataSize(file: String, expectedBytes: Int, actualBytes: Int)
    case unsupported(file: String, what: String)
    /// `unreadable`: files that look like DICOM but could not be read; `firstReason` names one and why.
    case noSeries(path: String, dicomFiles: Int, skippedFiles: Int, unreadable: Int = 0, firstReason: String? = nil)
    case seriesNotFound(selector: String, available: [String])
    case ambiguousSeries(selector: String, matches: [String])
    case notCT(series: String, modality: String)
    case oneSlice(series: String)
    case duplicatePositions(series: String, positionMM: Double, files: [String])
    case missingSlices(series: String, afterSlice: Int, gapMM: Double, stepMM: Double)
    case unevenSliceSpacing(series: String, slice: Int, stepMM: Double, medianStepMM: Double)
    case slicesOffLine(series: String, slice: Int, deviationMM: Double)
    case mixedPixelSpacing(series: String, file: String, spacingMM: [Double], expectedMM: [Double])
    case mixedMatrix(series: String, file: String, matrix: String, expected: String)
    case cannotWrite(file: String, reason: String)

    /// The same error placed in frame `index` (0-based) of a multi-frame file.
    func inFrame(_ index: Int) -> DicomError {
        switch self {
        case .missingTag(let t, let f): .missingTag(t, file: "\(f) frame \(index + 1)")
        case .invalidTag(let t, let f, let v, let e):
            .invalidTag(t, file: "\(f) frame \(index + 1)", value: v, expected: e)
        default: self
        }
    }

    public var description: String {
        switch self {
        case .pathNotFound(let p): return "\(p): no such file or folder"
        case .unreadable(let f, let r): return "\(f): cannot read: \(r)"
        case .notDicom(let f, let r): return "\(f): \(r)"
        case .corrupt(let f, let r): return "\(f): truncated or corrupt DICOM: \(r)"
        case .missingTag(let t, let f): return "\(f): missing \(t)"
        case .invalidTag(let t, let f, let v, let e): return "\(f): \(t) is '\(v)', expected \(e)"
        case .pixelDecode(let f, let r): return "\(f): \(r)"
        case .pixelDataSize(let f, let e, let a):
            return
                "\(f): (7FE0,0010) Pixel Data holds \(a) bytes, expected \(e) from Rows x Columns x Bits Allocated x frames (truncated?)"
        case .unsupported(let f, let w): return "\(f): not supported: \(w)"
        case .noSeries(let p, let n, let s, let u, let why):
            let read =
                u == 0
                ? "\(n) DICOM files read"
                : n == 0
                    ? "\(u) DICOM files, all unreadable\(why.map { ", e.g. \($0)" } ?? "")"
                    : "\(n) DICOM files read, \(u) unreadable\(why.map { ", e.g. \($0)" } ?? "")"
            return "\(p): no image series found (\(read); \(s) non-DICOM files skipped)"
        case .seriesNotFound(let sel, let avail):
            return "no series matches '\(sel)'; available: \(avail.joined(separator: "; "))"
        case .ambiguousSeries(let sel, let m):
            return "'\(sel)' matches several series: \(m.joined(separator: "; ")); pass a Series Instance UID"
        case .notCT(let s, let m): return "series \(s): modality is \(m), expected CT"
        case .oneSlice(let s):
            return
                "series \(s): only one slice; a volume needs at least two (slice step comes from (0020,0032) Image Position (Patient))"
        case .duplicatePositions(let s, let p, let f):
            return
                "series \(s): several slices at the same position \(String(format: "%.3f", p)) mm along the slice normal: \(f.joined(separator: ", "))"
        case .missingSlices(let s, let k, let g, let st):
            return
                "series \(s): gap of \(String(format: "%.3f", g)) mm after slice \(k) where the step is \(String(format: "%.3f", st)) mm: slices are missing"
        case .unevenSliceSpacing(let s, let k, let st, let m):
            return
                "series \(s): step of \(String(format: "%.3f", st)) mm after slice \(k), median step \(String(format: "%.3f", m)) mm (more than 5 % apart)"
        case .slicesOffLine(let s, let k, let d):
            return
                "series \(s): slice \(k) lies \(String(format: "%.3f", d)) mm off the line through the other slices' (0020,0032) Image Position (Patient)"
        case .mixedPixelSpacing(let s, let f, let sp, let e):
            return "series \(s): \(f) has (0028,0030) Pixel Spacing \(sp), the series has \(e)"
        case .mixedMatrix(let s, let f, let m, let e):
            return "series \(s): \(f) is \(m), the series is \(e)"
        case .cannotWrite(let f, let r): return "\(f): cannot write: \(r)"
        }
    }
}

/// A condition found while reading that does not make the volume wrong, but belongs in the report.
public struct LoadWarning: Sendable, Codable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
