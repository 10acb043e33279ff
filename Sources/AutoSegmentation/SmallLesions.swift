import Filters
import Foundation
import VolumeModel
import Volumetry

/// Small lesions, 5 to about 20 mm, that the threshold step misses.
///
/// The threshold step needs a lesion to stay past its threshold after a 2 mm Gaussian, to hold a
/// seed 3 mm deep and to survive a 3 mm opening: a lesion under about 8 mm, or a hyper-enhancing
/// one under about 20 mm whose contrast the smoothing halves, is lost (phantoms of 1.4 x 1.4 x 2.5
/// mm: none of 15 hyper-enhancing lesions of 6-19 mm found). Small lesions are blobs, and blobs
/// are what the Hessian finds: at a blob's centre the image curves the same way along all three
/// axes, along a vessel it does not curve along the vessel, across a fissure only across it.
///
/// The CT with everything outside the liver set to the parenchyma's mode (so the liver's own
/// edge makes no response) is smoothed at `scalesMM` (sigma; a ball of radius sigma x sqrt 3
/// answers most at that scale: diameters of about 5, 8 and 11 mm). At each scale, where the
/// Hessian's eigenvalues share one sign (all negative: bright blob; all positive: dark), the
/// response is sigma^2 x smallest^2 / largest eigenvalue magnitude (a dot filter: the weakest
/// curvature counts most, squared, against the strongest, so tubes and plates answer little);
/// each voxel keeps its best scale (each scale is smoothed from the one before: variances add).
/// Local maxima (26 neighbours) of at least `minimumResponseHU` inside the liver (one voxel in)
/// are taken strongest first: the contrast at the blob's scale (centre against the median of the
/// ring 2-3 radii out, in the liver) must reach `minimumContrastSD` robust SDs of the parenchyma
/// at that same scale, on the blob's side; on the finest scale, the region past half-way from
/// the ring's level to the centre's, connected to the centre, must
/// close within `boundFactor` radii + `boundExtraMM` (a vessel or a fissure runs on: rejected),
/// hold a 5 mm sphere and have a principal-axis ratio of at most `maximumElongation`. Accepted
/// regions, and a voxel around them, are not searched again; peaks inside or beside the
/// threshold step's lesions are skipped.
///
/// The contrast needed is the Rose criterion's 5 SD (htb-auto/36), as for the faint lesions: every
/// local maximum of the response in the liver is a test, tens of thousands of them, and noise
/// alone passes a lower bar somewhere in every liver. Random-field theory gives the same bar: a
/// smoothed noise field over a 1.6 L liver, with a resolution element of 4-7 mm (the sweep's
/// grids at the finest scale), has its expected count of maxima above z SD fall below 0.1 at z of
/// about 4.8-5.0. Until htb-auto/35 the bar was 2 SD of the finest scale: on the phantom sweep's
/// fine grid (0.94 mm pixels, 25 HU noise) the stage accepted 158 blobs in 48 phantoms, 150 of
/// them noise.
enum SmallLesions {
    static let scalesMM = [1.5, 2.25, 3.25]
    static let minimumResponseHU: Float = 3
    static let minimumContrastSD: Float = 5
    static let boundFactor = 2.5
    static let boundExtraMM = 3.0
    static let maximumElongation = 2.0

