/// One loop's (or, merged, the whole generator's) figures while a phase runs.
public struct LoadSnapshot: Sendable {
    public var answered: Int
    public var errors: Int
    public var vus: Int
    public var second: LoadRecorder.Second?

    public static let empty = LoadSnapshot(answered: 0, errors: 0, vus: 0, second: nil)

    mutating func add(_ other: LoadSnapshot) {
        answered += other.answered
        errors += other.errors
        vus += other.vus
        if let theirs = other.second {
            if var mine = second {
                mine.latency.add(theirs.latency)
                mine.status.add(theirs.status)
                second = mine
            } else {
                second = theirs
            }
        }
    }
}
