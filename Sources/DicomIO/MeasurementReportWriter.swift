import CDCMTK
import Foundation

/// A DICOM SR Measurement Report (TID 1500) as values; `MeasurementReportWriter` makes the
/// document with DCMTK's dcmsr templates, which check every row they add.
public struct MeasurementReport: Sendable {
    /// A numeric measurement: concept (CID 7469 or a private code), value as written, UCUM unit.
    public struct Measurement: Sendable {
        public var concept: Code
        /// The value exactly as the SR carries it (a DICOM decimal string).
        public var value: String
        public var unit: Code
        public init(_ concept: Code, _ value: String, _ unit: Code) {
            self.concept = concept
            self.value = value
            self.unit = unit
        }
    }
    /// A qualitative evaluation: a coded value or text.
    public struct Evaluation: Sendable {
        public enum Value: Sendable {
            case coded(Code)
            case text(String)
        }
        public var concept: Code
        public var value: Value
        public init(_ concept: Code, _ value: Value) {
            self.concept = concept
            self.value = value
        }
    }
    /// The segment of a SEG a volumetric group measures (TID 1411).
    public struct SegmentReference: Sendable {
        public var segInstanceUID: String
        public var segmentNumber: Int
        public var sourceSeriesUID: String
        public init(segInstanceUID: String, segmentNumber: Int, sourceSeriesUID: String) {
            self.segInstanceUID = segInstanceUID
            self.segmentNumber = segmentNumber
            self.sourceSeriesUID = sourceSeriesUID
        }
    }
    /// One measurement group: volumetric (TID 1411) when it references a segment, else TID 1501.
    public struct Group: Sendable {
        public var trackingID: String
        public var trackingUID: String
        public var finding: Code
        public var findingSite: Code?
        public var segment: SegmentReference?
        /// Name and version of the algorithm that made the region (volumetric groups).
        public var algorithm: (name: String, version: String)?
        public var measurements: [Measurement]
        public var evaluations: [Evaluation]
        public init(
            trackingID: String, trackingUID: String, finding: Code, findingSite: Code?, segment: SegmentReference?,
            algorithm: (name: String, version: String)?, measurements: [Measurement], evaluations: [Evaluation] = []
        ) {
            self.trackingID = trackingID
            self.trackingUID = trackingUID
            self.finding = finding
            self.findingSite = findingSite
            self.segment = segment
            self.algorithm = algorithm
            self.measurements = measurements
            self.evaluations = evaluations
        }
    }
    /// An instance the report rests on (Current Requested Procedure Evidence).
    public struct Evidence: Sendable {
        public var seriesUID: String, sopClassUID: String, sopInstanceUID: String
        public init(seriesUID: String, sopClassUID: String, sopInstanceUID: String) {
            self.seriesUID = seriesUID
            self.sopClassUID = sopClassUID
            self.sopInstanceUID = sopInstanceUID
        }
    }
    /// A private coding scheme the report uses (designator starting with "99").
    public struct CodingScheme: Sendable {
        public var designator: String, name: String, organization: String
        public init(designator: String, name: String, organization: String) {
            self.designator = designator
            self.name = name
            self.organization = organization
        }
    }

    public var procedure: Code
    /// The observer: a device (TID 1004).
    public var deviceUID: String, deviceName: String, manufacturer: String, model: String
    public var groups: [Group]
    public var evaluations: [Evaluation]
    public var evidence: [Evidence]
    public var codingSchemes: [CodingScheme]
    public init(
        procedure: Code, deviceUID: String, deviceName: String, manufacturer: String, model: String,
        groups: [Group], evaluations: [Evaluation], evidence: [Evidence], codingSchemes: [CodingScheme]
    ) {
        self.procedure = procedure
        self.deviceUID = deviceUID
        self.deviceName = deviceName
        self.manufacturer = manufacturer
        self.model = model
        self.groups = groups
        self.evaluations = evaluations
        self.evidence = evidence
        self.codingSchemes = codingSchemes
    }
}