    /// The small lesions in `liver` (on `ct`'s grid, a box around the liver) not touching `taken`.
    static func find(_ ct: CTVolume, liver: Mask, inner: Mask, modeHU mode: Float, taken existing: Mask) -> (
        lesions: Mask, count: Int
    ) {
        let g = ct.geometry, d = g.dims, sp = g.spacingMM
        var out = Mask(repeating: 0, geometry: g)
        var image = Volume<Float>(repeating: mode, geometry: g)
        for v in 0..<image.voxels.count where liver.voxels[v] != 0 { image.voxels[v] = Float(ct.voxels[v]) }
        // Candidates: liver voxels whose six neighbours are liver too, two voxels from the box's
        // faces (the stencil's reach).
        var candidates: [Int] = []
        for k in 2..<max(2, d.z - 2) {
            for j in 2..<max(2, d.y - 2) {
                for i in 2..<max(2, d.x - 2) {
                    let v = i + d.x * (j + d.y * k)
                    guard liver.voxels[v] != 0, liver.voxels[v - 1] != 0, liver.voxels[v + 1] != 0,
                        liver.voxels[v - d.x] != 0,
                        liver.voxels[v + d.x] != 0, liver.voxels[v - d.sliceCount] != 0,
                        liver.voxels[v + d.sliceCount] != 0
                    else { continue }
                    candidates.append(v)
                }
            }
        }
        guard !candidates.isEmpty else { return (out, 0) }
        let r = responses(image, at: candidates)
        // The finest scale serves for the regions; each scale's spread in the parenchyma sets the
        // contrast a blob of that scale needs.
        let fine = r.smoothed[0]
        var sds: [Float] = []
        for scaled in r.smoothed {
            guard let (_, sd) = Filters.mode(scaled, within: inner, lo: -50, hi: 250) else { return (out, 0) }
            sds.append(sd)
        }
        var taken = Filters.dilate(existing, radiusMM: max(sp.x, sp.y, sp.z))
        var count = 0
        for p in localMaxima(r.best, at: candidates, dims: d) where taken.voxels[p] == 0 {
            let scale = Int(r.scale[p]), sign = Float(r.sign[p])
            guard
                let region = blob(
                    at: p, radiusMM: scalesMM[scale] * 3.0.squareRoot(), sign: sign, atScale: r.smoothed[scale],
                    fine: fine,
                    liver: liver, minimumContrast: minimumContrastSD * sds[scale], modeHU: mode),
                !region.contains(where: { taken.voxels[$0] != 0 })
            else { continue }
            // The region and a voxel around it are not searched again.
            for v in region {
                out.voxels[v] = 1
                let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
                for dk in -1...1 {
                    for dj in -1...1 {
                        for di in -1...1 {
                            let x = i + di, y = j + dj, z = k + dk
                            guard x >= 0, x < d.x, y >= 0, y < d.y, z >= 0, z < d.z else { continue }
                            taken.voxels[x + d.x * (y + d.y * z)] = 1
                        }
                    }
                }
            }
            count += 1
        }
        return (out, count)
    }

