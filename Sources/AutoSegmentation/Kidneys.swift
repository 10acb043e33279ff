import Filters
import Foundation
import VolumeModel
import Volumetry

/// The right kidney where the liver step grew into it through a tumour of its density.
///
/// In the arterial phase the renal cortex enhances like a hyper-enhancing tumour, and the right
/// kidney lies against the liver's posterior-inferior surface: the liver step, whose tissue in a
/// tumour-dominated liver is the tumour's, grows into it. No threshold separates the two; anatomy
/// does. The kidneys are a pair, mirror images about the midline to within a few centimetres, and
/// the left one lies away from the liver, a free region of the same band. It is found (`leftKidney`),
/// mirrored about the body's centre and slid up to `searchMM` each way to where the mirror image lies
/// most inside the band while its 5 mm shell lies most outside it (a kidney is wrapped in fat
/// except where it touches the tumour; a kidney-shaped piece of a tumour mass is wrapped in more
/// tumour). A fit with at least `minimumInside` of the image inside the band and at most
/// `maximumShell` of the shell in it is the right kidney: the image widened by `marginMM` leaves
/// the liver, and the liver keeps its largest part.
///
/// No left kidney in the band (another phase, a nephrectomy, a left kidney touching the liver) or
/// no fit: nothing changes. The search assumes an axial acquisition (rows along the patient's
/// left-right axis within 25 degrees); others are left alone.
enum Kidneys {
    static let searchMM = (x: 30.0, y: 20.0, z: 60.0)
    static let minimumInside = 0.75
    static let maximumShell = 0.4
    static let shellMM = 5.0
    static let marginMM = 3.0
    /// An adult kidney: 60-400 mL in the band (the cortex alone in the arterial phase is less
    /// than the whole), at least 50 mm tall, at most 100 mm across, compact.
    static let kidneyML = 60.0...400.0
    static let minimumHeightMM = 50.0
    static let maximumWidthMM = 100.0
    static let minimumFill = 0.4
    static let maximumElongation = 4.0

    /// Removes the right kidney from `liver` (the liver step's core, on the grid of `band`);
    /// returns the mL removed. The band's other cores lying at least half inside the kidney's
    /// image are the kidney too and leave `otherCores`, so that no later stage joins them to the
    /// liver as another tumour core (`TumourDominatedLiver.joinOtherTumourCores`; htb-auto/40:
    /// fine phantom-mid 6 with graded margins took the right kidney, 119 mL, as a lesion that way).
    static func removeRight(from liver: inout Mask, otherCores: inout [[Int]], band: Mask, body: Mask) -> Double {
        guard let image = rightImage(band: band, liver: liver, body: body) else { return 0 }
        otherCores.removeAll { core in image.insideCount(of: core) * 2 > core.count }
        let before = liver.insideCount
        for v in 0..<liver.voxels.count where image.voxels[v] != 0 { liver.voxels[v] = 0 }
        liver = Filters.largestComponent(liver)
        return Double(before - liver.insideCount) * liver.geometry.voxelVolumeMM3 / 1000
    }

    /// The right kidney as the left one's fitted mirror image in `band`, widened by `marginMM`;
    /// nil when no left kidney is found in the band or no fit passes (see the type's note).
    static func rightImage(band: Mask, liver: Mask, body: Mask) -> Mask? {
        let g = liver.geometry
        guard isAxial(g), let centre = LiverSegmenter.bodyCentreMM(body),
            let left = leftKidney(band: band, liver: liver, centre: centre),
            let (inside, fit) = mirrorFit(
                of: left, near: Filters.dilate(left, radiusMM: shellMM), centreX: centre.x, band: band)
        else { return nil }
        var image = Mask(repeating: 0, geometry: g)
        let d = g.dims
        for p in inside {
            let i = p.0 + fit.shift.0, j = p.1 + fit.shift.1, k = p.2 + fit.shift.2
            guard i >= 0, i < d.x, j >= 0, j < d.y, k >= 0, k < d.z else { continue }
            image.voxels[i + d.x * (j + d.y * k)] = 1
        }
        return Filters.dilate(image, radiusMM: marginMM)
    }

    /// Whether the grid's rows run along the patient's left-right axis (within 25 degrees): the
    /// mirror searches assume it.
    static func isAxial(_ g: Geometry) -> Bool { abs(g.axes.0.normalized.x) > cos(25 * Double.pi / 180) }

    /// The fit of `organ`'s mirror image across x = `centreX` (patient coordinates) in `band`,
    /// when it passes: the image >= `minimumInside` in the band, its shell (`near`, the organ
    /// dilated by `shellMM`, less the organ) <= `maximumShell`. Also the image's voxels, unshifted.
    static func mirrorFit(of organ: Mask, near: Mask, centreX: Double, band: Mask) -> (
        image: [(Int, Int, Int)], fit: Fit
    )? {
        var shell = near
        for v in 0..<shell.voxels.count where organ.voxels[v] != 0 { shell.voxels[v] = 0 }
        let image = mirrored(organ, centreX: centreX)
        guard let fit = bestFit(inside: image, shell: mirrored(shell, centreX: centreX), band: band),
            fit.inside >= minimumInside, fit.shell <= maximumShell
        else { return nil }
        return (image, fit)
    }

