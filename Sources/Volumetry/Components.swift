import VolumeModel

/// Which neighbours touch: the 6 that share a face, or all 26 that share a face, edge or corner.
public enum Connectivity: String, Sendable, Codable {
    case faces6 = "faces_6"
    case full26 = "full_26"

    var offsets: [(Int, Int, Int)] {
        var out: [(Int, Int, Int)] = []
        for dk in -1...1 { for dj in -1...1 { for di in -1...1 {
            let n = abs(di) + abs(dj) + abs(dk)
            if n == 0 { continue }
            if self == .faces6 && n > 1 { continue }
            out.append((di, dj, dk))
        } } }
        return out
    }
}

/// Connected components of a mask, numbered by size, largest first (ties by first voxel in
/// storage order): `voxels[c - 1]` lists component c's voxel offsets in storage order.
public struct Components: Sendable {
    public var geometry: Geometry
    public var voxels: [[Int]]
    public var count: Int { voxels.count }

    /// 0 outside, component number inside (numbers above 65535 are shown as 65535).
    public var labels: Volume<UInt16> {
        var out = Volume<UInt16>(repeating: 0, geometry: geometry)
        for (n, g) in voxels.enumerated() { for v in g { out.voxels[v] = UInt16(min(n + 1, 65535)) } }
        return out
    }
}

/// Labels the connected components of `mask` (non-zero voxels) by flood fill
/// (`componentLabels`), then lists each one's voxels in storage order. `sortedVoxels` is kept
/// for callers that state the order they need; the lists are always in storage order.
public func components(of mask: Mask, connectivity: Connectivity = .full26, sortedVoxels: Bool = true) -> Components {
    let (labels, sizes) = componentLabels(of: mask, connectivity: connectivity)
    var groups = sizes.dropFirst().map { size -> [Int] in
        var g: [Int] = []
        g.reserveCapacity(size)
        return g
    }
    labels.withUnsafeBufferPointer { l in
        for v in 0..<l.count where l[v] != 0 { groups[Int(l[v]) - 1].append(v) }
    }
    groups.sort { $0.count != $1.count ? $0.count > $1.count : $0[0] < $1[0] }
    return Components(geometry: mask.geometry, voxels: groups)
}

/// Component labels without voxel lists: `labels[v]` is 0 outside, else the component's number in
/// order of first voxel (storage order); `sizes[n]` its voxel count (`sizes[0]` unused). For
/// callers that need one component or the sizes only (cheaper than `components(of:)`).
public func componentLabels(of mask: Mask, connectivity: Connectivity = .full26) -> (labels: [Int32], sizes: [Int]) {
    let d = mask.dims
    let nx = d.x, ny = d.y, nz = d.z, nxy = nx * ny
    var labels = [Int32](repeating: 0, count: d.count)
    var sizes = [0]
    let offsets = connectivity.offsets, faces = connectivity == .faces6
    var stack: [Int] = []
    mask.voxels.withUnsafeBufferPointer { m in
        labels.withUnsafeMutableBufferPointer { l in
            var current: Int32 = 0, size = 0
            @inline(__always) func visit(_ w: Int) {
                if m[w] != 0 && l[w] == 0 { l[w] = current; stack.append(w) }
            }
            for start in 0..<m.count where m[start] != 0 && l[start] == 0 {
                current += 1
                size = 0
                l[start] = current
                stack.append(start)
                while let v = stack.popLast() {
                    size += 1
                    let i = v % nx, r = v / nx, j = r % ny, k = r / ny
                    if faces {
                        if i > 0 { visit(v - 1) }
                        if i + 1 < nx { visit(v + 1) }
                        if j > 0 { visit(v - nx) }
                        if j + 1 < ny { visit(v + nx) }
                        if k > 0 { visit(v - nxy) }
                        if k + 1 < nz { visit(v + nxy) }
                    } else {
                        for (di, dj, dk) in offsets {
                            let a = i + di, b = j + dj, c = k + dk
                            if a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz { continue }
                            visit(a + nx * (b + ny * c))
                        }
                    }
                }
                sizes.append(size)
            }
        }
    }
    return (labels, sizes)
}
