import Filters
import Foundation
import VolumeModel

/// The inferior vena cava (IVC), where the automatic liver took it in.
///
/// In the portal and delayed phases the IVC has about the liver's density where it runs through
/// the liver's bare area, so no threshold separates them; its shape does: a vertical tube of 8-18
/// mm radius beside the aorta, round in every axial slice, whose edge shows against fat below
/// and behind the liver and faintly against the parenchyma inside it.
///
/// 1. Circles in each slice of the liver's range (slices 4.5 mm apart or more): a Hough
///    transform of the edges (the slice averaged 1-2-1 with its neighbours, Sobel gradient above
///    2 HU/mm, each edge voting at 8-18 mm, every 2 mm, along its direction, both ways); the
///    local maxima are measured again by sampling the circle (its support: the share of 36
///    points on it where the gradient exceeds 2 HU/mm and points within 26.6 degrees of the
///    radius; its radius: the best-supported, 8-18 mm in 1 mm steps). A circle
///    whose inside is not vessel or soft tissue (median below the liver's mode - 40 HU or above
///    its mode + 260 HU) or whose ring holds bone (over 10 % above 400 HU: the vertebral body and
///    the spinal canal) is dropped; ten remain per slice.
/// 2. Tracks: dynamic programming links one circle per slice into the best-supported vertical
///    path (a centre may move 2 mm plus 0.3 mm per mm of height between slices, penalised
///    beyond; up to 20 mm of slices may be skipped, at a cost; radius changes cost a little). The
///    five best tracks are found, each with the earlier tracks' circles excluded.
/// 3. The aorta is the best track at least 40 mm long that never enters the liver (no circle
///    half inside it; usually the best track of all, but a bright IVC can outdo it). The IVC is
///    the best other track whose mean centre lies 15-70 mm to the patient's right of the aorta's
///    and within 40 mm of it front to back, that is at least 40 mm long, runs at least 10 mm
///    outside the liver (below or above it: a lesion inside the liver does not) and enters it;
///    or, failing that, a track at least 80 mm long that reaches an end of the liver and whose
///    inside has the parenchyma's density (within 20 HU of its mode), alone or joined from two
///    tracks in line (htb-auto/19: in the arterial phase the IVC has the parenchyma's density and
///    the automatic liver surrounds it all along; see `minimumEnclosedLengthMM`).
///    Its discs, 1.5 mm wider than the circles, leave the liver in every slice of the track
///    (interpolated between the slices searched).
enum VenaCava {
    struct Circle: Sendable, Equatable {
        /// Centre, in voxel indices of the slice.
        var i: Double
        var j: Double
        var radiusMM: Double
        /// Share of the circle where the edge shows (0...1).
        var support: Double

        /// The circle a share `w` of the way to `other` (centre and radius; this one's support).
        func toward(_ other: Circle, _ w: Double) -> Circle {
            Circle(
                i: i + w * (other.i - i), j: j + w * (other.j - j),
                radiusMM: radiusMM + w * (other.radiusMM - radiusMM), support: support)
        }
    }

    static let radiiMM: [Double] = Array(stride(from: 8.0, through: 18.0, by: 1.0))
    /// The Hough transform's radii (the circle's own radius is then measured at `radiiMM`).
    static let houghRadiiMM: [Double] = Array(stride(from: 8.0, through: 18.0, by: 2.0))
    static let edgeHUPerMM: Float = 2
    /// A point of the circle supports it when the gradient there exceeds this and points within
    /// 26.6 degrees of the radius (noise points any way: about 30 % of points).
    static let supportHUPerMM: Float = 2
    static let candidatesPerSlice = 10
    static let marginMM = 1.5
    static let minimumStepMM = 4.5
    static let tracksSought = 5
    /// The IVC's track: at least this long and this far outside the liver (below or above it)...
    static let minimumLengthMM = 40.0
    static let minimumOutsideMM = 10.0
    /// ... or, inside the liver all along (in the arterial phase the IVC has the parenchyma's
    /// density and the automatic liver surrounds it), at least this long, reaching an end of the
    /// liver, and inside within `enclosedDensityHU` of the parenchyma's mode (htb-auto/19). Two
    /// tracks in line (mean centres
    /// within `maximumJoinOffsetMM`, mean radii within `maximumJoinRadiusChangeMM`, one above the
    /// other: the tube's edge lost for some slices, where a tumour's edges outvote it) are joined,
    /// the gap interpolated, and must pass this test.
    static let minimumEnclosedLengthMM = 80.0
    static let enclosedDensityHU: Float = 20
    static let maximumJoinOffsetMM = 5.0
    static let maximumJoinRadiusChangeMM = 3.0