    /// The left kidney: the largest region of the band (eroded by 3 mm to cut vessels and
    /// bridges, regrown within it) lying on the patient's left, in the back half of the body,
    /// not touching the liver, with a kidney's size and shape. Nil when none.
    static func leftKidney(band: Mask, liver: Mask, centre: (x: Double, y: Double)) -> Mask? {
        let g = band.geometry, d = g.dims
        let near = Filters.dilate(liver, radiusMM: 3)
        var best: [Int]? = nil
        for c in components(of: Filters.erode(band, radiusMM: 3), connectivity: .faces6).voxels {
            let ml = Double(c.count) * g.voxelVolumeMM3 / 1000
            guard ml >= kidneyML.lowerBound / 2, ml <= kidneyML.upperBound else { continue }
            var sx = 0.0, sy = 0.0, kLo = Int.max, kHi = Int.min, xLo = Double.infinity, xHi = -Double.infinity
            for v in c {
                let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
                let p = g.positionMM(Double(i), Double(j), Double(k))
                sx += p.x
                sy += p.y
                kLo = min(kLo, k)
                kHi = max(kHi, k)
                xLo = min(xLo, p.x)
                xHi = max(xHi, p.x)
            }
            let n = Double(c.count)
            guard sx / n > centre.x + 20, sy / n > centre.y else { continue }
            guard Double(kHi - kLo + 1) * g.spacingMM.z >= minimumHeightMM, xHi - xLo <= maximumWidthMM else {
                continue
            }
            guard !c.contains(where: { near.voxels[$0] != 0 }) else { continue }
            guard LesionSegmenter.fill(c, g) >= minimumFill, LesionSegmenter.elongation(c, g) <= maximumElongation
            else { continue }
            if c.count > (best?.count ?? 0) { best = c }
        }
        guard let best else { return nil }
        var m = Mask(repeating: 0, geometry: g)
        for v in best { m.voxels[v] = 1 }
        m = Filters.dilate(m, radiusMM: 3)
        for v in 0..<m.voxels.count where band.voxels[v] == 0 { m.voxels[v] = 0 }
        let ml = m.volumeML
        return kidneyML.contains(ml) ? m : nil
    }

    /// The voxels of `m` mirrored about x = `centreX` (patient coordinates), as voxel indices.
    static func mirrored(_ m: Mask, centreX: Double) -> [(Int, Int, Int)] {
        let g = m.geometry, d = g.dims
        var out: [(Int, Int, Int)] = []
        for v in 0..<m.voxels.count where m.voxels[v] != 0 {
            var p = g.positionMM(Double(v % d.x), Double((v / d.x) % d.y), Double(v / d.sliceCount))
            p.x = 2 * centreX - p.x
            let q = g.index(of: p)
            out.append((Int(q.x.rounded()), Int(q.y.rounded()), Int(q.z.rounded())))
        }
        return out
    }

    struct Fit {
        var shift: (Int, Int, Int)
        var inside: Double
        var shell: Double
    }

    /// The shift (voxels, within `searchMM`) maximising the share of `inside` in the band minus
    /// the share of `shell` in it; coarse steps of about 3 mm first, then every voxel around the
    /// best. Point sets are thinned to about 3000 points each.
    static func bestFit(inside: [(Int, Int, Int)], shell: [(Int, Int, Int)], band: Mask) -> Fit? {
        guard !inside.isEmpty, !shell.isEmpty else { return nil }
        let g = band.geometry, d = g.dims
        func thin(_ p: [(Int, Int, Int)]) -> [(Int, Int, Int)] {
            let s = max(1, p.count / 3000)
            return stride(from: 0, to: p.count, by: s).map { p[$0] }
        }
        let a = thin(inside), b = thin(shell)
        func share(_ pts: [(Int, Int, Int)], _ s: (Int, Int, Int)) -> Double {
            var n = 0
            band.voxels.withUnsafeBufferPointer { bv in
                for p in pts {
                    let i = p.0 + s.0, j = p.1 + s.1, k = p.2 + s.2
                    if i >= 0 && i < d.x && j >= 0 && j < d.y && k >= 0 && k < d.z && bv[i + d.x * (j + d.y * k)] != 0 {
                        n += 1
                    }
                }
            }
            return Double(n) / Double(pts.count)
        }
        let r = (Int(searchMM.x / g.spacingMM.x), Int(searchMM.y / g.spacingMM.y), Int(searchMM.z / g.spacingMM.z))
        let step = (max(1, Int(3 / g.spacingMM.x)), max(1, Int(3 / g.spacingMM.y)), max(1, Int(3 / g.spacingMM.z)))
        var best: Fit? = nil
        func consider(_ s: (Int, Int, Int)) {
            let i = share(a, s)
            guard i >= minimumInside else { return }
            let o = share(b, s)
            if best == nil || i - o > best!.inside - best!.shell { best = Fit(shift: s, inside: i, shell: o) }
        }
        for dk in stride(from: -r.2, through: r.2, by: step.2) {
            for dj in stride(from: -r.1, through: r.1, by: step.1) {
                for di in stride(from: -r.0, through: r.0, by: step.0) { consider((di, dj, dk)) }
            }
        }
        guard let coarse = best else { return nil }
        for dk in -step.2...step.2 {
            for dj in -step.1...step.1 {
                for di in -step.0...step.0 {
                    consider((coarse.shift.0 + di, coarse.shift.1 + dj, coarse.shift.2 + dk))
                }
            }
        }
        return best
    }
}
