import Foundation
import VolumeModel

/// A DICOM Segmentation object (PS3.3 A.51, C.8.20), binary or fractional, read into memory:
/// its segments, and per frame the segment it belongs to, where it lies and its pixels.
public struct Segmentation: Sendable {
    public struct Segment: Sendable, Equatable {
        public var number: Int
        public var label: String
        public var description: String { "\(number) '\(label)'" }
    }

    public struct Frame: Sendable {
        public var segmentNumber: Int
        /// (0020,0032) from the frame's Plane Position Sequence: where the frame lies. Used to
        /// place it, never the Referenced SOP Instance UID (real files get that wrong).
        public var positionMM: Vector3
        public var orientation: (row: Vector3, column: Vector3)
    }

    public var path: String
    public var studyUID: String
    public var frameOfReferenceUID: String?
    /// Series referenced by (0008,1115) Referenced Series Sequence.
    public var referencedSeriesUIDs: [String]
    public var isFractional: Bool
    public var rows: Int
    public var columns: Int
    public var pixelSpacingMM: (rowMM: Double, columnMM: Double)
    public var segments: [Segment]
    public var frames: [Frame]
    /// Frame pixels, 1 inside and 0 outside, frame after frame. Fractional values count as inside
    /// from half the Maximum Fractional Value (0062,000E) upwards.
    public var pixels: [UInt8]

    public static func read(path: String) throws -> Segmentation {
        let f = try DicomFile(path: path, headersOnly: false)
        let header = try SliceHeader(file: f)
        guard header.isSegmentation else {
            throw DicomError.invalidTag(
                .sopClassUID, file: path, value: header.sopClassUID,
                expected: "Segmentation Storage \(SliceHeader.segmentationStorage)")
        }
        let type = (f.string(.segmentationType) ?? "").uppercased()
        guard type == "BINARY" || type == "FRACTIONAL" else {
            throw DicomError.invalidTag(.segmentationType, file: path, value: type, expected: "BINARY or FRACTIONAL")
        }
        let maxFractional = type == "FRACTIONAL" ? (try f.int(.maximumFractionalValue) ?? 255) : 1
        guard maxFractional > 0 else {
            throw DicomError.invalidTag(
                .maximumFractionalValue, file: path, value: "\(maxFractional)", expected: "a positive value")
        }
        var segments: [Segment] = []
        for i in 0..<(f.itemCount([TagPathStep(.segmentSequence)]) ?? 0) {
            let p = [TagPathStep(.segmentSequence, item: i)]
            guard let n = try f.int(.segmentNumber, path: p) else {
                throw DicomError.missingTag(.segmentNumber, file: path)
            }
            segments.append(Segment(number: n, label: f.string(p + [TagPathStep(.segmentLabel)]) ?? ""))
        }
        guard !segments.isEmpty else { throw DicomError.missingTag(.segmentSequence, file: path) }
        let frameCount = header.numberOfFrames
        guard let measures = f.functionalGroup(.pixelMeasuresSequence, frame: 0),
            let spacing = try f.pixelSpacing(path: measures)
        else {
            throw DicomError.missingTag(.pixelSpacing, file: path)
        }
        var frames: [Frame] = []
        frames.reserveCapacity(frameCount)
        for i in 0..<frameCount {
            guard let pp = f.functionalGroup(.planePositionSequence, frame: i),
                let position = try f.vector3(.imagePositionPatient, path: pp)
            else {
                throw DicomError.missingTag(.imagePositionPatient, file: "\(path) frame \(i + 1)")
            }
            guard let po = f.functionalGroup(.planeOrientationSequence, frame: i),
                let orientation = try f.orientation(path: po)
            else {
                throw DicomError.missingTag(.imageOrientationPatient, file: "\(path) frame \(i + 1)")
            }
            guard let si = f.functionalGroup(.segmentIdentificationSequence, frame: i),
                let number = try f.int(.referencedSegmentNumber, path: si)
            else {
                throw DicomError.missingTag(.referencedSegmentNumber, file: "\(path) frame \(i + 1)")
            }
            frames.append(Frame(segmentNumber: number, positionMM: position, orientation: orientation))
        }
        var referenced: [String] = []
        for i in 0..<(f.itemCount([TagPathStep(.referencedSeriesSequence)]) ?? 0) {
            if let uid = f.string([TagPathStep(.referencedSeriesSequence, item: i), TagPathStep(.seriesInstanceUID)]) {
                referenced.append(uid)
            }
        }
        // Pixels: 1 bit per pixel packed across frame boundaries (binary), or 8 bits (fractional).
        guard let format = header.pixelFormat else { throw DicomError.missingTag(.bitsAllocated, file: path) }
        let perFrame = header.rows * header.columns, count = perFrame * frameCount
        let bytes = try f.decodedPixelBytes()
        var pixels = [UInt8](repeating: 0, count: count)
        switch format.bitsAllocated {
        case 1:
            guard bytes.count >= (count + 7) / 8 else {
                throw DicomError.pixelDataSize(file: path, expectedBytes: (count + 7) / 8, actualBytes: bytes.count)
            }
            pixels = PixelUnpacker.bits(bytes, count: count)
        case 8:
            guard bytes.count >= count else {
                throw DicomError.pixelDataSize(file: path, expectedBytes: count, actualBytes: bytes.count)
            }
            let threshold = (maxFractional + 1) / 2  // half of the maximum, rounded up
            for i in 0..<count { pixels[i] = Int(bytes[i]) >= max(1, threshold) ? 1 : 0 }
        default:
            throw DicomError.invalidTag(
                .bitsAllocated, file: path, value: "\(format.bitsAllocated)", expected: "1 (BINARY) or 8 (FRACTIONAL)")
        }
        return Segmentation(
            path: path, studyUID: header.studyUID, frameOfReferenceUID: header.frameOfReferenceUID,
            referencedSeriesUIDs: referenced, isFractional: type == "FRACTIONAL", rows: header.rows,
            columns: header.columns, pixelSpacingMM: spacing, segments: segments, frames: frames, pixels: pixels)
    }