    /// The IVC's circle in each slice of its track (nil elsewhere), or nil when no track passes
    /// the tests. `modeHU` is the parenchyma's mode.
    static func find(smooth: Volume<Float>, liver: Mask, modeHU: Float) -> [Circle?]? {
        let g = liver.geometry, d = g.dims, sp = g.spacingMM
        guard let liverBox = liver.boundingBox, liverBox.dims.z > 1 else { return nil }
        // Circles are looked for within the liver's in-plane box widened by 30 mm (the IVC and
        // the aorta lie beside it), in slices 4.5 mm apart or more (thin slices add time, not
        // information: the tube is vertical).
        let box = liverBox.expanded(byMM: 30, in: g)
        let step = max(1, Int((minimumStepMM / sp.z).rounded()))
        let slices = Array(stride(from: liverBox.lo.z, to: liverBox.lo.z + liverBox.dims.z, by: step))
        // A few chunks of slices a core, each with one workspace (fresh slice-sized buffers per
        // slice cost more in page faults than the transform itself).
        var candidates = [[Circle]](repeating: [], count: slices.count)
        candidates.withUnsafeMutableBufferPointer { out in
            let shared = UncheckedSendable(out)
            concurrentChunks(slices.count) { chunk in
                var work = Workspace(sliceCount: d.sliceCount)
                for n in chunk {
                    shared.value[n] = circles(smooth, slice: slices[n], within: box, modeHU: modeHU, work: &work)
                }
            }
        }
        let stepMM = Double(step) * sp.z
        var tracks: [[Circle?]] = []
        for _ in 0..<tracksSought {
            guard let t = track(candidates, excluding: tracks, stepMM: stepMM, geometry: g) else { break }
            tracks.append(t)
        }
        // Each track measured: its slices, length, how much of it lies outside the liver and
        // whether it enters it (a circle at least half inside).
        struct Measured {
            var track: [Circle?]
            var defined: [Int]
            var lengthMM: Double
            var outsideMM: Double
            var enters: Bool
            var centre: Circle
        }
        func measure(_ t: [Circle?]) -> Measured? {
            let defined = t.indices.filter { t[$0] != nil }
            guard let a = defined.first, let b = defined.last, let centre = mean(t) else { return nil }
            var outsideMM = 0.0, enters = false
            for n in defined {
                if insideShare(t[n]!, slice: slices[n], liver) >= 0.5 { enters = true } else { outsideMM += stepMM }
            }
            return Measured(
                track: t, defined: defined, lengthMM: Double(b - a + 1) * stepMM, outsideMM: outsideMM, enters: enters,
                centre: centre)
        }
        let measured = tracks.compactMap(measure)
        // The IVC's offset from the aorta, in patient coordinates (LPS: +x left, +y posterior).
        func besideAorta(_ c: Circle, _ aorta: Circle) -> Bool {
            let offset = g.axes.0 * ((c.i - aorta.i) * sp.x) + g.axes.1 * ((c.j - aorta.j) * sp.y)
            return (15...70).contains(-offset.x) && abs(offset.y) <= 40
        }
        // The aorta: the best-supported track at least 40 mm long that never enters the liver
        // (usually the best track of all; a bright IVC can outdo it, but the IVC enters the liver).
        guard let aorta = measured.first(where: { $0.lengthMM >= 40 && !$0.enters }) else { return nil }
        func isIVC(_ t: Measured, joined: Bool) -> Bool {
            guard t.centre != aorta.centre, t.enters, besideAorta(t.centre, aorta.centre) else { return false }
            if !joined && t.lengthMM >= minimumLengthMM && t.outsideMM >= minimumOutsideMM { return true }
            // A tube this long that reaches an end of the liver (the slices searched span the
            // liver's) and has the parenchyma's density is the IVC even where the liver surrounds
            // it all along: that density is why the automatic liver took it in; a lesion differs.
            guard t.lengthMM >= minimumEnclosedLengthMM, t.defined.first! <= 1 || t.defined.last! >= slices.count - 2
            else { return false }
            var inside: [Float] = []
            for n in t.defined {
                let c = t.track[n]!
                forEachPixel(of: c, radiusMM: 0.7 * c.radiusMM, in: g) { i, j in
                    if let i, let j { inside.append(smooth[i, j, slices[n]]) }
                }
            }
            guard !inside.isEmpty else { return false }
            inside.sort()
            return abs(inside[inside.count / 2] - modeHU) <= enclosedDensityHU
        }
        // Two tracks in line, one above the other, where the tube's edge was lost in between
        // (looked for only when no track passes alone).
        func joinedInLine() -> [Measured] {
            var joined: [Measured] = []
            let others = measured.filter { $0.centre != aorta.centre }
            for p in others {
                for q in others where p.defined.last! < q.defined.first! {
                    let dx = (p.centre.i - q.centre.i) * sp.x, dy = (p.centre.j - q.centre.j) * sp.y
                    guard (dx * dx + dy * dy).squareRoot() <= maximumJoinOffsetMM,
                        abs(p.centre.radiusMM - q.centre.radiusMM) <= maximumJoinRadiusChangeMM
                    else { continue }
                    var t = p.track
                    for n in q.defined { t[n] = q.track[n] }
                    let a = p.defined.last!, b = q.defined.first!
                    for n in (a + 1)..<b { t[n] = t[a]!.toward(t[b]!, Double(n - a) / Double(b - a)) }
                    if let m = measure(t) { joined.append(m) }
                }
            }
            return joined
        }
        guard
            let ivc = measured.first(where: { isIVC($0, joined: false) })
                ?? joinedInLine().first(where: { isIVC($0, joined: true) })
        else { return nil }
        let t = ivc.track, a = ivc.defined.first!, b = ivc.defined.last!
        // Every slice of the track: the circles of the slices searched, interpolated between.
        var out = [Circle?](repeating: nil, count: d.z)
        for n in a..<b {
            let c0 = t[n]!, c1 = t[n + 1]!
            for k in slices[n]..<slices[n + 1] { out[k] = c0.toward(c1, Double(k - slices[n]) / Double(step)) }
        }
        out[slices[b]] = t[b]
        return out
    }

