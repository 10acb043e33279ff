import Analysis
import DicomIO
import Evaluation
import Filters
import Foundation
import Phantom
import Testing
import VolumeModel
import Volumetry

@testable import AutoSegmentation

/// Automatic segmentation judged against the expert's masks, through `htb qa`'s own code.
/// The floors asserted here are the figures measured when the method last changed (a regression
/// net), printed on every run; issue 4's targets (liver Dice 0.92 real / 0.95 phantoms, lesion
/// Dice 0.60 where the truth holds >= 5 mL, HTB within 2 points) are tracked in README.
enum AutoSegmentationFigures {
    static func judge(_ name: String, study: String, liver: [String], lesions: [String]) throws -> QAResult {
        let r = try QualityAssurance.evaluate(
            QACase(
                name: name, studyPath: study, truthLiver: liver.map(MaskSpec.init),
                truthLesions: lesions.map(MaskSpec.init),
                predictedLiver: [], predictedLesions: []))
        print(
            String(
                format:
                    "automatic %@: liver Dice %.3f (%.0f vs %.0f mL), lesion Dice %.3f (%.1f vs %.1f mL), HTB %.2f vs %.2f (error %.2f), category %@, %.2f s",
                name, r.liver.dice, r.liver.predictedVolumeML, r.liver.truthVolumeML, r.lesions.dice,
                r.lesions.predictedVolumeML, r.lesions.truthVolumeML,
                r.htbPredictedPercent, r.htbTruthPercent, r.htbAbsoluteErrorPoints,
                r.categoryAgrees ? "same" : "differs", r.segmentationSeconds ?? 0))
        return r
    }
}

@Suite(
    "Automatic segmentation on the real cases", .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)))
struct AutoSegmentationRealTests {
    /// (name, study, liver truth, lesion truth, floors: liver Dice, lesion Dice or nil, largest HTB
    /// error; the review flag's reasons as measured: IRCADb meets every target and is not flagged,
    /// 1720 misses the lesion Dice target and is (3.3 % of its liver left of the spine; 43 mL of
    /// dark tissue against the liver inside its outline, htb-auto/34; the refinement removed
    /// 15 %), 0697 meets them and is (its small left lobe stops at the spine's
    /// midline; 13 mL of dark hilum tissue against 6 mL of lesion))
    static let cases: [(String, String, [String], [String], Double, Double?, Double, [String])] = [
        (
            "IRCADb 17", "3Dircadb1.17/PATIENT_DICOM", ["3Dircadb1.17/MASKS_DICOM/liver"],
            ["3Dircadb1.17/MASKS_DICOM/livertumor1", "3Dircadb1.17/MASKS_DICOM/livertumor2"],
            0.925, 0.62, 1.1, []
        ),
        // 1720's liver floor needs the vena cava step (htb-auto/9: 0.951; 0.940 without it).
        (
            "HCC 1720", "HCC-TACE-Seg/1720", ["HCC-TACE-Seg/1720/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Liver.dcm"],
            ["HCC-TACE-Seg/1720/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Tumor.dcm"],
            0.945, 0.41, 1.1, ["left_lobe_missing", "dark_mass_on_liver", "large_correction"]
        ),
        (
            "HCC 0697", "HCC-TACE-Seg/0697", ["HCC-TACE-Seg/0697/31_EQP_Ax5.00mm_ManualROI_Liver.dcm"],
            ["HCC-TACE-Seg/0697/31_EQP_Ax5.00mm_ManualROI_Tumor.dcm"],
            0.925, nil, 0.8, ["left_lobe_missing", "unexplained_dark_tissue"]
        ),
    ]

    @Test("without masks, HCC 1720's delayed series is chosen over its arterial one (phase preference)")
    func phaseChoice() throws {
        let inventory = try Inventory.scan(Paths.realData + "/HCC-TACE-Seg/1720")
        let choice = try SeriesChooser.choose(in: inventory, selector: nil, masks: [])
        #expect(choice.entry.seriesDescription == "31_EQP_Ax5.00mm" && choice.entry.phaseHint == "delayed")
        #expect(choice.reason.contains("preferred phase"))
    }

    @Test("liver, lesions and HTB stay at or above the measured floors", arguments: 0..<3)
    func realCase(_ n: Int) throws {
        let d = Paths.realData + "/", c = Self.cases[n]
        let r = try AutoSegmentationFigures.judge(
            c.0, study: d + c.1, liver: c.2.map { d + $0 }, lesions: c.3.map { d + $0 })
        #expect(r.liver.dice >= c.4)
        if let floor = c.5 { #expect(r.lesions.dice >= floor) }
        #expect(r.htbAbsoluteErrorPoints <= c.6)
        #expect(r.segmentationSeconds != nil)
        #expect((r.automatic?.reviewReasons ?? []).map(\.code) == c.7, "\(r.automatic?.reviewReasons ?? [])")
        if c.0 == "HCC 1720" {
            // Its arterial phase is searched for lesions only it shows (its lung bases 7.6 mm
            // higher, taken back); it shows none (htb-auto/46).
            let p = r.automatic?.phases?.first
            #expect(p?.lesionsSearched == true && abs((p?.shiftMM ?? 0) - 7.6) < 0.5)
            #expect(r.automatic?.otherPhaseLesionsAddedML == 0)
        }
    }

    /// The CT series `study`'s masks belong to (chosen as analyze chooses it) and, on its grid,
    /// the union of each group of mask paths.
    static func load(_ study: String, masks groups: [[String]]) throws -> (CTVolume, [Mask]) {
        let loaded = try groups.map { try $0.map { (MaskSpec($0), try LoadedMask.load(MaskSpec($0))) } }
        let choice = try SeriesChooser.choose(
            in: try Inventory.scan(study), selector: nil, masks: loaded.flatMap { $0.map(\.1) })
        let ct = try SeriesLoader.loadCT(choice.entry)
        return (ct.volume, try loaded.map { try Analysis.unite($0, ct: ct).0 })
    }

    /// Liver Dice of the automatic liver on `study` with every HU above 0 scaled by each of `gains`
    /// (water, fat and air unchanged): a weaker or stronger contrast enhancement, as in
    /// Benchmarks/robustness.py (there through DICOM copies, here in memory; the same figures).
    /// The study and the truth are read once.
    static func liverDice(_ study: String, truth: [String], enhancementGains gains: [Double]) throws -> [Double] {
        let (ct, united) = try load(study, masks: [truth])
        let t = united[0]
        return try gains.map { gain in
            let dice = try Metrics.overlap(
                predicted: try AutoSegmentation.segment(withEnhancement(ct, gain: gain)).liver, truth: t
            ).dice
            print(
                String(
                    format: "automatic liver, enhancement x %.1f, %@: Dice %.3f", gain,
                    (study as NSString).lastPathComponent, dice))
            return dice
        }
    }

    /// `ct` with every HU above 0 scaled by `gain` (see `liverDice`).
    static func withEnhancement(_ ct: CTVolume, gain: Double) -> CTVolume {
        var changed = ct
        for v in changed.voxels.indices where changed.voxels[v] > 0 {
            changed.voxels[v] = Int16(min(Double(Int16.max), (Double(changed.voxels[v]) * gain).rounded()))
        }
        return changed
    }

    /// At 1.2 x enhancement the surface step's dark band takes in a neighbour of each of IRCADb's
    /// two surface lesions; until htb-auto/17 the joined cores failed the fill test (0.17 and 0.19)
    /// and both lesions stayed outside the liver: lesion Dice 0.001, HTB error 8.41 (measured
    /// 0.448 and 0.28 since, 0.471 and 1.19 with htb-auto/20, as in Benchmarks/robustness.py).
    @Test("with the enhancement 20 % stronger, IRCADb's surface lesions still join the liver")
    func strongerEnhancementSurfaceLesions() throws {
        let (lesionDice, htbError) = try Self.ircadbLesions("enhancement x 1.2") { Self.withEnhancement($0, gain: 1.2) }
        #expect(lesionDice >= 0.4 && htbError <= 2)
    }

    /// At 1.2 x enhancement IRCADb's hepatic veins (180-200 HU) lie above the liver step's band
    /// (top 172 HU) and perforate it; before htb-auto/44 the 10 mm erosion then lost a third of
    /// the core and the dome with two lesions (liver Dice 0.912, lesion Dice 0.486, HTB error
    /// 1.73, no review flag). With the vessel holes seen as tissue: 0.929 / 0.659 / 0.86.
    @Test("with the enhancement 20 % stronger, IRCADb's veins above the band do not cut its dome off")
    func strongerEnhancementVeins() throws {
        let r = try Self.ircadb("enhancement x 1.2") { Self.withEnhancement($0, gain: 1.2) }
        #expect(r.liverDice >= 0.92 && r.lesionDice >= 0.6 && r.htbError <= 2, "\(r)")
    }

    /// At 1.1 x enhancement the 4 mm region around IRCADb's 85 mL dome lesion (under the right
    /// lung, with calcifications) had only 0.187 of its boundary on the liver, against the surface
    /// step's limit of 0.2: it was left out (liver Dice 0.923, lesion Dice 0.467, HTB error 1.54,
    /// no review flag; 0.202-0.216 on the original, 0.159-0.188 with steatosis). Half of that
    /// boundary lies beyond the diaphragm, on the lung; left out of the share (htb-auto/45), the
    /// contact is 0.274, and the switch `lung_side` off brings the loss back.
    @Test("with the enhancement 10 % stronger, IRCADb's dome lesion under the lung joins the liver")
    func domeLesionUnderTheLung() throws {
        let r = try Self.ircadb("enhancement x 1.1") { Self.withEnhancement($0, gain: 1.1) }
        #expect(r.liverDice >= 0.93 && r.lesionDice >= 0.6 && r.htbError <= 1, "\(r)")
        let off = try Self.ircadb("enhancement x 1.1, lung_side off", without: [.lungSide]) {
            Self.withEnhancement($0, gain: 1.1)
        }
        #expect(off.lesionDice < 0.55 && off.htbError > 1, "\(off)")
    }

    /// Lesion Dice and HTB error of the automatic segmentation of IRCADb's CT as `change` leaves it
    /// (against the expert's masks, which the change does not touch); printed with `label`.
    static func ircadbLesions(_ label: String, _ change: (CTVolume) -> CTVolume) throws -> (
        lesionDice: Double, htbError: Double
    ) {
        let r = try ircadb(label, change)
        return (r.lesionDice, r.htbError)
    }

    /// Liver Dice, lesion Dice and HTB error of the automatic segmentation of IRCADb's CT as
    /// `change` leaves it (see `ircadbLesions`).
    static func ircadb(
        _ label: String, without off: Set<AutoSegmentation.Stage> = [], _ change: (CTVolume) -> CTVolume
    ) throws -> (liverDice: Double, lesionDice: Double, htbError: Double) {
        let d = Paths.realData + "/", c = Self.cases[0]
        let (ct, masks) = try Self.load(d + c.1, masks: [c.2.map { d + $0 }, c.3.map { d + $0 }])
        let truthLiver = masks[0].union(masks[1]), truthLesions = masks[1]
        let r = try AutoSegmentation.segment(change(ct), without: off)
        let liverDice = try Metrics.overlap(predicted: r.liver, truth: truthLiver).dice
        let lesionDice = try Metrics.overlap(predicted: r.lesions, truth: truthLesions).dice
        let htbError = abs(
            100 * r.lesions.volumeML / r.liver.volumeML - 100 * truthLesions.volumeML / truthLiver.volumeML)
        print(
            String(
                format: "IRCADb, %@: liver Dice %.3f, lesion Dice %.3f, HTB error %.2f", label, liverDice, lesionDice,
                htbError))
        return (liverDice, lesionDice, htbError)
    }

    /// Gaussian noise of SD 10 HU (seeded) added inside the body, as Benchmarks/robustness.py does
    /// with numpy's draws.
    static func withNoise(_ ct: CTVolume, sdHU: Double, seed: UInt64) -> CTVolume {
        var rng = SeededGenerator(seed: seed), changed = ct
        for v in changed.voxels.indices where changed.voxels[v] > -900 {
            changed.voxels[v] = Int16(
                max(-1024, min(Double(Int16.max), (Double(changed.voxels[v]) + sdHU * rng.gaussian()).rounded())))
        }
        return changed
    }

    /// Before htb-auto/20's hysteresis seeds, two of eight such draws (seeds 1 and 2) joined the
    /// left lobe's 79 mL lesion to a faint band beside the stomach in one elongated seed, which was
    /// rejected: lesion Dice 0.282 / 0.274, HTB error 6.41 / 6.09; since, 0.592-0.629 and at most
    /// 1.04 over all eight.
    @Test("with 10 HU more noise (a draw that lost IRCADb's left-lobe lesion before htb-auto/20), both lesions stay")
    func noisierIRCADb() throws {
        let (lesionDice, htbError) = try Self.ircadbLesions("10 HU more noise (seed 1)") {
            Self.withNoise($0, sdHU: 10, seed: 1)
        }
        #expect(lesionDice >= 0.55 && htbError <= 1.5)
    }

    /// With the small-lesion step's closing and shape tests removed, vessel pieces of 1.1-2.6 mL at
    /// 163-177 HU and a 6.3 mL fissure region became lesions here (15 finds instead of 4).
    @Test(
        "lesions on IRCADb's expert liver (portal venous phase, enhanced vessels throughout): nothing brighter than the parenchyma away from the expert lesions, under 3.5 mL in all"
    )
    func noVesselLesions() throws {
        let d = Paths.realData + "/", c = Self.cases[0]
        let (ct, masks) = try Self.load(d + c.1, masks: [c.2.map { d + $0 }, c.3.map { d + $0 }])
        let (liver, lesions) = (masks[0], masks[1])
        let r = try AutoSegmentation.segment(ct, liver: liver.union(lesions))
        var parenchyma: [Int16] = []
        for v in stride(from: 0, to: liver.voxels.count, by: 5) where liver.voxels[v] != 0 && lesions.voxels[v] == 0 {
            parenchyma.append(ct.voxels[v])
        }
        parenchyma.sort()
        let parenchymaHU = Double(parenchyma[parenchyma.count / 2])
        let near = Filters.dilate(lesions, radiusMM: 10)
        var awayML = 0.0, brightAway: [String] = []
        for part in components(of: r.lesions, connectivity: .faces6).voxels
        where !part.contains(where: { near.voxels[$0] != 0 }) {
            let hu = part.map { ct.voxels[$0] }.sorted()[part.count / 2]
            let ml = Double(part.count) * ct.geometry.voxelVolumeMM3 / 1000
            awayML += ml
            if Double(hu) >= parenchymaHU - 10 { brightAway.append(String(format: "%.2f mL at %d HU", ml, hu)) }
        }
        print(
            String(
                format:
                    "IRCADb, expert liver: %.2f mL of lesions farther than 10 mm from the expert's (parenchyma %.0f HU); small-lesion step %d",
                awayML, parenchymaHU, r.info.smallLesionsFound ?? -1))
        #expect(brightAway.isEmpty, "\(brightAway)")
        #expect(awayML <= 3.5)
    }

    /// htb-auto/9 added the heart (0697 at 1.2: 243 mL, Dice 0.815; 1720 at 0.8: 729 + 284 mL of
    /// heart and bowel, Dice 0.607) as lobes "cut off by a surface lesion"; htb-auto/10 does not
    /// look for such lobes in parenchyma-dominated livers (0.927 and 0.824). At 1.2, 1720's bowel
    /// beside the hilum passed the surface step's contact test (300 mL, Dice 0.850); htb-auto/11's
    /// fill test keeps that network of loops out (0.954). 1720 at 0.8 still kept 493 mL of heart
    /// (0.824) until htb-auto/18's heart step (0.896).
    @Test("with the enhancement 20 % weaker or stronger, no heart or bowel joins the liver")
    func enhancementChange() throws {
        let d = Paths.realData + "/"
        let h0697 = Self.cases[2], h1720 = Self.cases[1]
        let d0697 = try Self.liverDice(d + h0697.1, truth: (h0697.2 + h0697.3).map { d + $0 }, enhancementGains: [1.2])
        let d1720 = try Self.liverDice(
            d + h1720.1, truth: (h1720.2 + h1720.3).map { d + $0 }, enhancementGains: [0.8, 1.2])
        #expect(d0697[0] >= 0.92)
        #expect(d1720[0] >= 0.88)
        #expect(d1720[1] >= 0.94)
    }
}

@Suite("Automatic segmentation on the sample phantoms")
struct AutoSegmentationPhantomTests {
    /// Measured when written (htb-auto/9, phantom v5; liver Dice, lesion Dice, HTB error): low
    /// 0.950 / 0.838 / 0.73 (0.943 / 0.829 / 0.89 before the partial-volume rim; htb-auto/8 0.938 /
    /// 0.819 / 0.61, before the vena cava step took the IVC out of the right lobe; 0.896 / 0.334 /
    /// 13.3 before the wide-slab hull brought back a
    /// hypodense lesion ending the left lobe, 0.938 / 0.706 / 5.44 before bright seeds had the dark
    /// seeds' ratio limit; part of a hyper-enhancing capsule lesion is still cut off),
    /// mid 0.952 / 0.971 / 0.98 (htb-auto/19: the parenchyma band 2.2 SD wide grown 60 mm, tumour
    /// caps, the IVC inside the liver all along; htb-auto/18 0.913 / 0.965 / 0.76; htb-auto/15
    /// 0.913 / 0.968 / 0.13, htb-auto/14 0.903 / 0.968 / 1.74, before that lobe brought its
    /// own parenchyma; htb-auto/13 0.854 / 0.897 / 1.36, before its left lobe's tumour
    /// core, outside the hull but wrapped by parenchyma, joined; htb-auto/11 0.814 / 0.853 / 0.65, before the right kidney, at
    /// tumour density in the arterial phase, was found as the left one's mirror image and left out;
    /// htb-auto/8 0.808 / 0.850 / 0.17; 0.788 / 0.822 / 0.87 before the left lobe's tumour core joined),
    /// high 0.951 / 0.945 / 0.97 (htb-auto/16; 0.903 / 0.899 / 0.70 before stomach and bowel
    /// darker than its hypodense tumour left the liver; htb-auto/8 0.904 / 0.903 / 0.10). A regression net, floors a little
    /// below; README gives the spread over seeds 1-6 (Benchmarks/phantom_sweep.py).
    @Test(
        "liver Dice, lesion Dice and HTB on each sample stay at or above the measured floors",
        arguments: [
            ("phantom-htb-low", 0.945, 0.83, 1.0), ("phantom-htb-mid", 0.945, 0.96, 1.5),
            ("phantom-htb-high", 0.945, 0.94, 1.0),
        ])
    func sample(_ name: String, _ liverFloor: Double, _ lesionFloor: Double, _ htbError: Double) throws {
        let s = Paths.packageRoot + "/SampleStudies/" + name
        let r = try AutoSegmentationFigures.judge(
            name, study: s, liver: [s + "/truth/seg.dcm:Liver"], lesions: [s + "/truth/seg.dcm:Lesion*"])
        #expect(r.liver.dice >= liverFloor)
        #expect(r.lesions.dice >= lesionFloor)
        #expect(r.htbAbsoluteErrorPoints <= htbError)
        #expect(r.categoryAgrees)
    }

