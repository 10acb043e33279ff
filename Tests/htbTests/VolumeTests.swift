import DicomIO
import Foundation
import NIfTI
import Phantom
import Testing
import VolumeModel
import Volumetry

/// Unit tests on tiny synthetic volumes: properties, and fast code against simple references.
@Suite("Volumes, components, diameters")
struct VolumeTests {
    static func grid(_ x: Int, _ y: Int, _ z: Int, spacing: Vector3 = Vector3(1, 1, 1)) -> Geometry {
        Geometry(
            dims: Dims(x, y, z), originMM: .zero, spacingMM: spacing,
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
    }

    /// Reference: union-find over all voxel pairs within the neighbourhood, written the obvious way.
    static func referenceComponents(_ m: Mask, connectivity: Connectivity) -> Set<[Int]> {
        let d = m.dims
        var parent = Array(0..<d.count)
        func find(_ a: Int) -> Int {
            var a = a
            while parent[a] != a {
                parent[a] = parent[parent[a]]
                a = parent[a]
            }
            return a
        }
        for k in 0..<d.z {
            for j in 0..<d.y {
                for i in 0..<d.x where m[i, j, k] != 0 {
                    for dk in -1...1 {
                        for dj in -1...1 {
                            for di in -1...1 {
                                let n = abs(di) + abs(dj) + abs(dk)
                                if n == 0 || (connectivity == .faces6 && n > 1) { continue }
                                let a = i + di, b = j + dj, c = k + dk
                                guard a >= 0, b >= 0, c >= 0, a < d.x, b < d.y, c < d.z, m[a, b, c] != 0 else {
                                    continue
                                }
                                parent[find(m.offset(i, j, k))] = find(m.offset(a, b, c))
                            }
                        }
                    }
                }
            }
        }
        let inside = (0..<d.count).filter { m.voxels[$0] != 0 }
        return Set(Dictionary(grouping: inside, by: find).values.map { $0.sorted() })
    }

    @Test(
        "components match a union-find reference on random masks", arguments: [Connectivity.faces6, .full26],
        [0.05, 0.2, 0.4, 0.7])
    func componentsAgainstReference(connectivity: Connectivity, density: Double) {
        var rng = SeededGenerator(seed: UInt64(density * 1000))
        for _ in 0..<5 {
            var m = Mask(repeating: 0, geometry: Self.grid(9, 7, 5))
            for v in 0..<m.voxels.count where rng.uniform() < density { m.voxels[v] = 1 }
            let c = components(of: m, connectivity: connectivity)
            // The same partition, each component's voxels in storage order, sizes largest first
            // (ties by first voxel), and the largest alone equal to the first.
            #expect(Set(c.voxels) == Self.referenceComponents(m, connectivity: connectivity))
            #expect(c.voxels.allSatisfy { $0 == $0.sorted() })
            #expect(
                zip(c.voxels, c.voxels.dropFirst()).allSatisfy {
                    $0.count > $1.count || ($0.count == $1.count && $0[0] < $1[0])
                })
            #expect(largestComponentVoxels(of: m, connectivity: connectivity) == (c.voxels.first ?? []))
        }
    }

    @Test("bounding box equals the inside voxels' extremes on sparse random masks")
    func boundingBox() {
        var rng = SeededGenerator(seed: 77)
        for trial in 0..<20 {
            // Rows of 21 voxels: the eight-at-a-time scan meets partial words at both ends.
            var m = Mask(repeating: 0, geometry: Self.grid(21, 6, 4))
            for v in 0..<m.voxels.count where rng.uniform() < 0.004 * Double(trial) { m.voxels[v] = 1 }
            let inside = (0..<m.voxels.count).filter { m.voxels[$0] != 0 }
            guard let box = m.boundingBox else {
                #expect(inside.isEmpty)
                continue
            }
            let d = m.dims
            let xs = inside.map { $0 % d.x }, ys = inside.map { ($0 / d.x) % d.y },
                zs = inside.map { $0 / d.sliceCount }
            #expect(box.lo == (xs.min()!, ys.min()!, zs.min()!))
            #expect(box.dims == Dims(xs.max()! - xs.min()! + 1, ys.max()! - ys.min()! + 1, zs.max()! - zs.min()! + 1))
        }
        // Every pair of first and last voxel in a row.
        for a in 0..<21 {
            for b in a..<21 {
                var m = Mask(repeating: 0, geometry: Self.grid(21, 3, 2))
                m[a, 1, 1] = 1
                m[b, 1, 1] = 1
                #expect(m.boundingBox == VoxelBox(lo: (a, 1, 1), dims: Dims(b - a + 1, 1, 1)))
            }
        }
    }

