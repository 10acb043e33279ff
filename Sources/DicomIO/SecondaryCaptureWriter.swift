import Foundation

/// Writes a picture as a Secondary Capture Image (PS3.3 A.8.1): 8-bit RGB, one frame, in the
/// patient's study and a series of its own, saying that its text is burned in.
public enum SecondaryCaptureWriter {
    public static let sopClassUID = "1.2.840.10008.5.1.4.1.1.7"

    /// `rgb` holds width x height pixels, 3 bytes each, row by row (as `Canvas` does).
    public static func write(
        rgb: [UInt8], width: Int, height: Int, patient: PatientStudy, series: NewSeries, instanceNumber: Int,
        title: String, sourceSeriesUID: String, softwareVersion: String, instanceUID: String = UIDFactory.random(),
        date now: Date = Date(), to path: String
    ) throws {
        guard width > 0, height > 0, width <= 65535, height <= 65535, rgb.count == width * height * 3 else {
            throw DicomError.cannotWrite(
                file: path, reason: "picture of \(width) x \(height) with \(rgb.count) bytes is not 8-bit RGB")
        }
        let f = DicomFile.create()
        try patient.apply(to: f)
        let (date, time) = dicomDateTime(now)
        let attributes: [(Tag, String)] = [
            (.sopClassUID, sopClassUID), (.sopInstanceUID, instanceUID), (Tag(0x0008, 0x0012), date),
            (Tag(0x0008, 0x0013), time),
            // General Series: "OT" (other), as the pictures are not CT images. Laterality empty (Type 2C:
            // dciodvfy asks for it, and a liver picture has none).
            (.modality, "OT"), (.seriesInstanceUID, series.uid), (.seriesNumber, "\(series.number)"),
            (.seriesDescription, series.description), (Tag(0x0020, 0x0060), ""),
            // SC Equipment: converted at a workstation, by htb.
            (Tag(0x0008, 0x0064), "WSD"), (Tag(0x0008, 0x0070), "htb"), (Tag(0x0018, 0x1016), "htb"),
            (Tag(0x0018, 0x1018), "htb"), (Tag(0x0018, 0x1019), softwareVersion),
            (Tag(0x0018, 0x1020), softwareVersion),
            // General Image.
            (.instanceNumber, "\(instanceNumber)"), (Tag(0x0020, 0x0020), ""), (Tag(0x0008, 0x0023), date),
            (Tag(0x0008, 0x0033), time), (.imageType, "DERIVED\\SECONDARY"),
            // Derivation Description: what the picture shows and of which CT series.
            (Tag(0x0008, 0x2111), "\(title); from series \(sourceSeriesUID)"),
            (Tag(0x0028, 0x0301), "YES"), (Tag(0x0028, 0x0302), "NO"),
            // Image Pixel.
            (.samplesPerPixel, "3"), (.photometricInterpretation, "RGB"), (Tag(0x0028, 0x0006), "0"),
            (.rows, "\(height)"), (.columns, "\(width)"), (.bitsAllocated, "8"), (.bitsStored, "8"),
            (.highBit, "7"), (.pixelRepresentation, "0"),
        ]
        for (t, v) in attributes { try f.set(t, v) }
        try rgb.withUnsafeBytes { try f.setPixels($0, bitsAllocated: 8) }
        try f.save(to: path)
    }
}
