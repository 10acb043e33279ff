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
            ], exits: Help.reading + [.badMask, .segmentationFailed, .cannotWrite, .someFailed, .allFailed]))

    @Argument(help: "Baseline: a study folder or an htb analyze output folder (with --save-masks).")
    var baseline: String?

    @Argument(help: "Follow-up: a study folder or an htb analyze output folder (with --save-masks).")
    var followUp: String?

    @Option(
        help:
            "A manifest of pairs (JSON, see docs/response.md) instead of BASELINE FOLLOWUP: DIR/<id>/ per pair and DIR/summary.csv."
    )
    var manifest: String?

    @Option(name: .customLong("baseline-liver-mask"), help: "Baseline liver mask (repeatable; a study side only).")
    var baselineLiverMasks: [String] = []

    @Option(name: .customLong("baseline-lesion-mask"), help: "Baseline lesion mask (repeatable; a study side only).")
    var baselineLesionMasks: [String] = []

    @Option(name: .customLong("followup-liver-mask"), help: "Follow-up liver mask (repeatable; a study side only).")
    var followUpLiverMasks: [String] = []

    @Option(name: .customLong("followup-lesion-mask"), help: "Follow-up lesion mask (repeatable; a study side only).")
    var followUpLesionMasks: [String] = []

    @Option(
        name: .customLong("baseline-series"),
        help:
            "Baseline series, as analyze --series selects it (a study side only; two phases of one folder can be a pair)."
    )
    var baselineSeries: String?

    @Option(
        name: .customLong("followup-series"),
        help: "Follow-up series, as analyze --series selects it (a study side only).")
    var followUpSeries: String?

    @Option(help: "Output folder for compare.json (default: compare/).")
    var out: String = "compare"

    @Flag(help: "Print compare.json to stdout instead of the summary.")
    var json = false

    @Flag(
        name: .customLong("single-phase"),
        help: "Analyse each study's chosen series only (no other phase's lesions, no phase check).")
    var singlePhase = false

    func validate() throws {
        if manifest != nil {
            guard baseline == nil, followUp == nil else {
                throw ValidationError("give either --manifest or BASELINE FOLLOWUP, not both")
            }
            guard (baselineLiverMasks + baselineLesionMasks + followUpLiverMasks + followUpLesionMasks).isEmpty,
                baselineSeries == nil, followUpSeries == nil
            else {
                throw ValidationError("with --manifest the masks and series come from the manifest")
            }
        } else if baseline == nil || followUp == nil {
            throw ValidationError("give BASELINE and FOLLOWUP (or --manifest PAIRS.json)")
        }
    }

    func run() throws {
        if let manifest { return try runManifest(manifest) }
        guard let baseline, let followUp else { return }
        do {
            let b = try Side.load(
                name: "baseline", path: baseline, liverMasks: baselineLiverMasks.map(MaskSpec.init),
                lesionMasks: baselineLesionMasks.map(MaskSpec.init), series: baselineSeries, singlePhase: singlePhase)
            let f = try Side.load(
                name: "follow-up", path: followUp, liverMasks: followUpLiverMasks.map(MaskSpec.init),
                lesionMasks: followUpLesionMasks.map(MaskSpec.init), series: followUpSeries, singlePhase: singlePhase)
            var c = try Comparison.compare(b, f)
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try PairManifest.write(&c, baseline: b, followUp: f, to: out)
            } catch {
                throw DicomError.cannotWrite(file: out, reason: "\(error)")
            }
            let data = try c.json()
            if json {
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(c.summaryText)
                for w in c.warnings { print("warning: \(w)") }
                print("Report    \(out)/compare.json")
                print(
                    c.picture.map { "Picture   \(out)/\($0)" }
                        ?? "Picture   none (\([b.ctNote, f.ctNote].compactMap { $0 }.joined(separator: "; ")))")
            }
        } catch { throw fail(error) }
    }

    /// Every pair of the manifest; exit 0 when all compared, 80 when some failed, 81 when all did.
    func runManifest(_ path: String) throws {
        do {
            let entries = try PairManifest.load(path)
            let rows = try PairManifest.run(
                entries, out: out, singlePhase: singlePhase, classify: { HTBExit.failureClass($0).rawValue },
                progress: { r in
                    let line =
                        r.comparison.map { "\(r.id): \($0.response.category) (\($0.response.reason))" }
                        ?? "\(r.id): FAILED (\(r.errorClass ?? "")): \(r.error ?? "")"
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                })
            let failed = rows.filter { $0.comparison == nil }.count
            print("\(rows.count - failed) of \(rows.count) pairs compared; \(out)/summary.csv")
            if failed == rows.count && failed > 0 { throw HTBExit.allFailed.code }
            if failed > 0 { throw HTBExit.someFailed.code }
        } catch let e as ExitCode {
            throw e
        } catch { throw fail(error) }
    }
}