    @Test("degenerate masks: empty, full, diagonal neighbours")
    func degenerate() {
        let g = Self.grid(4, 4, 4)
        #expect(components(of: Mask(repeating: 0, geometry: g)).count == 0)
        #expect(components(of: Mask(repeating: 1, geometry: g)).count == 1)
        var m = Mask(repeating: 0, geometry: g)
        m[0, 0, 0] = 1
        m[1, 1, 1] = 1
        #expect(components(of: m, connectivity: .full26).count == 1)
        #expect(components(of: m, connectivity: .faces6).count == 2)
    }

    @Test("diameters of a rectangle and a disc")
    func diameters() {
        // A 10 x 4 pixel rectangle of 0.5 mm pixels: longest = its diagonal edge to edge, 5 x 2 mm.
        let g = Self.grid(20, 20, 3, spacing: Vector3(0.5, 0.5, 2))
        var voxels: [Int] = []
        for j in 5..<9 { for i in 3..<13 { voxels.append(i + 20 * (j + 20 * 1)) } }
        let d = axialDiameters(voxels: voxels, geometry: g)
        #expect(abs(d.longestMM - (25.0 + 4.0).squareRoot()) < 1e-9)
        #expect(d.slice == 1)
        // Perpendicular extent of a 5 x 2 rectangle across its diagonal: 2 * 5 * 2 / sqrt(29).
        #expect(abs(d.shortAxisMM - 20 / 29.0.squareRoot()) < 1e-9)
        // A disc of radius 30 px at 1 mm: 61 px across edge to edge (within a pixel).
        let g2 = Self.grid(80, 80, 1)
        var disc: [Int] = []
        for j in 0..<80 {
            for i in 0..<80 where (i - 40) * (i - 40) + (j - 40) * (j - 40) <= 900 { disc.append(i + 80 * j) }
        }
        let d2 = axialDiameters(voxels: disc, geometry: g2)
        #expect(d2.longestMM >= 61 && d2.longestMM <= 62.5)
        #expect(d2.shortAxisMM >= 60 && d2.shortAxisMM <= d2.longestMM)
    }

