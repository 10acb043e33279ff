/// A box of voxel indices on a grid: `lo` inclusive, `dims` voxels along each axis.
public struct VoxelBox: Sendable, Equatable {
    public var lo: (x: Int, y: Int, z: Int)
    public var dims: Dims
    public init(lo: (x: Int, y: Int, z: Int), dims: Dims) {
        self.lo = lo
        self.dims = dims
    }
    public static func == (a: VoxelBox, b: VoxelBox) -> Bool { a.lo == b.lo && a.dims == b.dims }

    /// The smallest box holding `voxels` (indices on a grid of `dims`); nil when there are none.
    public static func enclosing(_ voxels: [Int], in dims: Dims) -> VoxelBox? {
        guard !voxels.isEmpty else { return nil }
        var lo = (dims.x, dims.y, dims.z), hi = (0, 0, 0)
        for v in voxels {
            let i = v % dims.x, j = (v / dims.x) % dims.y, k = v / dims.sliceCount
            lo = (min(lo.0, i), min(lo.1, j), min(lo.2, k))
            hi = (max(hi.0, i), max(hi.1, j), max(hi.2, k))
        }
        return VoxelBox(lo: (lo.0, lo.1, lo.2), dims: Dims(hi.0 - lo.0 + 1, hi.1 - lo.1 + 1, hi.2 - lo.2 + 1))
    }

    /// The index in this box of voxel `v` of a grid of `dims` (which must lie inside the box).
    @inline(__always) public func local(_ v: Int, in dims: Dims) -> Int {
        (v % dims.x - lo.x) + self.dims.x
            * (((v / dims.x) % dims.y - lo.y) + self.dims.y * (v / dims.sliceCount - lo.z))
    }

    /// The index on a grid of `dims` of voxel `v` of this box.
    @inline(__always) public func global(_ v: Int, in dims: Dims) -> Int {
        let b = self.dims
        return (v % b.x + lo.x) + dims.x * ((v / b.x) % b.y + lo.y + dims.y * (v / b.sliceCount + lo.z))
    }

    /// This box grown by `marginMM` on every side (at least one voxel), clipped to `grid`.
    public func expanded(byMM marginMM: Double, in grid: Geometry) -> VoxelBox {
        let sp = grid.spacingMM
        let m = [sp.x, sp.y, sp.z].map { max(1, Int((marginMM / $0).rounded(.up))) }
        let x0 = max(0, lo.x - m[0]), y0 = max(0, lo.y - m[1]), z0 = max(0, lo.z - m[2])
        let x1 = min(grid.dims.x, lo.x + dims.x + m[0]), y1 = min(grid.dims.y, lo.y + dims.y + m[1]),
            z1 = min(grid.dims.z, lo.z + dims.z + m[2])
        return VoxelBox(lo: (x0, y0, z0), dims: Dims(x1 - x0, y1 - y0, z1 - z0))
    }
}

extension Volume where Voxel == UInt8 {
    /// The smallest box holding every inside voxel; nil for an empty mask.
    public var boundingBox: VoxelBox? {
        let d = dims
        var x0 = d.x, y0 = d.y, z0 = d.z, x1 = -1, y1 = -1, z1 = -1
        voxels.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            let raw = UnsafeRawPointer(base)
            for k in 0..<d.z {
                for j in 0..<d.y {
                    let row = (k * d.y + j) * d.x
                    // Eight voxels at a time while they are all zero (most rows of a mask are empty).
                    var i = 0
                    while i + 8 <= d.x && raw.loadUnaligned(fromByteOffset: row + i, as: UInt64.self) == 0 { i += 8 }
                    while i < d.x && p[row + i] == 0 { i += 1 }
                    guard i < d.x else { continue }
                    var last = d.x - 1
                    while last >= 8 && raw.loadUnaligned(fromByteOffset: row + last - 7, as: UInt64.self) == 0 {
                        last -= 8
                    }
                    while p[row + last] == 0 { last -= 1 }
                    x0 = min(x0, i)
                    x1 = max(x1, last)
                    y0 = min(y0, j)
                    y1 = max(y1, j)
                    z0 = min(z0, k)
                    z1 = max(z1, k)
                }
            }
        }
        guard x1 >= 0 else { return nil }
        return VoxelBox(lo: (x0, y0, z0), dims: Dims(x1 - x0 + 1, y1 - y0 + 1, z1 - z0 + 1))
    }
}

extension Geometry {
    /// The grid of `box`'s voxels: the same spacing and axes, its origin the box's first voxel
    /// (positions in mm are unchanged).
    public func cropped(to box: VoxelBox) -> Geometry {
        Geometry(
            dims: box.dims, originMM: positionMM(Double(box.lo.x), Double(box.lo.y), Double(box.lo.z)),
            spacingMM: spacingMM, axes: axes)
    }
}

extension Volume {
    /// The voxels inside `box`, on a grid with the same spacing and axes whose origin is the
    /// box's first voxel: positions in mm are unchanged. (Inlinable, as is `pasting`: the stages
    /// in other modules crop masks and smoothed CTs many times, and an unspecialised generic
    /// copy ran element by element.)
    @inlinable public func cropped(to box: VoxelBox) -> Volume<Voxel> {
        let g = geometry, d = dims, b = box.dims
        precondition(
            box.lo.x >= 0 && box.lo.y >= 0 && box.lo.z >= 0 && box.lo.x + b.x <= d.x && box.lo.y + b.y <= d.y
                && box.lo.z + b.z <= d.z,
            "crop box outside the grid")
        let out = [Voxel](unsafeUninitializedCapacity: b.count) { buffer, count in
            voxels.withUnsafeBufferPointer { src in
                for k in 0..<b.z {
                    for j in 0..<b.y {
                        let row = box.lo.x + d.x * ((box.lo.y + j) + d.y * (box.lo.z + k))
                        (buffer.baseAddress! + b.x * (j + b.y * k)).initialize(from: src.baseAddress! + row, count: b.x)
                    }
                }
            }
            count = b.count
        }
        return Volume(voxels: out, geometry: g.cropped(to: box))
    }

    /// `part` (cropped from this grid at `box`) written back over this volume's voxels there.
    @inlinable public func pasting(_ part: Volume<Voxel>, at box: VoxelBox) -> Volume<Voxel> {
        precondition(part.dims == box.dims, "pasted volume does not fit its box")
        var out = self
        let d = dims, b = box.dims
        out.voxels.withUnsafeMutableBufferPointer { dst in
            part.voxels.withUnsafeBufferPointer { src in
                for k in 0..<b.z {
                    for j in 0..<b.y {
                        let row = box.lo.x + d.x * ((box.lo.y + j) + d.y * (box.lo.z + k)), from = b.x * (j + b.y * k)
                        (dst.baseAddress! + row).update(from: src.baseAddress! + from, count: b.x)
                    }
                }
            }
        }
        return out
    }
}
