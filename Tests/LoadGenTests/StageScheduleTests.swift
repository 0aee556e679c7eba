import NIOCore
import Testing

@testable import LoadGen

@Suite struct StageScheduleTests {
    @Test func stepsHoldTheirLevelAndEnd() {
        let schedule = StageSchedule([Stage(vus: 10, duration: .seconds(2)), Stage(vus: 50, duration: .milliseconds(500))])
        #expect(schedule.totalNanoseconds == 2_500_000_000)
        #expect(schedule.vus(atNanoseconds: 0) == 10)
        #expect(schedule.vus(atNanoseconds: 1_999_999_999) == 10)
        #expect(schedule.vus(atNanoseconds: 2_000_000_000) == 50)
        #expect(schedule.vus(atNanoseconds: 2_499_999_999) == 50)
        #expect(schedule.vus(atNanoseconds: 2_500_000_000) == nil)
    }

    @Test func theSeedsProfiles() throws {
        #expect(LoadPhase.baseline.duration == .seconds(60) && LoadPhase.baseline.maxVUs == 10)
        #expect(LoadPhase.rampup.stages.map(\.vus) == [10, 50, 100, 300, 500, 1000])
        #expect(LoadPhase.rampup.duration == .seconds(540))
        #expect(LoadPhase.stress.stages == [Stage(vus: 300, duration: .seconds(300))])
        #expect(LoadPhase.spike.stages.map(\.vus) == [10, 1000, 10])
        #expect(LoadPhase.spike.duration == .seconds(180))
        #expect(try LoadPhase.named("all").map(\.name) == ["baseline", "rampup", "stress", "spike"])
        #expect(throws: LoadGenError.self) { try LoadPhase.named("soak") }
    }

    @Test func durationScaleShrinksEveryStage() {
        let quick = LoadPhase.spike.scaled(by: 0.05)
        #expect(quick.stages.map(\.duration) == [.seconds(3), .seconds(3), .seconds(3)])
        #expect(quick.stages.map(\.vus) == [10, 1000, 10])
        // Never below 100 ms, so a stage still happens.
        #expect(LoadPhase.baseline.scaled(by: 0.0001).stages[0].duration == .milliseconds(100))
    }

    @Test func vusAreSharedEvenlyAcrossLoops() {
        for total in [1, 10, 299, 300, 1000] {
            let shares = (0..<3).map { StageSchedule.share(of: total, loop: $0, of: 3) }
            #expect(shares.reduce(0, +) == total)
            #expect(shares.max()! - shares.min()! <= 1)
        }
    }

    @Test func parsesCustomStages() throws {
        #expect(
            try Stage.parseList("10:90s,50:1.5m,5:250ms") == [
                Stage(vus: 10, duration: .seconds(90)),
                Stage(vus: 50, duration: .seconds(90)),
                Stage(vus: 5, duration: .milliseconds(250)),
            ]
        )
        for bad in ["", "10", "0:10s", "10:", "10:5", "x:10s", "10:-1s", "10:10s,", "10:25h"] {
            #expect(throws: LoadGenError.self, "\(bad)") { try Stage.parseList(bad) }
        }
    }

    @Test func parsesTargets() throws {
        let target = try LoadTarget(url: "http://127.0.0.1:8080/")
        #expect(target.host == "127.0.0.1" && target.port == 8080 && target.path == "/coupon/apply")
        let v6 = try LoadTarget(url: "http://[::1]:9000", path: "/campaigns/x/apply")
        #expect(v6.host == "::1" && v6.port == 9000 && v6.url == "http://[::1]:9000")
        #expect(try LoadTarget(url: "http://example.test").port == 80)
        for bad in ["https://a:1", "http://:80", "http://a:0", "http://a:x", "http://a:1/path", "ftp://a"] {
            #expect(throws: LoadGenError.self, "\(bad)") { try LoadTarget(url: bad) }
        }
        #expect(throws: LoadGenError.self) { try LoadTarget(url: "http://a:1", path: "/x?y=1") }
    }

    @Test func buildsTheApplyRequest() {
        let request = ApplyRequest(target: LoadTarget(host: "127.0.0.1", port: 8080))
        var buffer = ByteBufferAllocatorForTests.buffer()
        request.write(user: 9_223_372_036_854_775_807, into: &buffer)
        #expect(
            String(buffer: buffer)
                == "POST /coupon/apply?userId=9223372036854775807 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 0\r\n\r\n"
        )
        request.write(user: 7, into: &buffer)
        #expect(String(buffer: buffer).hasPrefix("POST /coupon/apply?userId=7 HTTP/1.1\r\n"))
    }
}