    /// Each candidate's best dot response over the scales, that scale's index and the blob's
    /// sign; and the image at every scale.
    static func responses(_ image: Volume<Float>, at candidates: [Int]) -> (
        best: [Float], scale: [Int8], sign: [Int8], smoothed: [Volume<Float>]
    ) {
        let d = image.dims, sp = image.geometry.spacingMM
        var best = [Float](repeating: 0, count: image.voxels.count)
        var bestScale = [Int8](repeating: 0, count: image.voxels.count), bestSign = bestScale
        var smoothed: [Volume<Float>] = []
        for (n, sigma) in scalesMM.enumerated() {
            // Each scale from the one before (Gaussians compose: variances add).
            let s =
                n == 0
                ? Filters.gaussian(image, sigmaMM: sigma)
                : Filters.gaussian(
                    smoothed[n - 1], sigmaMM: (sigma * sigma - scalesMM[n - 1] * scalesMM[n - 1]).squareRoot())
            smoothed.append(s)
            // Candidates in chunks on all cores; each voxel is written by one chunk only.
            s.voxels.withUnsafeBufferPointer { G in
                best.withUnsafeMutableBufferPointer { b in
                    bestScale.withUnsafeMutableBufferPointer { bs in
                        bestSign.withUnsafeMutableBufferPointer { bg in
                            candidates.withUnsafeBufferPointer { c in
                                let shared = UncheckedSendable((G, b, bs, bg, c))
                                concurrentChunks(c.count) { range in
                                    let (G, b, bs, bg, c) = shared.value
                                    for v in c[range] {
                                        let (response, sign) = dot(G, v, d, sp, sigma)
                                        if sign != 0 && response > b[v] {
                                            b[v] = response
                                            bs[v] = Int8(n)
                                            bg[v] = sign
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (best, bestScale, bestSign, smoothed)
    }

    /// Candidates whose response is at least `minimumResponseHU` and no lower than any of their 26
    /// neighbours', strongest first.
    static func localMaxima(_ best: [Float], at candidates: [Int], dims d: Dims) -> [Int] {
        var peaks: [Int] = []
        for v in candidates where best[v] >= minimumResponseHU {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            var isMax = true
            outer: for dk in -1...1 {
                for dj in -1...1 {
                    for di in -1...1 {
                        let x = i + di, y = j + dj, z = k + dk
                        guard x >= 0, x < d.x, y >= 0, y < d.y, z >= 0, z < d.z else { continue }
                        if best[x + d.x * (y + d.y * z)] > best[v] {
                            isMax = false
                            break outer
                        }
                    }
                }
            }
            if isMax { peaks.append(v) }
        }
        return peaks.sorted { best[$0] > best[$1] }
    }

    /// The blob at peak `p` of radius `r` mm, or nil when it fails a test: its contrast at its
    /// scale against the median of the ring 2-3 radii out (in the liver) on the blob's side; on
    /// the finest scale, the region past half-way from the ring's level to the centre's, grown
    /// 6-connected from the centre, closing within the bound, holding a 5 mm sphere, compact.
    static func blob(
        at p: Int, radiusMM r: Double, sign: Float, atScale scaled: Volume<Float>, fine: Volume<Float>,
        liver: Mask, minimumContrast: Float, modeHU mode: Float
    ) -> [Int]? {
        let g = liver.geometry, d = g.dims, sp = g.spacingMM
        let bound = boundFactor * r + boundExtraMM
        let pi = p % d.x, pj = (p / d.x) % d.y, pk = p / d.sliceCount
        func distanceMM(_ v: Int) -> Double {
            let x = Double(v % d.x - pi) * sp.x, y = Double((v / d.x) % d.y - pj) * sp.y,
                z = Double(v / d.sliceCount - pk) * sp.z
            return (x * x + y * y + z * z).squareRoot()
        }
        let reach = (Int(ceil(3 * r / sp.x)), Int(ceil(3 * r / sp.y)), Int(ceil(3 * r / sp.z)))
        var ringScaled: [Float] = [], ringFine: [Float] = []
        for z in max(0, pk - reach.2)...min(d.z - 1, pk + reach.2) {
            for y in max(0, pj - reach.1)...min(d.y - 1, pj + reach.1) {
                for x in max(0, pi - reach.0)...min(d.x - 1, pi + reach.0) {
                    let v = x + d.x * (y + d.y * z)
                    guard liver.voxels[v] != 0 else { continue }
                    let distance = distanceMM(v)
                    if distance >= 2 * r && distance <= 3 * r {
                        ringScaled.append(scaled.voxels[v])
                        ringFine.append(fine.voxels[v])
                    }
                }
            }
        }
        let contrast = scaled.voxels[p] - (ringScaled.isEmpty ? mode : Filters.median(ringScaled))
        guard contrast * sign >= minimumContrast else { return nil }
        let background = ringFine.isEmpty ? mode : Filters.median(ringFine), centre = fine.voxels[p]
        guard (centre - background) * sign > 0 else { return nil }
        let level = background + 0.5 * (centre - background)
        var region: [Int] = [p], seen: Set<Int> = [p], head = 0
        let edge = bound - max(sp.x, sp.y, sp.z)
        while head < region.count {
            let v = region[head]
            head += 1
            // A region reaching the bound runs on: a vessel or a fissure.
            guard distanceMM(v) <= edge else { return nil }
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            for (di, dj, dk) in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)] {
                let x = i + di, y = j + dj, z = k + dk
                guard x >= 0, x < d.x, y >= 0, y < d.y, z >= 0, z < d.z else { continue }
                let w = x + d.x * (y + d.y * z)
                guard !seen.contains(w), liver.voxels[w] != 0, (fine.voxels[w] - level) * sign > 0,
                    distanceMM(w) <= bound
                else { continue }
                seen.insert(w)
                region.append(w)
            }
        }
        let minimumVoxels = Double.pi / 6 * pow(LesionSegmenter.minimumDiameterMM, 3) / g.voxelVolumeMM3
        guard Double(region.count) >= minimumVoxels else { return nil }
        let e = LesionSegmenter.principalVariancesMM2(region, g, withVoxelExtent: true)
        return (max(e.2, 0) / max(e.0, 1e-6)).squareRoot() <= maximumElongation ? region : nil
    }

    /// The dot response at voxel `v` of `G` (the image at scale `sigma`) and the blob's sign (1
    /// bright, -1 dark, 0 when the Hessian's eigenvalues do not share a sign): sigma^2 x the
    /// smallest eigenvalue magnitude squared over the largest. Second differences two voxels
    /// apart (central differences taken twice, like the mixed terms); `v` lies two voxels inside
    /// the grid.
    @inline(__always) static func dot(
        _ G: UnsafeBufferPointer<Float>, _ v: Int, _ d: Dims, _ sp: Vector3, _ sigma: Double
    ) -> (Float, Int8) {
        let c = G[v], dx = 1, dy = d.x, dz = d.sliceCount
        let hxx = (G[v + 2 * dx] - 2 * c + G[v - 2 * dx]) * Float(1 / (4 * sp.x * sp.x))
        let hyy = (G[v + 2 * dy] - 2 * c + G[v - 2 * dy]) * Float(1 / (4 * sp.y * sp.y))
        let hzz = (G[v + 2 * dz] - 2 * c + G[v - 2 * dz]) * Float(1 / (4 * sp.z * sp.z))
        // Sylvester: the eigenvalues share a sign only if the diagonal, the leading 2 x 2 minor
        // and the determinant have the signs checked here.
        let sign: Int8 = hxx < 0 && hyy < 0 && hzz < 0 ? 1 : (hxx > 0 && hyy > 0 && hzz > 0 ? -1 : 0)
        guard sign != 0 else { return (0, 0) }
        let hxy = (G[v + dx + dy] - G[v + dx - dy] - G[v - dx + dy] + G[v - dx - dy]) * Float(1 / (4 * sp.x * sp.y))
        let hxz = (G[v + dx + dz] - G[v + dx - dz] - G[v - dx + dz] + G[v - dx - dz]) * Float(1 / (4 * sp.x * sp.z))
        let hyz = (G[v + dy + dz] - G[v + dy - dz] - G[v - dy + dz] + G[v - dy - dz]) * Float(1 / (4 * sp.y * sp.z))
        guard hxx * hyy - hxy * hxy > 0 else { return (0, 0) }
        let det = hxx * (hyy * hzz - hyz * hyz) - hxy * (hxy * hzz - hyz * hxz) + hxz * (hxy * hyz - hyy * hxz)
        guard sign > 0 ? det < 0 : det > 0 else { return (0, 0) }
        let e = LesionSegmenter.symmetricEigenvalues(
            Double(hxx), Double(hyy), Double(hzz), Double(hxy), Double(hxz), Double(hyz))
        let weakest = min(abs(e.0), abs(e.1), abs(e.2)), strongest = max(abs(e.0), abs(e.1), abs(e.2))
        guard strongest > 0 else { return (0, 0) }
        return (Float(sigma * sigma * weakest * weakest / strongest), sign)
    }
}
