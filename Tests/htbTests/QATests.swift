import Analysis
import Foundation
import Testing

/// `htb qa` on a sample phantom: the truth against itself, against a partial lesion mask, gates.
@Suite("QA")
struct QATests {
    static let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-low"

    @Test("the truth against itself is perfect; a missing lesion shows in Dice, recall and HTB error")
    func metrics() throws {
        let seg = Self.sample + "/truth/seg.dcm"
        let same = try QualityAssurance.evaluate(
            QACase(
                name: "same", studyPath: Self.sample,
                truthLiver: [MaskSpec(seg + ":Liver")], truthLesions: [MaskSpec(seg + ":Lesion*")],
                predictedLiver: [MaskSpec(Self.sample + "/truth/labels.nii.gz:1")],
                predictedLesions: [MaskSpec(Self.sample + "/truth/labels.nii.gz:2")]))
        #expect(same.liver.dice == 1 && same.lesions.dice == 1 && same.liver.hausdorff95MM == 0)
        #expect(
            same.detection.recall == 1 && same.detection.precision == 1 && same.htbAbsoluteErrorPoints == 0
                && same.categoryAgrees)
        // Only the largest lesion predicted: lesion Dice 2 x 122.66 / (122.66 + 319.75), recall 1/5.
        let partial = try QualityAssurance.evaluate(
            QACase(
                name: "partial", studyPath: Self.sample,
                truthLiver: [MaskSpec(seg + ":Liver")], truthLesions: [MaskSpec(seg + ":Lesion*")],
                predictedLiver: [MaskSpec(seg + ":Liver")], predictedLesions: [MaskSpec(seg + ":Lesion 1")]))
        #expect(
            abs(
                partial.lesions.dice - 2 * partial.lesions.predictedVolumeML
                    / (partial.lesions.predictedVolumeML + partial.lesions.truthVolumeML)) < 1e-9)
        #expect(abs(partial.detection.recall! - 1.0 / 5) < 1e-9 && partial.detection.precision == 1)
        #expect(partial.liver.dice == 1)  // whole liver = liver united with lesions: unchanged
        #expect(abs(partial.htbAbsoluteErrorPoints - (partial.htbTruthPercent - partial.htbPredictedPercent)) < 1e-9)
        var gates = QAGates()
        gates.minLesionRecall = 0.9
        gates.maxHTBErrorPoints = 1
        #expect(gates.failures(partial).count == 2)
        #expect(gates.failures(same).isEmpty)
    }

    @Test("htb qa through the CLI: manifest, CSV, gate exit 82, no judged masks: automatic")
    func cli() throws {
        let dir = Paths.temporaryDirectory()
        let manifest = """
            {"cases": [
              {"name": "same", "study": "\(Self.sample)", "truth_liver": ["\(Self.sample)/truth/seg.dcm:Liver"], "truth_lesions": ["\(Self.sample)/truth/seg.dcm:Lesion*"],
               "pred_liver": ["\(Self.sample)/truth/labels.nii.gz:1"], "pred_lesions": ["\(Self.sample)/truth/labels.nii.gz:2"]},
              {"name": "partial", "study": "\(Self.sample)", "truth_liver": ["\(Self.sample)/truth/seg.dcm:Liver"], "truth_lesions": ["\(Self.sample)/truth/seg.dcm:Lesion*"],
               "pred_liver": ["\(Self.sample)/truth/seg.dcm:Liver"], "pred_lesions": ["\(Self.sample)/truth/seg.dcm:Lesion 1"]}
            ]}
            """
        try manifest.write(toFile: dir + "/cases.json", atomically: true, encoding: .utf8)
        let ok = try runHTB([
            "qa", "--manifest", dir + "/cases.json", "--csv", dir + "/qa.csv", "--min-liver-dice", "0.95",
        ])
        #expect(ok.status == 0, "\(ok.stderr)")
        let rows = try String(contentsOfFile: dir + "/qa.csv", encoding: .utf8).split(separator: "\n")
        #expect(
            rows.count == 3 && rows[0].hasPrefix("case,series,liver_dice")
                && rows[0].hasSuffix("predicted_source,segmentation_seconds,automatic_review_needed,review_reasons"))
        #expect(rows[1].hasSuffix(",given,,,"))
        let gated = try runHTB(["qa", "--manifest", dir + "/cases.json", "--max-htb-error", "2"])
        #expect(gated.status == 82 && gated.stderr.contains("partial: HTB error"))
        let noPred = try runHTB([
            "qa", Self.sample, "--truth-liver", Self.sample + "/truth/seg.dcm:Liver", "--truth-lesion",
            Self.sample + "/truth/seg.dcm:Lesion*",
        ])
        // No judged masks: htb's automatic segmentation is judged.
        #expect(noPred.status == 0, "\(noPred.stderr)")
        let auto = try runHTB([
            "qa", Self.sample, "--truth-liver", Self.sample + "/truth/seg.dcm:Liver", "--truth-lesion",
            Self.sample + "/truth/seg.dcm:Lesion*", "--json",
        ])
        let results = try JSONSerialization.jsonObject(with: Data(auto.stdout.utf8)) as! [[String: Any]]
        #expect(results.first?["predicted_source"] as? String == "automatic")
    }
}
