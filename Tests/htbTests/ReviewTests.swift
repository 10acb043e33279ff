import Analysis
import DicomIO
import Evaluation
import Filters
import Foundation
import Testing
import VolumeModel
import Volumetry

@testable import AutoSegmentation
@testable import Phantom

/// The failure classes `htb synth` can now draw (issue 20), and the review flag that says when an
/// automatic result is doubtful.
@Suite("Failure-class phantoms and the review flag")
struct ReviewTests {
    /// The sweep's grid (128 x 128 x 40 at 2.8 x 2.8 x 5 mm), where each class shows.
    static func spec(seed: UInt64, _ change: (inout PhantomSpec) -> Void) -> PhantomSpec {
        var s = PhantomSpec()
        s.seed = seed
        s.matrix = 128
        s.slices = 40
        s.pixelMM = 2.8
        s.sliceMM = 5
        change(&s)
        return s
    }

    /// Three hypodense lesions at 10 % HTB without noise: every lesion voxel wholly inside reads
    /// 45 HU, so a texture or margin shows in the pixels as drawn.
    static func noiselessHypo(seed: UInt64, _ change: (inout PhantomSpec) -> Void = { _ in }) -> PhantomSpec {
        spec(seed: seed) {
            $0.lesions = 3
            $0.htbPercent = 10
            $0.enhancement = "hypo"
            $0.noiseHU = 0
            change(&$0)
        }
    }

    /// `noiselessHypo(seed: 3)` and the same phantom with `change`, whose truth must be the same:
    /// the option changes pixels, not labels.
    static func pixelsOnly(_ change: (inout PhantomSpec) -> Void) throws -> (
        plain: PhantomSpec, changed: PhantomSpec, a: Phantom, b: Phantom
    ) {
        let plain = noiselessHypo(seed: 3)
        var changed = plain
        change(&changed)
        let a = try Phantom.build(plain), b = try Phantom.build(changed)
        #expect(a.labels.voxels == b.labels.voxels)
        return (plain, changed, a, b)
    }

    /// The sweep's irregular spec (Benchmarks/phantom_sweep.py) with another seed.
    static func irregularSpec(seed: UInt64) -> PhantomSpec {
        spec(seed: seed) {
            $0.lesions = 8
            $0.htbPercent = 8
            $0.enhancement = "hypo"
            $0.lesionShape = "irregular"
            $0.leftLobeLesions = 3
        }
    }

    /// Writes the phantom and runs the automatic analysis on it.
    static func analyse(_ spec: PhantomSpec, _ name: String = #function) throws -> (Phantom, Analysis) {
        let p = try Phantom.build(spec)
        let dir = Paths.temporaryDirectory(name)
        try p.write(to: dir)
        return (p, try Analysis.run(.init(studyPath: dir + "/ct", liverMasks: [], lesionMasks: [])))
    }

