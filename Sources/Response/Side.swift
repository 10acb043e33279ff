import Analysis
import DicomIO
import Foundation
import NIfTI
import VolumeModel
import Volumetry

/// Why a comparison cannot be made, with the side and the file involved.
public enum ResponseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The failure class of a summary row and of the command line's exit code.
    public var failureClass: FailureClass {
        switch self {
        case .noMasks, .unreadableReport: .noInput
        case .noLiver: .badMask
        case .differentPatients, .manifest: .usage
        }
    }

    /// A finished `htb analyze` output without the label map the comparison needs.
    case noMasks(side: String, folder: String)
    case unreadableReport(side: String, path: String, reason: String)
    case noLiver(side: String)
    case differentPatients(baseline: String, followUp: String)
    case manifest(file: String, reason: String)

    public var description: String {
        switch self {
        case .noMasks(let s, let f):
            return
                "\(s) \(f): an htb analyze output needs its masks (labels.nii.gz, written with --save-masks) to be compared"
        case .unreadableReport(let s, let p, let r): return "\(s) \(p): cannot read the report: \(r)"
        case .noLiver(let s): return "\(s): the liver mask is empty; nothing to align or measure"
        case .manifest(let f, let r): return "\(f): bad pairs manifest: \(r)"
        case .differentPatients(let b, let f):
            return
                "the two studies are of different patients (Patient ID '\(b)' and '\(f)'): a response needs one patient"
        }
    }
}

/// One time point: a whole-liver mask and a lesion mask on the same grid, and who and when.
public struct Side: Sendable {
    /// "baseline" or "follow-up", for messages.
    public var name: String
    /// The study folder or the htb analyze output folder it came from.
    public var source: String
    /// `study` (analysed now) or `output` (a finished htb analyze folder).
    public var kind: String
    public var studyUID: String
    public var seriesUID: String
    /// (0010,0020) Patient ID; nil when the side does not say (an output folder).
    public var patientID: String?
    /// (0008,0020) Study Date, YYYYMMDD; nil when unknown.
    public var studyDate: String?
    /// Whole liver: liver mask united with the lesion mask.
    public var liver: Mask
    public var lesions: Mask
    public var connectivity: Connectivity
    /// The liver and lesion mask sources, as the report names them (expert, automatic).
    public var maskSources: [String]
    /// The CT, for the picture: the study analysed now, or an output folder's study when it is
    /// still where its report says (`ctNote` says why not otherwise).
    public var ct: CTVolume?
    public var ctNote: String?
    /// The side's measurement (lesion components, volumes), when already made: the comparison
    /// and the picture then share it instead of measuring twice.
    public var measurement: VolumetryResult?

    public init(
        name: String, source: String, kind: String, studyUID: String, seriesUID: String, patientID: String?,
        studyDate: String?, liver: Mask, lesions: Mask, connectivity: Connectivity = .full26, maskSources: [String],
        ct: CTVolume? = nil
    ) {
        (self.name, self.source, self.kind, self.studyUID, self.seriesUID) = (name, source, kind, studyUID, seriesUID)
        (self.patientID, self.studyDate, self.liver, self.lesions) = (patientID, studyDate, liver, lesions)
        (self.connectivity, self.maskSources, self.ct) = (connectivity, maskSources, ct)
    }

    /// A study analysed as `htb analyze` does (masks given, or automatic).
    /// `series` selects the series as `analyze --series` does (two phases of one folder can be
    /// the two sides).
    public static func analyse(
        name: String, study: String, liverMasks: [MaskSpec], lesionMasks: [MaskSpec], series: String? = nil,
        singlePhase: Bool
    ) throws -> Side {
        let a = try Analysis.run(
            .init(
                studyPath: study, series: series, liverMasks: liverMasks, lesionMasks: lesionMasks,
                singlePhase: singlePhase))
        let patient = try? PatientStudy.read(from: a.ct.slices[0].path)
        var liver = a.liver
        for v in 0..<liver.voxels.count where a.lesions.voxels[v] != 0 { liver.voxels[v] = 1 }
        let sources = (a.report.inputs.liverMasks + a.report.inputs.lesionMasks).map(\.source)
        var side = Side(
            name: name, source: study, kind: "study", studyUID: a.report.study.studyUID,
            seriesUID: a.report.study.seriesUID, patientID: patient.map(\.patientID).flatMap { $0.isEmpty ? nil : $0 },
            studyDate: patient.map(\.studyDate).flatMap { $0.isEmpty ? nil : $0 }, liver: liver, lesions: a.lesions,
            connectivity: a.result.connectivity, maskSources: Array(Set(sources)).sorted(), ct: a.ct.volume)
        // The analysis measured the same masks (whole liver = liver united with lesions).
        side.measurement = a.result
        return side
    }

