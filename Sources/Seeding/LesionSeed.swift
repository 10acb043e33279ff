import Foundation
import VolumeModel

/// A point a reader gave, in patient coordinates (DICOM LPS, mm, as a DICOM viewer shows them),
/// and where it came from ("--lesion-seed 2", "seeds.csv line 4", "F.mrk.json point 3").
public struct LesionSeed: Sendable, Equatable, Codable {
    public var positionMM: Vector3
    public var label: String?
    public var source: String

    public init(positionMM: Vector3, label: String? = nil, source: String) {
        self.positionMM = positionMM
        self.label = label
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case positionMM = "position_mm"
        case label, source
    }
}

/// Bad seeds: the command line's usage error (exit 64), naming the file, line and reason.
public enum SeedError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not three finite numbers, a markups file without points, an unknown coordinate system, ...
    case malformed(source: String, reason: String)
    /// The point lies outside the series' grid or in air: not a place a lesion can be.
    case misplaced(source: String, reason: String)
    /// The seeds file is missing or unreadable.
    case unreadable(file: String, reason: String)

    public var description: String {
        switch self {
        case .malformed(let s, let r): return "\(s): \(r)"
        case .misplaced(let s, let r): return "\(s): \(r)"
        case .unreadable(let f, let r): return "\(f): cannot read seeds: \(r)"
        }
    }
}

extension LesionSeed {
    /// `X,Y,Z` in mm (LPS) from the command line; `source` names the option and its rank.
    public static func parse(_ text: String, source: String) throws -> LesionSeed {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        return LesionSeed(positionMM: try coordinates(parts, source: source, text: text), source: source)
    }

    /// Three finite numbers, or the reason they are not.
    static func coordinates(_ parts: [String], source: String, text: String) throws -> Vector3 {
        guard parts.count == 3 else {
            throw SeedError.malformed(
                source: source, reason: "'\(text)' has \(parts.count) value(s); expected X,Y,Z in mm (patient LPS)")
        }
        var v: [Double] = []
        for (axis, p) in zip(["x", "y", "z"], parts) {
            guard let d = Double(p), d.isFinite else {
                throw SeedError.malformed(
                    source: source, reason: "\(axis) '\(p)' is not a finite number (in '\(text)')")
            }
            v.append(d)
        }
        return Vector3(v[0], v[1], v[2])
    }

    /// Seeds from a file: a 3D Slicer markups file (`.mrk.json`, honouring its coordinate system)
    /// or a CSV (`x,y,z` per line in mm, LPS; an optional header naming the columns x, y, z and
    /// label; an optional fourth column as label; `#` comments and blank lines skipped).
    public static func read(file path: String) throws -> [LesionSeed] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SeedError.unreadable(
                file: path, reason: FileManager.default.fileExists(atPath: path) ? "not readable" : "no such file")
        }
        let seeds =
            path.lowercased().hasSuffix(".json")
            ? try markups(data, file: path) : try csv(data, file: path)
        guard !seeds.isEmpty else { throw SeedError.malformed(source: path, reason: "no points in the file") }
        return seeds
    }

    static func csv(_ data: Data, file: String) throws -> [LesionSeed] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw SeedError.malformed(source: file, reason: "not UTF-8 text (expected a CSV of x,y,z in mm)")
        }
        var columns = (x: 0, y: 1, z: 2, label: 3)
        var seeds: [LesionSeed] = []
        var sawData = false
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            let source = "\(file) line \(n + 1)"
            // A first row whose cells are not numbers is a header: it names the columns.
            if !sawData, cells.allSatisfy({ Double($0) == nil }) {
                let names = cells.map { $0.lowercased() }
                guard let x = names.firstIndex(of: "x"), let y = names.firstIndex(of: "y"),
                    let z = names.firstIndex(of: "z")
                else {
                    throw SeedError.malformed(
                        source: source, reason: "header '\(line)' does not name columns x, y and z")
                }
                columns = (x, y, z, names.firstIndex(of: "label") ?? names.firstIndex(of: "name") ?? -1)
                sawData = true
                continue
            }
            sawData = true
            let needed = max(columns.x, columns.y, columns.z)
            guard cells.count > needed else {
                throw SeedError.malformed(
                    source: source, reason: "'\(line)' has \(cells.count) value(s); expected x,y,z in mm (patient LPS)")
            }
            let p = try coordinates([cells[columns.x], cells[columns.y], cells[columns.z]], source: source, text: line)
            let label =
                columns.label >= 0 && columns.label < cells.count && !cells[columns.label].isEmpty
                ? cells[columns.label] : nil
            seeds.append(LesionSeed(positionMM: p, label: label, source: source))
        }
        return seeds
    }

    /// 3D Slicer's markups JSON: `markups[].controlPoints[].position`, in the markup's
    /// `coordinateSystem` (LPS, or RAS: x and y negated to LPS) and `coordinateUnits` (mm).
    static func markups(_ data: Data, file: String) throws -> [LesionSeed] {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw SeedError.malformed(source: file, reason: "not a JSON object (expected a 3D Slicer markups file)")
        }
        guard let list = root["markups"] as? [[String: Any]] else {
            throw SeedError.malformed(source: file, reason: "no 'markups' list (expected a 3D Slicer markups file)")
        }
        var seeds: [LesionSeed] = []
        for (m, markup) in list.enumerated() {
            let place = list.count > 1 ? "\(file) markup \(m + 1)" : file
            let system = (markup["coordinateSystem"] as? String) ?? "LPS"
            guard system == "LPS" || system == "RAS" else {
                throw SeedError.malformed(
                    source: place, reason: "coordinateSystem '\(system)' is not known; expected LPS or RAS")
            }
            if let units = markup["coordinateUnits"] as? String, units != "mm" {
                throw SeedError.malformed(source: place, reason: "coordinateUnits '\(units)'; expected mm")
            }
            let sign = system == "RAS" ? -1.0 : 1.0
            for (n, point) in ((markup["controlPoints"] as? [[String: Any]]) ?? []).enumerated() {
                let source = "\(place) point \(n + 1)"
                if let status = point["positionStatus"] as? String, status != "defined" {
                    throw SeedError.malformed(
                        source: source, reason: "positionStatus '\(status)': the point has no position")
                }
                guard let values = point["position"] as? [Any] else {
                    throw SeedError.malformed(source: source, reason: "no 'position' [x, y, z]")
                }
                let parts = values.map { ($0 as? NSNumber).map { "\($0.doubleValue)" } ?? "\($0)" }
                let p = try coordinates(parts, source: source, text: "[" + parts.joined(separator: ", ") + "]")
                seeds.append(
                    LesionSeed(
                        positionMM: Vector3(sign * p.x, sign * p.y, p.z),
                        label: (point["label"] as? String).flatMap { $0.isEmpty ? nil : $0 }, source: source))
            }
        }
        return seeds
    }
}
