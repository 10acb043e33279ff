import VolumeModel

/// RECIST-style in-plane size of a lesion on one slice.
public struct AxialDiameters: Sendable, Equatable {
    /// Longest distance across the lesion in the slice plane (mm), edge to edge: measured between
    /// the outer corners of its pixels, as a caliper on the screen would.
    public var longestMM: Double
    /// Extent across the lesion perpendicular to the longest diameter (mm), same slice.
    public var shortAxisMM: Double
    /// Slice (k index) on which the longest diameter was found.
    public var slice: Int
}

/// Longest in-plane diameter over all slices of a component and its perpendicular short axis.
/// Per slice: the convex hull of the pixel corners (only the leftmost and rightmost pixel of each
/// row can be on it), its diameter by pairwise search over hull vertices, and the hull's width
/// along the perpendicular. Assumes orthogonal in-plane axes (true for every DICOM image).
public func axialDiameters(voxels: [Int], geometry g: Geometry) -> AxialDiameters {
    let nx = g.dims.x, ny = g.dims.y
    let sx = g.spacingMM.x, sy = g.spacingMM.y
    // Row extents per slice: slice -> row -> (minI, maxI).
    var rows: [Int: [Int: (Int, Int)]] = [:]
    for v in voxels {
        let i = v % nx, j = (v / nx) % ny, k = v / (nx * ny)
        if let e = rows[k]?[j] { rows[k]![j] = (min(e.0, i), max(e.1, i)) } else { rows[k, default: [:]][j] = (i, i) }
    }
    var best = AxialDiameters(longestMM: 0, shortAxisMM: 0, slice: 0)
    for k in rows.keys.sorted() {
        var pts: [(Double, Double)] = []
        for (j, e) in rows[k]! {
            for y in [Double(j) - 0.5, Double(j) + 0.5] {
                pts.append(((Double(e.0) - 0.5) * sx, y * sy))
                pts.append(((Double(e.1) + 0.5) * sx, y * sy))
            }
        }
        let hull = convexHull(pts)
        var longest = 0.0, a = hull[0], b = hull[0]
        for p in 0..<hull.count {
            for q in (p + 1)..<hull.count {
                let dx = hull[p].0 - hull[q].0, dy = hull[p].1 - hull[q].1
                let d = (dx * dx + dy * dy).squareRoot()
                if d > longest {
                    longest = d
                    a = hull[p]
                    b = hull[q]
                }
            }
        }
        if longest > best.longestMM {
            // Perpendicular unit vector to a-b; the hull's extent along it.
            let ux = -(b.1 - a.1) / longest, uy = (b.0 - a.0) / longest
            let proj = hull.map { $0.0 * ux + $0.1 * uy }
            best = AxialDiameters(longestMM: longest, shortAxisMM: proj.max()! - proj.min()!, slice: k)
        }
    }
    return best
}

/// Andrew's monotone chain; returns the hull vertices counter-clockwise (a single point or a
/// segment degenerates gracefully).
public func convexHull(_ points: [(Double, Double)]) -> [(Double, Double)] {
    let p = points.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    if p.count < 3 { return p }
    func cross(_ o: (Double, Double), _ a: (Double, Double), _ b: (Double, Double)) -> Double {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    }
    var lower: [(Double, Double)] = [], upper: [(Double, Double)] = []
    for q in p {
        while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], q) <= 0 { lower.removeLast() }
        lower.append(q)
    }
    for q in p.reversed() {
        while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], q) <= 0 { upper.removeLast() }
        upper.append(q)
    }
    return Array(lower.dropLast() + upper.dropLast())
}
