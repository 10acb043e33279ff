import Foundation
import VolumeModel

/// How stored pixel values are laid out (PS3.3 C.7.6.3.1).
public struct PixelFormat: Sendable, Equatable {
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var highBit: Int
    /// 0 unsigned, 1 two's complement.
    public var pixelRepresentation: Int
    public var samplesPerPixel: Int

    /// Bits Allocated 1, 8, 16 or 32; 1 <= Bits Stored <= Bits Allocated; Bits Stored - 1 <= High Bit < Bits Allocated.
    public func validate(file: String) throws {
        guard [1, 8, 16, 32].contains(bitsAllocated) else {
            throw DicomError.invalidTag(
                .bitsAllocated, file: file, value: "\(bitsAllocated)", expected: "1, 8, 16 or 32")
        }
        guard bitsStored >= 1, bitsStored <= bitsAllocated, highBit < bitsAllocated, highBit >= bitsStored - 1 else {
            throw DicomError.invalidTag(
                .bitsStored, file: file, value: "\(bitsStored) (High Bit \(highBit))",
                expected: "1...\(bitsAllocated) bits with High Bit from Bits Stored - 1 to Bits Allocated - 1")
        }
        guard pixelRepresentation == 0 || pixelRepresentation == 1 else {
            throw DicomError.invalidTag(
                .pixelRepresentation, file: file, value: "\(pixelRepresentation)", expected: "0 or 1")
        }
    }

    public init(bitsAllocated: Int, bitsStored: Int, highBit: Int, pixelRepresentation: Int, samplesPerPixel: Int) {
        self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored
        self.highBit = highBit
        self.pixelRepresentation = pixelRepresentation
        self.samplesPerPixel = samplesPerPixel
    }
}

/// What htb keeps of one DICOM file's header: copied out of DCMTK, then the file is closed.
public struct SliceHeader: Sendable {
    public var path: String
    public var transferSyntaxUID: String
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var studyUID: String
    public var seriesUID: String
    public var frameOfReferenceUID: String?
    public var modality: String
    public var seriesNumber: Int?
    public var instanceNumber: Int?
    public var seriesDescription: String
    public var studyDescription: String
    public var imageType: String
    public var contrastAgent: String?
    public var rows: Int
    public var columns: Int
    public var numberOfFrames: Int
    /// The frame this header describes (0-based) when the file is a multi-frame image whose frames
    /// were expanded from its functional groups (Enhanced CT, Legacy Converted Enhanced CT); nil
    /// for a single-frame file (and for a multi-frame file read as one object: SEG).
    public var frameIndex: Int?
    /// Frames of one object that belong to different stacks or temporal positions (Frame Content,
    /// (0020,9056) Stack ID and (0020,9128) Temporal Position Index) form different volumes.
    public var stackKey: String = ""
    public var pixelSpacingMM: (rowMM: Double, columnMM: Double)?
    public var imagePositionMM: Vector3?
    public var orientation: (row: Vector3, column: Vector3)?
    /// (0028,1053) Rescale Slope; 1 when absent.
    public var rescaleSlope: Double
    /// (0028,1052) Rescale Intercept; 0 when absent.
    public var rescaleIntercept: Double
    public var hasRescale: Bool
    public var gantryTiltDegrees: Double?
    public var sliceThicknessMM: Double?
    public var pixelFormat: PixelFormat?
    public var photometric: String
    /// Attributes taken from elsewhere where the meaning is certain (warning codes): an empty or
    /// missing SOP Instance or Class UID in the data set comes from the file meta header.
    public var repairs: [String] = []

    /// SOP Class UIDs (PS3.4 B.5).
    public static let segmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4"
    public static let mediaStorageDirectory = "1.2.840.10008.1.3.10"

    /// Warning codes of `repairs`.
    public static let sopClassFromMeta = "sop_class_uid_from_meta", sopInstanceFromMeta = "sop_instance_uid_from_meta"

    public var isSegmentation: Bool { sopClassUID == Self.segmentationStorage || modality == "SEG" }

    /// SOP Classes whose frames htb expands (PS3.4 B.5): Enhanced CT and Legacy Converted Enhanced CT.
    public static let enhancedCTStorage = "1.2.840.10008.5.1.4.1.1.2.1"
    public static let legacyConvertedEnhancedCTStorage = "1.2.840.10008.5.1.4.1.1.2.2"

