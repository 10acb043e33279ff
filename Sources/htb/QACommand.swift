import Analysis
import ArgumentParser
import AutoSegmentation
import Foundation
import Phantom
import Response

struct QACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qa",
        abstract:
            "How far a segmentation is from the expert's: Dice, Jaccard, RVD, ASSD, HD95, lesion detection, HTB error.",
        discussion: Help.discussion(
            "Masks in any form analyze accepts. Judged: htb's automatic segmentation, or masks given with "
                + "--pred-liver/--pred-lesion (one kind given: the other is automatic). Thresholds make it a gate.",
            examples: [
                "htb qa \(Help.sample) --truth-liver \(Help.sample)/truth/seg.dcm:Liver --truth-lesion '\(Help.sample)/truth/seg.dcm:Lesion*'",
                "htb qa \(Help.sample) --truth-liver \(Help.sample)/truth/seg.dcm:Liver --truth-lesion '\(Help.sample)/truth/seg.dcm:Lesion*' --min-liver-dice 0.9 --json",
            ],
            exits: Help.reading + [.badMask, .segmentationFailed, .qaFailed]))

    @Argument(help: "The study (omit with --manifest).") var study: String?
    @Option(name: .customLong("truth-liver"), help: "Expert liver mask (repeatable).") var truthLiver: [String] = []
    @Option(name: .customLong("truth-lesion"), help: "Expert lesion mask (repeatable).") var truthLesions: [String] = []
    @Option(name: .customLong("pred-liver"), help: "Liver mask to judge (repeatable).") var predLiver: [String] = []
    @Option(name: .customLong("pred-lesion"), help: "Lesion mask to judge (repeatable).") var predLesions: [String] = []
    @Option(help: "Series (as for analyze).") var series: String?
    @Option(
        help:
            "Cases as JSON: {\"cases\": [{\"name\", \"study\", \"truth_liver\", \"truth_lesions\", \"pred_liver\", \"pred_lesions\"}]}."
    ) var manifest: String?
    @Option(help: "Write one CSV row a case to this file.") var csv: String?
    @Flag(help: "Print the results as JSON.") var json = false
    @Option(name: .customLong("min-liver-dice")) var minLiverDice: Double?
    @Option(name: .customLong("min-lesion-dice"), help: "Gated where the truth holds >= 5 mL of lesions.")
    var minLesionDice: Double?
    @Option(name: .customLong("max-htb-error"), help: "Largest HTB error in points.") var maxHTBError: Double?
    @Option(name: .customLong("min-lesion-recall")) var minLesionRecall: Double?
    @Flag(name: .customLong("require-category"), help: "Fail when the HTB category differs.") var requireCategory =
        false
    @Option(
        name: .customLong("without-stage"),
        help: ArgumentHelp(
            "Switch an automatic stage off, for ablation studies (repeatable): \(AutoSegmentation.Stage.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "stage"))
    var withoutStages: [String] = []

    @Flag(
        name: .customLong("seeds-from-truth"),
        help:
            "Judge one click per lesion: a seed at each truth lesion's deepest point, grown inside the judged liver (--pred-liver, else automatic)."
    )
    var seedsFromTruth = false

    @Flag(
        name: .customLong("single-phase"),
        help:
            "Look at the measured series alone: no other phase of the session (lesions only another phase shows and the automatic liver's phase check; with --seeds-from-truth, the phases the seeds may grow on)."
    )
    var singlePhase = false

    @Option(help: "Judge a comparison (htb compare's compare.json) instead of a segmentation; needs --follow-up-truth.")
    var comparison: String?

    @Option(
        name: .customLong("follow-up-truth"),
        help: "The follow-up phantom's truth.json (htb synth --follow-up-of) to judge --comparison against.")
    var followUpTruth: String?

    func validate() throws {
        if comparison != nil || followUpTruth != nil {
            guard comparison != nil, followUpTruth != nil, study == nil, manifest == nil else {
                throw ValidationError("--comparison and --follow-up-truth go together, without a STUDY or --manifest")
            }
            return
        }
        if manifest == nil && study == nil { throw ValidationError("give a STUDY or --manifest") }
        if seedsFromTruth && !predLesions.isEmpty {
            throw ValidationError("--seeds-from-truth grows the lesions to judge: give no --pred-lesion")
        }
        if manifest != nil && study != nil { throw ValidationError("give a STUDY or --manifest, not both") }
        for name in withoutStages where AutoSegmentation.Stage(rawValue: name) == nil {
            throw ValidationError(
                "--without-stage \(name): unknown stage; stages are \(AutoSegmentation.Stage.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
    }

    /// A comparison against the truth of a phantom pair: category, tumour change, and the matching
    /// when both sides used the truth masks. Exit 82 when the matching is wrong, or with
    /// --require-category when the category differs, or with --max-htb-error when the tumour
    /// change is off by more than that many points.
    func runComparison(_ path: String, truth truthPath: String) throws {
        do {
            let c = try JSONDecoder().decode(Comparison.self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
            let t = try JSONDecoder().decode(
                PhantomTruth.self, from: try Data(contentsOf: URL(fileURLWithPath: truthPath)))
            let truthMasks = (c.baseline.maskSources + c.followUp.maskSources).allSatisfy { $0 == "expert" }
            let q = try ComparisonQA.judge(c, truth: t, truthMasks: truthMasks)
            if json {
                FileHandle.standardOutput.write(try JSONEncoder.htbPretty.encode(q))
                print()
            } else {
                let f = { (v: Double?) in v.map { String(format: "%+.1f %%", $0) } ?? "-" }
                print(
                    "category \(q.category) (truth \(q.truthCategory)): \(q.categoryAgrees ? "same" : "DIFFERS"); tumour change \(f(q.tumourChangePercent)) (truth \(f(q.truthTumourChangePercent)), error \(q.tumourChangeErrorPoints.map { String(format: "%.1f points", $0) } ?? "-")); matching \(q.matching): \(q.matchingDetail)"
                )
            }
            var failures: [String] = []
            if q.matching == "wrong" { failures.append("the lesion matching differs from the truth's") }
            if requireCategory && !q.categoryAgrees {
                failures.append("category \(q.category), truth \(q.truthCategory)")
            }
            if let m = maxHTBError, let e = q.tumourChangeErrorPoints, e > m {
                failures.append(String(format: "tumour change off by %.1f points (limit %.1f)", e, m))
            }
            for f in failures { FileHandle.standardError.write("htb: qa: \(f)\n".data(using: .utf8)!) }
            if !failures.isEmpty { throw ExitCode(HTBExit.qaFailed.rawValue) }
        } catch let e as ExitCode {
            throw e
        } catch { throw fail(error) }
    }

    func run() throws {
        if let comparison, let followUpTruth { return try runComparison(comparison, truth: followUpTruth) }
        var cases: [QACase]
        do {
            cases =
                try manifest.map(QualityAssurance.manifest) ?? [
                    QACase(
                        name: study!, studyPath: study!, series: series, truthLiver: truthLiver.map(MaskSpec.init),
                        truthLesions: truthLesions.map(MaskSpec.init),
                        predictedLiver: predLiver.map(MaskSpec.init), predictedLesions: predLesions.map(MaskSpec.init))
                ]
        } catch { throw fail(error) }
        let off = Set(withoutStages.compactMap(AutoSegmentation.Stage.init(rawValue:)))
        for n in cases.indices {
            cases[n].without = off
            cases[n].seedsFromTruth = seedsFromTruth
            cases[n].singlePhase = singlePhase
        }
        var gates = QAGates()
        gates.minLiverDice = minLiverDice
        gates.minLesionDice = minLesionDice
        gates.maxHTBErrorPoints = maxHTBError
        gates.minLesionRecall = minLesionRecall
        gates.requireCategoryAgreement = requireCategory
        var results: [QAResult] = []
        var failures: [String] = []
        for c in cases {
            do {
                let r = try QualityAssurance.evaluate(c)
                results.append(r)
                failures += gates.failures(r).map { "\(c.name): \($0)" }
            } catch {
                if cases.count == 1 { throw fail(error) }
                failures.append("\(c.name): \(error)")
            }
        }
        if let csv {
            do { try writeAtomically(Data(QualityAssurance.csv(results).utf8), to: csv) } catch { throw fail(error) }
        }
        if json {
            FileHandle.standardOutput.write(try JSONEncoder.htbPretty.encode(results))
            print()
        } else {
            func f(_ v: Double?, _ p: Int = 3) -> String { v.map { String(format: "%.\(p)f", $0) } ?? "-" }
            print(
                "case | liver Dice | liver HD95 mm | lesion Dice | lesion recall (>=10 mm) | HTB pred / truth | error | category"
            )
            for r in results {
                print(
                    "\(r.name) | \(f(r.liver.dice)) | \(f(r.liver.hausdorff95MM, 1)) | \(f(r.lesions.dice)) | \(f(r.detection.recall, 2)) (\(f(r.detection10mm.recall, 2))) | "
                        + "\(f(r.htbPredictedPercent, 2)) / \(f(r.htbTruthPercent, 2)) | \(f(r.htbAbsoluteErrorPoints, 2)) | \(r.categoryAgrees ? "same" : "\(r.categoryPredicted) vs \(r.categoryTruth)")"
                )
                for (n, s) in (r.seeded ?? []).enumerated() {
                    print(
                        "  seed \(n + 1) \(s.outcome.seed.positionMM): truth \(f(s.truthVolumeML, 2)) mL, grown \(f(s.grownVolumeML, 2)) mL, Dice \(f(s.dice)); \(s.outcome.message)"
                    )
                }
            }
        }
        for f in failures { FileHandle.standardError.write("htb: qa: \(f)\n".data(using: .utf8)!) }
        if !failures.isEmpty { throw ExitCode(HTBExit.qaFailed.rawValue) }
    }
}