    /// Finds the IVC (see `find`) and clears its discs from the liver and the lesions; returns the
    /// mL taken from the liver (0 when no IVC is found) and the track (nil then).
    @discardableResult
    static func remove(smooth: Volume<Float>, modeHU: Float, liver: inout Mask, lesions: inout Mask) -> (
        removedML: Double, track: [Circle?]?
    ) {
        guard let track = find(smooth: smooth, liver: liver, modeHU: modeHU) else { return (0, nil) }
        let cleared = remove(track, from: &liver)
        remove(track, from: &lesions)
        return (Double(cleared) * liver.geometry.voxelVolumeMM3 / 1000, track)
    }

    /// Clears the track's discs (widened by `marginMM`) in `mask`; returns the voxels cleared.
    @discardableResult
    static func remove(_ track: [Circle?], from mask: inout Mask) -> Int {
        var cleared = 0
        forEachDiscVoxel(of: track, in: mask.geometry) { v in
            if mask.voxels[v] != 0 {
                mask.voxels[v] = 0
                cleared += 1
            }
        }
        return cleared
    }

    /// The track's discs (widened by `marginMM`) as a mask: the IVC where it runs.
    static func discs(_ track: [Circle?], geometry g: Geometry) -> Mask {
        var mask = Mask(repeating: 0, geometry: g)
        forEachDiscVoxel(of: track, in: g) { mask.voxels[$0] = 1 }
        return mask
    }

