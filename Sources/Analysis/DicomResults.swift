import DicomIO
import Foundation
import Overlay
import VolumeModel
import Volumetry

/// What `--dicom-out` writes: the three objects of IHE AI Results (AIR) for one analysis.
public struct DicomResultOptions: Sendable {
    /// One SEG segment per lesion (ids as in report.json) instead of one "Lesions" segment.
    public var segmentPerLesion = false
    /// Patient and visit attributes emptied (PS3.15 Basic Profile, Retain UIDs Option).
    public var deidentify = false
    /// The overlays as Secondary Capture images (rendered ones are passed to `writeDicomResults`).
    public init(segmentPerLesion: Bool = false, deidentify: Bool = false) {
        self.segmentPerLesion = segmentPerLesion
        self.deidentify = deidentify
    }
}

/// The objects written, for report.json and for callers that send them on.
public struct DicomResultFiles: Sendable {
    public var segmentation: String
    public var report: String
    public var pictures: [String]
    public var all: [String] { [segmentation, report] + pictures }
}

/// Codes of the SR. DCM, SCT and UCUM where the concept exists there; htb's own (private scheme
/// 99HTB, declared in the document) for what no standard names: HTB itself and its category.
public enum HTBCodes {
    public static let scheme = MeasurementReport.CodingScheme(
        designator: "99HTB", name: "htb hepatic tumour burden concepts", organization: "htb")
    public static let procedure = Code("25045-6", "LN", "CT unspecified body region")
    public static let volume = Code("118565006", "SCT", "Volume")
    public static let longAxis = Code("103339001", "SCT", "Long Axis")
    public static let shortAxis = Code("103340004", "SCT", "Short Axis")
    public static let milliliter = Code("ml", "UCUM", "milliliter")
    public static let millimeter = Code("mm", "UCUM", "millimeter")
    public static let percent = Code("%", "UCUM", "percent")
    public static let htb = Code("HTB", "99HTB", "Hepatic tumour burden")
    public static let htbCategory = Code("HTBCATEGORY", "99HTB", "Hepatic tumour burden category")
    public static let parenchyma = Code("PARENCHYMA", "99HTB", "Liver parenchyma without lesions")
    public static let allLesions = Code("ALLLESIONS", "99HTB", "All liver lesions")
    public static let flag = Code("FLAG", "99HTB", "htb flag")
    public static let method = Code("METHOD", "99HTB", "Segmentation method")
    public static let reviewNeeded = Code("REVIEW", "99HTB", "Review needed")
    public static func category(_ c: String) -> Code {
        switch c {
        case "below_50": return Code("below_50", "99HTB", "HTB below 50 %")
        case "50_to_75": return Code("50_to_75", "99HTB", "HTB 50 to 75 %")
        default: return Code("above_75", "99HTB", "HTB above 75 %")
        }
    }
}

extension Analysis {
    /// File names in the `--dicom-out` folder.
    public static let dicomSegmentationFile = "seg.dcm", dicomReportFile = "sr.dcm"
    public static let dicomPictureFiles = ["sc_axial.dcm", "sc_coronal.dcm", "sc_sagittal.dcm"]

    /// Tracking UIDs that stay the same across runs on the same input: derived from the source
    /// series and the region's name (lesion ids are deterministic for a given input and method).
    public func trackingUID(_ region: String) -> String {
        UIDFactory.deterministic("htb tracking", report.study.seriesUID, region)
    }