    /// Segment numbers chosen by `selector`: nil for the only segment; otherwise comma-separated
    /// numbers or labels (case-insensitive; a trailing '*' matches a label prefix).
    public func segmentNumbers(selector: String?) throws -> Set<Int> {
        let available = segments.map(\.description)
        guard let selector, !selector.isEmpty else {
            if segments.count == 1 { return [segments[0].number] }
            throw MaskError.segmentRequired(mask: path, available: available)
        }
        var out = Set<Int>()
        for part in selector.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let matches: [Segment]
            if let n = Int(part) {
                matches = segments.filter { $0.number == n }
            } else if part.hasSuffix("*") {
                let prefix = part.dropLast().lowercased()
                matches = segments.filter { $0.label.lowercased().hasPrefix(prefix) }
            } else {
                matches = segments.filter { $0.label.lowercased() == part.lowercased() }
            }
            guard !matches.isEmpty else {
                throw MaskError.segmentNotFound(mask: path, selector: part, available: available)
            }
            out.formUnion(matches.map(\.number))
        }
        return out
    }

    /// The chosen segments as a mask on `geometry`. Each frame is placed by its own position:
    /// it must lie on one of the grid's slices (within `toleranceMM`, in plane and along the
    /// normal) with the grid's orientation, matrix and pixel spacing. Slices no frame covers are empty.
    public func mask(
        segments chosen: Set<Int>, onto geometry: Geometry, frameOfReferenceUID imageFoR: String?,
        toleranceMM: Double = maskGridToleranceMM
    ) throws -> Mask {
        if let a = frameOfReferenceUID, let b = imageFoR, a != b {
            throw MaskError.frameOfReferenceMismatch(mask: path, maskUID: a, imageUID: b)
        }
        guard columns == geometry.dims.x, rows == geometry.dims.y else {
            throw MaskError.offGrid(
                mask: path, detail: "frames are \(columns)x\(rows), CT slices \(geometry.dims.x)x\(geometry.dims.y)",
                mismatchMM: nil)
        }
        guard abs(pixelSpacingMM.columnMM - geometry.spacingMM.x) * Double(columns) <= toleranceMM,
            abs(pixelSpacingMM.rowMM - geometry.spacingMM.y) * Double(rows) <= toleranceMM
        else {
            throw MaskError.offGrid(
                mask: path,
                detail:
                    "pixel spacing \(pixelSpacingMM.rowMM)\\\(pixelSpacingMM.columnMM) mm, CT \(geometry.spacingMM.y)\\\(geometry.spacingMM.x) mm",
                mismatchMM: nil)
        }
        var mask = Mask(repeating: 0, geometry: geometry)
        let perFrame = rows * columns
        let (ax, ay, az) = geometry.stepsMM
        for (n, frame) in frames.enumerated() where chosen.contains(frame.segmentNumber) {
            let o = frame.orientation
            // Orientation: the far corner of the frame must land where the CT's would.
            let spread = max(
                (o.row - geometry.axes.0).length * Double(columns) * geometry.spacingMM.x,
                (o.column - geometry.axes.1).length * Double(rows) * geometry.spacingMM.y)
            if spread > toleranceMM {
                throw MaskError.offGrid(
                    mask: path, detail: "frame \(n + 1) orientation \(o.row) \(o.column) differs from the CT's",
                    mismatchMM: spread)
            }
            let idx = geometry.index(of: frame.positionMM)
            let k = Int(idx.z.rounded())
            let offMM = (ax * idx.x + ay * idx.y + az * (idx.z - Double(k))).length
            guard offMM <= toleranceMM, k >= 0, k < geometry.dims.z else {
                throw MaskError.offGrid(
                    mask: path,
                    detail:
                        "frame \(n + 1) at \(frame.positionMM) mm lies on no CT slice (nearest slice \(min(max(k, 0), geometry.dims.z - 1)))",
                    mismatchMM: k >= 0 && k < geometry.dims.z
                        ? offMM
                        : (geometry.positionMM(0, 0, Double(min(max(k, 0), geometry.dims.z - 1))) - frame.positionMM)
                            .length)
            }
            mask.voxels.withUnsafeMutableBufferPointer { m in
                pixels.withUnsafeBufferPointer { p in
                    let dst = k * perFrame, src = n * perFrame
                    for i in 0..<perFrame where p[src + i] != 0 { m[dst + i] = 1 }
                }
            }
        }
        return mask
    }
}
