import Analysis
import Foundation
import NIfTI
import Overlay
import Testing
import VolumeModel

/// PNG overlays on a sample study: lesion colour exactly on lesion voxels, reformats with the
/// anatomy's aspect ratio, key figures in text chunks, no patient data by default, and
/// decoded-pixel hashes as golden files (re-record with HTB_RECORD_GOLDEN=1).
@Suite("Overlays")
struct OverlayTests {
    static let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-low"

    static func analysis() throws -> Analysis {
        try Analysis.run(
            .init(
                studyPath: sample, liverMasks: [MaskSpec(sample + "/truth/seg.dcm:Liver")],
                lesionMasks: [MaskSpec(sample + "/truth/seg.dcm:Lesion*")]))
    }

    /// Orange fill or yellow outline: red well above blue. Grey, the blue liver outline and white
    /// or black text never are.
    static func isLesionColour(_ c: RGB) -> Bool { Int(c.r) - Int(c.b) >= 60 }

    static func inAnnotation(_ t: RenderedTile, _ x: Int, _ y: Int) -> Bool {
        t.annotations.contains { x >= $0.x - 1 && x < $0.x + $0.w + 1 && y >= $0.y - 1 && y < $0.y + $0.h + 1 }
    }

    @Test("lesion-coloured pixels appear exactly where the lesion mask is, in every tile")
    func lesionPixelsOnMask() throws {
        let a = try Self.analysis()
        let scene = a.overlayScene(burnInPatient: false)
        for image in [
            OverlayRenderer.axialMontage(scene), OverlayRenderer.reformat(scene, plane: .coronal),
            OverlayRenderer.reformat(scene, plane: .sagittal),
        ] {
            var lesionTiles = 0
            for t in image.tiles {
                var checked = 0, lesionSeen = 0
                for py in 0..<t.height {
                    for px in 0..<t.width where !Self.inAnnotation(t, t.x + px, t.y + py) {
                        let (i, j, k) = t.voxel(atPixel: px, py)
                        let inLesion = a.lesions[i, j, k] != 0
                        let coloured = Self.isLesionColour(image.canvas.pixel(t.x + px, t.y + py))
                        #expect(
                            inLesion == coloured,
                            "tile \(t.plane) \(t.index) pixel (\(px), \(py)) voxel (\(i), \(j), \(k))")
                        if inLesion != coloured { return }
                        checked += 1
                        if inLesion { lesionSeen += 1 }
                    }
                }
                #expect(checked > t.width * t.height / 2)
                if lesionSeen > 0 { lesionTiles += 1 }
            }
            #expect(lesionTiles > 0)
        }
    }

    @Test("the largest lesion's slice is among the axial tiles; tiles run head first")
    func keySlices() throws {
        let a = try Self.analysis()
        let m = OverlayRenderer.axialMontage(a.overlayScene(burnInPatient: false))
        #expect(m.tiles.contains { $0.index == a.result.lesions[0].diameters.slice })
        let z = m.tiles.map { a.ct.volume.geometry.positionMM(0, 0, Double($0.index)).z }
        #expect(z == z.sorted(by: >))
        #expect(m.tiles.count == 9)
    }

    @Test(
        "header fields longer than the picture are cut with '~' wherever they fall; text off the canvas is clipped, not a crash"
    )
    func longHeaderFields() throws {
        // A review line whose first field is wider than the picture, then more fields (a
        // steatotic phantom's four review reasons trapped here before: the too-wide field was
        // pushed uncut when the next one wrapped, and text past the canvas' edge made an empty
        // fill range).
        let a = try Self.analysis()
        var scene = a.overlayScene(burnInPatient: false)
        scene.headerLines.append(
            "REVIEW NEEDED: LIVER_IN_LEFT_LATERAL_ABDOMEN_" + String(repeating: "X", count: 80)
                + "  LIVER_FILLS_BODY_SECTION  LARGE_CORRECTION")
        for image in [OverlayRenderer.axialMontage(scene), OverlayRenderer.reformat(scene, plane: .coronal)] {
            #expect(image.canvas.width >= 480)
        }
        var canvas = Canvas(width: 20, height: 10)
        canvas.text("WIDER THAN THE CANVAS", x: 4, y: 2, scale: 2)
        canvas.text("BELOW", x: 0, y: 50, scale: 1)
        canvas.fill(x: 30, y: 30, w: 5, h: 5, .white)
        // The part inside is drawn.
        #expect((0..<20).contains { x in (0..<10).contains { y in canvas.pixel(x, y) == .white } })
    }

    @Test("reformats keep the anatomy's aspect ratio (anisotropic spacing)")
    func aspectRatio() throws {
        let a = try Self.analysis()
        let scene = a.overlayScene(burnInPatient: false)
        for plane in [Plane.coronal, .sagittal] {
            let t = OverlayRenderer.reformat(scene, plane: plane).tiles[0]
            let mmWide = Double(t.uCount) * t.u.spacingMM, mmHigh = Double(t.vCount) * t.v.spacingMM
            #expect(abs(Double(t.width) - mmWide / t.mmPerPixel) <= 1)
            #expect(abs(Double(t.height) - mmHigh / t.mmPerPixel) <= 1)
            #expect(t.v.spacingMM == 5 && t.u.spacingMM == 2.8)  // slices are 5 mm, pixels 2.8 mm
        }
    }

    @Test("analyze writes three PNGs with the key figures in text chunks and no patient data")
    func filesAndText() throws {
        let out = Paths.temporaryDirectory()
        let r = try runHTB([
            "analyze", Self.sample, "--liver-mask", Self.sample + "/truth/seg.dcm:Liver",
            "--lesion-mask", Self.sample + "/truth/seg.dcm:Lesion*", "--out", out,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        #expect(report.overlays == Analysis.overlayFiles)
        for name in Analysis.overlayFiles {
            let text = Dictionary(try PNGFile.textChunks(path: out + "/" + name), uniquingKeysWith: { a, _ in a })
            #expect(text["htb:htb_percent"] == String(format: "%.4f", report.htb.percent))
            #expect(text["htb:category"] == "below_50")
            #expect(text["htb:liver_volume_ml"] == String(format: "%.4f", report.liver.volumeML))
            #expect(text["htb:version"] == htbVersion)
            #expect(!text.values.contains { $0.contains("PHANTOM^HTB") || $0.contains("PHANTOM-1") })
            _ = try PNGFile.decode(path: out + "/" + name)
        }
        let a = try Self.analysis()
        #expect(!a.overlayScene(burnInPatient: false).headerLines.joined().contains("PHANTOM^HTB"))
        #expect(a.overlayScene(burnInPatient: true).headerLines.joined().contains("PATIENT PHANTOM^HTB  ID PHANTOM-1"))
        let noPNG = Paths.temporaryDirectory()
        _ = try runHTB([
            "analyze", Self.sample, "--liver-mask", Self.sample + "/truth/seg.dcm:Liver",
            "--lesion-mask", Self.sample + "/truth/seg.dcm:Lesion*", "--out", noPNG, "--no-png",
        ])
        #expect(!FileManager.default.fileExists(atPath: noPNG + "/overlay_axial.png"))
        #expect(try runHTB(["analyze", Self.sample, "--window", "0,40"]).status == 64)
    }

    @Test("decoded pixels match the golden hashes; rendering is deterministic")
    func golden() throws {
        let a = try Self.analysis()
        let scene = a.overlayScene(burnInPatient: false)
        let images = [
            ("axial", OverlayRenderer.axialMontage(scene)),
            ("coronal", OverlayRenderer.reformat(scene, plane: .coronal)),
            ("sagittal", OverlayRenderer.reformat(scene, plane: .sagittal)),
        ]
        let dir = Paths.temporaryDirectory()
        for (name, image) in images {
            // Through a PNG file and back: the hash is of decoded pixels, never of PNG bytes.
            try PNGFile.write(image, to: dir + "/\(name).png")
            let decoded = try PNGFile.decode(path: dir + "/\(name).png")
            #expect(decoded.pixels == image.canvas.pixels)
            #expect(OverlayRenderer.axialMontage(scene).canvas.pixelHash == images[0].1.canvas.pixelHash)
            let golden = Paths.packageRoot + "/Tests/htbTests/Golden/overlay_\(name)_phantom-htb-low.txt"
            let line = "\(decoded.width)x\(decoded.height) \(decoded.pixelHash)"
            if ProcessInfo.processInfo.environment["HTB_RECORD_GOLDEN"] == "1" {
                try (line + "\n").write(toFile: golden, atomically: true, encoding: .utf8)
            } else {
                let expected = try String(contentsOfFile: golden, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)
                #expect(line == expected, "\(name): re-record with HTB_RECORD_GOLDEN=1 only if the change is intended")
            }
        }
    }
}

/// The guidelines block of an analysis: imaging figures from htb, clinical facts from --clinical.
@Suite("Analysis with guidelines")
struct AnalysisGuidelinesTests {
    @Test("analyze --clinical writes the guidelines block with ENETS, dosimetry and citations")
    func clinical() throws {
        let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-high"
        let dir = Paths.temporaryDirectory()
        try
            #"{"grade": "G2", "symptoms": true, "progression_on_ssa": true, "portal_vein_thrombosis": "none", "bilioenteric_anastomosis": false, "bilirubin_mg_dl": 0.9, "egfr_ml_min": 70, "lung_shunt_fraction_percent": 8, "tumor_to_normal_ratio": 2.5, "microsphere": "y90_glass"}"#
            .write(toFile: dir + "/facts.json", atomically: true, encoding: .utf8)
        let r = try runHTB([
            "analyze", sample, "--liver-mask", sample + "/truth/seg.dcm:Liver", "--lesion-mask",
            sample + "/truth/seg.dcm:Lesion*",
            "--clinical", dir + "/facts.json", "--out", dir + "/out", "--no-png",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Flag      staged_embolization"))
        let report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: dir + "/out/report.json")))
        let g = try #require(report.guidelines)
        #expect(g.flagIDs.contains("staged_embolization") && g.flagIDs.contains("high_burden"))
        #expect(g.treatments["cTACE"]?.level == "preferred")
        #expect(g.treatments["DEB-TACE"]?.level == "not_recommended")
        #expect(g.enets?.type == "I" && g.enets?.approximate == true)  // one confluent mass
        let d = try #require(g.dosimetry?.partition)
        // The masses come from htb's own volumes (1.03 g/mL).
        #expect(abs(g.dosimetry!.tumorMassKg - report.lesions.totalVolumeML * 1.03 / 1000) < 1e-3)
        #expect(d.tumorDoseGy == 150)
        for (_, a) in g.treatments {
            for reason in a.reasons {
                #expect(reason.citations.allSatisfy { g.references[String($0.dropFirst().dropLast())] != nil })
            }
        }
        // Invalid facts: exit 70 before any image is read.
        try #"{"grade": "G2", "bilirubin": 1}"#.write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        let bad = try runHTB([
            "analyze", sample, "--liver-mask", sample + "/truth/seg.dcm:Liver", "--lesion-mask",
            sample + "/truth/seg.dcm:Lesion*",
            "--clinical", dir + "/bad.json", "--out", dir + "/out2",
        ])
        #expect(
            bad.status == 70 && bad.stderr.contains("unknown fact 'bilirubin'")
                && bad.stderr.contains("bilirubin_mg_dl"))
    }
}

