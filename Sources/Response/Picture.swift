import Foundation
import Overlay
import VolumeModel
import Volumetry

/// The side-by-side picture of a comparison: baseline | follow-up, one row per lesion (the three
/// largest), each row the axial slice through the lesion's follow-up centroid and the baseline
/// slice at the same place after alignment; every lesion voxel tinted by its status, with the
/// comparison's lesion id beside it. Colours: Okabe-Ito (readable with colour-vision deficiency).
public enum ComparisonPicture {
    public static let tilePixels = 320
    public static let rows = 3

    public static func colour(_ status: String) -> RGB {
        switch status {
        case "shrinking": return RGB(0, 158, 115)
        case "growing": return RGB(213, 94, 0)
        case "new": return RGB(204, 121, 167)
        case "gone": return RGB(86, 180, 233)
        default: return RGB(240, 228, 66)
        }
    }

    /// nil when a side has no CT (an htb analyze output folder keeps none).
    public static func render(_ c: Comparison, baseline b: Side, followUp f: Side) throws -> Canvas? {
        guard let ctB = b.ct, let ctF = f.ct else { return nil }
        let mb = try b.measured()
        let mf = try f.measured()
        // Each side's voxels -> (comparison id, status).
        var idB = [Int32](repeating: 0, count: b.lesions.voxels.count)
        var idF = [Int32](repeating: 0, count: f.lesions.voxels.count)
        for l in c.lesions {
            for n in l.baselineIDs { for v in mb.components.voxels[n - 1] { idB[v] = Int32(l.id) } }
            for n in l.followUpIDs { for v in mf.components.voxels[n - 1] { idF[v] = Int32(l.id) } }
        }
        let status = Dictionary(uniqueKeysWithValues: c.lesions.map { ($0.id, $0.status) })
        let t = c.alignment.translationMM
        let shown = c.lesions.isEmpty ? [] : Array(c.lesions.prefix(rows))
        let centres = shown.isEmpty ? [Alignment.centroid(of: f.liver)] : shown.map(\.centroidMM)
        let header = 44
        let tileH = tilePixels
        var canvas = Canvas(width: 2 * tilePixels + 6, height: header + centres.count * (tileH + 4), background: .band)
        _ = canvas.text(
            "BASELINE \(c.baseline.studyDate ?? "")", x: 8, y: 6, scale: 2, color: .white)
        _ = canvas.text(
            "FOLLOW-UP \(c.followUp.studyDate ?? "")", x: tilePixels + 14, y: 6, scale: 2, color: .white)
        _ = canvas.text(
            "RESPONSE \(c.response.category.uppercased())  "
                + (c.totals.tumourVolumeChangePercent.map { String(format: "TUMOUR %+.1f %%", $0) } ?? ""),
            x: 8, y: 26, scale: 2, color: RGB(240, 228, 66))
        for (row, centre) in centres.enumerated() {
            let y0 = header + row * (tileH + 4)
            let kF = slice(ctF.geometry, at: centre)
            let kB = slice(ctB.geometry, at: centre - t)
            tile(&canvas, ctB, ids: idB, status: status, k: kB, x: 0, y: y0)
            tile(&canvas, ctF, ids: idF, status: status, k: kF, x: tilePixels + 6, y: y0)
        }
        return canvas
    }

    static func slice(_ g: Geometry, at p: Vector3) -> Int {
        min(max(Int(g.index(of: p).z.rounded()), 0), g.dims.z - 1)
    }

    /// Axial slice k of `ct` into a tilePixels-square tile (aspect kept, W 400 / L 50), lesions
    /// tinted, each lesion's id at its centre in this slice.
    static func tile(
        _ canvas: inout Canvas, _ ct: CTVolume, ids: [Int32], status: [Int: String], k: Int, x: Int, y: Int
    ) {
        let g = ct.geometry, d = g.dims
        let wMM = Double(d.x) * g.spacingMM.x, hMM = Double(d.y) * g.spacingMM.y
        let scale = Double(tilePixels) / max(wMM, hMM)
        let w = Int(wMM * scale), h = Int(hMM * scale)
        let ox = x + (tilePixels - w) / 2, oy = y + (tilePixels - h) / 2
        var sums: [Int32: (x: Int, y: Int, n: Int)] = [:]
        for py in 0..<h {
            let j = min(d.y - 1, Int(Double(py) / scale / g.spacingMM.y))
            for px in 0..<w {
                let i = min(d.x - 1, Int(Double(px) / scale / g.spacingMM.x))
                let v = i + d.x * (j + d.y * k)
                let hu = Double(ct.voxels[v])
                let grey = UInt8(max(0, min(255, ((hu - (50 - 200)) / 400 * 255).rounded())))
                canvas.set(ox + px, oy + py, RGB(grey, grey, grey))
                let id = ids[v]
                if id > 0 {
                    canvas.blend(ox + px, oy + py, colour(status[Int(id)] ?? "stable"), alpha: 0.5)
                    let s = sums[id] ?? (0, 0, 0)
                    sums[id] = (s.x + px, s.y + py, s.n + 1)
                }
            }
        }
        _ = canvas.text("SLICE \(k + 1)", x: x + 4, y: y + 4, scale: 1, color: .white)
        for (id, s) in sums.sorted(by: { $0.key < $1.key }) where s.n > 0 {
            let label = "\(id)"
            let lx = ox + s.x / s.n + 6, ly = oy + s.y / s.n - 6
            canvas.fill(x: lx - 1, y: ly - 1, w: Canvas.textWidth(label, scale: 2) + 2, h: 16, .black)
            _ = canvas.text(label, x: lx, y: ly, scale: 2, color: colour(status[Int(id)] ?? "stable"))
        }
    }
}