public enum MeasurementReportWriter {
    /// Writes `report` as an Enhanced SR document into `patient`'s study, a new series, atomically.
    public static func write(
        _ report: MeasurementReport, patient: PatientStudy, series: NewSeries, softwareVersion: String,
        instanceUID: String = UIDFactory.random(), date now: Date = Date(), to path: String
    ) throws {
        var err = [CChar](repeating: 0, count: 512)
        func fail(_ step: String) -> DicomError {
            .cannotWrite(file: path, reason: "SR \(step): \(cString(err))")
        }
        let sr: OpaquePointer = try withCode(report.procedure) { proc in
            guard
                let h = htb_sr_create(
                    proc, report.deviceUID, report.deviceName, report.manufacturer, report.model, &err, err.count)
            else { throw fail("report") }
            return h
        }
        defer { htb_sr_free(sr) }
        for g in report.groups {
            let rc = withCode(g.finding) { finding in
                withOptionalCode(g.findingSite) { site in
                    htb_sr_begin_group(
                        sr, g.trackingID, g.trackingUID, finding, site, g.segment?.segInstanceUID,
                        Int32(g.segment?.segmentNumber ?? 0), g.segment?.sourceSeriesUID, &err, err.count)
                }
            }
            guard rc == 0 else { throw fail("group '\(g.trackingID)'") }
            for m in g.measurements {
                let rc = withCode(m.concept) { concept in
                    withCode(m.unit) { unit in
                        htb_sr_add_measurement(
                            sr, concept, m.value, unit, g.segment == nil ? nil : g.algorithm?.name,
                            g.algorithm?.version, &err, err.count)
                    }
                }
                guard rc == 0 else { throw fail("measurement '\(m.concept.meaning)' = \(m.value)") }
            }
            for e in g.evaluations { try add(e, inGroup: true, sr, &err, path) }
        }
        for e in report.evaluations { try add(e, inGroup: false, sr, &err, path) }
        for e in report.evidence {
            guard
                htb_sr_add_evidence(
                    sr, patient.studyUID, e.seriesUID, e.sopClassUID, e.sopInstanceUID, &err, err.count) == 0
            else { throw fail("evidence") }
        }
        for c in report.codingSchemes {
            guard htb_sr_add_coding_scheme(sr, c.designator, c.name, c.organization, &err, err.count) == 0 else {
                throw fail("coding scheme")
            }
        }
        let f = DicomFile.create()
        let (date, time) = dicomDateTime(now)
        let strings = [
            patient.patientName, patient.patientID, patient.patientBirthDate, patient.patientSex, patient.studyUID,
            patient.studyDate, patient.studyTime, patient.studyID, patient.accessionNumber, patient.referringPhysician,
            patient.studyDescription, series.uid, "\(series.number)", series.description, instanceUID, "htb", "htb",
            softwareVersion, "1", date, time,
        ]
        let rc = withCStrings(strings) { c in
            var h = htb_sr_header(
                patient_name: c[0], patient_id: c[1], patient_birth_date: c[2], patient_sex: c[3], study_uid: c[4],
                study_date: c[5], study_time: c[6], study_id: c[7], accession_number: c[8], referring_physician: c[9],
                study_description: c[10], series_uid: c[11], series_number: c[12], series_description: c[13],
                sop_instance_uid: c[14], manufacturer: c[15], model_name: c[16], software_versions: c[17],
                device_serial_number: c[18], content_date: c[19], content_time: c[20])
            return htb_sr_write(sr, &h, f.handle, &err, err.count)
        }
        guard rc == 0 else { throw fail("document") }
        if patient.isDeidentified { try PatientStudy.markDeidentified(f) }
        try f.save(to: path)
    }

    static func add(
        _ e: MeasurementReport.Evaluation, inGroup: Bool, _ sr: OpaquePointer, _ err: inout [CChar], _ path: String
    ) throws {
        let rc = withCode(e.concept) { concept -> Int32 in
            switch e.value {
            case .coded(let v):
                return withCode(v) { htb_sr_add_evaluation(sr, inGroup ? 1 : 0, concept, $0, nil, &err, err.count) }
            case .text(let t): return htb_sr_add_evaluation(sr, inGroup ? 1 : 0, concept, nil, t, &err, err.count)
            }
        }
        guard rc == 0 else {
            throw DicomError.cannotWrite(file: path, reason: "SR evaluation '\(e.concept.meaning)': \(cString(err))")
        }
    }
}

/// Calls `body` with a C view of `code` (valid only inside).
func withCode<R>(_ code: Code, _ body: (UnsafePointer<htb_code>) throws -> R) rethrows -> R {
    try code.value.withCString { v in
        try code.scheme.withCString { s in
            try code.meaning.withCString { m in
                var c = htb_code(value: v, scheme: s, meaning: m)
                return try body(&c)
            }
        }
    }
}

func withOptionalCode<R>(_ code: Code?, _ body: (UnsafePointer<htb_code>?) throws -> R) rethrows -> R {
    guard let code else { return try body(nil) }
    return try withCode(code) { try body($0) }
}

/// Calls `body` with C strings of `strings` (valid only inside).
func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>]) throws -> R) rethrows -> R {
    let copies = strings.map { strdup($0)! }
    defer { copies.forEach { free($0) } }
    return try body(copies.map { UnsafePointer($0) })
}