    @Test("irregular lesions: lobulated, confluent or sleeved along a vessel, and centred in the left lobe when asked")
    func irregularLesions() throws {
        let s = Self.irregularSpec(seed: 1)
        let p = try Phantom.build(s)
        var lesionMask = Mask(repeating: 0, geometry: p.labels.geometry)
        for v in 0..<lesionMask.voxels.count where p.labels.voxels[v] == 2 { lesionMask.voxels[v] = 1 }
        let comps = components(of: lesionMask, connectivity: .full26).voxels
        // A round lesion's principal-axis ratio is about 1 (1.2 at this grid); irregular ones
        // reach past 2 (the axis-ratio test rejected lesions above 2.5).
        let ratios = comps.filter { $0.count >= 20 }.map { LesionSegmenter.elongation($0, p.labels.geometry) }
        #expect(ratios.contains { $0 > 2 }, "\(ratios)")
        #expect(abs(p.truth.htbPercent - 8) < 0.5)
        // Three centres in the left lobe: lesion voxels beyond the midline (LPS +x is the patient's left).
        var leftVoxels = 0
        for v in 0..<lesionMask.voxels.count where lesionMask.voxels[v] != 0 {
            let g = p.labels.geometry, d = g.dims
            if g.positionMM(Double(v % d.x), Double((v / d.x) % d.y), Double(v / d.sliceCount)).x > 10 {
                leftVoxels += 1
            }
        }
        #expect(leftVoxels > 100, "\(leftVoxels)")
        // Round lesions of the same seed: the same centres' spheres, none elongated.
        var round = s
        round.lesionShape = nil
        #expect(
            round.command.contains("--lesion-shape") == false
                && s.command.contains("--lesion-shape irregular --left-lobe-lesions 3"))
    }

    @Test(
        "mosaic lesions: the truth is the uniform phantom's, patches inside the lesions keep a fifth of their contrast")
    func mosaicLesions() throws {
        let (uniform, mottled, a, b) = try Self.pixelsOnly { $0.lesionTexture = "mosaic" }
        // Lesion voxels away from their partial-volume edge: 45 HU in the uniform phantom; in the
        // mosaic one between that and 105 + 0.2 x (45 - 105) = 93 HU (patches, partly sampled),
        // patches making up 20-60 % of them by their mean.
        var lesionVoxels = 0, outside = 0, sum = 0.0
        for v in 0..<a.labels.voxels.count where a.labels.voxels[v] == 2 && a.ct.voxels[v] == 45 {
            lesionVoxels += 1
            sum += Double(b.ct.voxels[v])
            if !(45...93).contains(b.ct.voxels[v]) { outside += 1 }
        }
        let share = (sum / Double(max(lesionVoxels, 1)) - 45) / 48
        print("mosaic: \(lesionVoxels) deep lesion voxels, patch share \(share)")
        #expect(lesionVoxels > 1000 && (0.2...0.6).contains(share) && outside == 0)
        #expect(mottled.command.contains("--lesion-texture mosaic") && !uniform.command.contains("--lesion-texture"))
        #expect(throws: PhantomError.self) { try Phantom.build(Self.spec(seed: 1) { $0.lesionTexture = "striped" }) }
    }

    @Test("graded lesion margins: the truth is the sharp phantom's, the contrast fades over the outer 5 mm")
    func gradedMargins() throws {
        let sharp = Self.noiselessHypo(seed: 3) {
            $0.pixelMM = 1.4
            $0.matrix = 256
        }
        var graded = sharp
        graded.lesionMarginMM = 5
        let a = try Phantom.build(sharp), b = try Phantom.build(graded)
        #expect(a.labels.voxels == b.labels.voxels)
        // Lesion voxels wholly inside a lesion (45 HU, the whole contrast, in the sharp phantom)
        // with an in-plane neighbour that is not lie within two pixels (2.8 mm) of its edge:
        // graded, they keep a fifth of the contrast plus the ramp over their depth, at most
        // 0.2 + 0.8 x 2.8 / 5 = 0.65 of it. Voxels with no lesion edge within 5 mm in-plane read
        // 45 HU in both, unless a slice's edge lies within 5 mm above or below them.
        let g = a.labels.geometry, d = g.dims
        var edge = 0, edgeShare = 0.0, inner = 0, innerSame = 0
        let reach = Int((5.0 / g.spacingMM.x).rounded(.up)) + 1
        for v in 0..<a.labels.voxels.count where a.labels.voxels[v] == 2 && a.ct.voxels[v] == 45 {
            let i = v % d.x, j = (v / d.x) % d.y
            guard i >= reach, j >= reach, i < d.x - reach, j < d.y - reach else { continue }
            if [v - 1, v + 1, v - d.x, v + d.x].contains(where: { a.labels.voxels[$0] != 2 }) {
                edge += 1
                edgeShare += (105 - Double(b.ct.voxels[v])) / 60
            } else if (-reach...reach).allSatisfy({ o in
                a.labels.voxels[v + o] == 2 && a.labels.voxels[v + o * d.x] == 2
            }) {
                inner += 1
                if b.ct.voxels[v] == 45 { innerSame += 1 }
            }
        }
        let meanShare = edgeShare / Double(max(edge, 1))
        print(
            "graded margins: \(edge) edge voxels keep \(meanShare) of the contrast; \(innerSame) of \(inner) inner ones at 45 HU"
        )
        #expect(
            edge > 100 && (0.2...0.65).contains(meanShare) && inner > 100 && Double(innerSame) >= 0.5 * Double(inner))
        #expect(graded.command.contains("--lesion-margin-mm 5") && !sharp.command.contains("--lesion-margin-mm"))
        #expect(throws: PhantomError.self) { try Phantom.build(Self.spec(seed: 1) { $0.lesionMarginMM = 20 }) }
    }

    @Test("lungs: lung bases above the diaphragm only, the truth unchanged; dome lesions reach the capsule under it")
    func lungsAndDomeLesions() throws {
        let (plain, withLungs, a, b) = try Self.pixelsOnly { $0.lungs = true }
        // Lung (-850 HU, wholly; the bowel's gas reads the same, so only where the phantom
        // without lungs does not) only above the lung floor; no liver voxel away from the liver's
        // partial-volume edge changes.
        let g = a.ct.geometry, d = g.dims
        let floorMM = Double(d.z - 1) * g.spacingMM.z / 2 + Anatomy.lungFloorMM
        func zMM(_ v: Int) -> Double { g.positionMM(0, 0, Double(v / d.sliceCount)).z }
        func xMM(_ v: Int) -> Double { g.positionMM(Double(v % d.x), 0, 0).x }
        var lung = Set<Int>(), lowLung = 0, liverChanged = 0
        let interior = Filters.erode(
            Mask(voxels: a.labels.voxels.map { $0 != 0 ? 1 : 0 }, geometry: g), radiusMM: g.spacingMM.z)
        for v in 0..<b.ct.voxels.count {
            if interior.voxels[v] != 0 && a.ct.voxels[v] != b.ct.voxels[v] { liverChanged += 1 }
            guard b.ct.voxels[v] == Int16(Anatomy.lungHU) && a.ct.voxels[v] != Int16(Anatomy.lungHU) else { continue }
            lung.insert(v)
            if zMM(v) <= floorMM { lowLung += 1 }
        }
        print("lungs: \(lung.count) lung voxels, \(lowLung) below the floor, \(liverChanged) liver voxels changed")
        #expect(lung.count > 10_000 && lowLung == 0 && liverChanged == 0)
        // What the surface step takes for the lungs: these, with their partial-volume edge; below
        // the floor only the stomach's air under the left dome (patient's left, LPS +x), which
        // joins them through the 5 mm diaphragm's partial volume, as a fundus can on 5 mm slices.
        var above = Mask(repeating: 0, geometry: g)
        for v in 0..<above.voxels.count where b.ct.voxels[v] > -300 { above.voxels[v] = 1 }
        let found = SurfaceLesions.lungs(body: Filters.largestComponent(above))
        var all = 0, covered = 0, lowRight = 0
        for v in found.voxels.indices where found.voxels[v] != 0 {
            all += 1
            if lung.contains(v) { covered += 1 }
            if zMM(v) <= floorMM && xMM(v) <= 0 { lowRight += 1 }
        }
        print("lungs found: \(all) voxels, \(covered) of the lung's, \(lowRight) below the floor on the right")
        #expect(covered == lung.count && lowRight == 0)
        // Dome lesions: the first two centred under the dome, in the right lobe (LPS -x), each
        // reaching the capsule upwards (a lesion voxel with no liver above it).
        var dome = withLungs
        dome.domeLesions = 2
        let c = try Phantom.build(dome)
        var lesionMask = Mask(repeating: 0, geometry: g)
        for v in 0..<lesionMask.voxels.count where c.labels.voxels[v] == 2 { lesionMask.voxels[v] = 1 }
        let underDome = components(of: lesionMask, connectivity: .full26).voxels.filter { part in
            part.contains { v in
                v / d.sliceCount + 1 < d.z && c.labels.voxels[v + d.sliceCount] == 0
                    && g.positionMM(Double(v % d.x), 0, 0).x < 0
                    && g.positionMM(0, 0, Double(v / d.sliceCount)).z > floorMM
            }
        }
        #expect(underDome.count >= 2, "\(underDome.map(\.count))")
        #expect(dome.command.contains("--dome-lesions 2 --lungs") && !plain.command.contains("--lungs"))
        #expect(throws: PhantomError.self) { try Phantom.build(Self.noiselessHypo(seed: 3) { $0.domeLesions = 4 }) }
    }

    @Test("necrotic lesions: the truth is the uniform phantom's, the large lesions' centres read 25 HU")
    func necroticLesions() throws {
        let (uniform, necrotic, a, b) = try Self.pixelsOnly { $0.necroticLesions = true }
        // No parenchyma voxel changes: the necrosis lies deeper than 4 mm in its lesion. Lesion
        // voxels wholly necrotic read 25 HU, the others lie on the necrosis's edge (partial volume
        // of the 2 x 2 x 2 supersampling); where the liver's surface cuts a lesion, the voxels
        // beyond it hold some of the necrosis too.
        var lesion = 0, necrosis = 0, edge = 0, outside = 0, parenchyma = 0
        for v in 0..<a.labels.voxels.count {
            if a.labels.voxels[v] == 2 { lesion += 1 }
            guard a.ct.voxels[v] != b.ct.voxels[v] else { continue }
            if a.labels.voxels[v] == 1 {
                parenchyma += 1
            } else if a.labels.voxels[v] == 0 {
                outside += 1
            } else if b.ct.voxels[v] == Int16(PhaseContrast.necrosisHU) {
                necrosis += 1
            } else {
                edge += 1
            }
        }
        let share = Double(necrosis) / Double(max(lesion, 1))
        print(
            "necrotic: \(necrosis) of \(lesion) lesion voxels necrotic (\(share)), \(edge) on its edge, \(outside) beyond the liver"
        )
        #expect(parenchyma == 0 && outside < edge && necrosis > 100 && (0.05...0.3).contains(share))
        #expect(necrotic.command.contains("--necrotic-lesions") && !uniform.command.contains("--necrotic-lesions"))
    }

    @Test("the options are checked, and the default phantom is model v5's")
    func options() throws {
        #expect(throws: PhantomError.self) { try Phantom.build(Self.spec(seed: 1) { $0.lesionShape = "square" }) }
        #expect(throws: PhantomError.self) {
            try Phantom.build(
                Self.spec(seed: 1) {
                    $0.lesions = 2
                    $0.leftLobeLesions = 3
                })
        }
        // Optional keys stay out of the default truth.json (the committed samples are unchanged).
        let json = String(decoding: try JSONEncoder().encode(PhantomSpec()), as: UTF8.self)
        #expect(!json.contains("lesion_shape") && !json.contains("spleen_contact"))
    }

    @Test(
        "spleen contact: spleen voxels touch the liver at 10 HU above it, and the automatic liver leaves the spleen out; a flagged result (fatty seed 19) carries the flag in the report, its warnings and the overlay header"
    )
    func spleenContact() throws {
        let s = Self.spec(seed: 1) {
            $0.lesions = 3
            $0.htbPercent = 3
            $0.enhancement = "hyper"
            $0.phase = .arterial
            $0.spleenContact = true
        }
        let (p, a) = try Self.analyse(s)
        // Outside the liver, face-adjacent to it: some voxels at the spleen's 85 HU (liver 75).
        let g = p.labels.geometry, d = g.dims
        var touching = 0
        for v in 0..<p.labels.voxels.count where p.labels.voxels[v] == 0 {
            let i = v % d.x, j = (v / d.x) % d.y
            guard i > 0, i + 1 < d.x, j > 0, j + 1 < d.y else { continue }
            guard [v - 1, v + 1, v - d.x, v + d.x].contains(where: { p.labels.voxels[$0] != 0 }) else { continue }
            if abs(Double(p.ct.voxels[v]) - 85) < 30, g.positionMM(Double(i), Double(j), 0).x > 40 { touching += 1 }
        }
        #expect(touching > 50, "\(touching)")
        let info = try #require(a.report.automatic)
        let codes = (info.reviewReasons ?? []).map(\.code)
        print(
            "spleen contact, seed 1: liver \(a.report.liver.volumeML) mL (truth \(p.truth.liverVolumeML)), neighbour organs \(info.neighbourOrgansRemovedML ?? -1) mL, review \(codes)"
        )
        // Until htb-auto/26 the liver took the spleen in (2014 mL) and was flagged for it; the
        // neighbour-organ stage now removes 331 mL (measured: 1720 mL).
        #expect(a.report.liver.volumeML < p.truth.liverVolumeML * 1.1)
        #expect((info.neighbourOrgansRemovedML ?? 0) > 200 && !codes.contains("liver_in_left_lateral_abdomen"))
        // A flagged result: the flag reaches the report, its warnings and the overlay. Fatty seed
        // 7, flagged for its liver in the left lateral abdomen until htb-auto/37 (1859 mL against
        // 1467 mL: wall, stomach and spleen), is no longer: since htb-auto/38 the neighbour stage
        // measures the spleen 40 HU brighter than a fatty parenchyma and takes it out (1670 mL).
        // Fatty seed 19: its steatotic liver's first outline leaked (a correction stage removed
        // 15 % or more) and it fills 37 % of the body's section in one slice.
        let (fatty, b) = try Self.analyse(
            Self.spec(seed: 19) {
                $0.lesions = 6
                $0.htbPercent = 20
                $0.enhancement = "mixed"
                $0.steatosisHU = 30
            })
        let fattyInfo = try #require(b.report.automatic)
        print(
            "fatty seed 19: liver \(b.report.liver.volumeML) mL (truth \(fatty.truth.liverVolumeML)), review \((fattyInfo.reviewReasons ?? []).map(\.code))"
        )
        let reason = try #require(fattyInfo.reviewReasons?.first { $0.code == "large_correction" })
        #expect(fattyInfo.reviewNeeded == true)
        #expect(b.report.flags.contains(Analysis.reviewFlag))
        #expect(
            b.report.study.warnings.contains {
                $0.code == "automatic_review_needed" && $0.message.contains(reason.detail)
            })
        #expect(
            b.overlayScene(burnInPatient: false).headerLines.contains {
                $0.hasPrefix("REVIEW NEEDED:") && $0.contains("LARGE_CORRECTION")
            })
    }

    @Test("a result that meets the targets is not flagged (phantom-low, the sample)")
    func correctNotFlagged() throws {
        let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-low"
        let a = try Analysis.run(.init(studyPath: sample, liverMasks: [], lesionMasks: []))
        let info = try #require(a.report.automatic)
        #expect(info.reviewNeeded == false, "\(info.reviewReasons ?? [])")
        #expect(!a.report.flags.contains(Analysis.reviewFlag))
        #expect(!a.overlayScene(burnInPatient: false).headerLines.contains { $0.contains("REVIEW") })
        let m = try #require(info.review)
        #expect(m.leftLateralShare < Review.maximumLeftLateralShare && m.bodyAreaShare < Review.maximumBodyAreaShare)
        // The phantom's spine is at x = 0: the midline found there.
        #expect(try #require(m.leftOfMidlineShare) > Review.minimumLeftOfMidlineShare)
        // With the expert's liver the review does not run (its measures judge an automatic liver).
        let b = try Analysis.run(
            .init(studyPath: sample, liverMasks: [MaskSpec(sample + "/truth/seg.dcm:Liver")], lesionMasks: []))
        #expect(b.report.automatic?.reviewNeeded == nil)
    }

    @Test(
        "a hyper-enhancing lesion the lesion step missed is flagged (low seed 14); a result meeting the targets is not (low seed 1)"
    )
    func missedBrightLesion() throws {
        // Low seed 14: a 338 mL lesion 40 HU above the parenchyma, 3.3 robust SD, found over 17 %
        // of it (HTB 4.1 % against 20.0 %); 156 mL of compact bright tissue left unexplained.
        // Low seed 1 meets every target with 9.5 mL of it (0.6 % of the liver).
        var found: [UInt64: (Double, Double, [String])] = [:]
        for seed: UInt64 in [14, 1] {
            let p = try AutoSegmentationPhantomTests.lowSpecPhantom(seed: seed)
            // Without the faint-lesion stage, which finds low seed 14's lesion at 4 mm since
            // htb-auto/27: the review's measure must still see a lesion the steps missed.
            let r = try AutoSegmentation.segment(p.ct, without: [.faintLesions])
            let liverML = r.liver.union(r.lesions).volumeML
            let bright = try #require(r.info.review).unexplainedBrightML
            found[seed] = (bright, liverML, (r.info.reviewReasons ?? []).map(\.code))
            print("low seed \(seed): unexplained bright \(bright) mL of \(liverML) mL, review \(found[seed]!.2)")
        }
        let (bright14, liver14, codes14) = try #require(found[14])
        #expect(bright14 >= 0.05 * liver14 && codes14.contains("unexplained_bright_tissue"), "\(codes14)")
        let (bright1, liver1, codes1) = try #require(found[1])
        #expect(
            bright1 < Review.maximumUnexplainedBrightShare * liver1 && !codes1.contains("unexplained_bright_tissue"))
    }

    // Stomach seed 6, this test's case until htb-auto/28, now keeps its lobe (`DetachedLobes.cutOff`:
    // liver Dice 0.895 -> 0.973); a lobe filled by lesions still goes.
    @Test("a liver whose left lobe was cut off with the lesions filling it is flagged (irregular spec, seed 21)")
    func leftLobeLost() throws {
        let (p, a) = try Self.analyse(Self.irregularSpec(seed: 21))
        let info = try #require(a.report.automatic)
        print(
            "irregular, seed 21: liver \(a.report.liver.volumeML) mL (truth \(p.truth.liverVolumeML)), HTB \(a.report.htb.percent) (truth \(p.truth.htbPercent)), review \((info.reviewReasons ?? []).map(\.code))"
        )
        #expect(a.report.liver.volumeML < p.truth.liverVolumeML * 0.9)
        #expect((info.reviewReasons ?? []).map(\.code).contains("left_lobe_missing"))
    }

    /// Writes `phantoms` as series of one scan session (one study, one Frame of Reference), or of
    /// another (`otherSession`: another study and frame).
    static func session(_ phantoms: [(Phantom, String)], otherSession: Set<Int> = [], _ name: String = #function) throws
        -> String
    {
        let dir = Paths.temporaryDirectory(name)
        for (n, (p, description)) in phantoms.enumerated() {
            let other = otherSession.contains(n)
            try SeriesWriter.writeCT(
                p.ct,
                identity: SeriesIdentity(
                    patientName: "Phases^Test", patientID: "PHASES", studyUID: other ? "2.25.3011" : "2.25.3001",
                    seriesUID: "2.25.3002.\(n + 1)",
                    frameOfReferenceUID: other ? "2.25.3013" : "2.25.3003",
                    studyDate: "20260101", seriesNumber: n + 1, seriesDescription: description,
                    studyDescription: "phases",
                    instanceUID: { "2.25.3004.\(n + 1).\($0 + 1)" }), to: dir + "/s\(n + 1)")
        }
        return dir
    }

    @Test(
        "the session's other phases are segmented too: livers that agree raise nothing, one 10 % or more apart raises phases_disagree"
    )
    func phases() throws {
        let portal = try Phantom.build(
            Self.spec(seed: 1) {
                $0.lesions = 6
                $0.htbPercent = 20
                $0.enhancement = "mixed"
            })
        let leaky = try Phantom.build(
            Self.spec(seed: 4) {
                $0.lesions = 3
                $0.htbPercent = 3
                $0.enhancement = "hyper"
                $0.phase = .arterial
                $0.spleenContact = true
            })
        // The same series twice (a repeated acquisition): the livers agree. A third series of
        // another session (another study and frame: a follow-up) is no sibling.
        let same = try Self.session(
            [(portal, "PV abdomen"), (portal, "PV abdomen repeat"), (leaky, "ART other session")], otherSession: [2],
            "phasesSame")
        let a = try Analysis.run(.init(studyPath: same, series: "2.25.3002.1", liverMasks: [], lesionMasks: []))
        let info = try #require(a.report.automatic)
        let p = try #require(info.phases)
        #expect(
            p.count == 1 && p[0].seriesDescription == "PV abdomen repeat"
                && abs((p[0].liverVolumeML ?? 0) - a.report.liver.volumeML) < 0.01)
        #expect(!(info.reviewReasons ?? []).contains { $0.code == "phases_disagree" })
        // An arterial phase whose liver disagrees by more than 10 % (the failure the reason exists
        // for: one of the two took in a neighbour or lost a lobe): flagged, both volumes named.
        // It is another seed's phantom (seed 4: a liver 19 % larger) in the same frame of
        // reference, for a margin: seed 1's own arterial phase read 1720 against 1546 mL until
        // htb-auto/37 (+11 %: the spleen's rim and the wall) and 1707 against 1547 mL (+10.3 %)
        // since htb-auto/38. (Until htb-auto/25 this was stomach seed 6 with its left lobe lost.)
        let mixed = try Self.session([(portal, "PV abdomen"), (leaky, "ART abdomen")], "phasesMixed")
        let b = try Analysis.run(.init(studyPath: mixed, series: "2.25.3002.1", liverMasks: [], lesionMasks: []))
        let reasons = b.report.automatic?.reviewReasons ?? []
        print(
            "phases: PV \(b.report.liver.volumeML) mL, ART \(b.report.automatic?.phases?.first?.liverVolumeML ?? -1) mL; \(reasons.map(\.code))"
        )
        #expect(
            b.report.automatic?.reviewNeeded == true
                && reasons.contains { $0.code == "phases_disagree" && $0.detail.contains("ART abdomen") })
        #expect(b.report.flags.contains(Analysis.reviewFlag))
        // --single-phase: no other phase looked at.
        let c = try Analysis.run(
            .init(studyPath: mixed, series: "2.25.3002.1", liverMasks: [], lesionMasks: [], singlePhase: true))
        #expect(c.report.automatic?.phases == nil && c.report.automatic?.reviewNeeded == false)
        // The limit: 10 % either way; a phase that could not be segmented does not count.
        #expect(
            Review.phaseReason(
                liverML: 1500,
                phases: [.init(seriesKey: "k", seriesDescription: "d", phaseHint: nil, liverVolumeML: 1649, error: nil)]
            ) == nil)
        #expect(
            Review.phaseReason(
                liverML: 1500,
                phases: [.init(seriesKey: "k", seriesDescription: "d", phaseHint: nil, liverVolumeML: 1651, error: nil)]
            ) != nil)
        #expect(
            Review.phaseReason(
                liverML: 1500,
                phases: [
                    .init(
                        seriesKey: "k", seriesDescription: "d", phaseHint: nil, liverVolumeML: nil, error: "unreadable")
                ]) == nil)
        // The gap raises the flag whichever phase is wrong; the detail names the other phase's
        // own doubts about its outline, not those about its lesions.
        func phase(_ reasons: [String]) -> AutoSegmentation.PhaseLiver {
            var p = AutoSegmentation.PhaseLiver(
                seriesKey: "k", seriesDescription: "d", phaseHint: nil, liverVolumeML: 1800, error: nil)
            p.reviewReasons = reasons
            return p
        }
        let doubted = try #require(Review.phaseReason(liverML: 1500, phases: [phase(["large_correction"])]))
        #expect(doubted.detail.contains("'d' 1800 mL (+20 %; its own review: large_correction)"))
        let lesionDoubts = try #require(Review.phaseReason(liverML: 1500, phases: [phase(["unexplained_dark_tissue"])]))
        #expect(lesionDoubts.detail.contains("'d' 1800 mL (+20 %)"))
    }

    @Test(
        "unexplained dark tissue counts solid tissue, not water: a cyst or the gallbladder inside the outline is no missed lesion"
    )
    func unexplainedDarkIsSolid() {
        // A 100 x 100 x 30 mm liver block at 100 HU (2 x 2 x 2 mm voxels) holding two 12 mm balls
        // (7.2 mL each) far from its edge: one at 50 HU (solid tissue, a lesion missed), one at 5 HU
        // (water). Only the first is unexplained.
        let g = VolumeTests.grid(60, 60, 25, spacing: Vector3(2, 2, 2))
        var liver = Mask(repeating: 0, geometry: g)
        var smooth = Volume<Float>(voxels: [Float](repeating: -100, count: g.dims.count), geometry: g)
        let d = g.dims
        for v in 0..<d.count {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            guard (5..<55).contains(i), (5..<55).contains(j), (5..<20).contains(k) else { continue }
            liver.voxels[v] = 1
            smooth.voxels[v] = 100
            for (ci, value) in [(18.0, Float(50)), (42.0, Float(5))] {
                let r2 = pow(Double(i) - ci, 2) + pow(Double(j) - 30, 2) + pow(Double(k) - 12, 2)
                if r2 <= 36 { smooth.voxels[v] = value }
            }
        }
        let m = Review.measure(
            liver: liver, lesions: Mask(repeating: 0, geometry: g), body: liver, smooth: smooth, modeHU: 100,
            robustSDHU: 8)
        let ballML = Double((0..<d.count).filter { smooth.voxels[$0] == 50 }.count) * 8 / 1000
        #expect(
            abs(m.unexplainedDarkML - ballML) < 0.01, "\(m.unexplainedDarkML) mL against the solid ball's \(ballML)")
    }

    @Test(
        "a dark mass the liver wraps but does not include is measured; a wall thinner than 10 mm and water are not"
    )
    func darkMassOnSurface() {
        // A 100 x 100 x 50 mm liver block at 100 HU (2 mm voxels) with three cavities outside its
        // mask but inside its outline: an 18 mm ball of 50 HU (24 mL, a hypodense lesion left out),
        // a 6 mm slab of 50 HU (a bowel wall) and a 12 mm ball of water (5 HU).
        let g = VolumeTests.grid(60, 60, 32, spacing: Vector3(2, 2, 2))
        let d = g.dims
        func scene(massHU: Float) -> (liver: Mask, smooth: Volume<Float>, massVoxels: Int) {
            var liver = Mask(repeating: 0, geometry: g)
            var smooth = Volume<Float>(voxels: [Float](repeating: -100, count: d.count), geometry: g)
            var massVoxels = 0
            for v in 0..<d.count {
                let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
                guard (5..<55).contains(i), (5..<55).contains(j), (3..<28).contains(k) else { continue }
                func inBall(_ c: (Int, Int, Int), _ r: Int) -> Bool {
                    (i - c.0) * (i - c.0) + (j - c.1) * (j - c.1) + (k - c.2) * (k - c.2) <= r * r
                }
                if inBall((38, 30, 15), 9) {
                    smooth.voxels[v] = massHU
                    massVoxels += 1
                } else if (10..<13).contains(i) && (10..<50).contains(j) && (8..<22).contains(k) {
                    smooth.voxels[v] = 50
                } else if inBall((20, 40, 15), 6) {
                    smooth.voxels[v] = 5
                } else {
                    liver.voxels[v] = 1
                    smooth.voxels[v] = 100
                }
            }
            return (liver, smooth, massVoxels)
        }
        let body = Mask(repeating: 1, geometry: g), none = Mask(repeating: 0, geometry: g)
        let dark = scene(massHU: 50)
        let m = Review.measure(
            liver: dark.liver, lesions: none, body: body, smooth: dark.smooth, modeHU: 100, robustSDHU: 8)
        let massML = Double(dark.massVoxels) * 8 / 1000
        let measured = m.darkMassOnSurfaceML ?? -1
        // The opening trims the voxelised ball's rim a little; the slab and the water add nothing.
        #expect(
            measured >= 0.8 * massML && measured <= massML,
            "\(measured) mL against the dark ball's \(massML) mL")
        #expect(
            Review.reasons(m, liverML: 2000, lesionML: 0, largestCorrectionML: 0, concerns: []).map(\.code).contains(
                "dark_mass_on_liver"))
        let water = scene(massHU: 5)
        let w = Review.measure(
            liver: water.liver, lesions: none, body: body, smooth: water.smooth, modeHU: 100, robustSDHU: 8)
        #expect(w.darkMassOnSurfaceML == 0, "\(w.darkMassOnSurfaceML ?? -1) mL with the ball at water density")
    }

    @Test("a sheet of tissue leaving the liver is its thin share; the compact liver's own edges are few percent")
    func thinShare() {
        // A 66 x 100 x 60 mm liver block (2 mm voxels), then the same block with a 6 mm sheet
        // leaving one side (the abdominal wall's muscle taken in past the liver's edge):
        // 76 x 6 x 60 mm, 27 mL.
        let g = VolumeTests.grid(80, 64, 40, spacing: Vector3(2, 2, 2))
        let d = g.dims
        var block = Mask(repeating: 0, geometry: g), sheet = block
        for v in 0..<d.count {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            guard (5..<35).contains(k) else { continue }
            if (7..<40).contains(i), (10..<60).contains(j) {
                block.voxels[v] = 1
                sheet.voxels[v] = 1
            } else if (40..<78).contains(i), (30..<33).contains(j) {
                sheet.voxels[v] = 1
            }
        }
        let compact = Review.thinShare(block), sheeted = Review.thinShare(sheet)
        let sheetShare = Double(sheet.insideCount - block.insideCount) / Double(sheet.insideCount)
        #expect(compact < 0.03, "a block's edges: \(compact)")
        #expect(
            sheeted >= sheetShare && sheeted < sheetShare + 0.03,
            "the sheet is \(sheetShare) of the liver, the thin share \(sheeted)")
        var m = Review.Measures(
            leftLateralShare: 0, leftOfMidlineShare: 0.1, bodyAreaShare: 0.3, lesionContrastSD: 5, unexplainedDarkML: 2,
            unexplainedBrightML: 2)
        m.thinShare = sheeted
        #expect(
            Review.reasons(m, liverML: 1600, lesionML: 100, largestCorrectionML: 0, concerns: []).map(\.code) == [
                "thin_tissue_on_liver"
            ])
    }

    @Test(
        "a tumour-dominated liver whose lesions fade into the parenchyma is flagged (phantom-mid, seed 4, 5 mm graded margins); the same liver with sharp lesions is not"
    )
    func gradedTumourBoundary() throws {
        // The sweep's mid spec: 40 hyper-enhancing lesions at 62 % in the arterial phase. Sharp,
        // the liver between the two modes is the partial-volume zone (0.050 of it); graded, the
        // fading margins add a plateau of intermediate tissue (0.115).
        var found: [Bool: (Double, [String])] = [:]
        for graded in [false, true] {
            let p = try Phantom.build(
                Self.spec(seed: 4) {
                    ($0.lesions, $0.htbPercent, $0.enhancement, $0.phase) = (40, 62, "hyper", .arterial)
                    if graded { $0.lesionMarginMM = 5 }
                })
            let r = try AutoSegmentation.segment(p.ct)
            #expect(r.info.tumourDominated == true)
            let share = try #require(r.info.review?.gradedTumourShare)
            found[graded] = (share, (r.info.reviewReasons ?? []).map(\.code))
            print("mid seed 4, graded \(graded): graded tumour share \(share), review \(found[graded]!.1)")
        }
        let (sharp, sharpCodes) = try #require(found[false]), (fading, fadingCodes) = try #require(found[true])
        #expect(sharp < Review.maximumGradedTumourShare && !sharpCodes.contains("graded_tumour_boundary"))
        #expect(fading >= Review.maximumGradedTumourShare && fadingCodes.contains("graded_tumour_boundary"))
        // The graded margin (htb-auto/40) takes the fading margins in on the graded liver and
        // leaves the sharp one alone.
        for graded in [false, true] {
            let p = try Phantom.build(
                Self.spec(seed: 4) {
                    ($0.lesions, $0.htbPercent, $0.enhancement, $0.phase) = (40, 62, "hyper", .arterial)
                    if graded { $0.lesionMarginMM = 5 }
                })
            let with = try AutoSegmentation.segment(p.ct),
                without = try AutoSegmentation.segment(p.ct, without: [.gradedMargin])
            let (a, b) = (with.lesions.volumeML, without.lesions.volumeML)
            print(
                "mid seed 4, graded \(graded): lesions \(a) mL with the graded margin, \(b) without, truth \(p.truth.lesionVolumeML)"
            )
            if graded {
                #expect(a > b && abs(a - p.truth.lesionVolumeML) < abs(b - p.truth.lesionVolumeML))
            } else {
                #expect(with.lesions.voxels == without.lesions.voxels)
            }
        }
        // A parenchyma-dominated liver has no such measure.
        let low = try AutoSegmentation.segment(AutoSegmentationPhantomTests.lowSpecPhantom(seed: 1).ct)
        #expect(low.info.tumourDominated == false && low.info.review?.gradedTumourShare == nil)
    }

    /// A sweep spec's phantom (lesions, HTB, enhancement, phase) with necrotic lesions.
    static func necrotic(
        seed: UInt64, lesions: Int, htb: Double, _ enhancement: String, _ phase: ContrastPhase,
        _ change: (inout PhantomSpec) -> Void = { _ in }
    ) throws -> Phantom {
        try Phantom.build(
            spec(seed: seed) {
                ($0.lesions, $0.htbPercent, $0.enhancement, $0.phase) = (lesions, htb, enhancement, phase)
                $0.necroticLesions = true
                change(&$0)
            })
    }

    @Test(
        "a ring-enhancing lesion is its rim and its necrosis (stomach spec, seed 8, necrotic lesions): lesion Dice 0.46 -> 0.82 with htb-auto/41"
    )
    func ringEnhancingLesions() throws {
        // The sweep's stomach spec with every lesion of 2 cm or more necrotic. Its hyper-enhancing
        // lesions are rims around 25 HU centres: as a shell, the rim's seed fills a quarter of its
        // ellipsoid or less and was taken for a vessel network (htb-auto/40: lesion Dice 0.455,
        // HTB error 7.75 points); judged with the necrosis it wraps, it is a ball.
        let p = try Self.necrotic(seed: 8, lesions: 4, htb: 12, "mixed", .portal) { $0.stomachContact = true }
        var liver = Mask(repeating: 0, geometry: p.labels.geometry), lesions = liver
        for v in 0..<p.labels.voxels.count {
            liver.voxels[v] = p.labels.voxels[v] != 0 ? 1 : 0
            lesions.voxels[v] = p.labels.voxels[v] == 2 ? 1 : 0
        }
        let r = try AutoSegmentation.segment(p.ct)
        let dice = try Metrics.overlap(predicted: r.lesions, truth: lesions).dice
        let error = abs(100 * r.lesions.volumeML / r.liver.volumeML - 100 * lesions.volumeML / liver.volumeML)
        print("necrotic stomach seed 8: lesion Dice \(dice), HTB error \(error) points")
        #expect(dice >= 0.75 && error <= 2)
    }

    @Test(
        "a liver the later stages remove whole is no liver found (exit 71), not an empty mask (mid spec, seed 20, necrotic lesions)"
    )
    func noLiverLeft() throws {
        // The liver step seeds on the necrotic tumour's rims (184 HU), and the stages after it
        // remove all of it. htb-auto/40 returned the empty liver, and `analyze` reported the
        // liver mask empty (exit 68) as if one had been given.
        let p = try Self.necrotic(seed: 20, lesions: 40, htb: 62, "hyper", .arterial)
        #expect {
            try AutoSegmentation.segment(p.ct)
        } throws: { error in
            guard case .noLiverFound(let reason) = error as? AutoSegmentationError else { return false }
            return reason.contains("removed whole by the stages after it")
        }
    }

    @Test(
        "a necrotic lesion the liver left outside joins it (low spec, seed 7, necrotic lesions) and raises necrotic_mass_on_liver; drawn sharp, nothing is found"
    )
    func necroticLesionsOutside() throws {
        // The sweep's low spec (portal phase) with its lesions of 2 cm or more necrotic: a 158 mL
        // hyper-enhancing lesion at the surface is a rim at the bright threshold around a 25 HU
        // centre, and the liver leaves most of it outside (htb-auto/41: lesion Dice 0.456, HTB
        // error 11.4 points, no reason raised). Its centre lies outside the liver inside a wall of
        // enhancing tissue: the stage takes centre and wall, the review counts the centre.
        func low(_ necrotic: Bool) throws -> Phantom {
            try Phantom.build(
                Self.spec(seed: 7) {
                    ($0.lesions, $0.htbPercent, $0.enhancement, $0.phase) = (6, 20, "mixed", .portal)
                    $0.necroticLesions = necrotic
                })
        }
        let p = try low(true)
        var liver = Mask(repeating: 0, geometry: p.labels.geometry), lesions = liver
        for v in 0..<p.labels.voxels.count {
            liver.voxels[v] = p.labels.voxels[v] != 0 ? 1 : 0
            lesions.voxels[v] = p.labels.voxels[v] == 2 ? 1 : 0
        }
        func figures(_ r: AutoSegmentation.Result) throws -> (dice: Double, error: Double) {
            (
                try Metrics.overlap(predicted: r.lesions, truth: lesions).dice,
                abs(100 * r.lesions.volumeML / r.liver.volumeML - 100 * lesions.volumeML / liver.volumeML)
            )
        }
        let with = try AutoSegmentation.segment(p.ct)
        let without = try AutoSegmentation.segment(p.ct, without: [.necroticLesions])
        let (a, b) = (try figures(with), try figures(without))
        let ml = try #require(with.info.review?.necroticMassML)
        print(
            "necrotic low seed 7: lesion Dice \(b.dice) -> \(a.dice), HTB error \(b.error) -> \(a.error); added \(with.info.necroticLesionsAddedML ?? 0) mL, necrotic centres \(ml) mL"
        )
        #expect(a.dice >= b.dice + 0.1 && a.error <= b.error - 2)
        #expect(ml >= Review.maximumNecroticMassML)
        #expect((with.info.reviewReasons ?? []).contains { $0.code == "necrotic_mass_on_liver" })
        #expect((without.info.reviewReasons ?? []).contains { $0.code == "necrotic_mass_on_liver" })
        // Drawn sharp: no necrotic centre, nothing added, no reason.
        let sharp = try AutoSegmentation.segment(low(false).ct).info
        #expect((sharp.necroticLesionsAddedML ?? 0) == 0 && (sharp.review?.necroticMassML ?? 1) < 1.5)
        #expect(!(sharp.reviewReasons ?? []).contains { $0.code == "necrotic_mass_on_liver" })
    }

    @Test("each limit fires at its threshold and not below it")
    func limits() {
        let quiet = Review.Measures(
            leftLateralShare: 0, leftOfMidlineShare: 0.1, bodyAreaShare: 0.3, lesionContrastSD: 5, unexplainedDarkML: 2,
            unexplainedBrightML: 2)
        #expect(Review.reasons(quiet, liverML: 1600, lesionML: 100, largestCorrectionML: 100, concerns: []).isEmpty)
        func codes(_ m: Review.Measures, lesionML: Double = 100, correction: Double = 100, concerns: [String] = [])
            -> [String]
        {
            Review.reasons(m, liverML: 1600, lesionML: lesionML, largestCorrectionML: correction, concerns: concerns)
                .map(\.code)
        }
        var m = quiet
        m.leftLateralShare = 0.02
        #expect(codes(m) == ["liver_in_left_lateral_abdomen"])
        m = quiet
        m.leftOfMidlineShare = 0.039
        #expect(codes(m) == ["left_lobe_missing"])
        m.leftOfMidlineShare = 0.04
        #expect(codes(m).isEmpty)
        m.leftOfMidlineShare = nil
        #expect(codes(m).isEmpty)
        m = quiet
        m.bodyAreaShare = 0.37
        #expect(codes(m) == ["liver_fills_body_section"])
        m.bodyAreaShare = 0.369
        #expect(codes(m).isEmpty)
        m = quiet
        m.lesionContrastSD = 2.9
        #expect(codes(m) == ["low_lesion_contrast"])
        // Unexplained dark tissue: both 0.5 % of the liver (8 mL here) and a quarter of the lesions.
        m = quiet
        m.unexplainedDarkML = 8
        #expect(codes(m, lesionML: 100).isEmpty)
        #expect(codes(m, lesionML: 32) == ["unexplained_dark_tissue"])
        m.unexplainedDarkML = 7.9
        #expect(codes(m, lesionML: 0).isEmpty)
        // Unexplained bright tissue: 1 % of the liver (16 mL here), however much lesion was found.
        m = quiet
        m.unexplainedBrightML = 16
        #expect(codes(m, lesionML: 1000) == ["unexplained_bright_tissue"])
        m.unexplainedBrightML = 15.9
        #expect(codes(m, lesionML: 0).isEmpty)
        // A dark mass on the liver: 20 mL.
        m = quiet
        m.darkMassOnSurfaceML = 20
        #expect(codes(m) == ["dark_mass_on_liver"])
        m.darkMassOnSurfaceML = 19.9
        #expect(codes(m).isEmpty)
        // Thin tissue: 5 % of the liver.
        m = quiet
        m.thinShare = 0.05
        #expect(codes(m) == ["thin_tissue_on_liver"])
        // A graded tumour boundary: 7 % of a tumour-dominated liver.
        m = quiet
        m.gradedTumourShare = 0.07
        #expect(codes(m) == ["graded_tumour_boundary"])
        m.gradedTumourShare = 0.069
        #expect(codes(m).isEmpty)
        m.thinShare = 0.049
        #expect(codes(m).isEmpty)
        // A necrotic mass on the liver: 5 mL.
        m = quiet
        m.necroticMassML = 5
        #expect(codes(m) == ["necrotic_mass_on_liver"])
        m.necroticMassML = 4.9
        #expect(codes(m).isEmpty)
        #expect(codes(quiet, correction: 240) == ["large_correction"])
        #expect(codes(quiet, correction: 239).isEmpty)
        #expect(codes(quiet, concerns: ["implausible"]) == ["liver_implausible"])
        // HTB within 2 points of 50 or 75 % (liver 1600 mL: 768-832 and 1168-1232 mL of lesion).
        #expect(codes(quiet, lesionML: 769) == ["category_uncertain"])
        #expect(codes(quiet, lesionML: 831) == ["category_uncertain"])
        #expect(codes(quiet, lesionML: 1170) == ["category_uncertain"])
        #expect(codes(quiet, lesionML: 767).isEmpty && codes(quiet, lesionML: 833).isEmpty)
        #expect(codes(quiet, lesionML: 1167).isEmpty && codes(quiet, lesionML: 1233).isEmpty)
    }

    /// `htb qa` of the automatic segmentation of a phantom written to disk (its truth SEG judges it).
    static func judgeOnDisk(_ p: Phantom, singlePhase: Bool = false, without: Set<AutoSegmentation.Stage> = [])
        throws -> QAResult
    {
        let dir = Paths.temporaryDirectory()
        try p.write(to: dir)
        var c = QACase(
            name: "phantom", studyPath: dir + "/ct", truthLiver: [MaskSpec(dir + "/truth/seg.dcm:Liver")],
            truthLesions: [MaskSpec(dir + "/truth/seg.dcm:Lesion*")], predictedLiver: [], predictedLesions: [])
        c.singlePhase = singlePhase
        c.without = without
        return try QualityAssurance.evaluate(c)
    }

    @Test(
        "other phases: lesions washed out in the measured delayed phase are found on its arterial phase, another breath-hold taken back"
    )
    func otherPhaseLesions() throws {
        // The sweep's phases spec at seed 7 (one of the seeds 1-12 the stage was set on): three
        // HCC-like lesions, 20 HU darker than the parenchyma in the delayed phase, 110 HU
        // brighter in the arterial one, whose anatomy lies 6 mm higher.
        let p = try Phantom.build(
            Self.spec(seed: 7) {
                ($0.lesions, $0.htbPercent, $0.enhancement, $0.phase, $0.lungs) = (3, 5, "hyper", .delayed, true)
                ($0.siblingPhases, $0.siblingShiftMM) = ([.arterial], 6)
            })
        let both = try Self.judgeOnDisk(p), alone = try Self.judgeOnDisk(p, singlePhase: true)
        let phase = try #require(both.automatic?.phases?.first)
        let added = both.automatic?.otherPhaseLesionsAddedML ?? 0
        print(
            "other phases: lesion Dice \(alone.lesions.dice) -> \(both.lesions.dice), HTB error \(alone.htbAbsoluteErrorPoints) -> \(both.htbAbsoluteErrorPoints), \(added) mL added, shift \(phase.shiftMM ?? .nan) mm"
        )
        #expect(phase.lesionsSearched == true && abs((phase.shiftMM ?? 0) - 6) <= 1.5)
        #expect(added > 5 && both.lesions.dice >= alone.lesions.dice + 0.1)
        #expect(both.htbAbsoluteErrorPoints < alone.htbAbsoluteErrorPoints)
        #expect(alone.automatic?.otherPhaseLesionsAddedML == nil && alone.automatic?.phases == nil)
    }

    @Test("the heart from the lungs: a delayed phase's heart near the midline leaves the liver")
    func heartFromTheLungs() throws {
        // The sweep's heart spec at seed 1 (measured when the seed was set): the heart, at the
        // parenchyma's density, is centred too near the midline for the slices' run.
        let p = try Phantom.build(
            Self.spec(seed: 1) {
                ($0.lesions, $0.htbPercent, $0.enhancement, $0.phase, $0.lungs) = (4, 6, "mixed", .delayed, true)
            })
        let with = try Self.judgeOnDisk(p, singlePhase: true)
        let without = try Self.judgeOnDisk(p, singlePhase: true, without: [.heart])
        print(
            "heart from the lungs: liver Dice \(without.liver.dice) -> \(with.liver.dice), \(with.automatic?.heartRemovedML ?? 0) mL removed"
        )
        #expect(with.liver.dice >= 0.94 && without.liver.dice < 0.92)
        #expect((with.automatic?.heartRemovedML ?? 0) > 50)
    }
}
