import AutoSegmentation
import DicomIO
import Foundation
import Guidelines
import Seeding
import VolumeModel
import Volumetry

/// htb's version, in reports and PNG text.
public let htbVersion = "0.1.0"

/// `report.json`, schema `htb.report/1` (documented in README.md, "Report schema").
/// Volumes in mL rounded to 0.0001, lengths in mm to 0.001, HTB in percent to 0.0001.
public struct Report: Codable, Sendable {
    public var schema = "htb.report/1"
    public var tool: Tool
    public var study: Study
    public var inputs: Inputs
    public var liver: Liver
    public var lesions: Lesions
    public var htb: HTB
    public var flags: [String]
    /// PNG overlays written beside the report (file names), when rendered.
    public var overlays: [String]?
    /// Mask files written beside the report with --save-masks (SEG and NIfTI).
    public var masks: [String]?
    /// DICOM objects written with --dicom-out (SEG, SR, Secondary Capture), as paths.
    public var dicomOutputs: [String]?
    /// The guideline rule engine's conclusions (treatments, flags, notes, ENETS type, dosimetry).
    public var guidelines: GuidelinesReport?
    /// What the automatic segmentation measured and chose, when it ran (any mask with source "automatic").
    public var automatic: AutoSegmentation.Info?

    enum CodingKeys: String, CodingKey {
        case schema, tool, study, inputs, liver, lesions, htb, flags, overlays, masks, guidelines, automatic
        case dicomOutputs = "dicom_outputs"
    }

    public struct Tool: Codable, Sendable {
        public var name = "htb"
        public var version = htbVersion
        public var dcmtk = dicomToolkitVersion
    }
    public struct Study: Codable, Sendable {
        public var studyUID: String
        public var seriesUID: String
        public var seriesKey: String
        public var seriesNumber: Int?
        public var seriesDescription: String
        public var modality: String
        public var phaseHint: String?
        public var sliceCount: Int
        public var dims: Dims
        public var spacingMM: Vector3
        public var originMM: Vector3
        public var directions: [Vector3]
        public var voxelVolumeMM3: Double
        public var transferSyntax: String
        public var warnings: [LoadWarning]
        enum CodingKeys: String, CodingKey {
            case studyUID = "study_uid"
            case seriesUID = "series_uid"
            case seriesKey = "series_key"
            case seriesNumber = "series_number"
            case seriesDescription = "series_description"
            case modality
            case phaseHint = "phase_hint"
            case sliceCount = "slice_count"
            case dims
            case spacingMM = "spacing_mm"
            case originMM = "origin_mm"
            case directions
            case voxelVolumeMM3 = "voxel_volume_mm3"
            case transferSyntax = "transfer_syntax"
            case warnings
        }
    }
    public struct MaskInput: Codable, Sendable {
        /// The mask's file (expert masks); absent for automatic ones.
        public var path: String?
        public var kind: String
        public var selector: String?
        public var segments: [String]?
        /// "expert" (given on the command line or found in the study) or "automatic" (htb's own).
        public var source: String
        /// The automatic method's identifier (`AutoSegmentation.method`).
        public var method: String?
        public var voxelCount: Int
        enum CodingKeys: String, CodingKey {
            case path
            case kind
            case selector
            case segments
            case source
            case method
            case voxelCount = "voxel_count"
        }
    }
    public struct Inputs: Codable, Sendable {
        public var studyPath: String
        public var series: String
        public var seriesReason: String
        public var liverMasks: [MaskInput]
        public var lesionMasks: [MaskInput]
        /// --lesion-seed / --lesion-seeds: what became of each seed (grown, outside_liver, no_lesion).
        public var seeds: [SeedOutcome]?
        /// --exclude-lesion: what became of each point (excluded, not_found).
        public var excluded: [SeedOutcome]?
        /// With seeds: the session's other phases resampled onto the grid (each seed's lesion is
        /// grown on the phase where it stands out most).
        public var phases: [PhaseInput]?
        enum CodingKeys: String, CodingKey {
            case studyPath = "study_path"
            case series
            case seriesReason = "series_reason"
            case liverMasks = "liver_masks"
            case lesionMasks = "lesion_masks"
            case seeds, excluded, phases
        }
    }
    public struct Liver: Codable, Sendable {
        public var volumeML: Double
        public var parenchymaVolumeML: Double
        public var voxelCount: Int
        public var touchesFieldOfView: [String]
        enum CodingKeys: String, CodingKey {
            case volumeML = "volume_ml"
            case parenchymaVolumeML = "parenchyma_volume_ml"
            case voxelCount = "voxel_count"
            case touchesFieldOfView = "touches_field_of_view"
        }
    }
    public struct LesionItem: Codable, Sendable {
        public var id: Int
        public var volumeML: Double
        public var voxelCount: Int
        public var centroidMM: Vector3
        public var longestAxialDiameterMM: Double
        public var shortAxisMM: Double
        public var diameterSliceIndex: Int
        /// "expert" (a given mask), "automatic" or "seeded" (grown from a seed); always written
        /// (optional only so that reports of htb before seeds still decode).
        public var source: String?
        /// The seed it was grown from (seeded lesions).
        public var seedMM: Vector3?
        enum CodingKeys: String, CodingKey {
            case id, source
            case seedMM = "seed_mm"
            case volumeML = "volume_ml"
            case voxelCount = "voxel_count"
            case centroidMM = "centroid_mm"
            case longestAxialDiameterMM = "longest_axial_diameter_mm"
            case shortAxisMM = "short_axis_mm"
            case diameterSliceIndex = "diameter_slice_index"
        }
    }
    public struct Lesions: Codable, Sendable {
        public var count: Int
        public var totalVolumeML: Double
        public var connectivity: String
        public var items: [LesionItem]
        enum CodingKeys: String, CodingKey {
            case count
            case totalVolumeML = "total_volume_ml"
            case connectivity
            case items
        }
    }
    public struct HTB: Codable, Sendable {
        public var percent: Double
        public var category: String
    }

    /// JSON as written to report.json: snake_case keys (the CodingKeys), sorted, pretty.
    public func json() throws -> Data {
        try JSONEncoder.htbPretty.encode(self)
    }

    public static func decode(_ data: Data) throws -> Report {
        let d = JSONDecoder()
        return try d.decode(Report.self, from: data)
    }
}

func round(_ v: Double, _ places: Int) -> Double {
    let f = pow(10.0, Double(places))
    return (v * f).rounded() / f
}

func round(_ v: Vector3, _ places: Int) -> Vector3 {
    Vector3(round(v.x, places), round(v.y, places), round(v.z, places))
}

extension JSONEncoder {
    /// The encoder of htb's JSON outputs: pretty, keys sorted, slashes unescaped.
    public static var htbPretty: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