    @Test("volumetry: union, parenchyma, HTB and its categories")
    func volumetry() throws {
        let g = Self.grid(10, 10, 10, spacing: Vector3(1, 1, 2))
        var liver = Mask(repeating: 0, geometry: g), lesions = Mask(repeating: 0, geometry: g)
        for k in 2..<8 { for j in 2..<8 { for i in 2..<8 { liver[i, j, k] = 1 } } }  // 216 voxels
        for k in 3..<5 { for j in 3..<5 { for i in 3..<5 { lesions[i, j, k] = 1 } } }  // 8 inside
        lesions[9, 9, 9] = 1  // 1 outside the liver mask: counts as liver
        let r = try Volumetry.measure(liver: liver, lesions: lesions)
        #expect(r.liverVoxelCount == 217)
        #expect(abs(r.liverVolumeML - 217 * 2 / 1000.0) < 1e-12)
        #expect(abs(r.parenchymaVolumeML - 208 * 2 / 1000.0) < 1e-12)
        #expect(abs(r.htbPercent - 100 * 9 / 217.0) < 1e-12)
        #expect(r.lesions.count == 2 && r.lesions[0].voxelCount == 8)
        #expect(r.lesionVoxelsOutsideLiverMask == 1)
        #expect(r.liverTouchesFieldOfView.contains("last slice"))
        #expect(HTBCategory(percent: 49.99) == .below50 && HTBCategory(percent: 50) == .from50To75)
        #expect(HTBCategory(percent: 75) == .from50To75 && HTBCategory(percent: 75.01) == .above75)
        #expect(throws: VolumetryError.emptyLiver) {
            try Volumetry.measure(liver: Mask(repeating: 0, geometry: g), lesions: Mask(repeating: 0, geometry: g))
        }
    }

    @Test("geometry: index and position are inverse; a sheared grid keeps its voxel volume")
    func geometry() {
        let tilt = 15 * Double.pi / 180
        let g = Geometry(
            dims: Dims(8, 8, 8), originMM: Vector3(-10, 20, 5), spacingMM: Vector3(0.7, 0.8, 2 / cos(tilt)),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, sin(tilt), cos(tilt))))
        #expect(abs(g.voxelVolumeMM3 - 0.7 * 0.8 * 2) < 1e-9)
        #expect(abs(g.shearDegrees - 15) < 1e-9)
        let p = g.positionMM(1.5, 2.25, 3)
        let i = g.index(of: p)
        #expect(abs(i.x - 1.5) < 1e-9 && abs(i.y - 2.25) < 1e-9 && abs(i.z - 3) < 1e-9)
    }

    @Test("aligned(onto:) maps every voxel to the same patient position under flips and permutations")
    func alignment() throws {
        let g = Geometry(
            dims: Dims(4, 3, 2), originMM: Vector3(1, 2, 3), spacingMM: Vector3(1, 2, 3),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        // The same lattice described with axes (j reversed, k first... ): source axes = (-y, z, x).
        let src = Geometry(
            dims: Dims(3, 2, 4), originMM: g.positionMM(0, 2, 0), spacingMM: Vector3(2, 3, 1),
            axes: (Vector3(0, -1, 0), Vector3(0, 0, 1), Vector3(1, 0, 0)))
        var vol = Volume<Int32>(repeating: 0, geometry: src)
        for v in 0..<vol.voxels.count { vol.voxels[v] = Int32(v) }
        let out = try vol.aligned(onto: g, name: "test")
        for k in 0..<2 {
            for j in 0..<3 {
                for i in 0..<4 {
                    let s = src.index(of: g.positionMM(Double(i), Double(j), Double(k)))
                    let expected = vol[Int(s.x.rounded()), Int(s.y.rounded()), Int(s.z.rounded())]
                    #expect(out[i, j, k] == expected)
                }
            }
        }
        // Displaced by 1 mm: refused with the measured mismatch.
        let shifted = Geometry(
            dims: src.dims, originMM: src.originMM + Vector3(0, 0, 1), spacingMM: src.spacingMM, axes: src.axes)
        #expect(throws: MaskError.offGrid(mask: "test", detail: "same lattice shape but displaced", mismatchMM: 1)) {
            try Volume(voxels: vol.voxels, geometry: shifted).aligned(onto: g, name: "test")
        }
    }

    @Test("NIfTI round trip keeps an oblique geometry in qform and sform", arguments: [false, true])
    func niftiRoundTrip(leftHanded: Bool) throws {
        let a = Vector3(0.9, 0.1, 0.2).normalized
        let b0 = Vector3(-0.1, 0.95, 0.1)
        let b = (b0 - a * a.dot(b0)).normalized
        let c = leftHanded ? -a.cross(b) : a.cross(b)
        let g = Geometry(
            dims: Dims(5, 4, 3), originMM: Vector3(-100.25, 50.5, 12), spacingMM: Vector3(0.8, 0.9, 2.5),
            axes: (a, b, c))
        var vol = CTVolume(repeating: 0, geometry: g)
        for v in 0..<vol.voxels.count { vol.voxels[v] = Int16(v * 7 - 1000) }
        let dir = Paths.temporaryDirectory()
        try NIfTIWriter.write(vol, to: dir + "/x.nii.gz")
        let back = try NIfTIImage.read(path: dir + "/x.nii.gz")
        #expect(back.geometry.matches(g, toleranceMM: 1e-3))
        #expect((0..<vol.voxels.count).allSatisfy { back.value(at: $0) == Double(vol.voxels[$0]) })
        // The qform alone gives the same grid: zero the sform code and read again.
        var bytes = try gunzip(dir + "/x.nii.gz")
        bytes[254] = 0
        bytes[255] = 0
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/q.nii"))
        let q = try NIfTIImage.read(path: dir + "/q.nii")
        #expect(q.geometry.matches(g, toleranceMM: 1e-3))
    }

    func gunzip(_ path: String) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -dc '\(path)'"]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let d = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Array(d)
    }

    @Test("pixel unpacking: bits stored, high bit, sign, 1-bit")
    func unpacking() throws {
        // 12 bits stored in 16, high bit 11, signed: 0x0FFF is -1, 0x0800 is -2048, 0xF123 keeps 0x123.
        let bytes: [UInt8] = [0xFF, 0x0F, 0x00, 0x08, 0x23, 0xF1]
        let f = PixelFormat(bitsAllocated: 16, bitsStored: 12, highBit: 11, pixelRepresentation: 1, samplesPerPixel: 1)
        #expect(try PixelUnpacker.unpack(bytes, format: f, count: 3, file: "t") == [-1, -2048, 0x123])
        // High bit 15 with 12 bits stored: values sit in the top bits.
        let g = PixelFormat(bitsAllocated: 16, bitsStored: 12, highBit: 15, pixelRepresentation: 0, samplesPerPixel: 1)
        #expect(try PixelUnpacker.unpack([0x10, 0xFF], format: g, count: 1, file: "t") == [0xFF1])
        let one = PixelFormat(bitsAllocated: 1, bitsStored: 1, highBit: 0, pixelRepresentation: 0, samplesPerPixel: 1)
        #expect(try PixelUnpacker.unpack([0b1000_0101], format: one, count: 8, file: "t") == [1, 0, 1, 0, 0, 0, 0, 1])
        #expect(throws: DicomError.self) { try PixelUnpacker.unpack([0, 0], format: f, count: 3, file: "t") }
    }
}