    /// The SEG's segments (of `--save-masks` and `--dicom-out`): 1 "Liver" = the whole liver (liver
    /// united with lesions), then "Lesions", or "Lesion N" per lesion (N = the report's id); with
    /// tracking IDs and UIDs as the SR names the same regions when `tracking`.
    func segmentsToWrite(on layout: SeriesLayout, perLesion: Bool, tracking: Bool) -> [SegmentToWrite] {
        let automatic = Set((report.inputs.liverMasks + report.inputs.lesionMasks).map(\.source)).contains("automatic")
        let algorithmType = automatic ? "AUTOMATIC" : "MANUAL", algorithm = automatic ? "htb \(htbVersion)" : nil
        func segment(_ label: String, _ anatomy: Bool, _ voxels: SegmentToWrite.Voxels, _ region: String)
            -> SegmentToWrite
        {
            SegmentToWrite(
                label: label, category: anatomy ? .anatomicalStructure : .morphologicallyAbnormal,
                type: anatomy ? .liver : .neoplasm, algorithmType: algorithmType, algorithmName: algorithm,
                cielab: anatomy ? [56000, 48000, 42000] : [50000, 20000, 50000], voxels: voxels,
                tracking: tracking ? (region, trackingUID(region.lowercased())) : nil)
        }
        var segments = [
            segment(
                "Liver", true, .anyOf([liver.withGeometry(layout.geometry), lesions.withGeometry(layout.geometry)]),
                "Liver")
        ]
        if perLesion {
            segments += report.lesions.items.map {
                segment("Lesion \($0.id)", false, .indices(result.components.voxels[$0.id - 1]), "Lesion \($0.id)")
            }
        } else if !report.lesions.items.isEmpty {
            segments.append(segment("Lesions", false, .mask(lesions.withGeometry(layout.geometry)), "All lesions"))
        }
        return segments
    }

    /// Writes the SEG, the SR (TID 1500) and the pictures as Secondary Capture into `dir`, each
    /// atomically, all in the source's study, each in a new series with new UIDs.
    public func writeDicomResults(
        to dir: String, options: DicomResultOptions, pictures: [RenderedImage], date: Date = Date()
    ) throws -> DicomResultFiles {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let layout = try SeriesLayout(entry: ct.entry)
        let source = try PatientStudy.read(from: layout.slices[0].path)
        let patient = options.deidentify ? source.deidentified() : source
        let path = { (name: String) in (dir as NSString).appendingPathComponent(name) }
        let method =
            report.inputs.liverMasks.first(where: { $0.source == "automatic" })?.method
            ?? report.inputs.lesionMasks.first(where: { $0.source == "automatic" })?.method

        // 1. SEG: segment 1 the whole liver, then the lesions (one segment, or one per lesion).
        let segUID = UIDFactory.random(), segSeriesUID = UIDFactory.random()
        let perLesion = options.segmentPerLesion && !report.lesions.items.isEmpty
        let segments = segmentsToWrite(on: layout, perLesion: perLesion, tracking: true)
        let segPath = path(Self.dicomSegmentationFile)
        try SegmentationWriter.write(
            segments, source: layout, to: segPath, seriesNumber: 901, seriesDescription: "htb liver and lesions",
            contentLabel: "HTB", softwareVersion: htbVersion, seriesUID: segSeriesUID, instanceUID: segUID,
            patient: patient,
            date: date)

        // 2. Pictures: Secondary Capture, one instance per overlay, one series.
        let scSeries = NewSeries(number: 903, description: "htb overlays")
        var picturePaths: [String] = []
        for (n, image) in pictures.enumerated() where n < Self.dicomPictureFiles.count {
            let p = path(Self.dicomPictureFiles[n])
            try SecondaryCaptureWriter.write(
                rgb: image.canvas.pixels, width: image.canvas.width, height: image.canvas.height, patient: patient,
                series: scSeries, instanceNumber: n + 1,
                title: "htb overlay, \(["axial montage", "coronal reformat", "sagittal reformat"][n])",
                sourceSeriesUID: report.study.seriesUID, softwareVersion: htbVersion, date: date, to: p)
            picturePaths.append(p)
        }

        // 3. SR: TID 1500 with the figures of report.json, referencing the SEG's segments.
        let srPath = path(Self.dicomReportFile)
        try MeasurementReportWriter.write(
            measurementReport(
                seg: .init(
                    seriesUID: segSeriesUID, sopClassUID: SliceHeader.segmentationStorage, sopInstanceUID: segUID),
                perLesion: perLesion, hasLesionSegment: segments.count > 1, method: method),
            patient: patient, series: NewSeries(number: 902, description: "htb measurement report"),
            softwareVersion: htbVersion, date: date, to: srPath)
        return DicomResultFiles(segmentation: segPath, report: srPath, pictures: picturePaths)
    }

