import Foundation

/// Reads and writes a run's files: `results.json`, `report.md`, `report.html` and
/// `charts/*.svg`, all in one folder.
public enum ReportFiles {
    public static let names = ["results.json", "report.md", "report.html"]

    public static func write(_ results: LoadResults, to folder: URL) throws {
        let charts = folder.appending(path: "charts")
        try FileManager.default.createDirectory(at: charts, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(results).write(to: folder.appending(path: "results.json"), options: .atomic)
        try render(results, to: folder)
    }

    /// The reports from results already on disk (e.g. the k6 runner's).
    public static func render(_ results: LoadResults, to folder: URL) throws {
        let charts = folder.appending(path: "charts")
        try FileManager.default.createDirectory(at: charts, withIntermediateDirectories: true)
        for (name, svg) in Report.chartFiles(results) {
            try Data(svg.utf8).write(to: charts.appending(path: name), options: .atomic)
        }
        try Data(Report.markdown(results, charts: "charts").utf8).write(to: folder.appending(path: "report.md"), options: .atomic)
        try Data(Report.html(results).utf8).write(to: folder.appending(path: "report.html"), options: .atomic)
    }

    /// Several runs side by side: `comparison.md`, `comparison.html` and `charts/comparison-cpu.svg`
    /// (names that never overwrite a run's own report in the same folder).
    public static func render(_ comparison: Comparison, to folder: URL) throws {
        let chartName = "charts/comparison-cpu.svg"
        if let chart = comparison.cpuChart(standalone: true) {
            try FileManager.default.createDirectory(at: folder.appending(path: "charts"), withIntermediateDirectories: true)
            try Data(chart.utf8).write(to: folder.appending(path: chartName), options: .atomic)
        }
        try Data(comparison.markdown(chart: chartName).utf8).write(to: folder.appending(path: "comparison.md"), options: .atomic)
        try Data(comparison.html().utf8).write(to: folder.appending(path: "comparison.html"), options: .atomic)
    }

    public static func read(_ file: URL) throws -> LoadResults {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw LoadGenError.badResults("cannot read \(file.path): \(error.localizedDescription)")
        }
        let results: LoadResults
        do {
            results = try JSONDecoder().decode(LoadResults.self, from: data)
        } catch {
            throw LoadGenError.badResults("\(file.path) is not a \(LoadResults.schemaName) document: \(error)")
        }
        guard results.schema == LoadResults.schemaName else {
            throw LoadGenError.badResults("\(file.path) has schema '\(results.schema)'; expected \(LoadResults.schemaName)")
        }
        return results
    }
}