extension AnalysisGuidelinesTests {
    @Test("analyze --segments types ENETS exactly from a Couinaud label map")
    func segments() throws {
        let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-low"
        let dir = Paths.temporaryDirectory()
        // A label map on the CT grid: the patient's right half of the liver segment 7, the left half segment 3.
        let a = try Analysis.run(
            .init(
                studyPath: sample, liverMasks: [MaskSpec(sample + "/truth/seg.dcm:Liver")],
                lesionMasks: [MaskSpec(sample + "/truth/seg.dcm:Lesion*")]))
        let g = a.ct.volume.geometry
        var labels = [UInt8](repeating: 0, count: g.dims.count)
        for v in 0..<labels.count where a.liver.voxels[v] != 0 || a.lesions.voxels[v] != 0 {
            let i = v % g.dims.x
            labels[v] = g.positionMM(Double(i), 0, 0).x < -60 ? 7 : 3
        }
        try NIfTIWriter.write(labels: Volume(voxels: labels, geometry: g), to: dir + "/segments.nii.gz")
        let b = try Analysis.run(
            .init(
                studyPath: sample, liverMasks: [MaskSpec(sample + "/truth/seg.dcm:Liver")],
                lesionMasks: [MaskSpec(sample + "/truth/seg.dcm:Lesion*")], segments: dir + "/segments.nii.gz"))
        let e = try #require(b.report.guidelines?.enets)
        #expect(e.approximate == false && e.method == "Couinaud segment map")
        #expect(Set(e.segmentsInvolved ?? []).isSubset(of: [3, 7]))
        #expect(a.report.guidelines?.enets?.approximate == true)
    }
}
