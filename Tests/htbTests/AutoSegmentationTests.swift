import Analysis
import AutoSegmentation
import DicomIO
import Evaluation
import Foundation
import Testing
import VolumeModel

/// The liver segmenter (version 0) on the real cases and a sample, measured with Dice against
/// the expert masks. The floor asserted here is the current baseline, not issue 4's target
/// (0.92 real, 0.95 phantoms): it catches regressions while the method is improved.
@Suite("Automatic liver segmentation (v0)", .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)))
struct AutoSegmentationTests {
    static func dice(study: String, liver: [String], lesions: [String]) throws -> Double {
        let a = try Analysis.run(.init(studyPath: study, liverMasks: liver.map(MaskSpec.init), lesionMasks: lesions.map(MaskSpec.init)))
        let whole = a.liver.union(a.lesions)
        let result = try #require(LiverSegmenter.segment(a.ct.volume))
        let m = try Metrics.overlap(predicted: result.liver, truth: whole)
        print("liver v0 \(study.split(separator: "/").suffix(2).joined(separator: "/")): Dice \(String(format: "%.3f", m.dice)), "
              + String(format: "%.0f mL vs %.0f mL, mode %.0f HU, SD %.1f", m.predictedVolumeML, m.truthVolumeML, result.modeHU, result.robustSDHU))
        return m.dice
    }

    static let cases: [(String, [String], [String])] = [
        ("3Dircadb1.17", ["3Dircadb1.17/MASKS_DICOM/liver"], ["3Dircadb1.17/MASKS_DICOM/livertumor1", "3Dircadb1.17/MASKS_DICOM/livertumor2"]),
        ("HCC-TACE-Seg/1720", ["HCC-TACE-Seg/1720/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Liver.dcm"], ["HCC-TACE-Seg/1720/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Tumor.dcm"]),
        ("HCC-TACE-Seg/0697", ["HCC-TACE-Seg/0697/31_EQP_Ax5.00mm_ManualROI_Liver.dcm"], ["HCC-TACE-Seg/0697/31_EQP_Ax5.00mm_ManualROI_Tumor.dcm"]),
    ]

    /// Measured when written: 0.910 (IRCADb 17), 0.877 (1720, leaks ~350 mL), 0.942 (0697).
    @Test("liver Dice on a real case stays at or above the v0 baseline (0.85)", arguments: 0..<3)
    func realCase(_ n: Int) throws {
        let d = Paths.realData + "/", c = Self.cases[n]
        let dice = try Self.dice(study: d + c.0, liver: c.1.map { d + $0 }, lesions: c.2.map { d + $0 })
        #expect(dice >= 0.85)
    }
}
