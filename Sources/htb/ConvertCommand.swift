import Analysis
import ArgumentParser
import DicomIO
import Foundation
import NIfTI
import VolumeModel

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Write a CT series as NIfTI-1 (HU, geometry in qform and sform); optionally masks as a label map.",
        discussion: Help.discussion(
            "",
            examples: [
                "htb convert \(Help.sample) --out ct.nii.gz",
                "htb convert \(Help.sample) --out ct.nii.gz --liver-mask \(Help.sample)/truth/seg.dcm:Liver --lesion-mask '\(Help.sample)/truth/seg.dcm:Lesion*' --labels-out labels.nii.gz",
            ], exits: Help.reading + [.badMask, .cannotWrite]))

    @Argument(help: "The study: a folder (any depth) or a DICOM file.")
    var study: String

    @Option(help: "Series to convert (default: as for analyze).")
    var series: String?

    @Option(help: "Output NIfTI file (.nii or .nii.gz).")
    var out: String

    @Option(name: .customLong("liver-mask"), help: "Liver mask (repeatable), written as label 1.")
    var liverMasks: [String] = []

    @Option(name: .customLong("lesion-mask"), help: "Lesion mask (repeatable), written as label 2.")
    var lesionMasks: [String] = []

    @Option(name: .customLong("labels-out"), help: "Label map output (.nii or .nii.gz): liver 1, lesions 2.")
    var labelsOut: String?

    func validate() throws {
        guard out.hasSuffix(".nii") || out.hasSuffix(".nii.gz") else {
            throw ValidationError("--out must end in .nii or .nii.gz")
        }
        if let l = labelsOut, !(l.hasSuffix(".nii") || l.hasSuffix(".nii.gz")) {
            throw ValidationError("--labels-out must end in .nii or .nii.gz")
        }
        if labelsOut != nil && liverMasks.isEmpty && lesionMasks.isEmpty {
            throw ValidationError("--labels-out needs --liver-mask and/or --lesion-mask")
        }
        if labelsOut == nil && !(liverMasks.isEmpty && lesionMasks.isEmpty) {
            throw ValidationError("masks given but no --labels-out to write them to")
        }
    }

    func run() throws {
        do {
            let inventory = try Inventory.scan(study)
            let liver = try liverMasks.map { (MaskSpec($0), try LoadedMask.load(MaskSpec($0))) }
            let lesion = try lesionMasks.map { (MaskSpec($0), try LoadedMask.load(MaskSpec($0))) }
            let choice = try SeriesChooser.choose(in: inventory, selector: series, masks: (liver + lesion).map(\.1))
            let ct = try SeriesLoader.loadCT(choice.entry)
            try NIfTIWriter.write(ct.volume, to: out, description: "htb \(htbVersion) HU")
            var line = "\(out): \(ct.volume.dims) voxels, \(choice.entry.label), chosen as \(choice.reason)"
            if let labelsOut {
                let (lm, _, _) = try Analysis.unite(liver, ct: ct)
                let (ls, _, _) = try Analysis.unite(lesion, ct: ct)
                try NIfTIWriter.write(
                    labels: Analysis.labelMap(liver: lm, lesions: ls), to: labelsOut,
                    description: "htb labels: liver 1, lesion 2")
                line += "\n\(labelsOut): labels liver 1, lesion 2"
            }
            for w in ct.warnings { line += "\nwarning: \(w.message)" }
            print(line)
        } catch { throw fail(error) }
    }
}
