import Analysis
import ArgumentParser
import DicomIO
import Foundation
import Node
import Overlay
import Seeding
import Volumetry

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Measure liver and lesion volumes and HTB on a study; write report.json.",
        discussion: Help.discussion(
            "Masks: a folder (DICOM mask series, non-zero = inside; FOLDER:VALUE for one stored value), "
                + "a DICOM Segmentation (SEG.dcm, SEG.dcm:LABEL, SEG.dcm:1,3, SEG.dcm:Lesion*), or a NIfTI-1 label map "
                + "(MASK.nii.gz, MASK.nii.gz:2, or by label name as TotalSegmentator writes them: MASK.nii.gz:liver), an NRRD "
                + "label map (S.seg.nrrd:NAME from 3D Slicer). Several masks of one kind are united. No masks: liver and lesions automatic. "
                + "Seeds (--lesion-seed, --lesion-seeds): one lesion grown from each (docs/seeded-lesions.md).",
            examples: [
                "htb analyze \(Help.sample) --liver-mask \(Help.sample)/truth/seg.dcm:Liver --lesion-mask '\(Help.sample)/truth/seg.dcm:Lesion*' --out out",
                "htb analyze \(Help.sample) --out out-auto --single-phase",
                "htb analyze \(Help.sample) --out out --json --no-png",
                "htb analyze \(Help.sample) --liver-mask \(Help.sample)/truth/seg.dcm:Liver --lesion-seed=-91,-37.8,90 --out out-seeded",
                "htb analyze \(Help.sample) --out out --dicom-out out/dicom --seg-per-lesion --deidentify",
            ],
            exits: Help.reading + [.badMask, .badFacts, .segmentationFailed, .cannotWrite]))

    @Argument(help: "The study: a folder (any depth) or a DICOM file.")
    var study: String

    @Option(name: .customLong("liver-mask"), help: "Expert liver mask (repeatable).")
    var liverMasks: [String] = []

    @Option(name: .customLong("lesion-mask"), help: "Expert lesion mask (repeatable; united).")
    var lesionMasks: [String] = []

    @Option(help: "Series to measure: Series Instance UID, Series Number or a description substring.")
    var series: String?

    @Option(help: "Output folder for report.json.")
    var out: String = "out"

    @Option(help: "Lesion connectivity: 26 (faces, edges, corners) or 6 (faces).")
    var connectivity: Int = 26

    @Flag(help: "Print the report JSON instead of the summary.")
    var json = false

    @Flag(name: .customLong("no-png"), help: "Do not render the PNG overlays.")
    var noPNG = false

    @Option(help: "Overlay window as WIDTH,LEVEL in HU.")
    var window: String = "400,50"

    @Flag(
        name: .customLong("burn-in-patient"),
        help: "Show patient name, ID and birth date in the overlays (off by default).")
    var burnInPatient = false

    @Option(help: "Clinical facts (JSON) for the guideline rules; see 'htb rules facts'.")
    var clinical: String?

    @Option(help: "Couinaud segment label map (NIfTI, labels 1-8) for exact ENETS typing.")
    var segments: String?

    @Option(help: "A rules file to use instead of the built-in one.")
    var rules: String?

    @Flag(
        name: .customLong("single-phase"),
        help:
            "Use the measured series alone: no other phase of the session (lesions only another phase shows, the automatic liver's phase check, the phases seeds may grow on)."
    )
    var singlePhase = false

    @Flag(
        name: .customLong("save-masks"),
        help: "Also write the masks as DICOM SEG (masks.seg.dcm) and NIfTI (labels.nii.gz).")
    var saveMasks = false

    @Option(
        name: .customLong("dicom-out"),
        help: ArgumentHelp(
            "Also write DICOM results into this folder: seg.dcm (SEG), sr.dcm (TID 1500 measurement report), "
                + "sc_*.dcm (the overlays as Secondary Capture), all in the source's study.", valueName: "dir"))
    var dicomOut: String?

    @Flag(
        name: .customLong("seg-per-lesion"),
        help: "With --dicom-out: one SEG segment per lesion (ids as in report.json), each measured in the SR.")
    var segPerLesion = false

    @Flag(
        help: ArgumentHelp(
            "With --dicom-out: empty patient name, ID, birth date, sex and visit attributes in the DICOM objects "
                + "(PS3.15 Basic Profile, Retain UIDs Option)."))
    var deidentify = false

    @Option(
        name: .customLong("lesion-seed"),
        help: ArgumentHelp(
            "A point in a lesion, X,Y,Z in mm (patient LPS, as a DICOM viewer shows it): one lesion is grown from it (repeatable).",
            valueName: "x,y,z"))
    var lesionSeeds: [String] = []

    @Option(
        name: .customLong("lesion-seeds"),
        help: ArgumentHelp(
            "Seeds from a file: CSV (x,y,z[,label] in mm, LPS; optional header) or a 3D Slicer markups file (.mrk.json, LPS or RAS).",
            valueName: "file"))
    var lesionSeedFile: String?

    @Option(
        help: ArgumentHelp(
            "Which lesions: 'seeds' (with seeds, the default: the grown lesions alone) or 'auto+seeds' (automatic lesions too).",
            valueName: "mode"))
    var lesions: String = "seeds"

    @Option(
        name: .customLong("exclude-lesion"),
        help: ArgumentHelp(
            "Remove the automatic lesion holding X,Y,Z in mm (LPS), or the nearest within 10 mm (repeatable).",
            valueName: "x,y,z"))
    var excludeLesions: [String] = []

    /// The seeds and vetoes of the command line, parsed (a usage error names the option).
    func points() throws -> (seeds: [LesionSeed], excluded: [LesionSeed]) {
        var seeds = try lesionSeeds.enumerated().map {
            try LesionSeed.parse($0.element, source: "--lesion-seed \($0.offset + 1)")
        }
        if let file = lesionSeedFile { seeds += try LesionSeed.read(file: file) }
        let excluded = try excludeLesions.enumerated().map {
            try LesionSeed.parse($0.element, source: "--exclude-lesion \($0.offset + 1)")
        }
        return (seeds, excluded)
    }

    func validate() throws {
        guard lesions == "seeds" || lesions == "auto+seeds" else {
            throw ValidationError("--lesions must be 'seeds' or 'auto+seeds', not '\(lesions)'")
        }
        let seeded = !lesionSeeds.isEmpty || lesionSeedFile != nil
        if lesions == "auto+seeds" && !seeded {
            throw ValidationError("--lesions auto+seeds needs seeds (--lesion-seed or --lesion-seeds)")
        }
        if !excludeLesions.isEmpty && (!lesionMasks.isEmpty || (seeded && lesions != "auto+seeds")) {
            throw ValidationError(
                "--exclude-lesion removes automatic lesions; there are none with --lesion-mask, or with seeds unless --lesions auto+seeds"
            )
        }
        if lesions == "auto+seeds" && !lesionMasks.isEmpty {
            throw ValidationError("--lesions auto+seeds adds automatic lesions; with --lesion-mask there are none")
        }
        guard connectivity == 26 || connectivity == 6 else { throw ValidationError("--connectivity must be 26 or 6") }
        if dicomOut == nil && (segPerLesion || deidentify) {
            throw ValidationError("--seg-per-lesion and --deidentify apply to --dicom-out DIR, which is not given")
        }
        if deidentify && burnInPatient {
            throw ValidationError("--deidentify and --burn-in-patient contradict each other: choose one")
        }
        _ = try overlayOptions()
    }

    func overlayOptions() throws -> OverlayOptions {
        let parts = window.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let w = parts[0], let l = parts[1], w > 0 else {
            throw ValidationError("--window must be WIDTH,LEVEL in HU with a positive width, e.g. 400,50")
        }
        var o = OverlayOptions()
        o.windowWidthHU = w
        o.windowLevelHU = l
        return o
    }

    func run() throws {
        ChildProcess.dieWithParentIfAsked()
        let analysis: Analysis
        do {
            var request = Analysis.Request(
                studyPath: study, series: series, liverMasks: liverMasks.map(MaskSpec.init),
                lesionMasks: lesionMasks.map(MaskSpec.init),
                connectivity: connectivity == 6 ? .faces6 : .full26,
                clinicalFacts: clinical, segments: segments, rules: rules, singlePhase: singlePhase)
            (request.lesionSeeds, request.excludeLesions) = try points()
            request.automaticLesionsToo = lesions == "auto+seeds"
            analysis = try Analysis.run(request)
        } catch { throw fail(error) }
        let reportPath = (out as NSString).appendingPathComponent("report.json")
        var report = analysis.report
        let data: Data
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            // Rendered once: PNG beside the report, Secondary Capture with the DICOM results.
            let pictures =
                (noPNG && dicomOut == nil)
                ? [] : analysis.renderOverlays(options: try overlayOptions(), burnInPatient: burnInPatient)
            if !noPNG {
                report.overlays = try Analysis.writeOverlays(pictures, to: out).map {
                    ($0 as NSString).lastPathComponent
                }
            }
            if saveMasks {
                report.masks = try analysis.writeMasks(to: out).map { ($0 as NSString).lastPathComponent }
            }
            if let dicomOut {
                report.dicomOutputs = try analysis.writeDicomResults(
                    to: dicomOut, options: DicomResultOptions(segmentPerLesion: segPerLesion, deidentify: deidentify),
                    pictures: pictures
                ).all
            }
            data = try report.json()
            try writeAtomically(data, to: reportPath)
        } catch let e as CocoaError {
            throw fail(AnalysisError.cannotWrite(path: out, reason: e.localizedDescription))
        } catch { throw fail(error) }
        if json {
            FileHandle.standardOutput.write(data)
            print()
        } else {
            print(summary(report, reportPath: reportPath), terminator: "")
        }
    }
}

