import Filters
import Foundation
import Phantom
import Testing
import VolumeModel
import Volumetry

/// Image functions against brute-force definitions on small anisotropic volumes.
@Suite("Filters")
struct FilterTests {
    static let g = Geometry(
        dims: Dims(11, 9, 7), originMM: .zero, spacingMM: Vector3(0.8, 1.2, 2.5),
        axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))

    static func random(seed: UInt64, density: Double) -> Mask {
        var rng = SeededGenerator(seed: seed)
        var m = Mask(repeating: 0, geometry: g)
        for v in 0..<m.voxels.count where rng.uniform() < density { m.voxels[v] = 1 }
        return m
    }

    static func position(_ v: Int) -> (Double, Double, Double) {
        let d = g.dims, s = g.spacingMM
        return (Double(v % d.x) * s.x, Double((v / d.x) % d.y) * s.y, Double(v / d.sliceCount) * s.z)
    }

    @Test("dilation and erosion equal their ball definitions", arguments: [1.5, 3.0])
    func morphology(radius: Double) {
        for seed in 1...3 {
            let m = Self.random(seed: UInt64(seed), density: seed == 1 ? 0.05 : 0.7)
            let dil = Filters.dilate(m, radiusMM: radius), ero = Filters.erode(m, radiusMM: radius)
            let d = Self.g.dims
            for v in 0..<m.voxels.count {
                let (x, y, z) = Self.position(v)
                var near = false, allInside = true
                for w in 0..<m.voxels.count {
                    let (a, b, c) = Self.position(w)
                    let dist2 = (x - a) * (x - a) + (y - b) * (y - b) + (z - c) * (z - c)
                    if dist2 <= radius * radius {
                        if m.voxels[w] != 0 { near = true } else { allInside = false }
                    }
                }
                // The ball must also stay inside the grid for a voxel to survive erosion.
                let s = Self.g.spacingMM
                let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
                let edge = min(
                    Double(min(i + 1, d.x - i)) * s.x, Double(min(j + 1, d.y - j)) * s.y,
                    Double(min(k + 1, d.z - k)) * s.z)
                #expect((dil.voxels[v] != 0) == near)
                #expect((ero.voxels[v] != 0) == (m.voxels[v] != 0 && allInside && edge > radius))
            }
        }
    }

    @Test("Gaussian smoothing keeps a constant, spreads a point symmetrically, and matches brute force")
    func gaussian() {
        var flat = CTVolume(repeating: 40, geometry: Self.g)
        #expect(Filters.gaussian(flat, sigmaMM: 2).voxels.allSatisfy { abs($0 - 40) < 1e-3 })
        flat[5, 4, 3] = 1040
        let s = Filters.gaussian(flat, sigmaMM: 1.5)
        #expect(abs(s[4, 4, 3] - s[6, 4, 3]) < 1e-3 && s[5, 4, 3] > s[4, 4, 3])
        // Brute force at one voxel: product of the three normalised 1-D kernels.
        func kernel(_ sp: Double, _ k: Int) -> (Double, Double) {
            let sg = 1.5 / sp, r = Int((3 * sg).rounded(.up))
            let w = (-r...r).map { exp(-Double($0 * $0) / (2 * sg * sg)) }
            let sum = w.reduce(0, +)
            return (abs(k) <= r ? w[k + r] / sum : 0, sum)
        }
        let expected = 40 + 1000 * kernel(0.8, 1).0 * kernel(1.2, 0).0 * (1.5 / 2.5 > 0.2 ? kernel(2.5, 0).0 : 1)
        #expect(abs(Double(s[6, 4, 3]) - expected) < 0.01)
    }

    @Test("normalised Gaussian: what lies outside the mask does not blur in; inside it equals the weighted mean")
    func normalisedGaussian() {
        // Liver 60 HU on the left, fat -100 HU on the right: the plain Gaussian darkens the
        // liver's edge, the normalised one keeps 60 everywhere inside and 0 outside.
        var ct = CTVolume(repeating: -100, geometry: Self.g)
        var liver = Mask(repeating: 0, geometry: Self.g)
        let d = Self.g.dims
        for k in 0..<d.z {
            for j in 0..<d.y {
                for i in 0..<6 {
                    ct[i, j, k] = 60
                    liver[i, j, k] = 1
                }
            }
        }
        let plain = Filters.gaussian(ct, sigmaMM: 2), masked = Filters.gaussian(ct, sigmaMM: 2, within: liver)
        #expect(plain[5, 4, 3] < 50)
        for v in 0..<liver.voxels.count {
            #expect(abs(masked.voxels[v] - (liver.voxels[v] != 0 ? 60 : 0)) < 1e-3)
        }
        // A varying image: inside, the ratio of the two plain Gaussians (brute-force definition).
        let m = Self.random(seed: 7, density: 0.6)
        var v = Volume<Float>(voxels: [Float](repeating: 0, count: m.voxels.count), geometry: Self.g)
        for i in 0..<v.voxels.count { v.voxels[i] = Float(i % 13) * 10 }
        let weighted = Volume(voxels: zip(v.voxels, m.voxels).map { $1 != 0 ? $0 : 0 }, geometry: Self.g)
        let weights = Volume(voxels: m.voxels.map { Float($0 != 0 ? 1 : 0) }, geometry: Self.g)
        let num = Filters.gaussian(weighted, sigmaMM: 1.5), den = Filters.gaussian(weights, sigmaMM: 1.5)
        let out = Filters.gaussian(v, sigmaMM: 1.5, within: m)
        for i in 0..<m.voxels.count where m.voxels[i] != 0 {
            #expect(abs(out.voxels[i] - num.voxels[i] / den.voxels[i]) < 1e-3)
        }
    }

    @Test("block downsampling: CT means and mask majorities per block, partial blocks dropped, centres kept")
    func blocks() {
        // 11 x 9 in-plane with factor 2: 5 x 4 blocks, the last column and row dropped.
        var ct = CTVolume(repeating: 0, geometry: Self.g)
        for v in 0..<ct.voxels.count { ct.voxels[v] = Int16(v % 37) - 18 }
        let m = Self.random(seed: 5, density: 0.5)
        let smallCT = Filters.downsample(ct, factor: 2), smallMask = Filters.downsample(m, factor: 2)
        #expect(smallCT.dims == Dims(5, 4, 7) && smallMask.dims == Dims(5, 4, 7))
        for k in 0..<7 {
            for j in 0..<4 {
                for i in 0..<5 {
                    let cells = [(0, 0), (1, 0), (0, 1), (1, 1)].map { (2 * i + $0.0, 2 * j + $0.1) }
                    let sum = cells.reduce(0) { $0 + Int(ct[$1.0, $1.1, k]) }
                    let inside = cells.filter { m[$0.0, $0.1, k] != 0 }.count
                    #expect(smallCT[i, j, k] == Int16(sum / 4))
                    #expect(smallMask[i, j, k] == (inside >= 2 ? 1 : 0))
                    // The block's voxel sits at the centre of its four voxels.
                    let a = smallCT.geometry.positionMM(Double(i), Double(j), Double(k)),
                        b = Self.g.positionMM(Double(2 * i) + 0.5, Double(2 * j) + 0.5, Double(k))
                    #expect(abs(a.x - b.x) < 1e-9 && abs(a.y - b.y) < 1e-9 && abs(a.z - b.z) < 1e-9)
                }
            }
        }
    }

    @Test("a slab is the union of the slices within its half height", arguments: [2.4, 5.0, 7.5, 30.0])
    func slab(halfHeightMM: Double) {
        // Slices 2.5 mm apart: 2.4 mm takes none beside the slice itself, 5 mm two each side.
        let m = Self.random(seed: 9, density: 0.08), d = m.dims
        let n = Int(halfHeightMM / Self.g.spacingMM.z)
        let s = Filters.slab(m, halfHeightMM: halfHeightMM)
        for k in 0..<d.z {
            for j in 0..<d.y {
                for i in 0..<d.x {
                    let any = (max(0, k - n)...min(d.z - 1, k + n)).contains { m[i, j, $0] != 0 }
                    #expect((s[i, j, k] != 0) == any)
                }
            }
        }
    }

    @Test("hole filling equals a flood from each slice's border on random masks")
    func holesAgainstReference() {
        for seed in 1...6 {
            var m = Self.random(seed: UInt64(seed) + 10, density: 0.3 + 0.1 * Double(seed))
            let d = m.dims
            // Half the masks keep off the grid's border (the fill then works in their box).
            if seed % 2 == 0 {
                for k in 0..<d.z {
                    for j in 0..<d.y {
                        for i in 0..<d.x where i < 2 || j < 1 || i >= d.x - 1 || j >= d.y - 2 { m[i, j, k] = 0 }
                    }
                }
            }
            var expected = m
            for k in 0..<d.z {
                // Background reached from the slice's border, 4-connected, the obvious way.
                var reached = Set<Int>(), todo: [(Int, Int)] = []
                for i in 0..<d.x { todo += [(i, 0), (i, d.y - 1)] }
                for j in 0..<d.y { todo += [(0, j), (d.x - 1, j)] }
                while let (i, j) = todo.popLast() {
                    guard i >= 0, j >= 0, i < d.x, j < d.y, m[i, j, k] == 0, reached.insert(i + d.x * j).inserted else {
                        continue
                    }
                    todo += [(i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)]
                }
                for j in 0..<d.y { for i in 0..<d.x where !reached.contains(i + d.x * j) { expected[i, j, k] = 1 } }
            }
            #expect(Filters.fillHolesPerSlice(m).voxels == expected.voxels)
        }
    }

    @Test("enclosed holes up to a volume fill in 3D; larger ones and those open to the border stay")
    func holesUpToVolume() {
        // A solid block with three holes: one voxel, a 2 x 2 x 2 cube, and a tunnel to the border.
        var m = Mask(repeating: 0, geometry: Self.g)
        for k in 1...5 { for j in 1...7 { for i in 1...9 { m[i, j, k] = 1 } } }
        m[2, 2, 2] = 0
        for k in 3...4 { for j in 4...5 { for i in 5...6 { m[i, j, k] = 0 } } }
        for i in 0...3 { m[i, 6, 4] = 0 }
        let voxel = Self.g.voxelVolumeMM3
        let one = Filters.fillHoles(m, upToMM3: 1.5 * voxel)
        #expect(one[2, 2, 2] == 1 && one[5, 4, 3] == 0 && one[2, 6, 4] == 0)
        #expect(one.insideCount == m.insideCount + 1)
        let eight = Filters.fillHoles(m, upToMM3: 8 * voxel)
        #expect(eight[2, 2, 2] == 1 && eight[5, 4, 3] == 1 && eight[6, 5, 4] == 1 && eight[2, 6, 4] == 0)
        #expect(eight.insideCount == m.insideCount + 9)
        // The tunnel (open to the border) and everything outside the block stay background.
        #expect(eight[0, 6, 4] == 0 && eight[0, 0, 0] == 0)
        #expect(Filters.fillHoles(m, upToMM3: 0).voxels == m.voxels)
    }

    @Test("holes fill slice by slice; the largest component wins; the mode is found")
    func holesComponentsMode() {
        var ring = Mask(repeating: 0, geometry: Self.g)
        for j in 2...6 { for i in 2...8 where i == 2 || i == 8 || j == 2 || j == 6 { ring[i, j, 3] = 1 } }
        let filled = Filters.fillHolesPerSlice(ring)
        #expect(filled[5, 4, 3] == 1 && filled[0, 0, 3] == 0 && filled.insideCount == 35)
        var two = Mask(repeating: 0, geometry: Self.g)
        two[0, 0, 0] = 1
        two[5, 5, 5] = 1
        two[5, 6, 5] = 1
        #expect(Filters.largestComponent(two).insideCount == 2)
        var v = Volume<Float>(repeating: 0, geometry: Self.g)
        for i in 0..<v.voxels.count { v.voxels[i] = Float(100 + (i % 7) - 3) }
        let m = Filters.mode(v, within: Mask(repeating: 1, geometry: Self.g), lo: 0, hi: 200)
        #expect(m != nil && abs(m!.mode - 100.5) <= 1.5)
    }

    @Test(
        "histogram peaks: the highest first, a lower one kept when a quarter as high and apart, each with its half-width SD"
    )
    func peaks() {
        // Gaussian-shaped counts: 3000 voxels around 50 (SD 4), 1200 around 105 (SD 6), 200 around 160.
        let big = Geometry(
            dims: Dims(50, 50, 2), originMM: .zero, spacingMM: Vector3(1, 1, 1),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        var v = Volume<Float>(repeating: 0, geometry: big)
        var rng = SeededGenerator(seed: 7)
        func gauss() -> Float {
            Float((-2 * log(max(rng.uniform(), 1e-12))).squareRoot() * cos(2 * Double.pi * rng.uniform()))
        }
        for i in 0..<v.voxels.count {
            v.voxels[i] =
                i < 3000 ? 50 + 4 * gauss() : i < 4200 ? 105 + 6 * gauss() : i < 4400 ? 160 + 5 * gauss() : -500
        }
        let all = Mask(repeating: 1, geometry: big)
        let p = Filters.modes(v, within: all, lo: 0, hi: 250, minimumRelativeHeight: 0.25, separation: 20)
        #expect(p.count == 2, "\(p)")
        #expect(abs(p[0].mode - 50) <= 2 && abs(p[1].mode - 105) <= 3, "\(p)")
        #expect(abs(p[0].halfWidthSD - 4) <= 1.5 && abs(p[1].halfWidthSD - 6) <= 2, "\(p)")
        // `mode` is the first peak; a separation wider than the gap merges them into one.
        #expect(Filters.mode(v, within: all, lo: 0, hi: 250)!.mode == p[0].mode)
        #expect(Filters.modes(v, within: all, lo: 0, hi: 250, minimumRelativeHeight: 0.25, separation: 60).count == 1)
    }

    @Test("several erosions from one distance map equal one erosion each", arguments: [11, 12])
    func erosions(_ seed: UInt64) {
        let m = Filters.dilate(Self.random(seed: seed, density: 0.05), radiusMM: 2.5)
        let many = Filters.erode(m, radiiMM: [1, 2.4, 3.1])
        for (r, e) in zip([1, 2.4, 3.1], many) {
            #expect(e.voxels == Filters.erode(m, radiusMM: r).voxels, "radius \(r)")
        }
    }

    @Test(
        "resampling: a linear ramp comes back exact on another grid; beyond the data is outside; an offset moves the sample"
    )
    func resample() throws {
        let src = Geometry(
            dims: Dims(20, 16, 12), originMM: Vector3(-10, -8, 30), spacingMM: Vector3(1.5, 1.5, 4),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        func ramp(_ p: Vector3) -> Double { 2 * p.x + 3 * p.y + 5 * p.z }
        var image = CTVolume(repeating: 0, geometry: src)
        for k in 0..<12 {
            for j in 0..<16 {
                for i in 0..<20 { image[i, j, k] = Int16(ramp(src.positionMM(Double(i), Double(j), Double(k)))) }
            }
        }
        // A finer grid shifted by a fraction of a voxel, partly beyond the source.
        let grid = Geometry(
            dims: Dims(30, 20, 30), originMM: Vector3(-9.3, -7.1, 29), spacingMM: Vector3(1, 1.2, 2),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        let (out, covered) = Filters.resample(image, onto: grid)
        var inside = 0
        for k in 0..<30 {
            for j in 0..<20 {
                for i in 0..<30 {
                    let p = grid.positionMM(Double(i), Double(j), Double(k)), c = src.index(of: p)
                    let within = c.x > -0.5 && c.y > -0.5 && c.z > -0.5 && c.x < 19.5 && c.y < 15.5 && c.z < 11.5
                    #expect((covered[i, j, k] != 0) == within)
                    guard within else {
                        #expect(out[i, j, k] == -1024)
                        continue
                    }
                    inside += 1
                    // Inside the source's voxel centres the ramp is exact (to whole HU).
                    if c.x >= 0 && c.y >= 0 && c.z >= 0 && c.x <= 19 && c.y <= 15 && c.z <= 11 {
                        #expect(abs(Double(out[i, j, k]) - ramp(p)) <= 1, "at \(p)")
                    }
                }
            }
        }
        #expect(inside > 1000)
        // With an offset the grid's point p takes the value at p + offset.
        let (moved, _) = Filters.resample(image, onto: grid, offsetMM: Vector3(0, 0, 8))
        #expect(abs(Double(moved[10, 10, 5]) - ramp(grid.positionMM(10, 10, 5) + Vector3(0, 0, 8))) <= 1)
    }
}
