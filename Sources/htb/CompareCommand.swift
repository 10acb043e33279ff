import Analysis
import ArgumentParser
import DicomIO
import Foundation
import Overlay
import Response

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Treatment response: a baseline against a follow-up of the same patient, lesion by lesion.",
        discussion: Help.discussion(
            """
            Each side is a study (analysed as analyze does, with the side's masks or automatic) or a finished \
            `htb analyze --save-masks` output folder (report.json + labels.nii.gz). The livers are aligned by a \
            translation found from the liver masks; lesions are paired one to one by shared voxels, then by \
            distance; each is stable, shrinking (<= -65 %), growing (>= +73 %), new or gone. Response: complete \
            (no lesion left), partial (tumour volume <= -65 %), progression (>= +73 % or a new lesion), stable \
            otherwise. Writes DIR/compare.json (schema htb.compare/1) and prints a summary.
            """,
            examples: [
                "htb analyze \(Help.sample) --out base --save-masks --liver-mask \(Help.sample)/truth/seg.dcm:Liver --lesion-mask '\(Help.sample)/truth/seg.dcm:Lesion*'",
                "htb compare base \(Help.sample) --followup-liver-mask \(Help.sample)/truth/seg.dcm:Liver --followup-lesion-mask '\(Help.sample)/truth/seg.dcm:Lesion*' --out cmp",
            ], exits: Help.reading + [.badMask, .segmentationFailed, .cannotWrite]))

    @Argument(help: "Baseline: a study folder or an htb analyze output folder (with --save-masks).")
    var baseline: String

    @Argument(help: "Follow-up: a study folder or an htb analyze output folder (with --save-masks).")
    var followUp: String

    @Option(name: .customLong("baseline-liver-mask"), help: "Baseline liver mask (repeatable; a study side only).")
    var baselineLiverMasks: [String] = []

    @Option(name: .customLong("baseline-lesion-mask"), help: "Baseline lesion mask (repeatable; a study side only).")
    var baselineLesionMasks: [String] = []

    @Option(name: .customLong("followup-liver-mask"), help: "Follow-up liver mask (repeatable; a study side only).")
    var followUpLiverMasks: [String] = []

    @Option(name: .customLong("followup-lesion-mask"), help: "Follow-up lesion mask (repeatable; a study side only).")
    var followUpLesionMasks: [String] = []

    @Option(help: "Output folder for compare.json (default: compare/).")
    var out: String = "compare"

    @Flag(help: "Print compare.json to stdout instead of the summary.")
    var json = false

    @Flag(name: .customLong("single-phase"), help: "Analyse each study's chosen series only (no phase check).")
    var singlePhase = false

    func run() throws {
        do {
            let b = try Side.load(
                name: "baseline", path: baseline, liverMasks: baselineLiverMasks.map(MaskSpec.init),
                lesionMasks: baselineLesionMasks.map(MaskSpec.init), singlePhase: singlePhase)
            let f = try Side.load(
                name: "follow-up", path: followUp, liverMasks: followUpLiverMasks.map(MaskSpec.init),
                lesionMasks: followUpLesionMasks.map(MaskSpec.init), singlePhase: singlePhase)
            var c = try Comparison.compare(b, f)
            let picture = try ComparisonPicture.render(c, baseline: b, followUp: f)
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                if let picture {
                    let png = try PNGFile.encode(
                        picture,
                        text: [
                            ("htb:version", htbVersion), ("htb:response", c.response.category),
                            ("htb:baseline_study_uid", c.baseline.studyUID),
                            ("htb:follow_up_study_uid", c.followUp.studyUID),
                        ])
                    try writeAtomically(png, to: out + "/compare.png")
                    c.picture = "compare.png"
                }
            } catch {
                throw DicomError.cannotWrite(file: out + "/compare.png", reason: "\(error)")
            }
            let data = try c.json()
            do {
                try writeAtomically(data, to: out + "/compare.json")
            } catch {
                throw DicomError.cannotWrite(file: out + "/compare.json", reason: "\(error)")
            }
            if json {
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(c.summaryText)
                for w in c.warnings { print("warning: \(w)") }
                print("Report    \(out)/compare.json")
                print(
                    c.picture.map { "Picture   \(out)/\($0)" }
                        ?? "Picture   none (an htb analyze output folder keeps no CT)")
            }
        } catch { throw fail(error) }
    }
}
