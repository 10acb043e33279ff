import Foundation
import VolumeModel

/// Identity of a series to write.
public struct SeriesIdentity: Sendable {
    public var patientName: String
    public var patientID: String
    public var studyUID: String
    public var seriesUID: String
    public var frameOfReferenceUID: String
    public var studyDate: String
    public var seriesNumber: Int
    public var seriesDescription: String
    public var studyDescription: String
    /// SOP Instance UID of slice k.
    public var instanceUID: @Sendable (Int) -> String

    public init(
        patientName: String, patientID: String, studyUID: String, seriesUID: String, frameOfReferenceUID: String,
        studyDate: String, seriesNumber: Int, seriesDescription: String, studyDescription: String,
        instanceUID: @escaping @Sendable (Int) -> String
    ) {
        self.patientName = patientName
        self.patientID = patientID
        self.studyUID = studyUID
        self.seriesUID = seriesUID
        self.frameOfReferenceUID = frameOfReferenceUID
        self.studyDate = studyDate
        self.seriesNumber = seriesNumber
        self.seriesDescription = seriesDescription
        self.studyDescription = studyDescription
        self.instanceUID = instanceUID
    }
}

/// A Decimal String value (PS3.5 6.2: at most 16 characters), 6 decimals, trailing zeros dropped.
@Sendable public func decimalString(_ v: Double) -> String { decimalString(v, places: 6) }

/// `v` with at most `places` decimals, trailing zeros dropped, at most 16 characters (DICOM DS).
public func decimalString(_ v: Double, places: Int) -> String {
    var s = String(format: "%.\(places)f", v)
    while s.contains(".") && (s.hasSuffix("0") || s.hasSuffix(".")) { s.removeLast() }
    if s == "-0" { s = "0" }
    return String(s.prefix(16))
}

public enum SeriesWriter {
    public static let ctImageStorage = "1.2.840.10008.5.1.4.1.1.2"

    /// Writes a CT volume as a CT Image Storage series, one file per slice (`IM0001.dcm`, ...),
    /// signed 16-bit stored values with Rescale Intercept -1024 (stored = HU + 1024), geometry in
    /// Image Position/Orientation (Patient) and Pixel Spacing. Slices are written in parallel.
    public static func writeCT(_ volume: CTVolume, identity: SeriesIdentity, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let g = volume.geometry
        let perSlice = g.dims.sliceCount
        let ds: @Sendable (Double) -> String = { decimalString($0) }
        let orientation = (g.axes.0.array + g.axes.1.array).map(ds).joined(separator: "\\")
        let results = parallelMap(g.dims.z) { k in
            let f = DicomFile.create()
            let p = g.positionMM(0, 0, Double(k))
            let attributes: [(Tag, String)] = [
                (.sopClassUID, ctImageStorage), (.sopInstanceUID, identity.instanceUID(k)),
                (Tag(0x0008, 0x0005), "ISO_IR 100"), (.imageType, "ORIGINAL\\PRIMARY\\AXIAL"),
                (Tag(0x0008, 0x0020), identity.studyDate), (Tag(0x0008, 0x0030), "120000"),
                (Tag(0x0008, 0x0021), identity.studyDate), (Tag(0x0008, 0x0031), "120000"),
                (Tag(0x0008, 0x0050), ""), (.modality, "CT"), (Tag(0x0008, 0x0070), "htb phantom"),
                (Tag(0x0008, 0x0090), ""), (.studyDescription, identity.studyDescription),
                (.seriesDescription, identity.seriesDescription),
                (Tag(0x0010, 0x0010), identity.patientName), (.patientID, identity.patientID),
                (Tag(0x0010, 0x0030), ""), (Tag(0x0010, 0x0040), "O"),
                (Tag(0x0018, 0x0060), "120"), (.sliceThickness, ds(g.spacingMM.z)),
                (Tag(0x0018, 0x0015), "ABDOMEN"), (Tag(0x0018, 0x5100), "FFS"),
                (Tag(0x0020, 0x0012), "1"),
                (.studyInstanceUID, identity.studyUID), (.seriesInstanceUID, identity.seriesUID),
                (Tag(0x0020, 0x0010), "1"), (.seriesNumber, "\(identity.seriesNumber)"), (.instanceNumber, "\(k + 1)"),
                (Tag(0x0020, 0x0020), "L\\P"),
                (.imagePositionPatient, [p.x, p.y, p.z].map(ds).joined(separator: "\\")),
                (.imageOrientationPatient, orientation),
                (.frameOfReferenceUID, identity.frameOfReferenceUID), (Tag(0x0020, 0x1040), ""),
                (Tag(0x0020, 0x1041), ds(p.dot(g.sliceNormal))),
                (.samplesPerPixel, "1"), (.photometricInterpretation, "MONOCHROME2"),
                (.rows, "\(g.dims.y)"), (.columns, "\(g.dims.x)"),
                (.pixelSpacing, "\(ds(g.spacingMM.y))\\\(ds(g.spacingMM.x))"),
                (.bitsAllocated, "16"), (.bitsStored, "16"), (.highBit, "15"), (.pixelRepresentation, "1"),
                (Tag(0x0028, 0x1050), "50"), (Tag(0x0028, 0x1051), "400"),
                (.rescaleIntercept, "-1024"), (.rescaleSlope, "1"), (Tag(0x0028, 0x1054), "HU"),
            ]
            for (tag, value) in attributes { try f.set(tag, value) }
            var stored = [Int16](repeating: 0, count: perSlice)
            for v in 0..<perSlice {
                stored[v] = Int16(clamping: Int32(volume.voxels[k * perSlice + v]) + 1024).littleEndian
            }
            try stored.withUnsafeBytes { try f.setPixels($0, bitsAllocated: 16) }
            try f.save(to: dir + String(format: "/IM%04d.dcm", k + 1))
        }
        for r in results { if case .failure(let e) = r { throw e } }
    }
}