    /// Calls `body` with the offset of each voxel of the track's discs (widened by `marginMM`)
    /// on the grid.
    static func forEachDiscVoxel(of track: [Circle?], in g: Geometry, _ body: (Int) -> Void) {
        for k in 0..<min(g.dims.z, track.count) {
            guard let c = track[k] else { continue }
            forEachPixel(of: c, radiusMM: c.radiusMM + marginMM, in: g) { i, j in
                guard let i, let j else { return }
                body(i + g.dims.x * (j + g.dims.y * k))
            }
        }
    }

    /// Calls `body` for each pixel centre within `radiusMM` of the circle's centre, with its
    /// indices, or nil for those beyond the slice's edge.
    static func forEachPixel(of c: Circle, radiusMM r: Double, in g: Geometry, _ body: (Int?, Int?) -> Void) {
        let sp = g.spacingMM, d = g.dims
        let ri = Int((r / sp.x).rounded(.up)), rj = Int((r / sp.y).rounded(.up))
        let ci = Int(c.i.rounded()), cj = Int(c.j.rounded())
        for j in (cj - rj)...(cj + rj) {
            for i in (ci - ri)...(ci + ri) {
                let x = (Double(i) - c.i) * sp.x, y = (Double(j) - c.j) * sp.y
                guard x * x + y * y <= r * r else { continue }
                let inside = i >= 0 && i < d.x && j >= 0 && j < d.y
                body(inside ? i : nil, inside ? j : nil)
            }
        }
    }

    // MARK: - Circles in one slice

    /// Buffers for `circles`, reused from slice to slice. Outside the box nothing is ever written,
    /// so it stays zero; inside it every buffer is written (or cleared) before it is read.
    struct Workspace {
        var plane, gx, gy, score: [Float]
        var votes, rows: [Int32]
        init(sliceCount: Int) {
            plane = [Float](repeating: 0, count: sliceCount)
            gx = plane
            gy = plane
            score = plane
            votes = [Int32](repeating: 0, count: houghRadiiMM.count * sliceCount)
            rows = [Int32](repeating: 0, count: sliceCount)
        }
    }

