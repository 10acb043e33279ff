import DicomIO
import Foundation
import NIfTI
import Overlay
import VolumeModel
import Volumetry

extension Analysis {
    /// File names of the overlays in the output folder.
    public static let overlayFiles = ["overlay_axial.png", "overlay_coronal.png", "overlay_sagittal.png"]

    /// The scene the overlays draw: header band from the report, figures in PNG text chunks.
    /// Patient name, ID and birth date appear only when `burnInPatient` is set.
    public func overlayScene(burnInPatient: Bool) -> OverlayScene {
        let r = report
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        var lines = [
            "HTB \(f(r.htb.percent)) %  \(r.htb.category.uppercased())"
                + (r.flags.isEmpty ? "" : "  " + r.flags.map { $0.uppercased() }.joined(separator: " ")),
            "LIVER \(f(r.liver.volumeML)) ML  PARENCHYMA \(f(r.liver.parenchymaVolumeML)) ML  LESIONS \(r.lesions.count): \(f(r.lesions.totalVolumeML)) ML",
            "SERIES \(r.study.seriesNumber.map { "#\($0) " } ?? "")\(r.study.seriesDescription.isEmpty ? "(NO DESCRIPTION)" : r.study.seriesDescription)"
                + "  PHASE \(r.study.phaseHint ?? "NOT STATED")  "
                + String(format: "%.2f X %.2f X %.2f MM", r.study.spacingMM.x, r.study.spacingMM.y, r.study.spacingMM.z),
        ]
        if let reasons = r.automatic?.reviewReasons, r.automatic?.reviewNeeded == true {
            lines.append("REVIEW NEEDED: " + reasons.map { $0.code.uppercased() }.joined(separator: "  "))
        }
        if burnInPatient, let first = ct.entry.slices.first,
            let file = try? DicomFile(path: first.path, headersOnly: true)
        {
            let name = file.string(Tag(0x0010, 0x0010)) ?? "", id = file.string(.patientID) ?? "",
                born = file.string(Tag(0x0010, 0x0030)) ?? ""
            lines.append("PATIENT \(name)  ID \(id)  BORN \(born)")
        }
        lines.append(
            "HTB \(htbVersion)  MASKS: \(Set((r.inputs.liverMasks + r.inputs.lesionMasks).map(\.source)).sorted().joined(separator: ", ").uppercased())"
        )
        let chunks: [(String, String)] = [
            ("Software", "htb \(htbVersion)"),
            ("htb:version", htbVersion),
            ("htb:htb_percent", String(format: "%.4f", r.htb.percent)),
            ("htb:category", r.htb.category),
            ("htb:flags", r.flags.joined(separator: ",")),
            ("htb:liver_volume_ml", String(format: "%.4f", r.liver.volumeML)),
            ("htb:parenchyma_volume_ml", String(format: "%.4f", r.liver.parenchymaVolumeML)),
            ("htb:lesion_volume_ml", String(format: "%.4f", r.lesions.totalVolumeML)),
            ("htb:lesion_count", "\(r.lesions.count)"),
            ("htb:series_uid", r.study.seriesUID),
        ]
        var scene = OverlayScene(
            ct: ct.volume, liver: liver, lesionLabels: result.components.labels,
            largestLesionSlice: result.lesions.first?.diameters.slice, headerLines: lines, textChunks: chunks,
            sliceCaptions: ct.slices.enumerated().map { k, h in
                // A viewer shows an Enhanced CT's frame number, a classic series' instance number.
                h.frameIndex.map { "FR \($0 + 1)" } ?? h.instanceNumber.map { "IM \($0)" } ?? "SLICE \(k + 1)"
            })
        let g = ct.volume.geometry
        scene.markers =
            (r.inputs.seeds ?? []).map { OverlayMarker(index: g.index(of: $0.seed.positionMM), kind: .seed) }
            + (r.inputs.excluded ?? []).map { OverlayMarker(index: g.index(of: $0.seed.positionMM), kind: .excluded) }
        return scene
    }

    /// Renders the axial montage and the coronal and sagittal reformats (in `overlayFiles` order).
    public func renderOverlays(options: OverlayOptions, burnInPatient: Bool) -> [RenderedImage] {
        let scene = overlayScene(burnInPatient: burnInPatient)
        let planes: [Plane] = [.axial, .coronal, .sagittal]
        // The montage (the largest picture to render) on one core, the two reformats on the other.
        let results = parallelMap(2) { worker -> [RenderedImage] in
            (worker == 0 ? [0] : [1, 2]).map { n in
                planes[n] == .axial
                    ? OverlayRenderer.axialMontage(scene, options: options)
                    : OverlayRenderer.reformat(scene, plane: planes[n], options: options)
            }
        }
        return results.flatMap { r -> [RenderedImage] in
            if case .success(let images) = r { return images }
            return []
        }
    }

    /// Writes rendered overlays as PNG into `dir`; returns the paths.
    public static func writeOverlays(_ images: [RenderedImage], to dir: String) throws -> [String] {
        let paths = overlayFiles.map { (dir as NSString).appendingPathComponent($0) }
        let results = parallelMap(2) { worker in
            for n in stride(from: worker, to: images.count, by: 2) { try PNGFile.write(images[n], to: paths[n]) }
        }
        for r in results { if case .failure(let e) = r { throw e } }
        return Array(paths.prefix(images.count))
    }

    /// Renders the overlays and writes them as PNG into `dir`; returns the paths.
    public func writeOverlays(to dir: String, options: OverlayOptions, burnInPatient: Bool) throws -> [String] {
        try Self.writeOverlays(renderOverlays(options: options, burnInPatient: burnInPatient), to: dir)
    }

    /// Writes the masks measured: `masks.seg.dcm`, a DICOM Segmentation over the source series
    /// (segment 1 "Liver" = whole liver, 2 "Lesions"), and `labels.nii.gz` (liver 1, lesion 2).
    public func writeMasks(to dir: String) throws -> [String] {
        let layout = try SeriesLayout(entry: ct.entry)
        let segments = segmentsToWrite(on: layout, perLesion: false, tracking: false)
        let seg = (dir as NSString).appendingPathComponent("masks.seg.dcm")
        let nii = (dir as NSString).appendingPathComponent("labels.nii.gz")
        try SegmentationWriter.write(
            segments, source: layout, to: seg, seriesNumber: 901, seriesDescription: "htb liver and lesions",
            contentLabel: "HTB")
        try NIfTIWriter.write(labels: labelMap, to: nii, description: "htb labels: liver 1, lesion 2")
        return [seg, nii]
    }
}
