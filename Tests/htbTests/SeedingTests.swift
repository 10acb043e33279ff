import Analysis
import DicomIO
import Evaluation
import Filters
import Foundation
import Overlay
import Phantom
import Seeding
import Testing
import VolumeModel
import Volumetry

/// One-click lesions: seeds from the command line, CSV and 3D Slicer markups; a lesion grown from
/// each; vetoes of automatic lesions; QA with seeds at the truth lesions' deepest points.
@Suite("One-click lesions (seeds, vetoes)")
struct SeedingTests {
    // MARK: reading seeds

    @Test("X,Y,Z from the command line; bad ones name the option and the reason")
    func commandLine() throws {
        let s = try LesionSeed.parse(" -12.5, 40 ,101.25", source: "--lesion-seed 1")
        #expect(s.positionMM == Vector3(-12.5, 40, 101.25))
        for (text, reason) in [
            ("1,2", "has 2 value(s)"), ("1,2,3,4", "has 4 value(s)"), ("1,nan,3", "y 'nan' is not a finite number"),
            ("1,2,inf", "z 'inf' is not a finite number"), ("a,2,3", "x 'a' is not a finite number"),
        ] {
            #expect {
                _ = try LesionSeed.parse(text, source: "--lesion-seed 2")
            } throws: { e in
                "\(e)".hasPrefix("--lesion-seed 2: ") && "\(e)".contains(reason)
            }
        }
    }

    @Test("CSV: optional header naming x, y, z and label; comments; the bad line is named")
    func csv() throws {
        let dir = Paths.temporaryDirectory()
        let a = dir + "/a.csv", b = dir + "/b.csv", c = dir + "/c.csv", e = dir + "/e.csv"
        try "# seeds\nlabel,z,y,x\nliver dome,100,-20,-50.5\n\nsegment 3,90,0,10\n".write(
            toFile: a, atomically: true, encoding: .utf8)
        try "-50.5,-20,100\n10,0,90,second\n".write(toFile: b, atomically: true, encoding: .utf8)
        try "1,2,3\n4,5\n".write(toFile: c, atomically: true, encoding: .utf8)
        try "# nothing\n\n".write(toFile: e, atomically: true, encoding: .utf8)
        let sa = try LesionSeed.read(file: a), sb = try LesionSeed.read(file: b)
        #expect(sa.map(\.positionMM) == [Vector3(-50.5, -20, 100), Vector3(10, 0, 90)])
        #expect(sa.map(\.label) == ["liver dome", "segment 3"])
        #expect(sa[1].source == a + " line 5")
        #expect(sb.map(\.positionMM) == sa.map(\.positionMM))
        #expect(sb.map(\.label) == [nil, "second"])
        #expect(
            throws: SeedError.malformed(
                source: c + " line 2", reason: "'4,5' has 2 value(s); expected x,y,z in mm (patient LPS)")
        ) {
            try LesionSeed.read(file: c)
        }
        #expect(throws: SeedError.malformed(source: e, reason: "no points in the file")) {
            try LesionSeed.read(file: e)
        }
        #expect(throws: SeedError.unreadable(file: dir + "/missing.csv", reason: "no such file")) {
            try LesionSeed.read(file: dir + "/missing.csv")
        }
    }

    static func markups(_ system: String?, points: String) -> String {
        """
        {"@schema": "https://raw.githubusercontent.com/slicer/slicer/main/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#",
         "markups": [{"type": "Fiducial", \(system.map { "\"coordinateSystem\": \"\($0)\"," } ?? "") "coordinateUnits": "mm",
           "controlPoints": [\(points)]}]}
        """
    }

    @Test("3D Slicer markups: LPS kept, RAS turned to LPS; unknown systems and empty lists refused")
    func slicerMarkups() throws {
        let dir = Paths.temporaryDirectory()
        let point = #"{"id": "1", "label": "F-1", "position": [-50.5, 20.0, 100.0], "positionStatus": "defined"}"#
        for (name, system, expected) in [
            ("lps", "LPS", Vector3(-50.5, 20, 100)), ("ras", "RAS", Vector3(50.5, -20, 100)),
        ] {
            let path = dir + "/\(name).mrk.json"
            try Self.markups(system, points: point).write(toFile: path, atomically: true, encoding: .utf8)
            let seeds = try LesionSeed.read(file: path)
            #expect(seeds.map(\.positionMM) == [expected])
            #expect(seeds[0].label == "F-1" && seeds[0].source == path + " point 1")
        }
        let odd = dir + "/odd.mrk.json", empty = dir + "/empty.mrk.json", undefined = dir + "/undefined.mrk.json"
        try Self.markups("IJK", points: point).write(toFile: odd, atomically: true, encoding: .utf8)
        try Self.markups("LPS", points: "").write(toFile: empty, atomically: true, encoding: .utf8)
        try Self.markups("LPS", points: #"{"id": "1", "position": [0, 0, 0], "positionStatus": "undefined"}"#).write(
            toFile: undefined, atomically: true, encoding: .utf8)
        #expect(
            throws: SeedError.malformed(source: odd, reason: "coordinateSystem 'IJK' is not known; expected LPS or RAS")
        ) {
            try LesionSeed.read(file: odd)
        }
        #expect(throws: SeedError.malformed(source: empty, reason: "no points in the file")) {
            try LesionSeed.read(file: empty)
        }
        #expect(
            throws: SeedError.malformed(
                source: undefined + " point 1", reason: "positionStatus 'undefined': the point has no position")
        ) {
            try LesionSeed.read(file: undefined)
        }
    }

    // MARK: growing

    /// A phantom not used to set the method's constants (those were looked at on seeds 37-41).
    static let phantom: Phantom = {
        var spec = PhantomSpec()
        (spec.seed, spec.matrix, spec.slices, spec.sliceMM, spec.pixelMM, spec.lesions) = (52, 192, 60, 3, 1.8, 4)
        return try! Phantom.build(spec)
    }()

    static func masks(_ p: Phantom) -> (liver: Mask, lesions: Mask) {
        var liver = Mask(repeating: 0, geometry: p.labels.geometry), lesions = liver
        for v in 0..<liver.voxels.count {
            if p.labels.voxels[v] != 0 { liver.voxels[v] = 1 }
            if p.labels.voxels[v] == 2 { lesions.voxels[v] = 1 }
        }
        return (liver, lesions)
    }

    @Test(
        "one seed per lesion at its deepest point: each lesion of >= 1 mL grown with Dice >= 0.75, HTB within 1.5 points"
    )
    func phantomLesions() throws {
        let p = Self.phantom
        let (liver, lesions) = Self.masks(p)
        let truthParts = components(of: lesions)
        let seeds = DeepestPoints.seeds(of: truthParts)
        #expect(seeds.count == truthParts.count)
        let grown = try SeededGrowth.grow(ct: p.ct, liver: liver, seeds: seeds)
        let ml = p.ct.geometry.voxelVolumeMM3 / 1000
        for (n, truth) in truthParts.voxels.enumerated() where Double(truth.count) * ml >= 1 {
            let mine = Set(grown.voxels[n])
            let common = truth.filter { mine.contains($0) }.count
            let dice = 2 * Double(common) / Double(mine.count + truth.count)
            #expect(grown.outcomes[n].status == .grown)
            #expect(dice >= 0.75, "lesion \(n + 1) (\(Double(truth.count) * ml) mL): Dice \(dice)")
        }
        let truth = try Volumetry.measure(liver: liver, lesions: lesions)
        let measured = try Volumetry.measure(liver: liver, lesions: grown.lesions)
        #expect(abs(measured.htbPercent - truth.htbPercent) <= 1.5, "\(measured.htbPercent) vs \(truth.htbPercent)")
    }

    /// A block of liver (105 HU, noise 12 HU at 1 mm voxels) holding two hypodense (45 HU) balls
    /// of radius 12 mm: one with a 2 mm enhancing wall (150 HU), one touched by a 170 HU vessel
    /// passing beside it. Exact truth: the first ball with its wall; the second without the vessel.
    static func walledLesions() -> (ct: CTVolume, liver: Mask, walled: Set<Int>, vessel: Set<Int>, seeds: [LesionSeed])
    {
        let g = Geometry(
            dims: Dims(110, 60, 40), originMM: .zero, spacingMM: Vector3(1, 1, 1.5),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        var ct = CTVolume(repeating: -100, geometry: g)
        var liver = Mask(repeating: 0, geometry: g)
        var rng = SeededGenerator(seed: 2026)
        let a = Vector3(30, 30, 30), b = Vector3(80, 30, 30)
        var walled = Set<Int>(), vessel = Set<Int>()
        for k in 0..<g.dims.z {
            for j in 0..<g.dims.y {
                for i in 0..<g.dims.x {
                    let v = i + g.dims.x * (j + g.dims.y * k)
                    let p = g.positionMM(Double(i), Double(j), Double(k))
                    let inside = i >= 3 && i < g.dims.x - 3 && j >= 3 && j < g.dims.y - 3 && k >= 2 && k < g.dims.z - 2
                    guard inside else { continue }
                    liver.voxels[v] = 1
                    var hu = 105.0
                    let ra = (p - a).length, rb = (p - b).length
                    // The vessel: a 3 mm radius tube along z, its wall 1 mm from the second ball.
                    let tube = ((p.x - (b.x + 16)) * (p.x - (b.x + 16)) + (p.y - b.y) * (p.y - b.y)).squareRoot()
                    if ra <= 12 {
                        hu = ra > 10 ? 150 : 45
                        walled.insert(v)
                    } else if rb <= 12 {
                        hu = 45
                    } else if tube <= 3 {
                        hu = 170
                        vessel.insert(v)
                    }
                    ct.voxels[v] = Int16((hu + 12 * rng.gaussian()).rounded())
                }
            }
        }
        let seeds = [a, b].enumerated().map { LesionSeed(positionMM: $1, source: "test seed \($0 + 1)") }
        return (ct, liver, walled, vessel, seeds)
    }

    @Test(
        "a tumour-dominated liver: the parenchyma is its plausible peak, not the tumour, and the click grows the mass")
    func tumourDominated() throws {
        // HTB 85 %, hypodense (45 HU) in portal parenchyma (105 HU): the liver's most frequent
        // value is the tumour's; htb-seeded/5 took it for the parenchyma and found no lesion.
        var spec = PhantomSpec()
        (spec.seed, spec.matrix, spec.slices, spec.pixelMM, spec.sliceMM) = (95, 128, 40, 2.8, 5)
        (spec.lesions, spec.htbPercent, spec.enhancement) = (5, 85, "hypo")
        let p = try Phantom.build(spec)
        let (liver, lesions) = Self.masks(p)
        let parts = components(of: lesions)
        let grown = try SeededGrowth.grow(ct: p.ct, liver: liver, seeds: DeepestPoints.seeds(of: parts))
        var both = 0
        for v in 0..<lesions.voxels.count where lesions.voxels[v] != 0 && grown.lesions.voxels[v] != 0 { both += 1 }
        let dice = 2 * Double(both) / Double(lesions.insideCount + grown.lesions.insideCount)
        let o = grown.outcomes[0]
        print("tumour-dominated: Dice \(dice); \(o.message)")
        #expect(o.status == .grown && dice >= 0.9)
        #expect(abs((o.parenchymaHU ?? 0) - 105) <= 5 && o.message.contains("tumour-dominated"))
    }

    @Test("a lesion near the surface on a coarse grid does not run along the liver's edge (smoothing within the liver)")
    func surfaceEdge() throws {
        // Delayed phase, 2.8 x 2.8 x 5 mm: truth lesion 3 (3.1 mL) lies near the liver's surface.
        // Smoothed with the fat beside the liver, the liver's edge darkened into its band and the
        // lesion ran along it to 376 mL (htb-seeded/3); smoothed within the liver, it does not.
        var spec = PhantomSpec()
        (spec.seed, spec.matrix, spec.slices, spec.pixelMM, spec.sliceMM) = (49, 128, 40, 2.8, 5)
        (spec.lesions, spec.htbPercent, spec.enhancement, spec.phase) = (4, 6, "hyper", .delayed)
        let p = try Phantom.build(spec)
        let (liver, lesions) = Self.masks(p)
        let parts = components(of: lesions)
        let seeds = DeepestPoints.seeds(of: parts)
        let volumes = parts.voxels.map { Double($0.count) * p.ct.geometry.voxelVolumeMM3 / 1000 }
        let third = try #require(volumes.indices.min { abs(volumes[$0] - 3.1) < abs(volumes[$1] - 3.1) })
        let grown = try SeededGrowth.grow(ct: p.ct, liver: liver, seeds: [seeds[third]])
        let ml = grown.lesions.volumeML
        print("surface edge: lesion of \(volumes[third]) mL grown to \(ml) mL")
        #expect(grown.outcomes[0].status == .grown && ml < 2 * volumes[third])
    }

    @Test("a hypodense lesion's enhancing wall is part of it; a vessel passing beside a lesion is not")
    func enhancingWall() throws {
        let (ct, liver, walled, vessel, seeds) = Self.walledLesions()
        let grown = try SeededGrowth.grow(ct: ct, liver: liver, seeds: seeds)
        #expect(grown.outcomes.allSatisfy { $0.status == .grown })
        let first = Set(grown.voxels[0])
        let dice = 2 * Double(first.intersection(walled).count) / Double(first.count + walled.count)
        // Without the wall the dark core alone would score 2 x 10^3 / (10^3 + 12^3) = 0.73.
        #expect(dice >= 0.85, "walled lesion: Dice \(dice)")
        let second = Set(grown.voxels[1])
        let inVessel = Double(second.intersection(vessel).count) / Double(vessel.count)
        #expect(inVessel < 0.05, "\(Int(inVessel * 100)) % of the vessel joined the second lesion")
    }

    @Test("a seed on parenchyma 30 mm from every lesion grows nothing and says so; one outside the liver too")
    func parenchymaAndOutside() throws {
        let p = Self.phantom
        let (liver, lesions) = Self.masks(p)
        let g = p.ct.geometry
        // The liver voxel at least 30 mm from every lesion and 10 mm inside the liver, nearest the liver's centre.
        let seed = LesionSeed(positionMM: Self.parenchyma(30, from: lesions, liver: liver), source: "test parenchyma")
        let r = try SeededGrowth.grow(ct: p.ct, liver: liver, seeds: [seed])
        #expect(r.outcomes[0].status == .noLesion)
        #expect(r.outcomes[0].message.hasPrefix("no lesion around the seed"))
        #expect(r.lesions.insideCount == 0)
        // Outside the liver: a body voxel (soft tissue) with no liver within 2 mm.
        let body = (0..<p.ct.voxels.count).first { v in
            p.ct.voxels[v] > 0 && p.ct.voxels[v] < 80 && liver.voxels[v] == 0 && p.labels.voxels[v] == 0
                && (v % g.dims.x) > 5 && (v % g.dims.x) < g.dims.x - 5 && v / g.dims.sliceCount == g.dims.z / 2
        }!
        let i = body % g.dims.x, j = (body / g.dims.x) % g.dims.y, k = body / g.dims.sliceCount
        let out = try SeededGrowth.grow(
            ct: p.ct, liver: liver,
            seeds: [LesionSeed(positionMM: g.positionMM(Double(i), Double(j), Double(k)), source: "test outside")])
        #expect(out.outcomes[0].status == .outsideLiver || out.outcomes[0].status == .noLesion)
        // In air and off the grid: usage errors naming the seed.
        #expect {
            _ = try SeededGrowth.grow(
                ct: p.ct, liver: liver, seeds: [LesionSeed(positionMM: g.positionMM(0, 0, 0), source: "corner")])
        } throws: { "\($0)".hasPrefix("corner: ") && "\($0)".contains("lies in air") }
        #expect {
            _ = try SeededGrowth.grow(
                ct: p.ct, liver: liver, seeds: [LesionSeed(positionMM: Vector3(0, 0, 5000), source: "far")])
        } throws: { "\($0)".hasPrefix("far: ") && "\($0)".contains("outside the series' grid") }
    }

    /// A liver voxel 10 mm inside the liver and at least `mm` from every lesion (the nearest such
    /// to a lesion).
    static func parenchyma(_ mm: Double, from lesions: Mask, liver: Mask) -> Vector3 {
        let g = liver.geometry
        let toLesion = squaredDistancesMM2(to: lesions, capMM2: 1e6).voxels
        var outside = liver
        for v in 0..<outside.voxels.count { outside.voxels[v] = liver.voxels[v] == 0 ? 1 : 0 }
        let toEdge = squaredDistancesMM2(to: outside, capMM2: 1e6).voxels
        var best = -1
        for v in 0..<liver.voxels.count
        where liver.voxels[v] != 0 && toEdge[v] >= 100 && Double(toLesion[v]) >= mm * mm
            && (best < 0 || toLesion[v] < toLesion[best])
        {
            best = v
        }
        precondition(best >= 0, "no parenchyma \(mm) mm from the lesions")
        let d = g.dims
        return g.positionMM(Double(best % d.x), Double((best / d.x) % d.y), Double(best / d.sliceCount))
    }

    @Test(
        "real studies: a seed on parenchyma 30 mm from every expert lesion grows nothing and says so",
        .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)),
        arguments: [0, 1, 2])
    func realParenchyma(_ n: Int) throws {
        let c = RealCaseTests.cases[n], root = Paths.realData + "/"
        let a = try Analysis.run(
            .init(
                studyPath: root + c.study, liverMasks: c.liver.map { MaskSpec(root + $0) },
                lesionMasks: c.lesions.map { MaskSpec(root + $0) }))
        let whole = a.liver.union(a.lesions)
        let seed = LesionSeed(positionMM: Self.parenchyma(30, from: a.lesions, liver: whole), source: "test parenchyma")
        let r = try SeededGrowth.grow(ct: a.ct.volume, liver: whole, seeds: [seed])
        #expect(r.outcomes[0].status == .noLesion, "\(c.name): \(r.outcomes[0].message)")
        #expect(r.outcomes[0].message.hasPrefix("no lesion around the seed"))
        #expect(r.lesions.insideCount == 0)
    }

    // MARK: the command line

    @Test(
        "analyze with a seeds CSV: lesions from the seeds alone, each with its source and seed; overlays show the seeds"
    )
    func analyzeWithSeeds() throws {
        let dir = Paths.temporaryDirectory()
        let s = Paths.packageRoot + "/SampleStudies/phantom-htb-low"
        // Two seeds inside lesions (the sample's truth lesions 1 and 2), one on parenchyma.
        let csv = dir + "/seeds.csv"
        try "x,y,z,label\n-91,-37.8,90,one\n35,-37.8,115,two\n-60,-60,100,parenchyma\n".write(
            toFile: csv, atomically: true, encoding: .utf8)
        let r = try runHTB([
            "analyze", s, "--liver-mask", s + "/truth/seg.dcm:Liver", "--lesion-seeds", csv, "--out", dir + "/out",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("no_lesion: no lesion around the seed"))
        let report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: dir + "/out/report.json")))
        #expect(report.lesions.count == 2)
        #expect(report.lesions.items.allSatisfy { $0.source == "seeded" && $0.seedMM != nil })
        let outcomes = try #require(report.inputs.seeds)
        #expect(outcomes.map(\.status) == [.grown, .grown, .noLesion])
        #expect(outcomes.map(\.seed.label) == ["one", "two", "parenchyma"])
        #expect(report.inputs.lesionMasks.map(\.source) == ["seeded"])
        // The sample's truth: lesions 1 and 2 are 122.66 and 91.88 mL.
        let volumes = report.lesions.items.map(\.volumeML).sorted(by: >)
        #expect(abs(volumes[0] - 122.66) / 122.66 < 0.1 && abs(volumes[1] - 91.88) / 91.88 < 0.1, "\(volumes)")
        // A bad seeds file: exit 64 with the file and line.
        try "1,2,3\n4,five,6\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        let bad = try runHTB(["analyze", s, "--lesion-seeds", dir + "/bad.csv", "--out", dir + "/bad"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains(dir + "/bad.csv line 2: y 'five' is not a finite number"))
        let off = try runHTB(["analyze", s, "--lesion-seed", "0,0,9000", "--out", dir + "/off"])
        #expect(
            off.status == 64 && off.stderr.contains("--lesion-seed 1: ")
                && off.stderr.contains("outside the series' grid"))
    }

    @Test("an automatic liver with seeded lesions: the warning says only the liver was automatic")
    func automaticLiverSeededLesions() throws {
        let s = Paths.packageRoot + "/SampleStudies/phantom-htb-low"
        var request = Analysis.Request(studyPath: s, liverMasks: [], lesionMasks: [])
        request.lesionSeeds = [LesionSeed(positionMM: Vector3(-91, -37.8, 90), source: "a")]
        request.singlePhase = true
        let a = try Analysis.run(request)
        let warning = try #require(a.report.study.warnings.first { $0.code == "automatic_segmentation" })
        #expect(warning.message.hasPrefix("liver segmented automatically"), "\(warning.message)")
        #expect(a.report.inputs.lesionMasks.map(\.source) == ["seeded"])
    }

    @Test("the axial montage shows the slice of every seed and excluded point")
    func overlaysShowSeeds() throws {
        let s = Paths.packageRoot + "/SampleStudies/phantom-htb-low"
        var request = Analysis.Request(
            studyPath: s, liverMasks: [MaskSpec(s + "/truth/seg.dcm:Liver")], lesionMasks: [])
        request.lesionSeeds = [
            LesionSeed(positionMM: Vector3(-91, -37.8, 90), source: "a"),
            LesionSeed(positionMM: Vector3(-60, -60, 100), source: "b"),
        ]
        let a = try Analysis.run(request)
        let axial = a.renderOverlays(options: OverlayOptions(), burnInPatient: false)[0]
        let shown = Set(axial.tiles.map(\.index))
        let g = a.ct.volume.geometry
        for seed in request.lesionSeeds {
            #expect(shown.contains(Int(g.index(of: seed.positionMM).z.rounded())))
        }
        // The cross is drawn: the seed's pixel on its tile is the seed colour or its outline.
        let k = Int(g.index(of: request.lesionSeeds[1].positionMM).z.rounded())
        let tile = try #require(axial.tiles.first { $0.index == k })
        let c = g.index(of: request.lesionSeeds[1].positionMM)
        var found = false
        for py in 0..<tile.height {
            for px in 0..<tile.width {
                let (i, j, _) = tile.voxel(atPixel: px, py)
                if i == Int(c.x.rounded()) && j == Int(c.y.rounded())
                    && axial.canvas.pixel(tile.x + px, tile.y + py) == RGB.seed
                {
                    found = true
                }
            }
        }
        #expect(found)
    }

    @Test("--exclude-lesion removes the automatic lesion at a point; a point far from lesions is reported")
    func exclusion() throws {
        let dir = Paths.temporaryDirectory()
        let s = Paths.packageRoot + "/SampleStudies/phantom-htb-low"
        let auto = try runHTB(["analyze", s, "--out", dir + "/auto", "--no-png", "--single-phase"])
        #expect(auto.status == 0, "\(auto.stderr)")
        let before = try Report.decode(Data(contentsOf: URL(fileURLWithPath: dir + "/auto/report.json")))
        let target = try #require(before.lesions.items.first)
        let p = target.centroidMM
        let r = try runHTB([
            "analyze", s, "--out", dir + "/vetoed", "--no-png", "--single-phase",
            "--exclude-lesion=\(p.x),\(p.y),\(p.z)", "--exclude-lesion=-170,-170,5",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let after = try Report.decode(Data(contentsOf: URL(fileURLWithPath: dir + "/vetoed/report.json")))
        let excluded = try #require(after.inputs.excluded)
        #expect(excluded.map(\.status) == [.excluded, .notFound])
        #expect(abs((excluded[0].volumeML ?? 0) - target.volumeML) < 0.01)
        #expect(after.lesions.count == before.lesions.count - 1)
        #expect(abs(after.lesions.totalVolumeML - (before.lesions.totalVolumeML - target.volumeML)) < 0.01)
        // The vetoed lesion is liver now: the whole liver keeps its volume.
        #expect(abs(after.liver.volumeML - before.liver.volumeML) < 0.01)
        #expect(after.lesions.items.allSatisfy { $0.source == "automatic" })
        // A veto needs automatic lesions.
        let refused = try runHTB([
            "analyze", s, "--lesion-seed", "1,2,3", "--exclude-lesion", "1,2,3", "--out", dir + "/x",
        ])
        #expect(refused.status == 64)
    }

    // MARK: other phases of the session

    /// One phantom (4 lesions, HTB 6 %) in two contrast phases: the same anatomy and truth on the
    /// same grid. Seeds 42-47 were looked at while the phase rule was set; 48-53 were the check.
    static func twoPhases(_ measured: ContrastPhase, _ other: ContrastPhase, enhancement: String) throws -> (
        Phantom, Phantom
    ) {
        func build(_ phase: ContrastPhase) throws -> Phantom {
            var s = PhantomSpec()
            (s.seed, s.matrix, s.slices, s.pixelMM, s.sliceMM) = (42, 128, 40, 2.8, 5)
            (s.lesions, s.htbPercent, s.enhancement, s.phase) = (4, 6, enhancement, phase)
            return try Phantom.build(s)
        }
        return (try build(measured), try build(other))
    }

    static func lesionDice(_ grown: Mask, _ truth: Mask) throws -> Double {
        try Metrics.overlap(predicted: grown, truth: truth).dice
    }

    @Test(
        "a lesion that washes out on the measured phase grows on the phase where it enhances; a clear one stays on the measured series"
    )
    func otherPhases() throws {
        // HCC-like: hyper-enhancing in the arterial phase (+110 HU), washed out to 20 HU below the
        // parenchyma in the delayed one, which is measured.
        let (delayed, arterial) = try Self.twoPhases(.delayed, .arterial, enhancement: "hyper")
        #expect(delayed.labels.voxels == arterial.labels.voxels)
        let (liver, lesions) = Self.masks(delayed)
        let seeds = DeepestPoints.seeds(of: components(of: lesions))
        let all = Mask(repeating: 1, geometry: liver.geometry)
        let alone = try SeededGrowth.grow(ct: delayed.ct, liver: liver, seeds: seeds)
        let both = try SeededGrowth.grow(
            ct: delayed.ct, liver: liver, seeds: seeds,
            phases: [.init(name: "arterial", image: arterial.ct, covered: all)])
        let (d1, d2) = (try Self.lesionDice(alone.lesions, lesions), try Self.lesionDice(both.lesions, lesions))
        print("delayed with arterial: lesion Dice \(d1) alone, \(d2) with the arterial phase")
        #expect(d1 < 0.1 && d2 >= 0.9)
        #expect(both.outcomes.allSatisfy { $0.phase == "arterial" && $0.contrastByPhase?.count == 2 })
        #expect(both.outcomes[0].message.contains("grown on phase arterial"))
        let htb = try Volumetry.measure(liver: liver, lesions: both.lesions).htbPercent
        #expect(abs(htb - delayed.truth.htbPercent) <= 1, "\(htb) vs \(delayed.truth.htbPercent)")
        // A phase that leaves part of the liver uncovered is not looked at.
        var partial = all
        for v in 0..<partial.voxels.count where liver.voxels[v] != 0 {
            partial.voxels[v] = 0
            break
        }
        let cut = try SeededGrowth.grow(
            ct: delayed.ct, liver: liver, seeds: seeds,
            phases: [.init(name: "arterial", image: arterial.ct, covered: partial)])
        #expect(cut.lesions.voxels == alone.lesions.voxels && cut.outcomes.allSatisfy { $0.phase == nil })
        // Portal venous with mixed lesions, the arterial phase beside it: a lesion standing out by
        // 2 x the least contrast (5 SD) stays on the measured series, and so does one that stands
        // out less on the other phase.
        let (portal, art) = try Self.twoPhases(.portal, .arterial, enhancement: "mixed")
        let (pl, pt) = Self.masks(portal)
        let ps = DeepestPoints.seeds(of: components(of: pt))
        let single = try SeededGrowth.grow(ct: portal.ct, liver: pl, seeds: ps)
        let mixed = try SeededGrowth.grow(
            ct: portal.ct, liver: pl, seeds: ps, phases: [.init(name: "arterial", image: art.ct, covered: all)])
        for o in mixed.outcomes {
            let r = try #require(o.contrastByPhase)
            let stays = r[0].ratio >= SeededGrowth.clearContrast || r[1].ratio <= r[0].ratio
            #expect(stays == (o.phase == nil), "\(o.message)")
        }
        #expect(
            mixed.outcomes.contains {
                ($0.contrastByPhase?[1].ratio ?? 0) > ($0.contrastByPhase?[0].ratio ?? 0) && $0.phase == nil
            })
        #expect(try Self.lesionDice(mixed.lesions, pt) >= Self.lesionDice(single.lesions, pt) - 0.01)
    }

    @Test(
        "analyze with seeds on a two-phase session: the other phase is resampled, listed and grown on; --single-phase looks at one"
    )
    func analyzeTwoPhases() throws {
        let (delayed, arterial) = try Self.twoPhases(.delayed, .arterial, enhancement: "hyper")
        let session = try ReviewTests.session([(delayed, "DELAYED abdomen"), (arterial, "ART abdomen")])
        let truthDir = Paths.temporaryDirectory() + "/truth"
        try delayed.write(to: truthDir)
        let seed = DeepestPoints.seeds(of: components(of: Self.masks(delayed).lesions))[0].positionMM
        var args = [
            "analyze", session, "--series", "2.25.3002.1", "--liver-mask", truthDir + "/truth/labels.nii.gz:1",
            "--liver-mask", truthDir + "/truth/labels.nii.gz:2",
            "--lesion-seed=\(seed.x),\(seed.y),\(seed.z)",
        ]
        let r = try runHTB(args + ["--out", session + "/out"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: session + "/out/report.json")))
        let phases = try #require(report.inputs.phases)
        #expect(phases.count == 1 && phases[0].seriesDescription == "ART abdomen" && phases[0].used)
        // One anatomy in both phases: no breathing shift (the phantom's enclosed air is bowel gas).
        #expect(abs(phases[0].shiftMM ?? 99) < 0.5 && phases[0].note == nil)
        let outcome = try #require(report.inputs.seeds?.first)
        #expect(outcome.status == .grown && outcome.phase == "ART abdomen")
        args.append("--single-phase")
        let one = try runHTB(args + ["--out", session + "/one"])
        #expect(one.status == 0, "\(one.stderr)")
        let single = try Report.decode(Data(contentsOf: URL(fileURLWithPath: session + "/one/report.json")))
        #expect(single.inputs.phases == nil && single.inputs.seeds?.first?.phase == nil)
        #expect(single.lesions.totalVolumeML < report.lesions.totalVolumeML * 0.5)
    }

    @Test("breathing: lung bases 7 mm higher in one phase are measured so, and the shift taken back leaves < 0.5 mm")
    func lungBaseShift() throws {
        // A body of soft tissue whose lungs sit above a dome (lowest at the centre), 2.5 mm slices.
        let g = Geometry(
            dims: Dims(60, 50, 60), originMM: Vector3(-90, -75, -100), spacingMM: Vector3(3, 3, 2.5),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        func phase(domeMM: Double) -> CTVolume {
            var ct = CTVolume(repeating: -1000, geometry: g)
            for k in 0..<60 {
                for j in 0..<50 {
                    for i in 0..<60 {
                        let p = g.positionMM(Double(i), Double(j), Double(k))
                        let r2 = (p.x / 80) * (p.x / 80) + (p.y / 65) * (p.y / 65)
                        guard r2 < 1 else { continue }
                        let lung = r2 < 0.6 && p.z > domeMM + 40 * r2
                        ct[i, j, k] = lung ? -850 : 40
                    }
                }
            }
            return ct
        }
        let a = phase(domeMM: -20), b = phase(domeMM: -13)
        let profile = { (ct: CTVolume) in PhaseAlignment.lungProfile(ct, along: g.axes.2, from: g.originMM) }
        let s = try #require(PhaseAlignment.craniocaudalShiftMM(reference: profile(a), other: profile(b)))
        #expect(abs(s - 7) < 0.5, "\(s)")
        let (back, backCovered) = Filters.resample(b, onto: g, offsetMM: g.axes.2 * s)
        let r = try #require(
            PhaseAlignment.craniocaudalShiftMM(
                reference: profile(a),
                other: PhaseAlignment.lungProfile(back, along: g.axes.2, from: g.originMM, covered: backCovered)))
        #expect(abs(r) < 0.5, "\(r)")
        // No lungs in either: nothing measured.
        let none = profile(CTVolume(repeating: 40, geometry: g))
        #expect(PhaseAlignment.craniocaudalShiftMM(reference: none, other: none) == nil)
    }

    @Test(
        "HCC 1720: the arterial phase is resampled onto the equilibrium phase with breathing taken back (lung bases 5-10 mm apart, under 1 mm after)",
        .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)))
    func realPhases() throws {
        let c = RealCaseTests.cases[1], root = Paths.realData + "/"
        let inventory = try Inventory.scan(root + c.study)
        let measured = try SeriesLoader.loadCT(try inventory.select("31_EQP")).volume
        let other = try SeriesLoader.loadCT(try inventory.select("10_AP")).volume
        let g = measured.geometry
        let reference = PhaseAlignment.lungProfile(measured, along: g.axes.2, from: g.originMM)
        // The arterial phase's liver, segmented on its own, lies 6.4 mm higher than the equilibrium
        // phase's (centroids); its lung bases 7.6 mm.
        let before = try #require(
            PhaseAlignment.craniocaudalShiftMM(
                reference: reference, other: PhaseAlignment.lungProfile(other, along: g.axes.2, from: g.originMM)))
        let (image, covered) = Filters.resample(other, onto: g, offsetMM: g.axes.2 * before)
        let after = try #require(
            PhaseAlignment.craniocaudalShiftMM(
                reference: reference,
                other: PhaseAlignment.lungProfile(image, along: g.axes.2, from: g.originMM, covered: covered)))
        print("HCC 1720 arterial against equilibrium: lung bases \(before) mm apart, \(after) mm after the correction")
        #expect((5...10).contains(before) && abs(after) < 1)
        // qa lists the phase with this shift: `realStudies`.
    }

    /// `htb qa --seeds-from-truth` with the expert liver on real case `n`.
    static func seededQA(_ n: Int) throws -> QAResult {
        let c = RealCaseTests.cases[n], root = Paths.realData + "/"
        var args = ["qa", root + c.study, "--seeds-from-truth", "--json"]
        for l in c.liver { args += ["--truth-liver", root + l, "--pred-liver", root + l] }
        for l in c.lesions { args += ["--truth-lesion", root + l] }
        let r = try runHTB(args)
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONDecoder().decode([QAResult].self, from: Data(r.stdout.utf8)).first)
    }

    // MARK: QA of one click on the real studies

    @Test(
        "qa --seeds-from-truth on the real studies with the expert liver: every seed grows a lesion; figures held",
        .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)),
        arguments: [(0, 0.78, 2.0), (1, 0.55, 1.6), (2, 0.33, 1.0)])
    func realStudies(_ n: Int, minDice: Double, maxHTBError: Double) throws {
        let c = RealCaseTests.cases[n]
        let result = try Self.seededQA(n)
        let seeded = try #require(result.seeded)
        #expect(seeded.count == c.lesionCount)
        #expect(seeded.allSatisfy { $0.outcome.status == .grown })
        // Held, not the issue's targets (lesion Dice >= 0.75, HTB within 1 point): docs/seeded-lesions.md.
        #expect(result.lesions.dice >= minDice, "\(c.name): lesion Dice \(result.lesions.dice)")
        #expect(result.htbAbsoluteErrorPoints <= maxHTBError, "\(c.name): HTB error \(result.htbAbsoluteErrorPoints)")
        // HCC 1720's arterial phase is listed with its breathing shift (`realPhases`) and looked at
        // for every seed; the other two studies have one phase.
        if n == 1 {
            let phases = try #require(result.phases)
            #expect(phases.count == 1 && phases[0].used && (5...10).contains(phases[0].shiftMM ?? 0))
            #expect(seeded.allSatisfy { $0.outcome.contrastByPhase?.count == 2 })
        } else {
            #expect(result.phases == nil)
        }
    }
}