    /// Circles in slice `k`, looked for within the in-plane extent of `box`.
    static func circles(
        _ smooth: Volume<Float>, slice k: Int, within box: VoxelBox, modeHU: Float, work: inout Workspace
    ) -> [Circle] {
        let g = smooth.geometry, d = g.dims, sp = g.spacingMM
        let nx = d.x, base = k * d.sliceCount
        let i0 = max(1, box.lo.x), i1 = min(nx - 2, box.lo.x + box.dims.x - 1)
        let j0 = max(1, box.lo.y), j1 = min(d.y - 2, box.lo.y + box.dims.y - 1)
        guard i1 - i0 >= 6, j1 - j0 >= 6 else { return [] }
        // The workspace's buffers, moved out (no copy) and back.
        var plane: [Float] = [], gx: [Float] = [], gy: [Float] = [], score: [Float] = [], votes: [Int32] = [],
            rows: [Int32] = []
        swap(&plane, &work.plane)
        swap(&gx, &work.gx)
        swap(&gy, &work.gy)
        swap(&score, &work.score)
        swap(&votes, &work.votes)
        swap(&rows, &work.rows)
        defer {
            swap(&plane, &work.plane)
            swap(&gx, &work.gx)
            swap(&gy, &work.gy)
            swap(&score, &work.score)
            swap(&votes, &work.votes)
            swap(&rows, &work.rows)
        }
        score.withUnsafeMutableBufferPointer { score in
            votes.withUnsafeMutableBufferPointer { votes in
                for j in j0...j1 {
                    let row = i0 + nx * j
                    for p in row...(row + i1 - i0) { score[p] = 0 }
                    for n in 0..<houghRadiiMM.count {
                        for p in row...(row + i1 - i0) { votes[n * d.sliceCount + p] = 0 }
                    }
                }
            }
        }
        // The slice averaged with its neighbours (1-2-1: a vertical tube's edge stays, noise
        // drops), then its Sobel gradient in HU per mm.
        let below = max(0, k - 1) * d.sliceCount, above = min(d.z - 1, k + 1) * d.sliceCount
        for j in (j0 - 1)...(j1 + 1) {
            for i in (i0 - 1)...(i1 + 1) {
                let p = i + nx * j
                plane[p] = (smooth.voxels[below + p] + 2 * smooth.voxels[base + p] + smooth.voxels[above + p]) / 4
            }
        }
        let sx = Float(8 * sp.x), sy = Float(8 * sp.y)
        plane.withUnsafeBufferPointer { s in
            for j in j0...j1 {
                for i in i0...i1 {
                    let p = i + nx * j
                    let a = s[p - nx - 1], b = s[p - nx], c = s[p - nx + 1]
                    let l = s[p - 1], r = s[p + 1]
                    let e = s[p + nx - 1], f = s[p + nx], h = s[p + nx + 1]
                    gx[p] = ((c + 2 * r + h) - (a + 2 * l + e)) / sx
                    gy[p] = ((e + 2 * f + h) - (a + 2 * b + c)) / sy
                }
            }
        }
        // Votes: each edge pixel votes for centres at each Hough radius along its gradient, both
        // ways (targets outside the box are dropped).
        let nr = houghRadiiMM.count
        let t2 = edgeHUPerMM * edgeHUPerMM
        let stepsI = houghRadiiMM.map { Float($0 / sp.x) }, stepsJ = houghRadiiMM.map { Float($0 / sp.y) }
        votes.withUnsafeMutableBufferPointer { v in
            gx.withUnsafeBufferPointer { gx in
                gy.withUnsafeBufferPointer { gy in
                    for j in j0...j1 {
                        for i in i0...i1 {
                            let p = i + nx * j
                            let m2 = gx[p] * gx[p] + gy[p] * gy[p]
                            guard m2 >= t2 else { continue }
                            let m = m2.squareRoot(), ux = gx[p] / m, uy = gy[p] / m
                            let fi = Float(i), fj = Float(j)
                            for n in 0..<nr {
                                let di = stepsI[n] * ux, dj = stepsJ[n] * uy
                                // Truncation rounds (a target below 0 fails the box test either way).
                                var ci = Int(fi + di + 0.5), cj = Int(fj + dj + 0.5)
                                if ci >= i0, ci <= i1, cj >= j0, cj <= j1 { v[n * d.sliceCount + ci + nx * cj] += 1 }
                                ci = Int(fi - di + 0.5)
                                cj = Int(fj - dj + 0.5)
                                if ci >= i0, ci <= i1, cj >= j0, cj <= j1 { v[n * d.sliceCount + ci + nx * cj] += 1 }
                            }
                        }
                    }
                }
            }
        }
        // Score: votes in the 3x3 neighbourhood per pixel of circumference, best radius (sums by
        // rows, then by columns).
        let pixelMM = (sp.x + sp.y) / 2
        votes.withUnsafeBufferPointer { votes in
            rows.withUnsafeMutableBufferPointer { rows in
                score.withUnsafeMutableBufferPointer { score in
                    for (n, r) in houghRadiiMM.enumerated() {
                        let scale = 1 / Float(2 * Double.pi * r / pixelMM), o = n * d.sliceCount
                        for j in j0...j1 {
                            for i in (i0 + 1)...(i1 - 1) {
                                let p = i + nx * j
                                rows[p] = votes[o + p - 1] &+ votes[o + p] &+ votes[o + p + 1]
                            }
                        }
                        for j in (j0 + 1)...(j1 - 1) {
                            for i in (i0 + 1)...(i1 - 1) {
                                let p = i + nx * j
                                let s = Float(rows[p - nx] &+ rows[p] &+ rows[p + nx]) * scale
                                if s > score[p] { score[p] = s }
                            }
                        }
                    }
                }
            }
        }
        // Local maxima (7x7) above 0.3, strongest first.
        var maxima: [(p: Int, s: Float)] = []
        for j in (j0 + 3)...max(j0 + 3, j1 - 3) {
            for i in (i0 + 3)...max(i0 + 3, i1 - 3) {
                let p = i + nx * j, s = score[p]
                guard s > 0.3 else { continue }
                var top = true
                search: for dj in -3...3 {
                    for di in -3...3 where (di, dj) != (0, 0) {
                        let q = p + di + nx * dj
                        // Ties go to the first in storage order.
                        if score[q] > s || (score[q] == s && q < p) {
                            top = false
                            break search
                        }
                    }
                }
                if top { maxima.append((p, s)) }
            }
        }
        maxima.sort { $0.s != $1.s ? $0.s > $1.s : $0.p < $1.p }
        let ny = d.y
        var out: [Circle] = []
        let cosines = (0..<36).map { cos(Double($0) * 2 * Double.pi / 36) },
            sines = (0..<36).map { sin(Double($0) * 2 * Double.pi / 36) }
        for (p, _) in maxima.prefix(40) {
            let ci = Double(p % nx), cj = Double(p / nx)
            // The radius the edge supports best, by sampling the circle.
            var best = (support: 0.0, r: 0.0)
            for r in radiiMM {
                var hits = 0
                for a in 0..<cosines.count {
                    let c = cosines[a], sn = sines[a]
                    let i = Int((ci + r * c / sp.x).rounded()), j = Int((cj + r * sn / sp.y).rounded())
                    guard i >= 0, i < nx, j >= 0, j < ny else { continue }
                    let q = i + nx * j
                    let radial = abs(gx[q] * Float(c) + gy[q] * Float(sn))
                    let tangential = abs(gy[q] * Float(c) - gx[q] * Float(sn))
                    if radial > supportHUPerMM && radial >= 2 * tangential { hits += 1 }
                }
                let s = Double(hits) / Double(cosines.count)
                if s > best.support { best = (s, r) }
            }
            guard best.r > 0 else { continue }
            // Inside: vessel or soft tissue; the ring out to 1.4 radii: no bone.
            var inner: [Float] = [], ring = 0, bone = 0
            let outer = 1.4 * best.r, reachI = Int((outer / sp.x).rounded(.up)),
                reachJ = Int((outer / sp.y).rounded(.up))
            let pi0 = Int(ci), pj0 = Int(cj)
            for j in max(0, pj0 - reachJ)...min(ny - 1, pj0 + reachJ) {
                for i in max(0, pi0 - reachI)...min(nx - 1, pi0 + reachI) {
                    let x = (Double(i) - ci) * sp.x, y = (Double(j) - cj) * sp.y, r2 = x * x + y * y
                    let value = smooth.voxels[base + i + nx * j]
                    if r2 <= 0.49 * best.r * best.r {
                        inner.append(value)
                    } else if r2 > best.r * best.r && r2 <= outer * outer {
                        ring += 1
                        if value > 400 { bone += 1 }
                    }
                }
            }
            guard !inner.isEmpty else { continue }
            inner.sort()
            let median = inner[inner.count / 2]
            guard median >= modeHU - 40, median <= modeHU + 260, bone * 10 <= ring else { continue }
            out.append(Circle(i: ci, j: cj, radiusMM: best.r, support: best.support))
            if out.count == candidatesPerSlice { break }
        }
        return out
    }