    /// The SR's content: every figure as report.json rounds it.
    func measurementReport(seg: MeasurementReport.Evidence, perLesion: Bool, hasLesionSegment: Bool, method: String?)
        -> MeasurementReport
    {
        let r = report
        let C = HTBCodes.self
        func ml(_ v: Double) -> MeasurementReport.Measurement {
            .init(C.volume, decimalString(v, places: 4), C.milliliter)
        }
        func segment(_ n: Int) -> MeasurementReport.SegmentReference {
            .init(segInstanceUID: seg.sopInstanceUID, segmentNumber: n, sourceSeriesUID: r.study.seriesUID)
        }
        let algorithm = method.map { (name: "htb \($0)", version: htbVersion) }
        var groups = [
            MeasurementReport.Group(
                trackingID: "Liver", trackingUID: trackingUID("liver"), finding: .liver, findingSite: nil,
                segment: segment(1), algorithm: algorithm,
                measurements: [ml(r.liver.volumeML), .init(C.htb, decimalString(r.htb.percent, places: 4), C.percent)]),
            MeasurementReport.Group(
                trackingID: "Liver parenchyma", trackingUID: trackingUID("parenchyma"), finding: C.parenchyma,
                findingSite: .liver, segment: nil, algorithm: nil, measurements: [ml(r.liver.parenchymaVolumeML)]),
            MeasurementReport.Group(
                trackingID: "All lesions", trackingUID: trackingUID("all lesions"), finding: C.allLesions,
                findingSite: .liver, segment: !perLesion && hasLesionSegment ? segment(2) : nil, algorithm: algorithm,
                measurements: [ml(r.lesions.totalVolumeML)]),
        ]
        for (i, l) in r.lesions.items.enumerated() {
            groups.append(
                MeasurementReport.Group(
                    trackingID: "Lesion \(l.id)", trackingUID: trackingUID("lesion \(l.id)"), finding: .neoplasm,
                    findingSite: .liver, segment: perLesion ? segment(2 + i) : nil, algorithm: algorithm,
                    measurements: [
                        ml(l.volumeML),
                        .init(C.longAxis, decimalString(l.longestAxialDiameterMM, places: 4), C.millimeter),
                        .init(C.shortAxis, decimalString(l.shortAxisMM, places: 4), C.millimeter),
                    ]))
        }
        var evaluations: [MeasurementReport.Evaluation] = [
            .init(C.htbCategory, .coded(C.category(r.htb.category))),
            .init(C.method, .text(method.map { "automatic (\($0))" } ?? "expert masks")),
        ]
        evaluations += r.flags.map { .init(C.flag, .text($0)) }
        if let a = r.automatic, a.reviewNeeded == true {
            let reasons = (a.reviewReasons ?? []).map(\.code).joined(separator: ", ")
            evaluations.append(.init(C.reviewNeeded, .text(reasons.isEmpty ? "yes" : reasons)))
        }
        var seen = Set<String>()  // a multi-frame CT is one instance
        let evidence =
            ct.slices.filter { seen.insert($0.sopInstanceUID).inserted }.map {
                MeasurementReport.Evidence(
                    seriesUID: r.study.seriesUID, sopClassUID: $0.sopClassUID, sopInstanceUID: $0.sopInstanceUID)
            } + [seg]
        return MeasurementReport(
            procedure: C.procedure, deviceUID: UIDFactory.deterministic("htb device", htbVersion), deviceName: "htb",
            manufacturer: "htb", model: "htb \(htbVersion)", groups: groups, evaluations: evaluations,
            evidence: evidence, codingSchemes: [C.scheme])
    }
}