/// The short human summary of a report.
func summary(_ r: Report, reportPath: String) -> String {
    func f(_ v: Double, _ p: Int = 2) -> String { String(format: "%.\(p)f", v) }
    let s = r.study
    var out = "htb \(r.tool.version): \(r.inputs.studyPath)\n"
    out +=
        "Series    \(s.seriesNumber.map { "#\($0) " } ?? "")'\(s.seriesDescription)' \(s.modality), \(s.sliceCount) slices \(s.dims.x)x\(s.dims.y), "
    out +=
        "\(f(s.spacingMM.x, 3)) x \(f(s.spacingMM.y, 3)) x \(f(s.spacingMM.z, 3)) mm\(s.phaseHint.map { ", phase hint \($0)" } ?? "")\n"
    out += "          chosen as \(r.inputs.seriesReason)\n"
    out += "Liver     \(f(r.liver.volumeML)) mL (parenchyma \(f(r.liver.parenchymaVolumeML)) mL)\n"
    out += "Lesions   \(r.lesions.count), \(f(r.lesions.totalVolumeML)) mL\n"
    for l in r.lesions.items.prefix(10) {
        out +=
            "          #\(l.id): \(f(l.volumeML)) mL, \(f(l.longestAxialDiameterMM, 1)) x \(f(l.shortAxisMM, 1)) mm (slice \(l.diameterSliceIndex))\n"
    }
    if r.lesions.items.count > 10 { out += "          ... \(r.lesions.items.count - 10) more in the report\n" }
    for o in (r.inputs.seeds ?? []) + (r.inputs.excluded ?? []) {
        let p = o.seed.positionMM
        out +=
            "\(o.status == .excluded || o.status == .notFound ? "Excluded" : "Seed    ")  \(o.seed.source) (\(f(p.x, 1)), \(f(p.y, 1)), \(f(p.z, 1)) mm): \(o.status.rawValue): \(o.message)\n"
    }
    out +=
        "HTB       \(f(r.htb.percent)) %  \(r.htb.category)\(r.flags.isEmpty ? "" : "  flags: " + r.flags.joined(separator: ", "))\n"
    if let g = r.guidelines { out += guidelinesSummary(g) }
    for w in s.warnings { out += "Warning   \(w.message)\n" }
    out += "Report    \(reportPath)\n"
    if let o = r.overlays, !o.isEmpty { out += "Overlays  \(o.joined(separator: ", "))\n" }
    return out
}