    /// Reads the header of the file at `path` (stops before Pixel Data): the file as one object.
    public static func read(path: String) throws -> SliceHeader {
        let f = try DicomFile(path: path, headersOnly: true)
        return try SliceHeader(file: f)
    }

    /// The images in the file at `path`: one header for a single-frame file, one per frame for a
    /// multi-frame image with functional groups (each frame with its own position, orientation,
    /// spacing and rescale), the file as one object otherwise (SEG, or multi-frame without
    /// functional groups, which loading refuses).
    public static func images(path: String) throws -> [SliceHeader] {
        let f = try DicomFile(path: path, headersOnly: true)
        let header = try SliceHeader(file: f)
        guard header.numberOfFrames > 1, !header.isSegmentation,
            f.itemCount([TagPathStep(.perFrameFunctionalGroupsSequence)]) != nil
        else { return [header] }
        return try header.frames(in: f)
    }

    /// One header per frame from the functional groups (PS3.3 C.7.6.16): the frame's own item of
    /// the Per-frame Functional Groups Sequence, else the shared one, else the top-level attribute.
    func frames(in f: DicomFile) throws -> [SliceHeader] {
        let n = numberOfFrames
        let items = f.itemCount([TagPathStep(.perFrameFunctionalGroupsSequence)]) ?? 0
        guard items == n else {
            throw DicomError.invalidTag(
                .perFrameFunctionalGroupsSequence, file: path, value: "\(items) items",
                expected: "one item per frame ((0028,0008) Number of Frames is \(n))")
        }
        var out: [SliceHeader] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            do {
                var h = self
                h.frameIndex = i
                h.instanceNumber = nil
                h.imagePositionMM = try f.functionalGroup(.planePositionSequence, frame: i).flatMap {
                    try f.vector3(.imagePositionPatient, path: $0)
                }
                if let p = f.functionalGroup(.planeOrientationSequence, frame: i) {
                    h.orientation = try f.orientation(path: p)
                }
                if let p = f.functionalGroup(.pixelMeasuresSequence, frame: i) {
                    if let spacing = try f.pixelSpacing(path: p) { h.pixelSpacingMM = spacing }
                    if let t = try? f.doubles(.sliceThickness, path: p)?.first { h.sliceThicknessMM = t }
                }
                if let p = f.functionalGroup(.pixelValueTransformationSequence, frame: i) {
                    let slope = try f.doubles(.rescaleSlope, path: p)?.first
                    let intercept = try f.doubles(.rescaleIntercept, path: p)?.first
                    if slope != nil || intercept != nil {
                        h.hasRescale = true
                        h.rescaleSlope = slope ?? 1
                        h.rescaleIntercept = intercept ?? 0
                    }
                    if h.rescaleSlope == 0 {
                        throw DicomError.invalidTag(.rescaleSlope, file: path, value: "0", expected: "a non-zero slope")
                    }
                }
                if let p = f.functionalGroup(.ctImageFrameTypeSequence, frame: i),
                    let type = f.string(p + [TagPathStep(.frameType)])
                {
                    h.imageType = type
                }
                if let p = f.functionalGroup(.frameContentSequence, frame: i) {
                    let stack = f.string(p + [TagPathStep(.stackID)]) ?? ""
                    let time = f.string(p + [TagPathStep(.temporalPositionIndex)]) ?? ""
                    h.stackKey = stack.isEmpty && time.isEmpty ? "" : "stack \(stack) time \(time)"
                }
                out.append(h)
            } catch let e as DicomError {
                throw e.inFrame(i)
            }
        }
        return out
    }

    /// The file, and the frame for a frame of a multi-frame image: for messages.
    public var location: String { frameIndex.map { "\(path) frame \($0 + 1)" } ?? path }

    /// Identifies the image: the SOP Instance UID, with the frame number for a frame.
    public var imageKey: String { frameIndex.map { "\(sopInstanceUID)#\($0 + 1)" } ?? sopInstanceUID }

    public init(file f: DicomFile) throws {
        path = f.path
        transferSyntaxUID = f.string(.transferSyntaxUID) ?? f.transferSyntaxUID
        // Anonymisers sometimes empty (0008,0016)/(0008,0018) and leave the file meta header's
        // copies, which PS3.10 7.1 requires to be the same UIDs: the meaning is certain, so use them.
        var repairs: [String] = []
        sopClassUID = f.string(.sopClassUID) ?? ""
        if sopClassUID.isEmpty, let meta = f.string(.mediaStorageSOPClassUID), !meta.isEmpty {
            sopClassUID = meta
            repairs.append(Self.sopClassFromMeta)
        }
        var sop = f.string(.sopInstanceUID) ?? ""
        if sop.isEmpty, let meta = f.string(.mediaStorageSOPInstanceUID), !meta.isEmpty {
            sop = meta
            repairs.append(Self.sopInstanceFromMeta)
        }
        guard !sop.isEmpty else {
            throw DicomError.missingTag(.sopInstanceUID, file: f.path)
        }
        sopInstanceUID = sop
        self.repairs = repairs
        studyUID = f.string(.studyInstanceUID) ?? ""
        guard let series = f.string(.seriesInstanceUID), !series.isEmpty else {
            throw DicomError.missingTag(.seriesInstanceUID, file: f.path)
        }
        seriesUID = series
        frameOfReferenceUID = f.string(.frameOfReferenceUID).flatMap { $0.isEmpty ? nil : $0 }
        modality = f.string(.modality) ?? ""
        seriesNumber = try? f.int(.seriesNumber)
        instanceNumber = try? f.int(.instanceNumber)
        seriesDescription = f.string(.seriesDescription) ?? ""
        studyDescription = f.string(.studyDescription) ?? ""
        imageType = f.string(.imageType) ?? ""
        contrastAgent = f.string(.contrastBolusAgent).flatMap { $0.isEmpty ? nil : $0 }
        rows = try f.int(.rows) ?? 0
        columns = try f.int(.columns) ?? 0
        numberOfFrames = try f.int(.numberOfFrames) ?? 1
        pixelSpacingMM = try f.pixelSpacing()
        imagePositionMM = try f.vector3(.imagePositionPatient)
        orientation = try f.orientation()
        let slope = try f.doubles(.rescaleSlope)?.first
        let intercept = try f.doubles(.rescaleIntercept)?.first
        hasRescale = slope != nil || intercept != nil
        rescaleSlope = slope ?? 1
        rescaleIntercept = intercept ?? 0
        if rescaleSlope == 0 {
            throw DicomError.invalidTag(.rescaleSlope, file: f.path, value: "0", expected: "a non-zero slope")
        }
        gantryTiltDegrees = try? f.doubles(.gantryDetectorTilt)?.first
        sliceThicknessMM = try? f.doubles(.sliceThickness)?.first
        photometric = f.string(.photometricInterpretation) ?? ""
        if let bitsAllocated = try f.int(.bitsAllocated) {
            let stored = try f.int(.bitsStored) ?? bitsAllocated
            pixelFormat = PixelFormat(
                bitsAllocated: bitsAllocated, bitsStored: stored,
                highBit: try f.int(.highBit) ?? stored - 1,
                pixelRepresentation: try f.int(.pixelRepresentation) ?? 0,
                samplesPerPixel: try f.int(.samplesPerPixel) ?? 1)
        } else {
            pixelFormat = nil
        }
    }

    /// Position along the slice normal (mm), the sort key of a stack.
    public var normalPositionMM: Double? {
        guard let p = imagePositionMM, let o = orientation else { return nil }
        return p.dot(o.row.cross(o.column))
    }
}

/// Names of the transfer syntaxes htb meets (PS3.6 Annex A).
public func transferSyntaxName(_ uid: String) -> String {
    switch uid {
    case "1.2.840.10008.1.2": return "Implicit VR Little Endian"
    case "1.2.840.10008.1.2.1": return "Explicit VR Little Endian"
    case "1.2.840.10008.1.2.1.99": return "Deflated Explicit VR Little Endian"
    case "1.2.840.10008.1.2.2": return "Explicit VR Big Endian"
    case "1.2.840.10008.1.2.4.50": return "JPEG Baseline"
    case "1.2.840.10008.1.2.4.51": return "JPEG Extended"
    case "1.2.840.10008.1.2.4.57": return "JPEG Lossless"
    case "1.2.840.10008.1.2.4.70": return "JPEG Lossless SV1"
    case "1.2.840.10008.1.2.4.80": return "JPEG-LS Lossless"
    case "1.2.840.10008.1.2.4.81": return "JPEG-LS Near-Lossless"
    case "1.2.840.10008.1.2.4.90": return "JPEG 2000 Lossless"
    case "1.2.840.10008.1.2.4.91": return "JPEG 2000"
    case "1.2.840.10008.1.2.5": return "RLE Lossless"
    default: return uid
    }
}