    @Test("tumour-dominated samples are recognised: parenchyma from the second tissue, figures to the rules, a warning")
    func tumourDominated() throws {
        for (name, dominated) in [("phantom-htb-low", false), ("phantom-htb-mid", true), ("phantom-htb-high", true)] {
            let a = try Analysis.run(
                .init(studyPath: Paths.packageRoot + "/SampleStudies/" + name, liverMasks: [], lesionMasks: []))
            let info = try #require(a.report.automatic)
            #expect(info.tumourDominated == dominated, "\(name)")
            #expect(info.concerns.isEmpty, "\(name): \(info.concerns)")
            #expect(a.report.study.warnings.contains { $0.code == "automatic_tumour_dominated" } == dominated)
            #expect(!a.report.flags.contains("automatic_liver_implausible"))
            #expect(a.report.flags.contains("automatic_tumour_dominated") == dominated)
            if dominated { #expect(a.report.flags.contains("htb_below_50") == false) }
            if dominated {
                // The tumour's mode lies outside the plausible parenchyma range; the parenchyma's inside it.
                #expect(!AutoSegmentation.plausibleParenchymaHU.contains(try #require(info.tumourModeHU)))
                #expect(AutoSegmentation.plausibleParenchymaHU.contains(try #require(info.parenchymaModeHU)))
            }
            let needs = a.report.guidelines?.treatments.values.flatMap(\.needs) ?? []
            #expect(!needs.contains("htb_percent"), "\(name)")
        }
        // The expert's liver given: the lesions inside it come from the same two-tissue reading.
        let s = Paths.packageRoot + "/SampleStudies/phantom-htb-high"
        let r = try QualityAssurance.evaluate(
            QACase(
                name: "high, expert liver", studyPath: s, truthLiver: [MaskSpec(s + "/truth/seg.dcm:Liver")],
                truthLesions: [MaskSpec(s + "/truth/seg.dcm:Lesion*")],
                predictedLiver: [MaskSpec(s + "/truth/seg.dcm:Liver")], predictedLesions: []))
        #expect(
            r.lesions.dice >= 0.95 && r.htbAbsoluteErrorPoints <= 4, "\(r.lesions.dice) \(r.htbAbsoluteErrorPoints)")
    }

    /// phantom-htb-low's spec (SampleStudies/phantom-htb-low/truth.json) with another seed, in memory.
    static func lowSpecPhantom(seed: UInt64) throws -> Phantom {
        var spec = PhantomSpec()
        (spec.seed, spec.matrix, spec.slices, spec.sliceMM, spec.pixelMM) = (seed, 128, 40, 5, 2.8)
        (spec.lesions, spec.htbPercent, spec.enhancement, spec.phase) = (6, 20, "mixed", .portal)
        return try Phantom.build(spec)
    }

    @Test(
        "a fatty liver (a low-burden phantom's lowered by 30-75 HU) is never read as tumour-dominated: below 50 HU it is flagged, above it stays at the measured Dice"
    )
    func fattyLiver() throws {
        // Seed 2 of phantom-low's spec, built in memory: its normal liver is segmented well
        // (Dice 0.948), so the drops test the fatty reading, not another failure. At its own
        // density this also tests the choice of the liver's tissue among the histogram's peaks:
        // the abdominal wall's 45-50 HU peak is the highest (the liver step took it before
        // htb-auto/7: Dice 0.419).
        let p = try Self.lowSpecPhantom(seed: 2)
        let ct = p.ct
        var truth = Mask(repeating: 0, geometry: ct.geometry)
        for i in 0..<truth.voxels.count where p.labels.voxels[i] != 0 { truth.voxels[i] = 1 }
        for drop: Int16 in [0, 30, 40, 55, 75] {
            var v = ct
            // Steatosis lowers the parenchyma, not the blood in its vessels (portal 175, hepatic
            // veins 160 HU in this phantom): voxels above 140 HU keep their density.
            for i in 0..<v.voxels.count where truth.voxels[i] != 0 && v.voxels[i] <= 140 { v.voxels[i] -= drop }
            let r = try AutoSegmentation.segment(v)
            #expect(r.info.tumourDominated == false, "drop \(drop)")
            let both = zip(r.liver.voxels, truth.voxels).reduce(0) { $0 + ($1.0 != 0 && $1.1 != 0 ? 1 : 0) }
            let dice = 2 * Double(both) / Double(r.liver.insideCount + truth.insideCount)
            print(
                "fatty liver, drop \(drop) HU: liver Dice \(dice), concerns \(r.info.concerns) modes \(String(describing: r.info.liverModeHU)) \(String(describing: r.info.tumourModeHU)) \(String(describing: r.info.parenchymaModeHU)) ml \(r.liver.volumeML)"
            )
            if drop >= 55 {
                #expect(
                    r.info.concerns.count >= 1 && r.info.concerns[0].contains("outside 50-160 HU"),
                    "drop \(drop): \(r.info.concerns)")
            } else {
                // 105, 75 and 65 HU: plausible. Measured 0.949, 0.884, 0.824 (phantom v5): at 75
                // and 65 HU the liver's peak nears the abdominal wall's (50 HU) and the band
                // widens (README, "Automatic segmentation", Refinement).
                let floor: Double = [0: 0.94, 30: 0.87, 40: 0.81][drop]!
                #expect(r.info.concerns.isEmpty && dice >= floor, "drop \(drop): Dice \(dice)")
            }
        }
    }

