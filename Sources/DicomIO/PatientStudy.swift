import CDCMTK
import Foundation

/// The patient and study of a source series, as every object htb writes into that study carries
/// them (Patient and General Study modules), in UTF-8. Read once from the source's first slice;
/// `deidentified()` gives the copy `--deidentify` writes.
public struct PatientStudy: Sendable, Equatable {
    public var patientName = "", patientID = "", patientBirthDate = "", patientSex = ""
    public var studyUID = "", studyDate = "", studyTime = "", studyID = "", accessionNumber = ""
    public var referringPhysician = "", studyDescription = ""
    /// Set by `deidentified()`: objects then say so (Patient Identity Removed, method codes).
    public private(set) var isDeidentified = false

    public init(studyUID: String) { self.studyUID = studyUID }

    /// Reads the patient and study from `path` (a slice of the source), converting its strings to
    /// UTF-8 from its Specific Character Set. A character set DCMTK cannot convert gives an error
    /// that names the file; a missing attribute is empty (they are Type 2 in every IOD htb writes).
    public static func read(from path: String) throws -> PatientStudy {
        let f = try DicomFile(path: path, headersOnly: true)
        var err = [CChar](repeating: 0, count: 256)
        if htb_dcm_convert_to_utf8(f.handle, &err, err.count) != 0 {
            throw DicomError.invalidTag(
                Tag(0x0008, 0x0005), file: path, value: f.string(Tag(0x0008, 0x0005)) ?? "",
                expected: "a character set DCMTK can convert to UTF-8 (\(cString(err)))")
        }
        guard let uid = f.string(.studyInstanceUID), !uid.isEmpty else {
            throw DicomError.missingTag(.studyInstanceUID, file: path)
        }
        var p = PatientStudy(studyUID: uid)
        func s(_ g: UInt16, _ e: UInt16) -> String { f.string(Tag(g, e)) ?? "" }
        p.patientName = s(0x0010, 0x0010)
        p.patientID = s(0x0010, 0x0020)
        p.patientBirthDate = s(0x0010, 0x0030)
        p.patientSex = s(0x0010, 0x0040)
        p.studyDate = s(0x0008, 0x0020)
        p.studyTime = s(0x0008, 0x0030)
        p.studyID = s(0x0020, 0x0010)
        p.accessionNumber = s(0x0008, 0x0050)
        p.referringPhysician = s(0x0008, 0x0090)
        p.studyDescription = s(0x0008, 0x1030)
        return p
    }

    /// PS3.15's Basic Application Level Confidentiality Profile with the Retain UIDs Option: the
    /// names, IDs, birth date, sex, dates, times and descriptions that identify the patient or the
    /// visit are emptied (all Type 2 here); the Study Instance UID stays, so that the results
    /// still join their study in a PACS.
    public func deidentified() -> PatientStudy {
        var p = PatientStudy(studyUID: studyUID)
        p.isDeidentified = true
        return p
    }

    /// Writes the Patient and General Study modules (and the character set) into `f`; for a
    /// de-identified copy also Patient Identity Removed and the de-identification method.
    public func apply(to f: DicomFile) throws {
        try f.set(Tag(0x0008, 0x0005), "ISO_IR 192")
        let values: [(Tag, String)] = [
            (Tag(0x0010, 0x0010), patientName), (.patientID, patientID), (Tag(0x0010, 0x0030), patientBirthDate),
            (Tag(0x0010, 0x0040), patientSex), (.studyInstanceUID, studyUID), (Tag(0x0008, 0x0020), studyDate),
            (Tag(0x0008, 0x0030), studyTime), (Tag(0x0020, 0x0010), studyID), (Tag(0x0008, 0x0050), accessionNumber),
            (Tag(0x0008, 0x0090), referringPhysician),
        ]
        for (t, v) in values { try f.set(t, v) }
        if !studyDescription.isEmpty { try f.set(.studyDescription, studyDescription) }
        if isDeidentified { try Self.markDeidentified(f) }
    }

    /// Patient Identity Removed and the profile codes (PS3.16 CID 7050).
    static func markDeidentified(_ f: DicomFile) throws {
        try f.set(Tag(0x0012, 0x0062), "YES")
        try f.set(Tag(0x0012, 0x0063), "htb --deidentify: Basic Profile, Retain UIDs Option")
        for (i, code) in [
            Code("113100", "DCM", "Basic Application Confidentiality Profile"),
            Code("113110", "DCM", "Retain UIDs Option"),
        ].enumerated() {
            try SegmentationWriter.setCode(f, [TagPathStep(Tag(0x0012, 0x0064), item: i)], code)
        }
    }
}

/// The series an object htb writes starts: new UIDs every run, a number and a description.
public struct NewSeries: Sendable {
    public var uid: String
    public var number: Int
    public var description: String
    public init(uid: String = UIDFactory.random(), number: Int, description: String) {
        self.uid = uid
        self.number = number
        self.description = description
    }
}