    /// The measurement, made now if the side does not carry it.
    public func measured() throws -> VolumetryResult {
        try measurement ?? Volumetry.measure(liver: liver, lesions: lesions, connectivity: connectivity)
    }

    /// A finished `htb analyze --save-masks` folder: report.json and labels.nii.gz (1 liver, 2 lesion).
    public static func output(name: String, folder: String) throws -> Side {
        let reportPath = folder + "/report.json", labelsPath = folder + "/labels.nii.gz"
        guard FileManager.default.fileExists(atPath: labelsPath) else {
            throw ResponseError.noMasks(side: name, folder: folder)
        }
        let report: Report
        do {
            report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: reportPath)))
        } catch {
            throw ResponseError.unreadableReport(side: name, path: reportPath, reason: "\(error)")
        }
        let image = try NIfTIImage.read(path: labelsPath)
        var liver = Mask(repeating: 0, geometry: image.geometry), lesions = liver
        for v in 0..<liver.voxels.count {
            let l = image.value(at: v)
            if l >= 0.5 { liver.voxels[v] = 1 }
            if abs(l - 2) < 0.5 { lesions.voxels[v] = 1 }
        }
        let sources = (report.inputs.liverMasks + report.inputs.lesionMasks).map(\.source)
        var side = Side(
            name: name, source: folder, kind: "output", studyUID: report.study.studyUID,
            seriesUID: report.study.seriesUID, patientID: nil, studyDate: nil, liver: liver, lesions: lesions,
            connectivity: Connectivity(rawValue: report.lesions.connectivity) ?? .full26,
            maskSources: Array(Set(sources)).sorted(), ct: nil)
        side.attachStudy(report.inputs.studyPath, folder: folder)
        side.measurement = try side.measured()
        return side
    }

    /// An output folder's CT and patient, from its study when that is still where the report
    /// says (as given to analyze: as is, or relative to the folder's parent), holds the measured
    /// series and lies on the masks' grid. Otherwise `ctNote` says why; nothing else changes.
    mutating func attachStudy(_ studyPath: String, folder: String) {
        let parent = ((folder as NSString).standardizingPath as NSString).deletingLastPathComponent
        let candidates =
            studyPath.hasPrefix("/")
            ? [studyPath] : [studyPath, (parent as NSString).appendingPathComponent(studyPath)]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            ctNote = "the study of \(folder) is not at \(studyPath) any more"
            return
        }
        do {
            let entry = try Inventory.scan(path).select(seriesUID)
            let loaded = try SeriesLoader.loadCT(entry)
            guard loaded.volume.geometry.matches(liver.geometry, toleranceMM: 0.01) else {
                ctNote = "the series at \(path) is not on the grid of \(folder)'s masks"
                return
            }
            ct = loaded.volume
            if let patient = try? PatientStudy.read(from: loaded.slices[0].path) {
                patientID = patient.patientID.isEmpty ? nil : patient.patientID
                studyDate = patient.studyDate.isEmpty ? nil : patient.studyDate
            }
        } catch {
            ctNote = "the study of \(folder) at \(path) could not be read: \(error)"
        }
    }

    /// A finished output when `path` holds report.json, a study otherwise.
    public static func load(
        name: String, path: String, liverMasks: [MaskSpec], lesionMasks: [MaskSpec], series: String? = nil,
        singlePhase: Bool
    ) throws -> Side {
        if FileManager.default.fileExists(atPath: path + "/report.json") {
            return try output(name: name, folder: path)
        }
        return try analyse(
            name: name, study: path, liverMasks: liverMasks, lesionMasks: lesionMasks, series: series,
            singlePhase: singlePhase)
    }
}