    // MARK: - Tracks

    /// The best-supported vertical path through `candidates` (one list per slice of the range),
    /// avoiding the circles of `excluding`; one circle per slice from its first to its last
    /// (gaps interpolated), indexed like `candidates`.
    static func track(_ candidates: [[Circle]], excluding: [[Circle?]], stepMM stepZ: Double, geometry g: Geometry)
        -> [Circle?]?
    {
        let sp = g.spacingMM
        let maxGap = max(1, Int((20 / stepZ).rounded()))
        func distanceMM(_ a: Circle, _ b: Circle) -> Double {
            let x = (a.i - b.i) * sp.x, y = (a.j - b.j) * sp.y
            return (x * x + y * y).squareRoot()
        }
        let n = candidates.count
        // best[z][c]: the best path ending at candidate c of slice z, and where it came from.
        var best: [[(score: Double, from: (z: Int, c: Int)?)]] = []
        for z in 0..<n {
            var row: [(score: Double, from: (z: Int, c: Int)?)] = []
            for c in candidates[z] {
                let excluded = excluding.contains { t in
                    guard let e = t[z] else { return false }
                    return distanceMM(c, e) < 0.8 * (c.radiusMM + e.radiusMM)
                }
                guard !excluded else {
                    row.append((-.infinity, nil))
                    continue
                }
                var here: (score: Double, from: (z: Int, c: Int)?) = (c.support, nil)
                for gap in 1...maxGap where z - gap >= 0 {
                    let allow = 2 + 0.3 * stepZ * Double(gap)
                    for (m, p) in candidates[z - gap].enumerated() {
                        let previous = best[z - gap][m].score
                        guard previous > -.infinity else { continue }
                        let dist = distanceMM(c, p)
                        guard dist <= allow + 10 else { continue }
                        let s =
                            previous + c.support - 0.24 * max(0, dist - allow) - 0.15 * Double(gap - 1) - 0.02
                            * abs(c.radiusMM - p.radiusMM)
                        if s > here.score { here = (s, (z - gap, m)) }
                    }
                }
                row.append(here)
            }
            best.append(row)
        }
        var end: (z: Int, c: Int)?
        var top = -Double.infinity
        for z in 0..<n {
            for c in best[z].indices where best[z][c].score > top {
                top = best[z][c].score
                end = (z, c)
            }
        }
        guard var at = end else { return nil }
        var path: [(z: Int, c: Circle)] = []
        while true {
            path.append((at.z, candidates[at.z][at.c]))
            guard let from = best[at.z][at.c].from else { break }
            at = from
        }
        path.reverse()
        var out = [Circle?](repeating: nil, count: n)
        for (a, b) in zip(path, path.dropFirst() + [path[path.count - 1]]) {
            for z in a.z...b.z {
                out[z] = a.c.toward(b.c, b.z > a.z ? Double(z - a.z) / Double(b.z - a.z) : 0)
            }
        }
        return out
    }

    /// The mean centre of a track.
    static func mean(_ t: [Circle?]) -> Circle? {
        let cs = t.compactMap { $0 }
        guard !cs.isEmpty else { return nil }
        let n = Double(cs.count)
        return Circle(
            i: cs.reduce(0) { $0 + $1.i } / n, j: cs.reduce(0) { $0 + $1.j } / n,
            radiusMM: cs.reduce(0) { $0 + $1.radiusMM } / n, support: cs.reduce(0) { $0 + $1.support } / n)
    }

    /// The share of a circle's disc inside `mask` in slice `k`.
    static func insideShare(_ c: Circle, slice k: Int, _ mask: Mask) -> Double {
        var inside = 0, total = 0
        forEachPixel(of: c, radiusMM: c.radiusMM, in: mask.geometry) { i, j in
            total += 1
            if let i, let j, mask[i, j, k] != 0 { inside += 1 }
        }
        return total > 0 ? Double(inside) / Double(total) : 0
    }
}
