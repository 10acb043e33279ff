/// A DICOM attribute tag (group, element), named for messages: "(0028,0030) Pixel Spacing".
public struct Tag: Hashable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16
    public let name: String

    public init(_ group: UInt16, _ element: UInt16, _ name: String = "") {
        self.group = group
        self.element = element
        self.name = name
    }

    public static func == (a: Tag, b: Tag) -> Bool { a.group == b.group && a.element == b.element }
    public func hash(into h: inout Hasher) {
        h.combine(group)
        h.combine(element)
    }

    public var hex: String {
        func h(_ v: UInt16) -> String {
            let s = String(v, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - s.count) + s
        }
        return "(\(h(group)),\(h(element)))"
    }
    public var description: String { name.isEmpty ? hex : "\(hex) \(name)" }
}

/// The attributes htb reads; names as in PS3.6.
extension Tag {
    public static let mediaStorageSOPClassUID = Tag(0x0002, 0x0002, "Media Storage SOP Class UID")
    public static let mediaStorageSOPInstanceUID = Tag(0x0002, 0x0003, "Media Storage SOP Instance UID")
    public static let transferSyntaxUID = Tag(0x0002, 0x0010, "Transfer Syntax UID")
    public static let imageType = Tag(0x0008, 0x0008, "Image Type")
    public static let sopClassUID = Tag(0x0008, 0x0016, "SOP Class UID")
    public static let sopInstanceUID = Tag(0x0008, 0x0018, "SOP Instance UID")
    public static let modality = Tag(0x0008, 0x0060, "Modality")
    public static let studyDescription = Tag(0x0008, 0x1030, "Study Description")
    public static let seriesDescription = Tag(0x0008, 0x103E, "Series Description")
    public static let referencedSeriesSequence = Tag(0x0008, 0x1115, "Referenced Series Sequence")
    public static let patientID = Tag(0x0010, 0x0020, "Patient ID")
    public static let contrastBolusAgent = Tag(0x0018, 0x0010, "Contrast/Bolus Agent")
    public static let sliceThickness = Tag(0x0018, 0x0050, "Slice Thickness")
    public static let gantryDetectorTilt = Tag(0x0018, 0x1120, "Gantry/Detector Tilt")
    public static let studyInstanceUID = Tag(0x0020, 0x000D, "Study Instance UID")
    public static let seriesInstanceUID = Tag(0x0020, 0x000E, "Series Instance UID")
    public static let seriesNumber = Tag(0x0020, 0x0011, "Series Number")
    public static let instanceNumber = Tag(0x0020, 0x0013, "Instance Number")
    public static let imagePositionPatient = Tag(0x0020, 0x0032, "Image Position (Patient)")
    public static let imageOrientationPatient = Tag(0x0020, 0x0037, "Image Orientation (Patient)")
    public static let frameOfReferenceUID = Tag(0x0020, 0x0052, "Frame of Reference UID")
    public static let samplesPerPixel = Tag(0x0028, 0x0002, "Samples per Pixel")
    public static let photometricInterpretation = Tag(0x0028, 0x0004, "Photometric Interpretation")
    public static let numberOfFrames = Tag(0x0028, 0x0008, "Number of Frames")
    public static let rows = Tag(0x0028, 0x0010, "Rows")
    public static let columns = Tag(0x0028, 0x0011, "Columns")
    public static let pixelSpacing = Tag(0x0028, 0x0030, "Pixel Spacing")
    public static let bitsAllocated = Tag(0x0028, 0x0100, "Bits Allocated")
    public static let bitsStored = Tag(0x0028, 0x0101, "Bits Stored")
    public static let highBit = Tag(0x0028, 0x0102, "High Bit")
    public static let pixelRepresentation = Tag(0x0028, 0x0103, "Pixel Representation")
    public static let rescaleIntercept = Tag(0x0028, 0x1052, "Rescale Intercept")
    public static let rescaleSlope = Tag(0x0028, 0x1053, "Rescale Slope")
    // Segmentation IOD (PS3.3 C.8.20)
    public static let segmentSequence = Tag(0x0062, 0x0002, "Segment Sequence")
    public static let segmentNumber = Tag(0x0062, 0x0004, "Segment Number")
    public static let segmentLabel = Tag(0x0062, 0x0005, "Segment Label")
    public static let segmentationType = Tag(0x0062, 0x0001, "Segmentation Type")
    public static let segmentIdentificationSequence = Tag(0x0062, 0x000A, "Segment Identification Sequence")
    public static let referencedSegmentNumber = Tag(0x0062, 0x000B, "Referenced Segment Number")
    public static let maximumFractionalValue = Tag(0x0062, 0x000E, "Maximum Fractional Value")
    public static let sharedFunctionalGroupsSequence = Tag(0x5200, 0x9229, "Shared Functional Groups Sequence")
    public static let perFrameFunctionalGroupsSequence = Tag(0x5200, 0x9230, "Per-frame Functional Groups Sequence")
    public static let planePositionSequence = Tag(0x0020, 0x9113, "Plane Position Sequence")
    public static let planeOrientationSequence = Tag(0x0020, 0x9116, "Plane Orientation Sequence")
    public static let pixelMeasuresSequence = Tag(0x0028, 0x9110, "Pixel Measures Sequence")
    // Multi-frame functional groups (PS3.3 C.7.6.16, C.8.15.3)
    public static let pixelValueTransformationSequence = Tag(
        0x0028, 0x9145, "Pixel Value Transformation Sequence")
    public static let ctImageFrameTypeSequence = Tag(0x0018, 0x9329, "CT Image Frame Type Sequence")
    public static let frameType = Tag(0x0008, 0x9007, "Frame Type")
    public static let frameContentSequence = Tag(0x0020, 0x9111, "Frame Content Sequence")
    public static let stackID = Tag(0x0020, 0x9056, "Stack ID")
    public static let temporalPositionIndex = Tag(0x0020, 0x9128, "Temporal Position Index")
    public static let referencedFrameNumber = Tag(0x0008, 0x1160, "Referenced Frame Number")
    public static let pixelData = Tag(0x7FE0, 0x0010, "Pixel Data")
}

/// One step of an attribute path into nested sequences: the tag and, for a sequence, the item.
public struct TagPathStep: Sendable {
    public let tag: Tag
    public let item: Int
    public init(_ tag: Tag, item: Int = 0) {
        self.tag = tag
        self.item = item
    }
}