    @Test(
        "a liver-like object of implausible density with no second tissue around it is flagged; the rules get no imaging figures"
    )
    func implausible() throws {
        // Fat body, a 200 HU ellipsoid (about 1.2 L) on the patient's right: no parenchyma anywhere.
        let g = Geometry(
            dims: Dims(96, 80, 36), originMM: Vector3(-144, -120, -90), spacingMM: Vector3(3, 3, 5),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        var ct = CTVolume(repeating: -1000, geometry: g)
        for k in 0..<36 {
            for j in 0..<80 {
                for i in 0..<96 {
                    let p = g.positionMM(Double(i), Double(j), Double(k))
                    let body = (p.x / 140) * (p.x / 140) + (p.y / 110) * (p.y / 110) <= 1
                    let organ = pow((p.x + 60) / 70, 2) + pow(p.y / 60, 2) + pow(p.z / 70, 2) <= 1
                    if body { ct[i, j, k] = organ ? Int16(200 + (i * 7 + j * 13 + k * 5) % 11 - 5) : -100 }
                }
            }
        }
        let dir = Paths.temporaryDirectory("implausible")
        try SeriesWriter.writeCT(
            ct,
            identity: SeriesIdentity(
                patientName: "Implausible^Test", patientID: "IMPL", studyUID: "2.25.2001", seriesUID: "2.25.2002",
                frameOfReferenceUID: "2.25.2003",
                studyDate: "20260101", seriesNumber: 1, seriesDescription: "implausible",
                studyDescription: "implausible", instanceUID: { "2.25.2004.\($0 + 1)" }), to: dir + "/ct")
        let a = try Analysis.run(.init(studyPath: dir + "/ct", liverMasks: [], lesionMasks: []))
        let info = try #require(a.report.automatic)
        #expect(info.tumourDominated == false)
        #expect(info.concerns.count == 1 && info.concerns[0].contains("outside 50-160 HU"), "\(info.concerns)")
        #expect(abs(try #require(info.liverModeHU) - 200) < 8)
        #expect(a.report.study.warnings.contains { $0.code == "automatic_liver_implausible" })
        #expect(a.report.flags == ["automatic_liver_implausible", Analysis.reviewFlag])
        #expect(info.reviewReasons?.first?.code == "liver_implausible")
        let needs = a.report.guidelines?.treatments.values.flatMap(\.needs) ?? []
        #expect(needs.contains("htb_percent"))
        #expect(AutoSegmentation.plausibilityConcerns(modeHU: 105, liverML: 1600).isEmpty)
        #expect(AutoSegmentation.plausibilityConcerns(modeHU: 45, liverML: 1600).count == 1)
        #expect(AutoSegmentation.plausibilityConcerns(modeHU: 105, liverML: 300).first?.contains("300 mL") == true)
    }

    @Test(
        "analyze without masks: automatic inputs, method figures and a warning in the report; lesions inside the liver")
    func analyzeWithoutMasks() throws {
        let s = Paths.packageRoot + "/SampleStudies/phantom-htb-low"
        let a = try Analysis.run(.init(studyPath: s, liverMasks: [], lesionMasks: []))
        #expect(
            a.report.inputs.liverMasks.map(\.source) == ["automatic"]
                && a.report.inputs.lesionMasks.map(\.source) == ["automatic"])
        #expect(
            a.report.inputs.liverMasks[0].method == AutoSegmentation.method && a.report.inputs.liverMasks[0].path == nil
        )
        let info = try #require(a.report.automatic)
        #expect(info.liverModeHU != nil && info.lesionThresholdHU != nil)
        #expect(a.report.study.warnings.contains { $0.code == "automatic_segmentation" })
        #expect(a.report.liver.volumeML > 500)
        #expect(a.lesions.union(a.liver).insideCount == a.liver.insideCount)
        // A liver mask given: only lesions are automatic, inside that liver.
        let b = try Analysis.run(
            .init(studyPath: s, liverMasks: [MaskSpec(s + "/truth/seg.dcm:Liver")], lesionMasks: []))
        #expect(
            b.report.inputs.liverMasks.map(\.source) == ["expert"]
                && b.report.inputs.lesionMasks.map(\.source) == ["automatic"])
        #expect(b.report.automatic?.liverModeHU == nil)
    }

    @Test("elongation: 1 for a ball, about 5.8 for a 1:20 rod (uniform rod: length / (2 sqrt 3) over radius / 2)")
    func elongation() throws {
        let g = Geometry(
            dims: Dims(41, 41, 41), originMM: Vector3(0, 0, 0), spacingMM: Vector3(1, 1, 1),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        var ball: [Int] = [], rod: [Int] = []
        for k in 0..<41 {
            for j in 0..<41 {
                for i in 0..<41 {
                    let v = i + 41 * (j + 41 * k), dx = Double(i - 20), dy = Double(j - 20), dz = Double(k - 20)
                    if dx * dx + dy * dy + dz * dz <= 100 { ball.append(v) }
                    if dy * dy + dz * dz <= 1 && abs(dx) <= 20 { rod.append(v) }
                }
            }
        }
        #expect(abs(LesionSegmenter.elongation(ball, g) - 1) < 0.01)
        #expect(LesionSegmenter.elongation(rod, g) > 5)
        let e = LesionSegmenter.symmetricEigenvalues(2, 3, 4, 1, 0, 0.5)
        // Trace and determinant of [[2,1,0],[1,3,0.5],[0,0.5,4]] are 9 and 19.5.
        #expect(abs(e.0 + e.1 + e.2 - 9) < 1e-9 && abs(e.0 * e.1 * e.2 - 19.5) < 1e-9 && e.0 <= e.1 && e.1 <= e.2)
    }

    @Test(
        "fill: about 1 for a ball and for a 3:1 solid ellipsoid, under the surface step's 0.25 for a lattice of thin loops"
    )
    func fill() throws {
        let g = Geometry(
            dims: Dims(41, 41, 41), originMM: Vector3(0, 0, 0), spacingMM: Vector3(1, 1, 1),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        var ball: [Int] = [], ellipsoid: [Int] = [], lattice: [Int] = []
        for k in 0..<41 {
            for j in 0..<41 {
                for i in 0..<41 {
                    let v = i + 41 * (j + 41 * k), dx = Double(i - 20), dy = Double(j - 20), dz = Double(k - 20)
                    if dx * dx + dy * dy + dz * dz <= 100 { ball.append(v) }
                    if dx * dx / 324 + dy * dy / 36 + dz * dz / 36 <= 1 { ellipsoid.append(v) }
                    // Rods 3 voxels thick every 10 voxels along each axis, within a 36-voxel cube: loops
                    // of bowel with fat between them.
                    let onX = j % 10 < 3 && k % 10 < 3, onY = i % 10 < 3 && k % 10 < 3, onZ = i % 10 < 3 && j % 10 < 3
                    if i < 36 && j < 36 && k < 36 && (onX || onY || onZ) { lattice.append(v) }
                }
            }
        }
        #expect(abs(LesionSegmenter.fill(ball, g) - 1) < 0.05)
        #expect(abs(LesionSegmenter.fill(ellipsoid, g) - 1) < 0.05)
        #expect(LesionSegmenter.elongation(ellipsoid, g) > 2.9)
        // The lattice is as compact as a ball by its principal axes, but mostly empty.
        #expect(LesionSegmenter.elongation(lattice, g) < 1.1)
        #expect(LesionSegmenter.fill(lattice, g) < SurfaceLesions.minimumFill)
    }

    @Test("convex hull per slice: an L-shape fills to its triangle hull, edges included; empty slices stay empty")
    func hull() throws {
        let g = Geometry(
            dims: Dims(7, 7, 2), originMM: Vector3(0, 0, 0), spacingMM: Vector3(1, 1, 1),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        var m = Mask(repeating: 0, geometry: g)
        for i in 1...5 { m[i, 5, 0] = 1 }  // bottom bar
        for j in 1...5 { m[1, j, 0] = 1 }  // left bar
        let h = Filters.convexHullPerSlice(m)
        // Hull = triangle (1,1), (1,5), (5,5): inside when i - 1 <= j - 1, i.e. i <= j.
        for j in 0..<7 {
            for i in 0..<7 {
                let inside = i >= 1 && j <= 5 && i <= j && j >= 1
                #expect((h[i, j, 0] != 0) == inside, "(\(i), \(j))")
            }
        }
        #expect((0..<49).allSatisfy { h.voxels[49 + $0] == 0 })
    }

    @Test("crop and paste: positions in mm are kept, the round trip is exact")
    func cropPaste() throws {
        let g = Geometry(
            dims: Dims(9, 8, 7), originMM: Vector3(-5, 3, 10), spacingMM: Vector3(0.5, 0.7, 2),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        var m = Mask(repeating: 0, geometry: g)
        m[3, 2, 4] = 1
        m[5, 6, 5] = 1
        let box = try #require(m.boundingBox)
        #expect(box == VoxelBox(lo: (3, 2, 4), dims: Dims(3, 5, 2)))
        let c = m.cropped(to: box)
        #expect(
            c.geometry.positionMM(0, 0, 0) == g.positionMM(3, 2, 4) && c[0, 0, 0] == 1 && c[2, 4, 1] == 1
                && c.insideCount == 2)
        #expect(Mask(repeating: 0, geometry: g).pasting(c, at: box).voxels == m.voxels)
        #expect(box.expanded(byMM: 1, in: g) == VoxelBox(lo: (1, 0, 3), dims: Dims(7, 8, 4)))
    }

    @Test(
        "surface fluid: a water-density region touching the liver's outside leaves liver and lesions; a cyst inside stays"
    )
    func surfaceFluid() {
        let g = Geometry(
            dims: Dims(30, 30, 12), originMM: .zero, spacingMM: Vector3(1.5, 1.5, 2),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        var liver = Mask(repeating: 0, geometry: g), lesions = liver
        var smooth = Volume<Float>(repeating: 100, geometry: g)
        for k in 0..<12 {
            for j in 0..<30 {
                for i in 0..<30 {
                    guard i >= 2 && i < 28 && j >= 2 && j < 28 && k >= 1 && k < 11 else { continue }
                    liver[i, j, k] = 1
                    let gallbladder = i >= 2 && i < 8 && j >= 10 && j < 16 && k >= 3 && k < 8  // on the surface
                    let cyst = i >= 14 && i < 20 && j >= 14 && j < 20 && k >= 4 && k < 8  // deep inside
                    let tumour = i >= 8 && i < 12 && j >= 10 && j < 16 && k >= 3 && k < 8  // abuts the gallbladder
                    if gallbladder || cyst {
                        smooth[i, j, k] = 8
                        lesions[i, j, k] = 1
                    }
                    if tumour {
                        smooth[i, j, k] = 55
                        lesions[i, j, k] = 1
                    }
                }
            }
        }
        let before = liver.insideCount, lesionsBefore = lesions.insideCount
        let removedML = AutoSegmentation.removeSurfaceFluid(&liver, lesions: &lesions, smooth: smooth)
        #expect(abs(removedML - Double(6 * 6 * 5) * g.voxelVolumeMM3 / 1000) < 1e-9)
        #expect(liver.insideCount == before - 180 && lesions.insideCount == lesionsBefore - 180)
        #expect(liver[4, 12, 5] == 0 && lesions[10, 12, 5] == 1 && lesions[16, 16, 5] == 1)
    }

    @Test("a hyper-enhancing lesion touching a vessel is split from it (low spec, seed 4, expert liver)")
    func brightSplit() throws {
        // Without the split its seed, joined to the IVC, was rejected as a vessel: lesion Dice 0.559;
        // with it 0.804 under the bright seeds' former ratio limit of 2, 0.917 under 2.5 (htb-auto/8).
        let p = try Self.lowSpecPhantom(seed: 4)
        let (liver, truth) = Self.truthMasks(p)
        let r = try AutoSegmentation.segment(p.ct, liver: liver)
        let dice = try Metrics.overlap(predicted: r.lesions, truth: truth).dice
        print("bright split, low spec seed 4, expert liver: lesion Dice \(dice)")
        #expect(dice >= 0.90)
    }

    @Test(
        "inferior tail: a tube leaving the liver downwards is cut whatever the slice order; a lobe ending with the liver and a broad part below it stay"
    )
    func inferiorTail() throws {
        for headFirst in [true, false] {
            // 40 x 40 x 20 voxels of 2 x 2 x 5 mm; slice k at z = 5k (head up) or -5k (k towards the feet).
            let axes = (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, headFirst ? 1 : -1))
            let g = Geometry(
                dims: Dims(40, 40, 20), originMM: Vector3(0, 0, 0), spacingMM: Vector3(2, 2, 5), axes: axes)
            var m = Mask(repeating: 0, geometry: g)
            // Height above the feet for slice k: 0 ... 19.
            func level(_ k: Int) -> Int { headFirst ? k : 19 - k }
            for k in 0..<20 {
                for j in 0..<40 {
                    for i in 0..<40 {
                        let h = level(k)
                        let body = h >= 8 && h <= 17 && i >= 4 && i < 24 && j >= 4 && j < 30  // main liver
                        // separate lobe, ends with it
                        let lobe = h >= 8 && h <= 12 && i >= 28 && i < 36 && j >= 4 && j < 12
                        let tube = h >= 1 && h <= 13 && i >= 28 && i < 33 && j >= 20 && j < 25  // IVC-like tube
                        let join = h == 13 && i >= 24 && i < 28 && j >= 20 && j < 25  // joins the tube to the body
                        if body || lobe || tube || join { m[i, j, k] = 1 }
                    }
                }
            }
            let (out, removedML) = InferiorTail.remove(m)
            var tubeLeft = 0, lobeLeft = 0, bodyLeft = 0
            for k in 0..<20 {
                for j in 0..<40 {
                    for i in 0..<40 where out[i, j, k] != 0 {
                        if i >= 28 && i < 33 && j >= 20 && j < 25 {
                            tubeLeft += 1
                        } else if i >= 28 {
                            lobeLeft += 1
                        } else {
                            bodyLeft += 1
                        }
                    }
                }
            }
            // The tube's part beside the body (levels 8-12) goes with it; the level where it joins stays.
            #expect(tubeLeft == 25, "headFirst \(headFirst)")
            #expect(lobeLeft == 5 * 8 * 8 && bodyLeft == 10 * 20 * 26 + 4 * 5)
            #expect(abs(removedML - Double(12 * 25) * 0.02) < 1e-9)
            // A broad part below the body (16 cm² in its slices) is a lobe's tip, not a tube: kept.
            var broad = m
            for k in 0..<20 where (1...7).contains(level(k)) {
                for j in 14..<40 { for i in 24..<40 { broad[i, j, k] = 1 } }
            }
            #expect(InferiorTail.remove(broad).removedML == 0)
        }
        let (regions, count) = Filters.sliceRegions(
            Mask(
                voxels: [1, 0, 1, 1, 0, 1, 0, 0, 1],
                geometry: Geometry(
                    dims: Dims(3, 3, 1), originMM: Vector3(0, 0, 0), spacingMM: Vector3(1, 1, 1),
                    axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))), slice: 0)
        // Two regions: the left column's top two pixels, and the right column.
        #expect(
            count == 2 && regions[0] == regions[3] && regions[2] == regions[5] && regions[5] == regions[8]
                && regions[0] != regions[2])
        #expect([1, 4, 6, 7].allSatisfy { regions[$0] == 0 } && regions[0] != 0 && regions[2] != 0)
    }

    @Test(
        "vena cava: the tube beside the aorta leaves the liver it runs into; a tall lesion inside the liver stays; no aorta, no removal"
    )
    func venaCava() throws {
        // 120 x 120 x 30 voxels of 1.5 x 1.5 x 5 mm, LPS axes (i towards the patient's left, k up).
        let g = Geometry(
            dims: Dims(120, 120, 30), originMM: .zero, spacingMM: Vector3(1.5, 1.5, 5),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        func inDisc(_ i: Int, _ j: Int, _ ci: Double, _ cj: Double, _ rMM: Double) -> Bool {
            let x = (Double(i) - ci) * 1.5, y = (Double(j) - cj) * 1.5
            return x * x + y * y <= rMM * rMM
        }
        func scene(
            aorta: Bool, ivc: Bool = true, aortaSlices: Range<Int> = 0..<30, enclosed: Bool = false,
            edgeLost: Range<Int> = 0..<0
        ) -> (smooth: Volume<Float>, liver: Mask) {
            var smooth = Volume<Float>(repeating: -100, geometry: g)  // fat
            var liver = Mask(repeating: 0, geometry: g)
            for k in 0..<30 {
                for j in 0..<120 {
                    for i in 0..<120 {
                        // The liver (100 HU) from slice 10 up; from slice 18 it reaches over the IVC, as an
                        // automatic liver does in the delayed phase. `enclosed`: from slice 0, over the IVC
                        // all along, as in the arterial phase, and rounded (a box's corners make tracks).
                        let (ei, ej) = ((Double(i) - 50) / 40, (Double(j) - 57.5) / 37.5)
                        let inLiver =
                            enclosed
                            ? k < 28 && ei * ei + ej * ej <= 1
                            : k >= 10 && k < 28 && j >= 20 && j < 95 && i >= 10 && i < (k >= 18 ? 90 : 66)
                        if inLiver {
                            smooth[i, j, k] = 100
                            liver[i, j, k] = 1
                        }
                        // lesion, 70 mm tall
                        if inLiver && k >= 11 && k < 25 && inDisc(i, j, 55, 40, 12) { smooth[i, j, k] = 60 }
                        // IVC, 33 mm right of the aorta; of the liver's density where its edge is lost.
                        if ivc && inDisc(i, j, 78, 70, 12) { smooth[i, j, k] = edgeLost.contains(k) ? 100 : 85 }
                        if aorta && aortaSlices.contains(k) && inDisc(i, j, 100, 60, 10) { smooth[i, j, k] = 150 }
                    }
                }
            }
            return (smooth, liver)
        }
        let (smooth, liver) = scene(aorta: true)
        let found = VenaCava.find(smooth: smooth, liver: liver, modeHU: 100)
        let track = try #require(found)
        // An aorta seen over fewer slices makes the IVC the best track; the aorta is still the
        // landmark (the best track that never enters the liver), and the same IVC is found.
        let shortAorta = scene(aorta: true, aortaSlices: 0..<20)
        let again = VenaCava.find(smooth: shortAorta.smooth, liver: shortAorta.liver, modeHU: 100)
        #expect(
            again?[20] != nil && abs((again?[20]?.i ?? 0) - 78) <= 1.5, "short aorta: \(String(describing: again?[20]))"
        )
        for k in 18..<28 {
            let c = try #require(track[k], "slice \(k)")
            #expect(abs(c.i - 78) <= 1.5 && abs(c.j - 70) <= 1.5 && abs(c.radiusMM - 12) <= 2, "slice \(k): \(c)")
        }
        var out = liver
        let cleared = VenaCava.remove(track, from: &out)
        var lesionKept = true, farCleared = 0, ivcLeft = 0
        for k in 0..<30 {
            for j in 0..<120 {
                for i in 0..<120 {
                    if liver[i, j, k] != 0 && out[i, j, k] == 0
                        && !inDisc(i, j, 78, 70, 12 + VenaCava.marginMM + 2 * 1.5)
                    {
                        farCleared += 1
                    }
                    if inDisc(i, j, 55, 40, 12) && liver[i, j, k] != 0 && out[i, j, k] == 0 { lesionKept = false }
                    if inDisc(i, j, 78, 70, 11) && out[i, j, k] != 0 { ivcLeft += 1 }
                }
            }
        }
        #expect(
            cleared > 10 * 150 && farCleared == 0 && lesionKept && ivcLeft == 0,
            "cleared \(cleared), far \(farCleared), IVC left \(ivcLeft)")
        // Inside the liver all along (no slice outside it), the IVC is still found: it is longer
        // than 80 mm and reaches the liver's end (htb-auto/19); with its edge lost over 30 mm its
        // two tracks (60 and 50 mm, each too short) are joined. The 70 mm lesion stays.
        for lost in [0..<0, 12..<18] {
            let inside = scene(aorta: true, enclosed: true, edgeLost: lost)
            let t = VenaCava.find(smooth: inside.smooth, liver: inside.liver, modeHU: 100)
            let ks = (t ?? []).indices.filter { t?[$0] != nil }
            let onIVC = ks.allSatisfy { abs(t![$0]!.i - 78) <= 1.5 && abs(t![$0]!.j - 70) <= 1.5 }
            #expect(
                ks.first == 0 && (ks.last ?? 0) >= 26 && onIVC,
                "enclosed, edge lost \(lost): slices \(ks.first ?? -1)-\(ks.last ?? -1), on the IVC \(onIVC)")
        }
        // Without the aorta nothing anchors the IVC; without the IVC, the lesion (beside the aorta
        // as the IVC would be, but never outside the liver) is not taken for it: nothing is removed.
        for (aorta, ivc) in [(false, true), (true, false)] {
            let other = scene(aorta: aorta, ivc: ivc)
            let none = VenaCava.find(smooth: other.smooth, liver: other.liver, modeHU: 100)
            #expect(none == nil, "aorta \(aorta), IVC \(ivc)")
        }
    }

    @Test(
        "right kidney: the left kidney's mirror image finds it and takes it out of a tumour it touches; no left kidney, or tumour all around the image, no removal"
    )
    func rightKidney() throws {
        // 120 x 90 x 40 voxels of 2.5 x 2.5 x 5 mm, LPS axes (i towards the patient's left, j back,
        // k up); the body's centre is at x = 150 mm.
        let g = Geometry(
            dims: Dims(120, 90, 40), originMM: .zero, spacingMM: Vector3(2.5, 2.5, 5),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        func inEllipsoid(_ i: Int, _ j: Int, _ k: Int, _ c: Vector3, _ r: Vector3) -> Bool {
            let x = (Double(i) * 2.5 - c.x) / r.x, y = (Double(j) * 2.5 - c.y) / r.y, z = (Double(k) * 5 - c.z) / r.z
            return x * x + y * y + z * z <= 1
        }
        let rightKidney = (Vector3(80, 172, 70), Vector3(27, 23, 50)),
            leftKidney = (Vector3(222, 170, 82), Vector3(27, 23, 50))
        /// Body of fat, the kidneys at 200 HU, a tumour at 185 HU; the liver step's core is the
        /// tumour with whatever of the band touches it; the band is 150-230 HU.
        func scene(left: Bool, right: Bool, tumour: (Vector3, Double)) -> (
            band: Mask, body: Mask, liver: Mask, kidney: Mask, tumour: Mask
        ) {
            var band = Mask(repeating: 0, geometry: g), body = band, kidney = band, mass = band
            for k in 0..<40 {
                for j in 0..<90 {
                    for i in 0..<120 {
                        guard inEllipsoid(i, j, k, Vector3(150, 112.5, 100), Vector3(140, 100, 1e6)) else { continue }
                        body[i, j, k] = 1
                        if inEllipsoid(i, j, k, tumour.0, Vector3(tumour.1, tumour.1, tumour.1)) {
                            mass[i, j, k] = 1
                            band[i, j, k] = 1
                        }
                        if right && inEllipsoid(i, j, k, rightKidney.0, rightKidney.1) {
                            kidney[i, j, k] = 1
                            band[i, j, k] = 1
                        }
                        if left && inEllipsoid(i, j, k, leftKidney.0, leftKidney.1) { band[i, j, k] = 1 }
                    }
                }
            }
            var liver = band
            liver = Filters.largestComponent(liver)
            for v in 0..<liver.voxels.count where mass.voxels[v] == 0 && kidney.voxels[v] == 0 { liver.voxels[v] = 0 }
            return (band, body, liver, kidney, mass)
        }
        // A tumour touching the right kidney's top from the front: the kidney goes, the tumour stays.
        let s = scene(left: true, right: true, tumour: (Vector3(80, 140, 150), 55))
        var liver = s.liver
        // The band's other cores: one inside the kidney leaves with it, the tumour's stays.
        let kidneyCore = s.kidney.voxels.indices.filter { s.kidney.voxels[$0] != 0 && s.tumour.voxels[$0] == 0 }
        let tumourCore = s.tumour.voxels.indices.filter { s.tumour.voxels[$0] != 0 }
        var cores = [kidneyCore, tumourCore]
        let removedML = Kidneys.removeRight(from: &liver, otherCores: &cores, band: s.band, body: s.body)
        #expect(cores == [tumourCore], "\(cores.map(\.count)) cores left of \([kidneyCore.count, tumourCore.count])")
        var kidneyLeft = 0, tumourLost = 0
        for v in 0..<liver.voxels.count {
            if s.kidney.voxels[v] != 0 && s.tumour.voxels[v] == 0 && liver.voxels[v] != 0 { kidneyLeft += 1 }
            if s.tumour.voxels[v] != 0 && liver.voxels[v] == 0 { tumourLost += 1 }
        }
        let kidneyCount = s.kidney.insideCount, tumourCount = s.tumour.insideCount
        #expect(
            Double(kidneyLeft) < 0.1 * Double(kidneyCount) && Double(tumourLost) < 0.05 * Double(tumourCount),
            "removed \(removedML) mL; kidney voxels left \(kidneyLeft) of \(kidneyCount), tumour lost \(tumourLost) of \(tumourCount)"
        )
        // No left kidney to mirror: nothing is removed.
        let alone = scene(left: false, right: true, tumour: (Vector3(80, 140, 150), 55))
        var same = alone.liver, none: [[Int]] = []
        #expect(
            Kidneys.removeRight(from: &same, otherCores: &none, band: alone.band, body: alone.body) == 0
                && same.voxels == alone.liver.voxels)
        // A tumour mass where the right kidney would be (and no kidney): wherever the image fits
        // inside the band, tumour surrounds it, so no kidney-shaped bite is taken.
        let mass = scene(left: true, right: false, tumour: (Vector3(85, 160, 85), 70))
        var kept = mass.liver
        #expect(
            Kidneys.removeRight(from: &kept, otherCores: &none, band: mass.band, body: mass.body) == 0
                && kept.voxels == mass.liver.voxels)
    }

    @Test(
        "dark surface: fluid darker than a hypodense tumour mass it touches leaves the liver, the tumour and its enclosed necrosis stay; a hyper-enhancing tumour's liver is untouched"
    )
    func darkSurface() throws {
        // 80 x 80 x 40 voxels of 2.5 x 2.5 x 5 mm in fat; a 55 mm tumour ball at 45 HU with a 20 mm
        // necrotic centre at 15 HU, a stomach of fluid at 18 HU against it; noise SD 12 HU. The
        // liver step took both (the band is wide); both are classified as tumour.
        let g = Self.abdomenGrid
        func mm(_ i: Int, _ j: Int, _ k: Int) -> Vector3 { Vector3(Double(i) * 2.5, Double(j) * 2.5, Double(k) * 5) }
        let centre = Vector3(90, 100, 100), stomach = Vector3(172, 100, 100)
        var rng = SeededGenerator(seed: 5)
        var ct = CTVolume(repeating: 0, geometry: g), liver = Mask(repeating: 0, geometry: g), tumour = liver,
            fluid = liver
        for k in 0..<40 {
            for j in 0..<80 {
                for i in 0..<80 {
                    let p = mm(i, j, k)
                    var hu = -100.0
                    if (p - stomach).length <= 35 {
                        hu = 18
                        fluid[i, j, k] = 1
                        liver[i, j, k] = 1
                    }
                    if (p - centre).length <= 55 {
                        hu = (p - centre).length <= 20 ? 15 : 45
                        tumour[i, j, k] = 1
                        fluid[i, j, k] = 0
                        liver[i, j, k] = 1
                    }
                    ct[i, j, k] = Int16((hu + 12 * rng.gaussian()).rounded())
                }
            }
        }
        let smooth = Filters.gaussian(ct, sigmaMM: 1)
        var td = TumourDominatedLiver.Result(
            liver: liver, lesions: liver, parenchymaModeHU: 105, parenchymaRobustSDHU: 10, tumourModeHU: 45)
        let removedML = TumourDominatedLiver.removeDarkSurface(&td, ct: ct, smooth: smooth)
        var fluidLeft = 0, tumourLost = 0, necrosisLost = 0
        for k in 0..<40 {
            for j in 0..<80 {
                for i in 0..<80 {
                    if fluid[i, j, k] != 0 && td.liver[i, j, k] != 0 { fluidLeft += 1 }
                    if tumour[i, j, k] != 0 && td.liver[i, j, k] == 0 {
                        tumourLost += 1
                        if (mm(i, j, k) - centre).length <= 20 { necrosisLost += 1 }
                    }
                }
            }
        }
        #expect(
            Double(fluidLeft) < 0.1 * Double(fluid.insideCount)
                && Double(tumourLost) < 0.03 * Double(tumour.insideCount) && necrosisLost == 0,
            "removed \(removedML) mL; fluid left \(fluidLeft) of \(fluid.insideCount), tumour lost \(tumourLost) of \(tumour.insideCount), necrosis \(necrosisLost)"
        )
        // A tumour brighter than the parenchyma: its darker neighbour is parenchyma, nothing is removed.
        var bright = TumourDominatedLiver.Result(
            liver: liver, lesions: liver, parenchymaModeHU: 30, parenchymaRobustSDHU: 10, tumourModeHU: 45)
        #expect(
            TumourDominatedLiver.removeDarkSurface(&bright, ct: ct, smooth: smooth) == 0
                && bright.liver.voxels == liver.voxels)
    }

    @Test(
        "tumour caps: hyper-enhancing tumour the automatic liver left outside joins it as lesion; a kidney of its density beyond the liver's hull does not; a hypodense tumour adds nothing"
    )
    func tumourCaps() throws {
        // 80 x 80 x 40 voxels of 2.5 x 2.5 x 5 mm in fat: a liver ball (75 HU, radius 60 mm) whose
        // tumour (185 HU, radius 25 mm) reaches its surface; the automatic liver lacks the tumour's
        // outer 6 mm (the cap). A kidney (188 HU: in the tumour's band, as the renal cortex is in the
        // arterial phase; radius 20 mm) presses on the tumour from outside the liver, within the
        // cap step's reach of the lesion. Noise SD 12 HU.
        let g = Self.abdomenGrid
        let centre = Vector3(100, 100, 100), tumourCentre = Vector3(135, 100, 100),
            kidneyCentre = Vector3(176, 100, 100)
        var rng = SeededGenerator(seed: 11)
        var ct = CTVolume(repeating: 0, geometry: g), liver = Mask(repeating: 0, geometry: g), lesions = liver,
            cap = liver, kidney = liver
        let body = Mask(repeating: 1, geometry: g)
        for k in 0..<40 {
            for j in 0..<80 {
                for i in 0..<80 {
                    let p = Vector3(Double(i) * 2.5, Double(j) * 2.5, Double(k) * 5)
                    var hu = -100.0
                    if (p - kidneyCentre).length <= 20 {
                        hu = 188
                        kidney[i, j, k] = 1
                    }
                    if (p - centre).length <= 60 {
                        hu = 75
                        if (p - tumourCentre).length <= 25 {
                            hu = 185
                            if p.x > 154 { cap[i, j, k] = 1 } else { lesions[i, j, k] = 1 }
                        }
                        if cap[i, j, k] == 0 { liver[i, j, k] = 1 }
                        kidney[i, j, k] = 0
                    }
                    ct[i, j, k] = Int16((hu + 12 * rng.gaussian()).rounded())
                }
            }
        }
        let smooth = Filters.gaussian(ct, sigmaMM: 1.5)
        let tumourSD = try #require(Filters.mode(smooth, within: lesions, lo: 100, hi: 250)).robustSD
        var td = TumourDominatedLiver.Result(
            liver: liver, lesions: lesions, parenchymaModeHU: 75, parenchymaRobustSDHU: 10, tumourModeHU: 185,
            tumourRobustSDHU: tumourSD)
        let addedML = TumourDominatedLiver.addTumourCaps(&td, smooth: smooth, body: body)
        var capFound = 0, capAsLesion = 0, kidneyTaken = 0, liverLost = 0
        for v in 0..<cap.voxels.count {
            if cap.voxels[v] != 0 && td.liver.voxels[v] != 0 { capFound += 1 }
            if cap.voxels[v] != 0 && td.lesions.voxels[v] != 0 { capAsLesion += 1 }
            if kidney.voxels[v] != 0 && td.liver.voxels[v] != 0 { kidneyTaken += 1 }
            if liver.voxels[v] != 0 && td.liver.voxels[v] == 0 { liverLost += 1 }
        }
        // Measured: 83 of the cap's 85 voxels, all as lesion, none of the kidney (63 of its voxels
        // without the hull test); a cap's edge against fat is smoothed towards the parenchyma's
        // density, hence the margin.
        #expect(
            Double(capFound) >= 0.75 * Double(cap.insideCount) && Double(capAsLesion) >= 0.75 * Double(cap.insideCount)
                && kidneyTaken == 0 && liverLost == 0,
            "added \(addedML) mL; cap \(capFound) (as lesion \(capAsLesion)) of \(cap.insideCount), kidney \(kidneyTaken) of \(kidney.insideCount), liver lost \(liverLost)"
        )
        // A tumour darker than the parenchyma: nothing is added.
        var dark = TumourDominatedLiver.Result(
            liver: liver, lesions: lesions, parenchymaModeHU: 250, parenchymaRobustSDHU: 10, tumourModeHU: 185,
            tumourRobustSDHU: tumourSD)
        #expect(
            TumourDominatedLiver.addTumourCaps(&dark, smooth: smooth, body: body) == 0
                && dark.liver.voxels == liver.voxels)
    }

    @Test(
        "the liver's surface voxels take the class beneath them: a hyper-enhancing tumour at the capsule keeps its partial-volume edge; beside a hypodense one the surface's parenchyma stays parenchyma"
    )
    func surfaceByInterior() throws {
        // A liver ball (radius 60 mm) in fat (-100 HU) with a tumour (radius 25 mm) bulging from its
        // surface; the CT averages 2 x 2 x 2 samples per voxel (partial volume) plus noise of SD 12 HU,
        // the truth is by voxel centre. Classified on the truth liver, smoothed by 1.5 mm.
        let g = Self.abdomenGrid
        let centre = Vector3(100, 100, 100), tumourCentre = Vector3(145, 100, 100)
        func scene(parenchymaHU: Double, tumourHU: Double) -> (ct: CTVolume, liver: Mask, tumour: Mask) {
            func hu(_ p: Vector3) -> Double {
                (p - centre).length > 60 ? -100 : (p - tumourCentre).length <= 25 ? tumourHU : parenchymaHU
            }
            var rng = SeededGenerator(seed: 12)
            var ct = CTVolume(repeating: 0, geometry: g), liver = Mask(repeating: 0, geometry: g), tumour = liver
            for k in 0..<40 {
                for j in 0..<80 {
                    for i in 0..<80 {
                        let p = Vector3(Double(i) * 2.5, Double(j) * 2.5, Double(k) * 5)
                        if (p - centre).length <= 60 { liver[i, j, k] = 1 }
                        if liver[i, j, k] != 0 && (p - tumourCentre).length <= 25 { tumour[i, j, k] = 1 }
                        var sum = 0.0
                        for dk in [-1.25, 1.25] {
                            for dj in [-0.625, 0.625] {
                                for di in [-0.625, 0.625] { sum += hu(p + Vector3(di, dj, dk)) }
                            }
                        }
                        ct[i, j, k] = Int16((sum / 8 + 12 * rng.gaussian()).rounded())
                    }
                }
            }
            return (ct, liver, tumour)
        }
        // Counts on the liver's surface voxels: truth tumour classed tumour, truth parenchyma classed tumour.
        func surfaceCounts(_ found: Mask, _ s: (ct: CTVolume, liver: Mask, tumour: Mask)) -> (Int, Int, Int, Int) {
            var tumourSurface = 0, tumourFound = 0, parenchymaSurface = 0, parenchymaAsTumour = 0
            for v in 0..<found.voxels.count
            where s.liver.voxels[v] != 0 && AutoSegmentation.hasFaceNeighbour(v, in: s.liver, inside: false) {
                if s.tumour.voxels[v] != 0 {
                    tumourSurface += 1
                    if found.voxels[v] != 0 { tumourFound += 1 }
                } else {
                    parenchymaSurface += 1
                    if found.voxels[v] != 0 { parenchymaAsTumour += 1 }
                }
            }
            return (tumourSurface, tumourFound, parenchymaSurface, parenchymaAsTumour)
        }
        // Hyper-enhancing: the tumour's surface voxels, part fat, fall below the midpoint (measured:
        // 131 of 131 found with the rule, 73 without; 5 parenchyma surface voxels taken).
        let bright = scene(parenchymaHU: 75, tumourHU: 185)
        let smoothBright = Filters.gaussian(bright.ct, sigmaMM: 1.5)
        let (n, with, _, falseWith) = surfaceCounts(
            TumourDominatedLiver.classify(
                smoothBright, liver: bright.liver, tumourHU: 185, parenchymaHU: 75, surfaceByInterior: true), bright)
        let (_, without, _, _) = surfaceCounts(
            TumourDominatedLiver.classify(
                smoothBright, liver: bright.liver, tumourHU: 185, parenchymaHU: 75, surfaceByInterior: false), bright)
        #expect(
            Double(with) >= 0.9 * Double(n) && Double(without) <= 0.6 * Double(n) && falseWith <= n / 10,
            "tumour surface voxels \(n): found \(with) with the rule, \(without) without; parenchyma taken \(falseWith)"
        )
        // Hypodense (110 HU parenchyma, 30 HU tumour): a surface voxel half fat falls below the
        // midpoint, but the 3 mm opening already removes such one-voxel shells; the rule moves only
        // the rim of the tumour's patch (measured: 42 of 4003 parenchyma surface voxels read as
        // tumour with it, 32 without).
        let dark = scene(parenchymaHU: 110, tumourHU: 30)
        let smoothDark = Filters.gaussian(dark.ct, sigmaMM: 1.5)
        let (_, _, p, darkWith) = surfaceCounts(
            TumourDominatedLiver.classify(
                smoothDark, liver: dark.liver, tumourHU: 30, parenchymaHU: 110, surfaceByInterior: true), dark)
        #expect(darkWith <= p / 50, "parenchyma surface voxels \(p): read as tumour \(darkWith) with the rule")
    }

    /// The organ and tumour scenes' grid: 80 x 80 x 40 voxels of 2.5 x 2.5 x 5 mm from the origin,
    /// LPS axes (i towards the patient's left, k up).
    static let abdomenGrid = Geometry(
        dims: Dims(80, 80, 40), originMM: .zero, spacingMM: Vector3(2.5, 2.5, 5),
        axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))

    /// Where `p` lies relative to the axis-aligned ellipsoid of centre `c` and radii `r`: 1 on its
    /// surface, less inside.
    static func ellipsoidRadius(_ p: Vector3, _ c: Vector3, _ r: Vector3) -> Double {
        let x = (p.x - c.x) / r.x, y = (p.y - c.y) / r.y, z = (p.z - c.z) / r.z
        return (x * x + y * y + z * z).squareRoot()
    }

    /// A liver grown over the dome into the heart (80 x 80 x 40 voxels of 2.5 x 2.5 x 5 mm, LPS
    /// axes: i towards the patient's left, k up; the body's centre is at x = 100 mm). The liver: an
    /// ellipsoid on the right (centre x = 65 mm), top at z = 140 mm; the heart: one at `heartX`
    /// sitting on the dome and cut by the top slice, a 5 mm diaphragm at 55 HU between them; both
    /// at 100 HU, noise SD 10 HU. The liver step took both (`mask`). With `sliver`, the top slice
    /// holds only a small patch on the right instead of the heart's section (what the edge of a
    /// field of view can leave there).
    static func heartScene(withHeart: Bool, heartX: Double = 120, sliver: Bool = false) -> (
        ct: CTVolume, body: Mask, mask: Mask, liver: Mask
    ) {
        let g = abdomenGrid, inside = ellipsoidRadius
        let liverC = Vector3(65, 100, 85), liverR = Vector3(50, 55, 55), heartC = Vector3(heartX, 90, 170),
            heartR = Vector3(45, 40, 45)
        var rng = SeededGenerator(seed: 3)
        var ct = CTVolume(repeating: -1000, geometry: g), body = Mask(repeating: 0, geometry: g), mask = body,
            liver = body
        for k in 0..<40 {
            for j in 0..<80 {
                for i in 0..<80 {
                    let p = Vector3(Double(i) * 2.5, Double(j) * 2.5, Double(k) * 5)
                    guard inside(p, Vector3(100, 100, 100), Vector3(98, 90, 1e6)) <= 1 else { continue }
                    body[i, j, k] = 1
                    var hu = -100.0
                    let l = inside(p, liverC, liverR), h = inside(p, heartC, heartR)
                    if l <= 1 {
                        hu = 100
                        liver[i, j, k] = 1
                        mask[i, j, k] = 1
                    }
                    if withHeart && h <= 1 && l > 1 {
                        hu = h >= 1 - 5 / heartR.z && p.z < heartC.z ? 55 : 100
                        mask[i, j, k] = 1
                    }
                    if sliver && k == 39 { mask[i, j, k] = abs(p.x - 70) <= 5 && abs(p.y - 95) <= 5 ? 1 : 0 }
                    ct[i, j, k] = Int16((hu + 10 * rng.gaussian()).rounded())
                }
            }
        }
        return (ct, body, mask, liver)
    }

    /// Heart.remove on a scene: how much of the heart stays and how much liver goes.
    static func heartRemoved(_ s: (ct: CTVolume, body: Mask, mask: Mask, liver: Mask)) -> (
        removedML: Double, heartLeft: Int, heartCount: Int, liverLost: Int
    ) {
        var mask = s.mask, lesions = Mask(repeating: 0, geometry: s.mask.geometry)
        let removedML = Heart.remove(
            from: &mask, lesions: &lesions, smooth: Filters.gaussian(s.ct, sigmaMM: 1), body: s.body, modeHU: 100)
        var heartLeft = 0, heartCount = 0, liverLost = 0
        for v in 0..<mask.voxels.count {
            if s.mask.voxels[v] != 0 && s.liver.voxels[v] == 0 {
                heartCount += 1
                if mask.voxels[v] != 0 { heartLeft += 1 }
            }
            if s.liver.voxels[v] != 0 && mask.voxels[v] == 0 { liverLost += 1 }
        }
        return (removedML, heartLeft, heartCount, liverLost)
    }

    @Test(
        "heart: an automatic liver grown over the dome into a heart of its density loses the heart, not the liver; a liver whose top is on the right loses nothing"
    )
    func heart() throws {
        let s = Self.heartScene(withHeart: true)
        let r = Self.heartRemoved(s)
        #expect(
            Double(r.heartLeft) < 0.1 * Double(r.heartCount)
                && Double(r.liverLost) < 0.03 * Double(s.liver.insideCount),
            "removed \(r.removedML) mL; heart left \(r.heartLeft) of \(r.heartCount), liver lost \(r.liverLost) of \(s.liver.insideCount)"
        )
        // The liver alone: its top is on the right, nothing is removed.
        let alone = Self.heartScene(withHeart: false)
        let none = Self.heartRemoved(alone)
        #expect(none.removedML == 0 && none.liverLost == 0)
    }

    /// htb-auto/32: on fine-grid delayed phantoms the heart the liver took lay 9.6-10.4 mm left of
    /// the body's centre, or a top slice held a sliver on the right, and 195-347 mL of heart stayed.
    @Test("heart: a heart 7 mm left of the body's centre, under a sliver in the top slice, leaves the liver too")
    func heartNearMidlineUnderSliver() throws {
        let s = Self.heartScene(withHeart: true, heartX: 107, sliver: true)
        let r = Self.heartRemoved(s)
        #expect(
            r.removedML > 0 && Double(r.heartLeft) < 0.1 * Double(r.heartCount)
                && Double(r.liverLost) < 0.03 * Double(s.liver.insideCount),
            "removed \(r.removedML) mL; heart left \(r.heartLeft) of \(r.heartCount), liver lost \(r.liverLost) of \(s.liver.insideCount)"
        )
    }

    /// htb-auto/33: beside a fatty parenchyma (75 HU) the spleen (110 HU) was taken as lesions
    /// (fine fatty 5 and 7: 201-234 mL), which the neighbour-organ stage does not measure.
    @Test(
        "spleen taken as a lesion: a large bright lesion in the body's left lateral part leaves the liver; large or small bright lesions elsewhere stay"
    )
    func spleenTakenAsLesion() throws {
        let g = Self.abdomenGrid
        func inside(_ p: Vector3, _ c: Vector3, _ r: Vector3) -> Bool { Self.ellipsoidRadius(p, c, r) <= 1 }
        // Body centre x = 100 mm, half-width 98 mm: the left lateral part begins at x = 134 mm.
        let spleenC = Vector3(160, 110, 100), spleenR = Vector3(25, 30, 40)
        let bigC = Vector3(55, 100, 100), smallC = Vector3(118, 90, 100)
        var body = Mask(repeating: 0, geometry: g), liver = body, lesions = body, spleen = body
        var smooth = Volume<Float>(repeating: -100, geometry: g)
        for k in 0..<40 {
            for j in 0..<80 {
                for i in 0..<80 {
                    let p = Vector3(Double(i) * 2.5, Double(j) * 2.5, Double(k) * 5)
                    guard inside(p, Vector3(100, 100, 100), Vector3(98, 90, 1e6)) else { continue }
                    body[i, j, k] = 1
                    if inside(p, Vector3(80, 100, 100), Vector3(65, 55, 60)) {
                        liver[i, j, k] = 1
                        smooth[i, j, k] = 75
                    }
                    if inside(p, spleenC, spleenR) {
                        (liver[i, j, k], lesions[i, j, k], spleen[i, j, k], smooth[i, j, k]) = (1, 1, 1, 110)
                    }
                    if inside(p, bigC, Vector3(25, 25, 25)) || inside(p, smallC, Vector3(10, 10, 10)) {
                        (lesions[i, j, k], smooth[i, j, k]) = (1, 110)
                    }
                }
            }
        }
        var outLiver = liver, outLesions = lesions
        let removedML = Neighbours.removeSpleenLesions(
            from: &outLiver, lesions: &outLesions, smooth: smooth, body: body, modeHU: 75)
        var spleenLeft = 0, liverLost = 0, lesionsLost = 0
        for v in 0..<liver.voxels.count {
            if spleen.voxels[v] != 0 && outLiver.voxels[v] != 0 { spleenLeft += 1 }
            if spleen.voxels[v] == 0 && liver.voxels[v] != 0 && outLiver.voxels[v] == 0 { liverLost += 1 }
            if spleen.voxels[v] == 0 && lesions.voxels[v] != 0 && outLesions.voxels[v] == 0 { lesionsLost += 1 }
        }
        #expect(
            removedML > 50 && spleenLeft == 0 && Double(liverLost) < 0.02 * Double(liver.insideCount)
                && lesionsLost == 0,
            "removed \(removedML) mL; spleen left \(spleenLeft) of \(spleen.insideCount), liver lost \(liverLost), lesions lost \(lesionsLost)"
        )
        // The same spleen darker than the parenchyma (a hypodense mass there) stays.
        var dark = smooth
        for v in 0..<dark.voxels.count where spleen.voxels[v] != 0 { dark.voxels[v] = 40 }
        var keptLiver = liver, keptLesions = lesions
        #expect(
            Neighbours.removeSpleenLesions(
                from: &keptLiver, lesions: &keptLesions, smooth: dark, body: body, modeHU: 75) == 0
                && keptLiver.voxels == liver.voxels)
    }

    @Test(
        "small lesions: 8 mm bright and 7 mm dark balls in noisy parenchyma are found; crossing vessels and a fissure are not"
    )
    func smallLesionsSynthetic() throws {
        // 80 x 80 x 40 voxels of 1.5 x 1.5 x 2.5 mm; parenchyma 100 HU, white noise SD 10 HU.
        let g = Geometry(
            dims: Dims(80, 80, 40), originMM: .zero, spacingMM: Vector3(1.5, 1.5, 2.5),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        func mm(_ i: Int, _ j: Int, _ k: Int) -> Vector3 { Vector3(Double(i) * 1.5, Double(j) * 1.5, Double(k) * 2.5) }
        let bright = (c: mm(20, 20, 10), r: 4.0), dark = (c: mm(55, 20, 10), r: 3.5)
        var rng = SeededGenerator(seed: 11)
        var ct = CTVolume(repeating: -100, geometry: g)
        var liver = Mask(repeating: 0, geometry: g), vessels = liver
        for k in 0..<40 {
            for j in 0..<80 {
                for i in 0..<80 {
                    guard i >= 5, i < 75, j >= 5, j < 75, k >= 3, k < 37 else { continue }
                    let p = mm(i, j, k)
                    var hu = 100.0
                    if (p - bright.c).length <= bright.r { hu = 145 }
                    if (p - dark.c).length <= dark.r { hu = 50 }
                    // Two vessels crossing (a blob-like point for the Hessian) and a fissure of fat.
                    let alongX = ((p.y - 75) * (p.y - 75) + (p.z - 70) * (p.z - 70)).squareRoot() <= 2.5
                    let alongY = ((p.x - 60) * (p.x - 60) + (p.z - 70) * (p.z - 70)).squareRoot() <= 2.5
                    if alongX || alongY {
                        hu = 160
                        vessels[i, j, k] = 1
                    }
                    if i >= 25 && i < 27 && j >= 35 {
                        hu = 40
                        vessels[i, j, k] = 1
                    }
                    ct[i, j, k] = Int16((hu + 10 * rng.gaussian()).rounded())
                    liver[i, j, k] = 1
                }
            }
        }
        let inner = Filters.erode(liver, radiusMM: 3)
        let (found, count) = SmallLesions.find(
            ct, liver: liver, inner: inner, modeHU: 100, taken: Mask(repeating: 0, geometry: g))
        var inBright = 0, inDark = 0, brightCount = 0, darkCount = 0, elsewhere = 0
        for k in 0..<40 {
            for j in 0..<80 {
                for i in 0..<80 {
                    let p = mm(i, j, k), b = (p - bright.c).length <= bright.r, d = (p - dark.c).length <= dark.r
                    if b {
                        brightCount += 1
                        if found[i, j, k] != 0 { inBright += 1 }
                    }
                    if d {
                        darkCount += 1
                        if found[i, j, k] != 0 { inDark += 1 }
                    }
                    if found[i, j, k] != 0 && (p - bright.c).length > bright.r + 3 && (p - dark.c).length > dark.r + 3 {
                        elsewhere += 1
                    }
                }
            }
        }
        #expect(
            count == 2 && Double(inBright) >= 0.5 * Double(brightCount) && Double(inDark) >= 0.5 * Double(darkCount)
                && elsewhere == 0,
            "found \(count): bright \(inBright) of \(brightCount), dark \(inDark) of \(darkCount), elsewhere \(elsewhere)"
        )
    }

    @Test("small lesions: a lesion-free phantom on a CT's grid gives none")
    func smallLesionsNoise() throws {
        // The phantom sweep's fine grid (0.94 mm pixels, 2.5 mm slices, 25 HU noise) without a
        // lesion: tens of thousands of local maxima in the liver's textured parenchyma. The
        // 2 SD bar of the finest scale (htb-auto/35) passed 3 and 2 of them on seeds 6 and 7;
        // the Rose criterion at each blob's own scale passes none.
        for seed in [UInt64(6), 7] {
            let p = try Self.sweepPhantom(
                seed: seed, lesions: 0, htbPercent: 0, enhancement: "mixed", phase: .portal, Self.fineGrid)
            let r = try AutoSegmentation.segment(p.ct)
            #expect(r.info.smallLesionsFound == 0, "seed \(seed): \(r.info.smallLesionsFound ?? -1) small lesions")
        }
    }

    @Test(
        "dark seeds by hysteresis: a lesion whose 2 SD region runs on into a faint band keeps its darker core's seed; a lesion whose core alone is elongated keeps its 2 SD seed"
    )
    func hysteresisSeeds() {
        // 60 x 60 x 30 voxels of 1.5 x 1.5 x 2.5 mm, all of it deep inside a liver.
        let g = Geometry(
            dims: Dims(60, 60, 30), originMM: .zero, spacingMM: Vector3(1.5, 1.5, 2.5),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        func mm(_ i: Int, _ j: Int, _ k: Int) -> Vector3 { Vector3(Double(i) * 1.5, Double(j) * 1.5, Double(k) * 2.5) }
        var inner = Mask(repeating: 0, geometry: g)
        for v in 0..<inner.voxels.count { inner.voxels[v] = 1 }
        // A lesion (ball of 9 mm) whose dark region (below 2 SD) runs on into a band 10 mm thick
        // and 60 mm long (parenchyma just under the threshold beside a fissure); only the ball is
        // darker than 2.5 SD.
        let lesion = mm(15, 30, 15)
        var dark = Mask(repeating: 0, geometry: g), core = dark
        for k in 0..<30 {
            for j in 0..<60 {
                for i in 0..<60 {
                    let p = mm(i, j, k)
                    let inBall = (p - lesion).length <= 9
                    let inBand =
                        p.x >= lesion.x && p.x <= lesion.x + 60 && abs(p.y - lesion.y) <= 5 && abs(p.z - lesion.z) <= 5
                    if inBall || inBand { dark[i, j, k] = 1 }
                    if inBall { core[i, j, k] = 1 }
                }
            }
        }
        func found(_ m: Mask, at c: Vector3, within r: Double) -> (inside: Int, beyond: Int) {
            var inside = 0, beyond = 0
            for k in 0..<30 {
                for j in 0..<60 {
                    for i in 0..<60 where m[i, j, k] != 0 {
                        if (mm(i, j, k) - c).length <= r { inside += 1 } else { beyond += 1 }
                    }
                }
            }
            return (inside, beyond)
        }
        var rejected = 0
        // From the 2 SD region alone the joined seed is a rod (principal-axis ratio > 2.5): lost.
        let alone = LesionSegmenter.blobs(
            in: dark, inner: inner, maximumElongation: LesionSegmenter.maximumElongation, minimumSeedML: 0,
            splitting: [], rejected: &rejected)
        #expect(
            alone.insideCount == 0 && rejected == 1,
            "2 SD seeds alone: \(alone.insideCount) voxels, \(rejected) rejected")
        rejected = 0
        let both = LesionSegmenter.blobs(
            in: dark, seedsFirstIn: core, inner: inner, maximumElongation: LesionSegmenter.maximumElongation,
            minimumSeedML: 0, splitting: [], rejected: &rejected)
        let ball = found(both, at: lesion, within: 9), ballCount = found(core, at: lesion, within: 9).inside
        // The core's seed (6 mm ball) regrows 7 mm within the dark region: the whole lesion and at
        // most 4 mm of the band beyond it.
        #expect(
            ball.inside == ballCount && found(both, at: lesion, within: 13).beyond == 0 && rejected == 0,
            "with the core's seeds: lesion \(ball.inside) of \(ballCount), beyond 13 mm \(found(both, at: lesion, within: 13).beyond), rejected \(rejected)"
        )
        // A compact lesion whose darkest part is a bar (too elongated to seed): its 2 SD seed,
        // holding no kept core seed, still stands.
        let second = mm(30, 30, 15)
        var ball2 = Mask(repeating: 0, geometry: g), bar = ball2
        for k in 0..<30 {
            for j in 0..<60 {
                for i in 0..<60 {
                    let p = mm(i, j, k)
                    if (p - second).length <= 12 { ball2[i, j, k] = 1 }
                    if abs(p.x - second.x) <= 11 && abs(p.y - second.y) <= 4 && abs(p.z - second.z) <= 4 {
                        bar[i, j, k] = 1
                    }
                }
            }
        }
        rejected = 0
        let fallback = LesionSegmenter.blobs(
            in: ball2, seedsFirstIn: bar, inner: inner, maximumElongation: LesionSegmenter.maximumElongation,
            minimumSeedML: 0, splitting: [], rejected: &rejected)
        #expect(
            fallback.voxels == ball2.voxels && rejected == 0,
            "fallback: \(fallback.insideCount) of \(ball2.insideCount), rejected \(rejected)")
    }

    @Test("bright seeds: three 12 mm veins meeting at one point are a network, not a lesion; a ball beside them is")
    func brightNetwork() {
        // 80 x 80 x 48 voxels of 1.5 x 1.5 x 2.5 mm, all of it deep inside a liver. Three
        // enhancing veins 12 mm thick and 40 mm long leave one point along three perpendicular
        // directions, as hepatic veins meet at the vena cava: their second moments span a
        // flattened ball (principal-axis ratio 2), but the 3 mm seed fills 6 % of its ellipsoid. A
        // 10 mm ball lies apart.
        let g = Geometry(
            dims: Dims(80, 80, 48), originMM: .zero, spacingMM: Vector3(1.5, 1.5, 2.5),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        func mm(_ i: Int, _ j: Int, _ k: Int) -> Vector3 { Vector3(Double(i) * 1.5, Double(j) * 1.5, Double(k) * 2.5) }
        var inner = Mask(repeating: 0, geometry: g), bright = inner
        for v in 0..<inner.voxels.count { inner.voxels[v] = 1 }
        let junction = Vector3(20, 20, 20), ball = Vector3(95, 95, 90)
        // Distance from offset `d` (from the junction) to the vein running 40 mm along `axis`.
        func toVein(_ d: Vector3, _ axis: Vector3) -> Double { (d - axis * min(max(d.dot(axis), 0), 40)).length }
        for k in 0..<48 {
            for j in 0..<80 {
                for i in 0..<80 {
                    let d = mm(i, j, k) - junction
                    let vein = min(
                        toVein(d, Vector3(1, 0, 0)), toVein(d, Vector3(0, 1, 0)), toVein(d, Vector3(0, 0, 1)))
                    if vein <= 6 || (mm(i, j, k) - ball).length <= 10 { bright[i, j, k] = 1 }
                }
            }
        }
        func kept(minimumFill: Double) -> (junction: Int, ball: Int) {
            var rejected = 0
            let m = LesionSegmenter.blobs(
                in: bright, inner: inner, maximumElongation: LesionSegmenter.maximumElongation,
                minimumSeedML: LesionSegmenter.minimumBrightSeedML, minimumFill: minimumFill,
                splitting: LesionSegmenter.splitStepsMM, rejected: &rejected)
            var near = 0, atBall = 0
            for k in 0..<48 {
                for j in 0..<80 {
                    for i in 0..<80 where m[i, j, k] != 0 {
                        if (mm(i, j, k) - ball).length <= 12 { atBall += 1 } else { near += 1 }
                    }
                }
            }
            return (near, atBall)
        }
        let withFill = kept(minimumFill: LesionSegmenter.minimumBrightFill)
        #expect(withFill.junction == 0 && withFill.ball > 0, "with the fill test: \(withFill)")
        // Without the fill test (htb-auto/36) the junction's seed passed as compact.
        #expect(kept(minimumFill: 0).junction > 0)
    }

    /// Lesion Dice and HTB error (points) of an automatic result against a phantom's truth.
    static func judged(_ r: AutoSegmentation.Result, _ p: Phantom) throws -> (dice: Double, htbError: Double) {
        let (truthLiver, truth) = truthMasks(p)
        let htb = 100 * Double(r.lesions.insideCount) / Double(r.liver.insideCount)
        return (
            try Metrics.overlap(predicted: r.lesions, truth: truth).dice,
            abs(htb - 100 * Double(truth.insideCount) / Double(truthLiver.insideCount))
        )
    }

    @Test(
        "on a CT's grid: hepatic veins meeting at the vena cava are no lesion (pair 6); a large lesion's cap beyond the hull (pair 8's follow-up) and a hyper-enhancing half touching the right kidney (pair 7) are lesion"
    )
    func fineResponsePairs() throws {
        // The baselines and a follow-up of Benchmarks/response_pairs.py --grid fine.
        func phantom(_ seed: UInt64, _ followUp: PhantomSpec.FollowUp? = nil) throws -> Phantom {
            try Self.sweepPhantom(seed: seed, lesions: 6, htbPercent: 12, enhancement: "mixed", phase: .portal) {
                Self.fineGrid(&$0)
                $0.followUp = followUp
            }
        }
        // Pair 6's baseline: a 14.5 mL bright seed of fill 0.11 where two hepatic veins join the
        // IVC grew to a 25 mL "lesion" (htb-auto/36: HTB error 2.72 points; now 1.11).
        let p6 = try phantom(6)
        let r6 = try Self.judged(try AutoSegmentation.segment(p6.ct), p6)
        #expect(r6.htbError <= 2, "pair 6 baseline: \(r6)")
        // Pair 8's follow-up: a 305 mL lesion at the posterior surface; the hull cut it along a
        // chord and the cap beyond, up to 19 mm deep, stayed out (lesion Dice 0.809, HTB error
        // 0.97; now 0.887 and 0.69).
        let p8 = try phantom(8, PhantomSpec.FollowUp(scale: 1.8, newLesions: 0, shiftMM: Vector3(5, -5, -5)))
        let r8 = try Self.judged(try AutoSegmentation.segment(p8.ct), p8)
        #expect(r8.dice >= 0.85, "pair 8 follow-up: \(r8)")
        // Pair 7's baseline: a 170 mL lesion whose hyper-enhancing half (150 HU) on the surface
        // touches the right kidney (165 HU): one bright core, 69 % inside the hull, so the surface
        // step left it out (lesion Dice 0.452, HTB error 7.63; now 0.831 and 1.28). Eroded 6 mm
        // further, the lesion's part lies wholly inside the hull, the kidney's 18 %.
        let p7 = try phantom(7)
        let r7 = try Self.judged(try AutoSegmentation.segment(p7.ct), p7)
        #expect(r7.dice >= 0.75 && r7.htbError <= 2, "pair 7 baseline: \(r7)")
    }

    @Test(
        "a surface lesion's cap does not take a lobe-ending mass's share: the exophytic stage still finds it (low seed 36, stomach seed 27)"
    )
    func capLeavesLobeEnds() throws {
        // Each ends a lobe beyond the hull (30.7 and 23.0 mL added by the exophytic stage). When
        // that stage judged the liver with the caps (`SurfaceLesions.cap`), a cap had taken 9-10 mL
        // of the mass and the remnant passed no test: lesions of 15 and 18 mL lost, HTB error 0.99
        // -> 1.36 and 0.86 -> 1.66 points. Judged against the liver without the caps: 0.61, 0.68.
        let low = try Self.lowSpecPhantom(seed: 36)
        let stomach = try Self.sweepPhantom(seed: 27, lesions: 4, htbPercent: 12, enhancement: "mixed", phase: .portal)
        {
            $0.stomachContact = true
        }
        for (name, p) in [("low 36", low), ("stomach 27", stomach)] {
            let r = try AutoSegmentation.segment(p.ct)
            let j = try Self.judged(r, p)
            #expect(
                (r.info.exophyticLesionsAddedML ?? 0) >= 20 && (r.info.surfaceLesionsAddedML ?? 0) >= 100
                    && j.htbError <= 1,
                "\(name): exophytic \(r.info.exophyticLesionsAddedML ?? -1) mL, surface \(r.info.surfaceLesionsAddedML ?? -1) mL, \(j)"
            )
        }
    }

    /// A phantom's truth as masks: the whole liver (labels 1 and 2) and its lesions (label 2).
    static func truthMasks(_ p: Phantom) -> (liver: Mask, lesions: Mask) {
        var liver = Mask(repeating: 0, geometry: p.ct.geometry), lesions = liver
        for i in 0..<liver.voxels.count {
            liver.voxels[i] = p.labels.voxels[i] != 0 ? 1 : 0
            lesions.voxels[i] = p.labels.voxels[i] == 2 ? 1 : 0
        }
        return (liver, lesions)
    }

    /// A phantom segmented with every stage and with `stage` off: the first result, and the lesion
    /// Dice and HTB error (points) of each against the phantom's truth.
    static func stageEffect(_ p: Phantom, stage: AutoSegmentation.Stage) throws -> (
        with: AutoSegmentation.Result, on: (dice: Double, htbError: Double), off: (dice: Double, htbError: Double)
    ) {
        let (truthLiver, truth) = truthMasks(p)
        func judge(_ r: AutoSegmentation.Result) throws -> (dice: Double, htbError: Double) {
            let htb = 100 * Double(r.lesions.insideCount) / Double(r.liver.insideCount)
            return (
                try Metrics.overlap(predicted: r.lesions, truth: truth).dice,
                abs(htb - 100 * Double(truth.insideCount) / Double(truthLiver.insideCount))
            )
        }
        let with = try AutoSegmentation.segment(p.ct), without = try AutoSegmentation.segment(p.ct, without: [stage])
        return (with, try judge(with), try judge(without))
    }

    /// A phantom on the sweep's grid (Benchmarks/phantom_sweep.py: 128 x 128 x 40 at 2.8 x 2.8 x
    /// 5 mm) with a spec's lesions, burden, enhancement and phase, and its other options.
    static func sweepPhantom(
        seed: UInt64, lesions: Int, htbPercent: Double, enhancement: String, phase: ContrastPhase,
        _ change: (inout PhantomSpec) -> Void = { _ in }
    ) throws -> Phantom {
        var spec = PhantomSpec()
        (spec.seed, spec.matrix, spec.slices, spec.sliceMM, spec.pixelMM) = (seed, 128, 40, 5, 2.8)
        (spec.lesions, spec.htbPercent, spec.enhancement, spec.phase) = (lesions, htbPercent, enhancement, phase)
        change(&spec)
        return try Phantom.build(spec)
    }

    /// The sweep's fine grid (Benchmarks/phantom_sweep.py `--grid fine`: 384 x 384 x 80 at 0.94 x
    /// 0.94 x 2.5 mm, 25 HU noise), as `sweepPhantom`'s change.
    static func fineGrid(_ spec: inout PhantomSpec) {
        (spec.matrix, spec.slices, spec.sliceMM, spec.pixelMM, spec.noiseHU) = (384, 80, 2.5, 0.94, 25)
    }

    /// Lesion voxels in `lesions` that `before` lacks, and how many of them are `truth` lesion.
    static func addedLesionVoxels(_ lesions: Mask, over before: Mask, truth: Mask) -> (added: Int, right: Int) {
        var added = 0, right = 0
        for v in 0..<truth.voxels.count where lesions.voxels[v] != 0 && before.voxels[v] == 0 {
            added += 1
            if truth.voxels[v] != 0 { right += 1 }
        }
        return (added, right)
    }

    /// The sweep's irregular spec (Benchmarks/phantom_sweep.py) with another seed, in memory.
    static func irregularSpecPhantom(seed: UInt64) throws -> Phantom {
        try Phantom.build(ReviewTests.irregularSpec(seed: seed))
    }

    @Test(
        "a lesion ending the left lobe beyond the liver's outline joins liver and lesions (irregular seed 2); the body wall's bulges beside a liver do not (low seed 11)"
    )
    func exophyticLesions() throws {
        // Irregular seed 2: an 84 mL mass ends the left lobe over 12 slices, beyond every slice's
        // hull of the liver. Measured: lesion Dice 0.137 and HTB error 6.53 without the stage,
        // 0.766 and 0.99 with it.
        let (with, a, b) = try Self.stageEffect(try Self.irregularSpecPhantom(seed: 2), stage: .exophyticLesions)
        print("irregular seed 2: exophytic \(with.info.exophyticLesionsAddedML ?? -1) mL; with \(a), without \(b)")
        #expect((with.info.exophyticLesionsAddedML ?? 0) >= 40)
        #expect(a.dice >= 0.7 && a.htbError <= 1.5, "\(a)")
        #expect(b.dice < 0.3 && b.htbError > 4, "\(b)")
        // Low seed 11: masses of the lateral body wall of 3-8 mL beside the liver pass every test
        // but the 10 mL one (with 2 mL they joined: HTB error 1.59 -> 2.53).
        let low = try AutoSegmentation.segment(try Self.lowSpecPhantom(seed: 11).ct)
        #expect(low.info.exophyticLesionsAddedML == 0)
    }

    @Test(
        "a left lobe the liver step's erosion cut off at a neck joins (default phantom seed 10, low seed 18); a fatty liver's bowel and wall cores do not (fatty seed 34)"
    )
    func detachedLobe() throws {
        // Measured: default seed 10 (`htb synth --seed 10 ... --lesions 6 --htb 12`) liver Dice
        // 0.902 -> 0.967 with the stage (167 mL added); low seed 18 0.893 -> 0.969 (htb-auto/36;
        // without the stage 0.907 and 0.914 since htb-auto/37 changed the surface step).
        for (name, p) in [
            (
                "default seed 10",
                try Self.sweepPhantom(seed: 10, lesions: 6, htbPercent: 12, enhancement: "mixed", phase: .portal)
            ),
            ("low seed 18", try Self.lowSpecPhantom(seed: 18)),
        ] {
            let (truthLiver, _) = Self.truthMasks(p)
            let on = try AutoSegmentation.segment(p.ct),
                off = try AutoSegmentation.segment(p.ct, without: [.detachedLobes])
            let a = try Metrics.overlap(predicted: on.liver, truth: truthLiver).dice
            let b = try Metrics.overlap(predicted: off.liver, truth: truthLiver).dice
            print("\(name): detached lobes \(on.info.detachedLobesAddedML ?? -1) mL; liver Dice \(a), without \(b)")
            #expect(a >= 0.95 && b < a - 0.04, "\(name): \(a) against \(b)")
        }
        // Fatty seed 34: the band (3 SD of a broad histogram) holds a 320 mL core of bowel loops
        // at the liver's density, regrowing to 823 mL, and a core of the anterior wall 25 HU off.
        let fatty = try Self.sweepPhantom(seed: 34, lesions: 6, htbPercent: 20, enhancement: "mixed", phase: .portal) {
            $0.steatosisHU = 30
        }
        #expect(try AutoSegmentation.segment(fatty.ct).info.detachedLobesAddedML == 0)
    }

    @Test(
        "a hypodense lesion the outline cuts into a cap is judged whole: it joins though the cap alone is too flat (default phantom seed 1)"
    )
    func exophyticCap() throws {
        // `htb synth --seed 1 --matrix 128 --slices 40 --slice-mm 5 --pixel-mm 2.8 --lesions 6
        // --htb 12`: a 56 mL hypodense lesion ends the left lobe with 8 % of it inside the
        // outline; beyond it lies a 30 mL cap of axis ratio 2.03 (the limit is 2), 1.86 with the
        // lesion's dark tissue inside the liver. Measured: 44 mL added, lesion Dice 0.795 and
        // HTB error 2.53 (the cap judged alone: 14 mL, another lesion's, 0.673 and 4.42).
        let p = try Self.sweepPhantom(seed: 1, lesions: 6, htbPercent: 12, enhancement: "mixed", phase: .portal)
        let (with, a, _) = try Self.stageEffect(p, stage: .exophyticLesions)
        print("default seed 1: exophytic \(with.info.exophyticLesionsAddedML ?? -1) mL; with \(a)")
        #expect((with.info.exophyticLesionsAddedML ?? 0) >= 35)
        #expect(a.dice >= 0.75 && a.htbError <= 3, "\(a)")
    }

    @Test(
        "with little noise the lesion margin stops 10 HU from the parenchyma, not on the blur's tail (low spec seed 2 at 4 HU of noise)"
    )
    func lowNoiseMargin() throws {
        // Phantom-low's spec, seed 2, with 4 HU of noise instead of 12: the parenchyma's robust SD
        // on the working grid is 3.6 HU, so the margin's 1.5 SD alone lay 5.4 HU from it, out on
        // the lesions' blurred edges. Measured: lesions 346.3 mL against the truth's 339.0 (Dice
        // 0.866) with the 10 HU floor; 364.7 mL (0.843) without it (htb-auto/28).
        let p = try Self.sweepPhantom(seed: 2, lesions: 6, htbPercent: 20, enhancement: "mixed", phase: .portal) {
            $0.noiseHU = 4
        }
        let (_, truth) = Self.truthMasks(p)
        let r = try AutoSegmentation.segment(p.ct)
        let ratio = r.lesions.volumeML / truth.volumeML
        let dice = try Metrics.overlap(predicted: r.lesions, truth: truth).dice
        print("low seed 2 at 4 HU: parenchyma SD \(r.info.parenchymaRobustSDHU ?? -1), lesions x\(ratio), Dice \(dice)")
        #expect(
            (r.info.parenchymaRobustSDHU ?? 99)
                < Double(LesionSegmenter.minimumContrastHU / LesionSegmenter.marginContrastSD))
        #expect(ratio < 1.05 && dice >= 0.855, "lesion volume x\(ratio), Dice \(dice)")
    }

    @Test(
        "a hyper-enhancing lesion the liver's outline cut is taken back whole (low seed 7); the right kidney under a lesion is not (low seed 41)"
    )
    func cutLesions() throws {
        // Low seed 7: a 158 mL hyper-enhancing lesion on the right lobe's posterior surface, 37 %
        // of it beyond the outline; the IVC lies beside it at its density. Measured: lesion Dice
        // 0.909, HTB error 0.67 with the stage; 0.805 and 2.33 without (htb-auto/36). Since
        // htb-auto/37 the surface step's bright cap reaches part of the rest: 0.910 and 0.81
        // with the stage, 0.828 and 1.63 without.
        let (with, a, b) = try Self.stageEffect(try Self.lowSpecPhantom(seed: 7), stage: .cutLesions)
        print("low seed 7: cut lesions \(with.info.cutLesionsAddedML ?? -1) mL; with \(a), without \(b)")
        #expect(a.dice >= 0.88 && a.htbError <= 1.2, "\(a)")
        #expect(b.dice < a.dice - 0.05 && b.htbError > a.htbError + 0.5, "\(b)")
        // Low seed 41: a lesion sits on the right kidney (cortex at the lesion's density); without
        // the kidney kept out, 1569 of the 2482 voxels added lay outside the liver. Now what is
        // added is lesion.
        let q = try Self.lowSpecPhantom(seed: 41)
        let (_, truth41) = Self.truthMasks(q)
        let r41 = try AutoSegmentation.segment(q.ct), off41 = try AutoSegmentation.segment(q.ct, without: [.cutLesions])
        let (added, right) = Self.addedLesionVoxels(r41.lesions, over: off41.lesions, truth: truth41)
        print("low seed 41: \(added) lesion voxels added, \(right) of them truth lesion")
        #expect(added >= 400 && Double(right) >= 0.9 * Double(added), "\(right) of \(added)")
    }

    @Test(
        "a hyper-enhancing lesion ending the left lobe joins liver and lesions (low seed 5); the right kidney beside the liver, which passes every other test, has a twin and stays out"
    )
    func brightExophyticLesions() throws {
        // Low seed 5: a 147 mL hyper-enhancing lesion ends the left lobe, 93 % of it beyond the
        // outline, with no part inside for the cut-lesion step to grow from. The right kidney
        // (88 mL, axis ratio 1.8, fill 0.98, 12 % of its boundary on the liver) passes the mass
        // tests too. Measured: lesion Dice 0.828 and HTB error 1.33 with the stage, 0.581 and 7.67
        // without; every voxel added but 7 is truth lesion. htb-auto/44 (vessel holes): 0.826 and
        // 2.22 with the stage (the liver 0.907), 0.583 and 7.97 without.
        let p = try Self.lowSpecPhantom(seed: 5)
        let (with, a, b) = try Self.stageEffect(p, stage: .brightExophyticLesions)
        print(
            "low seed 5: bright exophytic \(with.info.brightExophyticLesionsAddedML ?? -1) mL; with \(a), without \(b)")
        #expect(a.dice >= 0.78 && a.htbError <= 2.5, "\(a)")
        #expect(b.dice < 0.65 && b.htbError > 5, "\(b)")
        let (_, truth) = Self.truthMasks(p)
        let off = try AutoSegmentation.segment(p.ct, without: [.brightExophyticLesions])
        let (added, right) = Self.addedLesionVoxels(with.lesions, over: off.lesions, truth: truth)
        print("low seed 5: \(added) lesion voxels added, \(right) of them truth lesion")
        #expect(added >= 1500 && Double(right) >= 0.95 * Double(added), "\(right) of \(added)")
    }

    @Test(
        "a hyper-enhancing lesion lying on the right kidney is taken apart from it (stomach seed 41): the kidney's fitted mirror image leaves the candidates first"
    )
    func brightLesionOnKidney() throws {
        // Stomach seed 41: a 197 mL lesion 41 HU above the parenchyma ends the right lobe over the
        // right kidney; with the kidney it made one 190 mL mass of axis ratio 2.71 (rejected),
        // without it a 96 mL mass of 1.60. Measured: lesion Dice 0.728 and HTB error 4.06 with the
        // stage, 0.153 and 10.85 without (and with the stage before the kidney left the
        // candidates); 2608 of the 2853 voxels added are truth lesion.
        let p = try Self.sweepPhantom(seed: 41, lesions: 4, htbPercent: 12, enhancement: "mixed", phase: .portal) {
            $0.stomachContact = true
        }
        let (with, a, b) = try Self.stageEffect(p, stage: .brightExophyticLesions)
        print(
            "stomach seed 41: bright exophytic \(with.info.brightExophyticLesionsAddedML ?? -1) mL; with \(a), without \(b)"
        )
        #expect(a.dice >= 0.65 && b.dice < 0.3, "\(a) against \(b)")
        #expect(a.htbError < b.htbError - 4, "\(a) against \(b)")
        let (_, truth) = Self.truthMasks(p)
        let off = try AutoSegmentation.segment(p.ct, without: [.brightExophyticLesions])
        let (added, right) = Self.addedLesionVoxels(with.lesions, over: off.lesions, truth: truth)
        print("stomach seed 41: \(added) lesion voxels added, \(right) of them truth lesion")
        #expect(Double(right) >= 0.85 * Double(added), "\(right) of \(added)")
    }

    @Test(
        "faint hypodense lesions of the delayed phase are found at a coarser scale (delayed seed 6); a portal phantom's clear lesions leave none to find (low seed 7), nor does a gallbladder the outline closed around (spleen seed 9; on a CT's grid, response pair 1's baseline)"
    )
    func faintLesions() throws {
        // Delayed seed 6: a 73 mL lesion washed out to 20 HU below the parenchyma, inside the
        // 2 mm step's band (texture SD 10 HU there, 4 HU at 4 mm). Measured: lesion Dice 0.803
        // and HTB error 0.15 with the stage, 0.347 and 3.92 without.
        let (with, a, b) = try Self.stageEffect(try Self.delayedSpecPhantom(seed: 6), stage: .faintLesions)
        print("delayed seed 6: faint \(with.info.faintLesionsAddedML ?? -1) mL; with \(a), without \(b)")
        #expect(a.dice >= 0.75 && a.htbError <= 1, "\(a)")
        #expect(b.dice < 0.45 && b.htbError > 3, "\(b)")
        let low = try AutoSegmentation.segment(try Self.lowSpecPhantom(seed: 7).ct)
        #expect(low.info.faintLesionsAddedML == 0)
        // Spleen seed 9: the outline closes around the gallbladder (water density), which is no
        // faint lesion (10.6 mL added before the fluid test).
        let spleen = try AutoSegmentation.segment(try Self.spleenSpecPhantom(seed: 9).ct)
        #expect(spleen.info.faintLesionsAddedML == 0)
        // On a CT's grid (response pair 1's baseline in Benchmarks/response_pairs.py --grid fine)
        // the 4 mm scale's halo around the enclosed gallbladder held as much parenchyma as bile:
        // region median 59 HU, 28.8 mL added as a faint lesion until htb-auto/36 judged the
        // region's own value (15.7 HU).
        let fine = try AutoSegmentation.segment(
            try Self.sweepPhantom(
                seed: 1, lesions: 6, htbPercent: 12, enhancement: "mixed", phase: .portal, Self.fineGrid
            ).ct)
        #expect(fine.info.faintLesionsAddedML == 0)
    }

    @Test("faint lesions: a region's own value is that of the voxels nearer water than parenchyma")
    func faintOwnValue() {
        // A gallbladder's region at the 4 mm scale: bile at 10 HU, its blurred edge, and as much
        // parenchyma again; a faint lesion's: 80 HU with noise, none of it near water.
        let bile =
            [Float](repeating: 10, count: 400) + (0..<100).map { Float(10 + $0) } + [Float](repeating: 100, count: 500)
        let lesion = (0..<1000).map { Float(80 + ($0 % 21) - 10) }
        #expect(Filters.median(bile) > AutoSegmentation.fluidCeilingHU)
        #expect(FaintLesions.ownValue(bile, mode: 104) < AutoSegmentation.fluidCeilingHU)
        #expect(FaintLesions.ownValue(lesion, mode: 104) > 60)
    }

    @Test(
        "faint hyper-enhancing lesions are found at the coarser scale too (low seed 14); a vessel confluence (low seed 11) and the spleen a fatty liver's outline took in (fatty seed 25) are not"
    )
    func faintBrightLesions() throws {
        // Low seed 14: a 338 mL lesion 40 HU above the parenchyma, at the lesion step's bright
        // threshold, which found 17 % of it (HTB 4.1 % against 20.0 %).
        let p = try Self.lowSpecPhantom(seed: 14)
        let (with, a, b) = try Self.stageEffect(p, stage: .faintLesions)
        let off = try AutoSegmentation.segment(p.ct, without: [.faintLesions])
        let (added, right) = Self.addedLesionVoxels(with.lesions, over: off.lesions, truth: Self.truthMasks(p).lesions)
        print(
            "low seed 14: faint \(with.info.faintLesionsAddedML ?? -1) mL (\(right) of \(added) voxels lesion); with \(a), without \(b)"
        )
        #expect(a.dice >= 0.75 && b.dice < 0.4, "\(a) against \(b)")
        #expect(a.htbError < b.htbError - 10, "\(a) against \(b)")
        // Measured: 6259 of 8337 added voxels are lesion (the 2 mm extent's edge, 20 HU above the
        // parenchyma, is 2 SD of its texture), lesion Dice 0.290 -> 0.829, HTB error 15.96 -> 3.25.
        #expect(Double(right) >= 0.7 * Double(added), "\(right) of \(added)")
        // Low seed 11: an 11 mL region at the portal vein's bifurcation, as bright at 4 mm.
        let low = try AutoSegmentation.segment(try Self.lowSpecPhantom(seed: 11).ct)
        #expect(low.info.faintLesionsAddedML == 0)
        // Fatty seed 25: the outline took in the spleen, 30 HU brighter than the fatty parenchyma.
        let fatty = try Self.sweepPhantom(seed: 25, lesions: 6, htbPercent: 20, enhancement: "mixed", phase: .portal) {
            $0.steatosisHU = 30
        }
        let fattyWith = try AutoSegmentation.segment(fatty.ct)
        let fattyOff = try AutoSegmentation.segment(fatty.ct, without: [.faintLesions])
        let (fattyAdded, fattyRight) = Self.addedLesionVoxels(
            fattyWith.lesions, over: fattyOff.lesions, truth: Self.truthMasks(fatty).lesions)
        print(
            "fatty seed 25: faint \(fattyWith.info.faintLesionsAddedML ?? -1) mL (\(fattyRight) of \(fattyAdded) voxels lesion)"
        )
        // Measured: 1788 of 1862 added voxels are lesion (the dark side's; htb-auto/37: 1731 of
        // 1776, before the neighbour stage took this seed's spleen out of the liver). Without the left
        // lateral test the spleen joined the lesions (sweep: lesion Dice 0.863 -> 0.685).
        #expect(Double(fattyRight) >= 0.9 * Double(fattyAdded), "\(fattyRight) of \(fattyAdded)")
    }

    /// The sweep's fatty spec (Benchmarks/phantom_sweep.py) with another seed, in memory.
    static func fattySpecPhantom(seed: UInt64) throws -> Phantom {
        try sweepPhantom(seed: seed, lesions: 6, htbPercent: 20, enhancement: "mixed", phase: .portal) {
            $0.steatosisHU = 30
        }
    }

    @Test(
        "the neighbour-organ stage measures the tissue the refinement keeps: the spleen beside a fatty liver, 40 HU brighter, leaves (fatty seeds 47 and 50)"
    )
    func fattySpleenLeaves() throws {
        // Measured: 322 and 167 mL removed, liver Dice 0.912 and 0.908. htb-auto/37, which measured
        // only tissue within 3 SD of the mode (the spleen lies 3.3 SD above it on this grid, and
        // the refinement keeps it at 4), removed nothing: Dice 0.819 and 0.864, 37 and 26 % too
        // large.
        for seed: UInt64 in [47, 50] {
            let p = try Self.fattySpecPhantom(seed: seed)
            let r = try AutoSegmentation.segment(p.ct)
            let m = try Metrics.overlap(predicted: r.liver, truth: Self.truthMasks(p).liver)
            let dice = m.dice
            print(
                "fatty seed \(seed): neighbour organs \(r.info.neighbourOrgansRemovedML ?? -1) mL, liver Dice \(dice), \(m.predictedVolumeML) of \(m.truthVolumeML) mL"
            )
            #expect((r.info.neighbourOrgansRemovedML ?? 0) >= 100 && dice >= 0.9, "\(seed): Dice \(dice)")
        }
    }

    /// The sweep's spleen spec (Benchmarks/phantom_sweep.py) with another seed, in memory.
    static func spleenSpecPhantom(seed: UInt64) throws -> Phantom {
        var spec = PhantomSpec()
        (spec.seed, spec.matrix, spec.slices, spec.sliceMM, spec.pixelMM) = (seed, 128, 40, 5, 2.8)
        (spec.lesions, spec.htbPercent, spec.enhancement, spec.phase) = (3, 3, "hyper", .arterial)
        spec.spleenContact = true
        return try Phantom.build(spec)
    }

    @Test(
        "the spleen against the left lobe leaves the liver (spleen seed 3); nothing leaves a portal phantom's liver (low seed 7)"
    )
    func neighbourOrgans() throws {
        // Spleen seed 3: the outline took in the spleen, 10 HU brighter than the liver. Measured:
        // liver Dice 0.941 with the stage, 0.846 without; 355 mL removed.
        let p = try Self.spleenSpecPhantom(seed: 3)
        let (truthLiver, truth) = Self.truthMasks(p)
        let with = try AutoSegmentation.segment(p.ct)
        let without = try AutoSegmentation.segment(p.ct, without: [.neighbourOrgans])
        let a = try Metrics.overlap(predicted: with.liver, truth: truthLiver).dice
        let b = try Metrics.overlap(predicted: without.liver, truth: truthLiver).dice
        print(
            "spleen seed 3: neighbour organs \(with.info.neighbourOrgansRemovedML ?? -1) mL; liver Dice \(a) with, \(b) without"
        )
        #expect(a >= 0.92 && b < 0.87, "\(a) \(b)")
        #expect((with.info.neighbourOrgansRemovedML ?? 0) >= 250)
        // No truth lesion leaves with the organ.
        let (_, lost) = Self.addedLesionVoxels(without.lesions, over: with.lesions, truth: truth)
        #expect(lost <= 20, "\(lost) truth lesion voxels lost")
        let low = try AutoSegmentation.segment(try Self.lowSpecPhantom(seed: 7).ct)
        #expect(low.info.neighbourOrgansRemovedML == 0)
    }

    @Test(
        "lesions lying on the liver's outermost voxel layer are its edge's partial volume and return to the liver (spleen seed 3)"
    )
    func edgeSheets() throws {
        // Spleen seed 3, arterial phase: the parenchyma at 75 HU, the wall's muscle at 50 HU, and
        // dark sheets along the surface read as lesions. Measured: lesion Dice 0.711 and HTB error
        // 1.88 with the stage, 0.540 and 4.31 without; 1040 voxels returned, none truth lesion.
        let p = try Self.spleenSpecPhantom(seed: 3)
        let (with, a, b) = try Self.stageEffect(p, stage: .edgeSheets)
        print("spleen seed 3: edge sheets \(with.info.edgeSheetsRemovedML ?? -1) mL; with \(a), without \(b)")
        #expect(a.dice >= b.dice + 0.05 && a.htbError < b.htbError, "\(a) \(b)")
        let (_, truth) = Self.truthMasks(p)
        let off = try AutoSegmentation.segment(p.ct, without: [.edgeSheets])
        let (removed, truthRemoved) = Self.addedLesionVoxels(off.lesions, over: with.lesions, truth: truth)
        print("spleen seed 3: \(removed) lesion voxels returned to the liver, \(truthRemoved) of them truth lesion")
        #expect(removed >= 300 && Double(truthRemoved) <= 0.05 * Double(removed), "\(truthRemoved) of \(removed)")
    }

    /// The sweep's delayed spec (Benchmarks/phantom_sweep.py) with another seed, in memory.
    static func delayedSpecPhantom(seed: UInt64) throws -> Phantom {
        var spec = PhantomSpec()
        (spec.seed, spec.matrix, spec.slices, spec.sliceMM, spec.pixelMM) = (seed, 128, 40, 5, 2.8)
        (spec.lesions, spec.htbPercent, spec.enhancement, spec.phase) = (4, 6, "mixed", .delayed)
        return try Phantom.build(spec)
    }

    /// phantom-htb-low's look at CT resolution (1.4 x 1.4 x 2.5 mm), 30 lesions of 3-25 mm for
    /// an HTB of 4 % (the small-lesion benchmark spec in README), in memory.
    @Test(
        "small lesions from 5 mm: with the expert liver, at least 70 % of a fine phantom's lesions of 5 mm and more are found"
    )
    func smallLesionsPhantom() throws {
        var spec = PhantomSpec()
        (spec.seed, spec.matrix, spec.slices, spec.sliceMM, spec.pixelMM) = (3, 256, 80, 2.5, 1.4)
        (spec.lesions, spec.htbPercent, spec.enhancement, spec.phase) = (30, 4, "mixed", .portal)
        let p = try Phantom.build(spec)
        let (liver, truth) = Self.truthMasks(p)
        let r = try AutoSegmentation.segment(p.ct, liver: liver)
        let minimumVoxels = Double.pi / 6 * 125 / p.ct.geometry.voxelVolumeMM3
        let lesions = components(of: truth, connectivity: .faces6).voxels.filter { Double($0.count) >= minimumVoxels }
        let found = lesions.filter { c in
            Double(c.reduce(0) { $0 + (r.lesions.voxels[$1] != 0 ? 1 : 0) }) >= 0.1 * Double(c.count)
        }.count
        print(
            "fine phantom, expert liver: \(found) of \(lesions.count) lesions >= 5 mm found; small-lesion step \(r.info.smallLesionsFound ?? -1)"
        )
        #expect(Double(found) >= 0.7 * Double(lesions.count))
    }

    @Test(
        "partial-volume rim: a surface voxel more than half liver joins (a lesion's neighbour as lesion); less than half, or beside brighter tissue, it does not"
    )
    func partialVolumeRim() {
        let g = Geometry(
            dims: Dims(20, 20, 3), originMM: .zero, spacingMM: Vector3(1, 1, 3),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        for beyond in [Int16(-100), 200] {  // fat, or a kidney
            var ct = CTVolume(repeating: beyond, geometry: g)
            var liver = Mask(repeating: 0, geometry: g), lesions = liver
            for k in 0..<3 {
                for j in 0..<20 {
                    for i in 0..<10 {
                        ct[i, j, k] = 100
                        liver[i, j, k] = 1
                        if j < 5 { lesions[i, j, k] = 1 }
                    }
                    // The surface column: 60 % liver above j = 10, 40 % below (against fat: 20 and -20 HU).
                    let share: Int16 = j < 10 ? 60 : 40
                    ct[10, j, k] = (share * 100 + (100 - share) * beyond) / 100
                }
            }
            let (out, outLesions, addedCount) = PartialVolumeRim.add(to: liver, lesions: lesions, ct: ct)
            var added = 0, addedLesion = 0, wrong = 0
            for k in 0..<3 {
                for j in 0..<20 {
                    for i in 0..<20 where out[i, j, k] != liver[i, j, k] {
                        if i == 10 && j < 10 {
                            added += 1
                            if outLesions[i, j, k] != 0 {
                                addedLesion += 1
                                if j >= 5 { wrong += 1 }
                            } else if j < 5 {
                                wrong += 1
                            }
                        } else {
                            wrong += 1
                        }
                    }
                }
            }
            if beyond < 0 {
                #expect(
                    added == 30 && addedLesion == 15 && wrong == 0 && addedCount == 30,
                    "added \(added) (\(addedCount) counted), as lesion \(addedLesion), wrong \(wrong)")
            } else {
                #expect(
                    added == 0 && wrong == 0 && addedCount == 0,
                    "beside brighter tissue: added \(added), wrong \(wrong)")
            }
            #expect(zip(outLesions.voxels, out.voxels).allSatisfy { $0.0 == 0 || $0.1 != 0 })
        }
    }

    @Test("a CT without a body is refused with a clear error, not a silent zero")
    func noBody() throws {
        let g = Geometry(
            dims: Dims(40, 40, 10), originMM: Vector3(0, 0, 0), spacingMM: Vector3(1, 1, 2),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        let air = CTVolume(repeating: -1000, geometry: g)
        #expect(throws: AutoSegmentationError.self) { try AutoSegmentation.segment(air) }
    }
}
